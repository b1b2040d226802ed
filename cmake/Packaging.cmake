# Install rules and Debian packages (CPack, DEB generator, one package per
# component).
#
# The installed tree mirrors the real Linux Tentacle package: the executable
# lives in its own directory under /opt/octopus, with a link on PATH.
#
#   package         component  files
#   tentacle        tentacle   /opt/octopus/tentacle/Tentacle
#                              /usr/bin/Tentacle -> /opt/octopus/tentacle/Tentacle
#                              /usr/share/doc/tentacle/{README.md,docs/*.md,copyright}
#   octopus-server  server     /opt/octopus/server/Octopus.Server
#                              /usr/bin/Octopus.Server -> /opt/octopus/server/Octopus.Server
#                              /usr/share/doc/octopus-server/{README.md,docs/*.md,copyright}
#
# "tentacle" is the real package's name. The real Octopus Server has no Linux
# package to copy a name from (it ships as a Windows installer and a container
# image), so ours is "octopus-server": the product's name, and not a word as
# generic as "server" in a package namespace shared with everything else.
#
# Every destination is relative to CMAKE_INSTALL_PREFIX, which is the root of
# that tree and defaults to "/": `cmake --install build` installs what the
# packages install, and `cmake --install build --prefix DIR` (or DESTDIR=DIR)
# lays the same tree out under DIR. The /usr/bin links are absolute, as the
# real package's are (and as Debian wants for links between top-level
# directories), so in a tree staged under DIR they point at /opt/octopus/...
# as they will once the tree is at /.
#
# Maintainer scripts (cmake/deb/*.in): postinst prints how to set up an
# instance, as the real package's after-install.sh does; prerm, on removal,
# stops every instance's service and removes the systemd units that
# `service --install` wrote, since they would run an executable that is gone.
# Instances (configuration, certificate, keys, logs) are the user's and are
# never touched: reinstalling and running `service --install --start` brings
# them back.
#
# After building, make the packages with `cpack --config build/CPackConfig.cmake -B DIR`
# (README.md, "Installing"); tests/packaging builds, installs and removes them.

if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
  set(CMAKE_INSTALL_PREFIX "/" CACHE PATH "Root of the installed tree (see cmake/Packaging.cmake)" FORCE)
endif()
# Installing and packaging take what was built and build nothing: cpack (and
# `make install`) would otherwise first build every target, tests included.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

set(OCTO_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR}/deb)
set(OCTO_PACKAGING_OUT ${PROJECT_BINARY_DIR}/packaging)

# /usr/share/doc/PACKAGE/copyright in Debian's machine-readable format, made
# from LICENSE (its first "Copyright" line, then the whole text).
file(READ ${PROJECT_SOURCE_DIR}/LICENSE octo_license)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/LICENSE)
string(REGEX MATCH "Copyright \\(c\\) ([^\n]*)" _ "${octo_license}")
set(octo_copyright_holder "${CMAKE_MATCH_1}")
string(REGEX REPLACE "\n+$" "" octo_license_body "${octo_license}")
string(REPLACE "\n\n" "\n.\n" octo_license_body "${octo_license_body}")
string(REPLACE "\n" "\n " octo_license_body "${octo_license_body}")
file(WRITE ${OCTO_PACKAGING_OUT}/copyright
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
  "Upstream-Name: octopus-certificates\n"
  "\n"
  "Files: *\n"
  "Copyright: ${octo_copyright_holder}\n"
  "License: MIT\n"
  " ${octo_license_body}\n")

file(GLOB octo_doc_pages CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)

