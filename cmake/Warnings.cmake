# octo_warnings: an interface target that carries the project's warning flags.
add_library(octo_warnings INTERFACE)
target_compile_options(octo_warnings INTERFACE -Wall -Wextra -Wpedantic)
if(OCTO_WERROR)
  target_compile_options(octo_warnings INTERFACE -Werror)
endif()
# g++ 12 reports false -Wrestrict errors inside std::string's operator+ at -O2
# (GCC bug 105329); the warning is noise there, so it is off for g++ 12 only.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(octo_warnings INTERFACE -Wno-restrict)
endif()
