// Octopus's published automation script for a listening Tentacle
// (tests/data/linux-tentacle-listening.sh), run as a user would against an
// executable of ours, then checked step by step: the lines each command
// prints, the instance's configuration, the systemd unit and the systemctl
// calls. Used against the build (linux_install_script_test.cc) and against
// the installed package (packaging_test.cc).
#pragma once

#include <string>

#include "support/fake_systemctl.h"

namespace octo::testing {

struct ListeningScriptSetup {
  std::string tentacle;                      // runs in place of /opt/octopus/tentacle/Tentacle
  std::string server_thumbprint;             // the script's $thumbprint: a real Server's
  std::string config_path;                   // the script's $configFilePath
  std::string application_path;              // the script's $applicationPath
  std::string config_root;                   // OCTOPUS_CONFIG_ROOT
  std::string unit_dir;                      // OCTOPUS_SYSTEMD_UNIT_DIR
  const FakeSystemctl* systemctl = nullptr;  // OCTOPUS_SYSTEMCTL
  std::string script_path;                   // where the prepared script is written
};

// The published script with only these changes: the values of
// $thumbprint, $configFilePath and $applicationPath, the executable's path,
// and the register-with line turned into a comment (registration is the
// real Octopus Server's HTTP API, which this project does not have). Fails
// the test if a line to change is not there exactly once.
std::string PrepareListeningScript(const ListeningScriptSetup& setup);

// Writes the prepared script, runs it with bash, and checks every step. The
// instance is the default one, "Tentacle", as the script names none.
void RunListeningScriptAndCheck(const ListeningScriptSetup& setup);

// The published script as stored in tests/data.
std::string PublishedListeningScript();

}  // namespace octo::testing
