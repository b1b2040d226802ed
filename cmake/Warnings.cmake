# octo_warnings: an interface target that carries the project's warning flags.
add_library(octo_warnings INTERFACE)
target_compile_options(octo_warnings INTERFACE -Wall -Wextra -Wpedantic)
if(OCTO_WERROR)
  target_compile_options(octo_warnings INTERFACE -Werror)
endif()
