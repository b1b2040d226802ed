# OCTO_SANITIZE: build everything (library, executables, tests, fuzzers) with
# AddressSanitizer and UndefinedBehaviorSanitizer. Any report aborts the
# process (-fno-sanitize-recover=all), so a test that trips a sanitizer fails.
# Runtime options belong in the environment (see the "asan" test preset):
#   ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
#   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Include before any target is defined: the flags apply to every target below.
option(OCTO_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)

if(OCTO_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "OCTO_SANITIZE needs g++ or clang++, not ${CMAKE_CXX_COMPILER_ID}")
  endif()
  set(octo_sanitize_flags -fsanitize=address,undefined -fno-sanitize-recover=all)
  add_compile_options(${octo_sanitize_flags} -fno-omit-frame-pointer)
  add_link_options(${octo_sanitize_flags})
  # GCC's manual: "sanitizers tend to increase the rate of false positive
  # warnings, most notably those around -Wmaybe-uninitialized". g++ 12 with
  # ASan reports one inside libstdc++'s <regex> (std::function in
  # _NFA::_M_insert_subexpr_end). Off in sanitized GCC builds only; the "ci"
  # preset still checks it.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
  message(STATUS "Sanitizers: address, undefined (no recovery)")
endif()

# OCTO_TSAN: build everything with ThreadSanitizer (it cannot be combined
# with AddressSanitizer). Runtime options in the environment (see the "tsan"
# test preset): TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
option(OCTO_TSAN "Build with ThreadSanitizer" OFF)

if(OCTO_TSAN)
  if(OCTO_SANITIZE)
    message(FATAL_ERROR "OCTO_TSAN and OCTO_SANITIZE cannot be combined: build them in two trees")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized -Wno-tsan)
  endif()
  message(STATUS "Sanitizers: thread")
endif()