# octo_package(COMPONENT PACKAGE TARGET DIR): the rules for one product.
function(octo_package component package target dir)
  get_target_property(exe ${target} OUTPUT_NAME)
  install(TARGETS ${target} RUNTIME DESTINATION opt/octopus/${dir} COMPONENT ${component})

  set(link_dir ${OCTO_PACKAGING_OUT}/${component}/bin)
  file(MAKE_DIRECTORY ${link_dir})
  file(CREATE_LINK /opt/octopus/${dir}/${exe} ${link_dir}/${exe} SYMBOLIC)
  install(FILES ${link_dir}/${exe} DESTINATION usr/bin COMPONENT ${component})

  install(FILES ${PROJECT_SOURCE_DIR}/README.md ${OCTO_PACKAGING_OUT}/copyright
          DESTINATION usr/share/doc/${package} COMPONENT ${component})
  install(FILES ${octo_doc_pages} DESTINATION usr/share/doc/${package}/docs COMPONENT ${component})

  # Maintainer scripts, with this product's paths and names filled in.
  set(OCTO_PACKAGE ${package})
  set(OCTO_EXE /opt/octopus/${dir}/${exe})
  set(OCTO_EXE_NAME ${exe})
  if(component STREQUAL "tentacle")
    set(OCTO_AN_INSTANCE "a Tentacle instance")
    set(steps
      "Tentacle create-instance --instance Tentacle"
      "Tentacle new-certificate --instance Tentacle --if-blank"
      "Tentacle configure --instance Tentacle --trust SERVER_THUMBPRINT"
      "Tentacle service --instance Tentacle --install --start")
  else()
    set(OCTO_AN_INSTANCE "an Octopus Server instance")
    set(steps
      "Octopus.Server create-instance --instance OctopusServer"
      "Octopus.Server service --instance OctopusServer --install --start")
  endif()
  list(TRANSFORM steps PREPEND "      echo \"    ")
  list(TRANSFORM steps APPEND "\"")
  list(JOIN steps "\n" OCTO_SETUP_ECHO)
  set(scripts_dir ${OCTO_PACKAGING_OUT}/${component}/control)
  foreach(script postinst prerm)
    configure_file(${OCTO_PACKAGING_DIR}/${script}.in ${scripts_dir}/${script} @ONLY
                   FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                    WORLD_READ WORLD_EXECUTE)
  endforeach()

  string(TOUPPER ${component} c)
  set(CPACK_DEBIAN_${c}_PACKAGE_NAME ${package} PARENT_SCOPE)
  set(CPACK_DEBIAN_${c}_PACKAGE_CONTROL_EXTRA "${scripts_dir}/postinst;${scripts_dir}/prerm" PARENT_SCOPE)
endfunction()

octo_package(tentacle tentacle tentacle tentacle)
octo_package(server octopus-server octopus_server server)

set(CPACK_PACKAGE_NAME octopus-certificates)
set(CPACK_PACKAGE_VENDOR "The octopus-certificates authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX "/")
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL tentacle server)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "The octopus-certificates authors")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_COMPONENT_TENTACLE_DESCRIPTION
    "Octopus Deploy Tentacle: certificates and trust\n"
    "The Tentacle agent with every certificate and trust command of the real\n"
    "one: instances, self-signed certificates, PFX import and export, trusted\n"
    "Octopus Server thumbprints, and a mutual-TLS listening service.")
set(CPACK_COMPONENT_SERVER_DESCRIPTION
    "Octopus Deploy Server: certificates and trust\n"
    "Octopus.Server with every certificate and trust command of the real one:\n"
    "instances, the Master Key, certificate rotation, and a service that\n"
    "health-checks its Tentacles over mutual TLS.")
string(REPLACE ";" "" CPACK_COMPONENT_TENTACLE_DESCRIPTION "${CPACK_COMPONENT_TENTACLE_DESCRIPTION}")
string(REPLACE ";" "" CPACK_COMPONENT_SERVER_DESCRIPTION "${CPACK_COMPONENT_SERVER_DESCRIPTION}")

# The executables carry their C++ runtime (src/server, src/tentacle) and load
# libssl3/libcrypto and libc: dpkg-shlibdeps (dpkg-dev) works out the versions
# from what they link; without it, the same dependencies are stated.
find_program(OCTO_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(OCTO_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.36), libssl3 (>= 3.0.0)")  # what it works out on Debian 12
endif()

include(CPack)
