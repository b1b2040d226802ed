# OCTO_FUZZ: libFuzzer targets for the parsers that read untrusted bytes
# (fuzz/). clang only: libFuzzer ships with clang's compiler-rt (Debian:
# libclang-rt-14-dev). Every target is compiled with coverage instrumentation
# (-fsanitize=fuzzer-no-link) so the fuzzers see the library's branches; only
# the fuzz targets link libFuzzer's main(). Combine with OCTO_SANITIZE (the
# "fuzz" preset does) so that memory errors and undefined behaviour crash.
# Include before any target is defined.
option(OCTO_FUZZ "Build the libFuzzer targets in fuzz/ (clang only)" OFF)

set(OCTO_FUZZ_ENABLED OFF)
if(OCTO_FUZZ)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    add_compile_options(-fsanitize=fuzzer-no-link)
    add_link_options(-fsanitize=fuzzer-no-link)  # the coverage callbacks, without OCTO_SANITIZE too
    set(OCTO_FUZZ_ENABLED ON)
    if(NOT OCTO_SANITIZE)
      message(WARNING "OCTO_FUZZ without OCTO_SANITIZE: only crashes and aborts are found")
    endif()
  else()
    message(WARNING "OCTO_FUZZ needs clang (CMAKE_CXX_COMPILER=clang++); "
                    "${CMAKE_CXX_COMPILER_ID} cannot build libFuzzer targets, so fuzz/ is skipped")
  endif()
endif()
