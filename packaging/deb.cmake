# The Debian package: `make deb` runs CPack's DEB generator over these install
# rules. CPack rather than a hand-staged dpkg-deb tree: the version comes from
# project(), the install rules are the one list of what ships, and
# dpkg-shlibdeps works out Depends from the binary itself (docs/operations.md,
# "Install from the package").

# `make deb` and the package test build the binary, not every test.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(SB_PKG_DIR ${PROJECT_SOURCE_DIR}/packaging)
install(TARGETS switchboard RUNTIME DESTINATION bin)
install(FILES ${SB_PKG_DIR}/switchboard.service DESTINATION /lib/systemd/system)
install(FILES ${SB_PKG_DIR}/sysusers.conf DESTINATION lib/sysusers.d RENAME switchboard.conf)
install(FILES ${SB_PKG_DIR}/tmpfiles.conf DESTINATION lib/tmpfiles.d RENAME switchboard.conf)
# /etc/switchboard: the commented configuration, and the default policy as
# the binary itself writes it (`switchboard init` in a scratch directory).
install(FILES ${PROJECT_SOURCE_DIR}/docs/config.example.toml DESTINATION /etc/switchboard
  RENAME switchboard.toml)
install(CODE "
  string(RANDOM LENGTH 8 tag)
  set(scratch \"${PROJECT_BINARY_DIR}/packaging/init-\${tag}\")
  file(REMOVE_RECURSE \"\${scratch}\")
  execute_process(COMMAND \"$<TARGET_FILE:switchboard>\" init --data-dir \"\${scratch}\"
    RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR \"switchboard init for the packaged policy failed: \${rc}\")
  endif()
  file(INSTALL \"\${scratch}/policy.toml\" DESTINATION /etc/switchboard
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  file(REMOVE_RECURSE \"\${scratch}\")
")
install(FILES ${PROJECT_SOURCE_DIR}/docs/operations.md ${PROJECT_SOURCE_DIR}/docs/config.example.toml
  ${PROJECT_SOURCE_DIR}/docs/configuration.md DESTINATION share/doc/switchboard)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME switchboard)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Switchboard maintainers <switchboard@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "member register, phone bank and e-mail for political parties")
set(CPACK_PACKAGE_DESCRIPTION
  "Switchboard keeps a party's member register with encrypted contact details, runs\n\
phone banks over a SIP trunk and sends member e-mail, under an access policy and a\n\
signed audit log. Runs as the switchboard system user under a hardened systemd unit.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# systemd-sysusers and systemd-tmpfiles (postinst), /bin/kill (ExecReload),
# the tz database.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd, procps, tzdata")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${SB_PKG_DIR}/conffiles ${SB_PKG_DIR}/postinst ${SB_PKG_DIR}/prerm ${SB_PKG_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/deb)
include(CPack)
