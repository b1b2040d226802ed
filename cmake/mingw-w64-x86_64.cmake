# Cross-compiling for 64-bit Windows from Debian with mingw-w64 (the posix
# thread model, for std::thread), running what was built under wine64.
# Used by the "windows" preset; OpenSSL comes from scripts/build-openssl-win.sh
# (OCTO_WIN_OPENSSL_ROOT), the header-only libraries and GoogleTest's source
# from Debian's packages (cmake/WindowsDeps.cmake).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_cross x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${_cross}-gcc-posix)
set(CMAKE_CXX_COMPILER ${_cross}-g++-posix)
set(CMAKE_RC_COMPILER ${_cross}-windres)

# Only the mingw-w64 sysroot and the cross-built OpenSSL are searched for
# libraries and headers: never the build machine's /usr/include or /usr/lib.
set(CMAKE_FIND_ROOT_PATH /usr/${_cross})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Tests (and gtest_discover_tests) run the .exe files under wine64.
find_program(OCTO_WINE wine64 PATHS /usr/lib/wine /usr/bin NO_CMAKE_FIND_ROOT_PATH)  # Debian: /usr/lib/wine/wine64
if(OCTO_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${OCTO_WINE})
endif()
