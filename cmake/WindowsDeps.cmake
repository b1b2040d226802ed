# The Windows build's dependencies, without the build machine's /usr/include
# on the include path (its C library headers would shadow mingw-w64's):
# the header-only libraries Debian installs (CLI11, nlohmann/json, spdlog and
# the fmt it uses) are staged under the build tree and given the imported
# targets their CMake packages define on Linux; OpenSSL is the static
# cross-build of scripts/build-openssl-win.sh (OCTO_WIN_OPENSSL_ROOT).
# Windows 10 / Server 2016 APIs are declared (POSIX-semantics rename by
# handle); the code falls back at run time where they are missing.
add_compile_definitions(_WIN32_WINNT=0x0A00 WINVER=0x0A00)

set(_stage ${CMAKE_BINARY_DIR}/deps/include)
file(MAKE_DIRECTORY ${_stage})
foreach(_dir CLI nlohmann spdlog fmt)
  if(NOT EXISTS /usr/include/${_dir})
    message(FATAL_ERROR "/usr/include/${_dir} is missing: run scripts/install-deps.sh")
  endif()
  file(CREATE_LINK /usr/include/${_dir} ${_stage}/${_dir} SYMBOLIC)
endforeach()

add_library(CLI11::CLI11 INTERFACE IMPORTED)
target_include_directories(CLI11::CLI11 INTERFACE ${_stage})
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
target_include_directories(nlohmann_json::nlohmann_json INTERFACE ${_stage})
add_library(spdlog::spdlog_header_only INTERFACE IMPORTED)
target_include_directories(spdlog::spdlog_header_only INTERFACE ${_stage})
target_compile_definitions(spdlog::spdlog_header_only INTERFACE SPDLOG_FMT_EXTERNAL)

# OpenSSL: the cached cross-build, made on first use (a few minutes; then
# the cache under ~/.cache/octopus-win answers at once).
if(NOT OCTO_WIN_OPENSSL_ROOT)
  message(STATUS "OpenSSL for Windows: scripts/build-openssl-win.sh")
  execute_process(COMMAND ${PROJECT_SOURCE_DIR}/scripts/build-openssl-win.sh
                  OUTPUT_VARIABLE _root OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "scripts/build-openssl-win.sh failed (${_rc})")
  endif()
  set(OCTO_WIN_OPENSSL_ROOT ${_root} CACHE PATH "The cross-built OpenSSL (scripts/build-openssl-win.sh)")
endif()
if(NOT EXISTS ${OCTO_WIN_OPENSSL_ROOT}/lib/libcrypto.a)
  message(FATAL_ERROR "OCTO_WIN_OPENSSL_ROOT (${OCTO_WIN_OPENSSL_ROOT}) holds no lib/libcrypto.a: "
                      "run scripts/build-openssl-win.sh")
endif()
list(APPEND CMAKE_FIND_ROOT_PATH ${OCTO_WIN_OPENSSL_ROOT})
set(OPENSSL_ROOT_DIR ${OCTO_WIN_OPENSSL_ROOT})
set(OPENSSL_USE_STATIC_LIBS TRUE)
find_package(OpenSSL 3.0 REQUIRED)
# A static libcrypto on Windows needs the system libraries it calls.
set_property(TARGET OpenSSL::Crypto APPEND PROPERTY INTERFACE_LINK_LIBRARIES ws2_32 crypt32 bcrypt)
find_package(Threads REQUIRED)
