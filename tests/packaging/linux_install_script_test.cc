// Octopus's published automation script for a listening Linux Tentacle
// (tests/data/linux-tentacle-listening.sh) run against the built Tentacle,
// hermetically: instances under a temporary OCTOPUS_CONFIG_ROOT, the systemd
// unit in a temporary directory, systemctl a stand-in that records its calls.
// The script runs as published except for its variables' values, the
// executable's path (build/bin instead of /opt/octopus/tentacle) and its
// register-with line, which is left out: registration is the real Octopus
// Server's HTTP API, not part of this project. The stand-in systemctl starts
// nothing, so the agent never listens and port 10933 stays free.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "packaging/listening_script.h"
#include "support/cli_fixture.h"
#include "support/fake_systemctl.h"

namespace octo::testing {
namespace {

class LinuxInstallScript : public CliTest {
 protected:
  ListeningScriptSetup Setup(const std::string& server_thumbprint) {
    ListeningScriptSetup s;
    s.tentacle = TentacleBin();
    s.server_thumbprint = server_thumbprint;
    s.config_path = root() + "/default/tentacle-default.config";
    s.application_path = Path("Applications");
    s.config_root = root();
    s.unit_dir = Path("units");
    s.systemctl = &systemctl_;
    s.script_path = Path("linux-tentacle-listening.sh");
    return s;
  }

  TempDir bin_;
  FakeSystemctl systemctl_{bin_.path()};
};

TEST_F(LinuxInstallScript, ConfiguresTrustsInstallsAndStartsTheTentacle) {
  MustServer({"create-instance", "--instance", "OctopusServer"});
  RunListeningScriptAndCheck(Setup(ServerThumbprint()));
}

// The prepared script differs from the published one only in the lines the
// test has to change: three variables, the executable's path, registration.
TEST_F(LinuxInstallScript, ChangesOnlyTheVariablesTheExecutableAndRegistration) {
  const auto setup = Setup("0123456789ABCDEF0123456789ABCDEF01234567");
  const auto published = SplitLines(PublishedListeningScript());
  const auto prepared = SplitLines(PrepareListeningScript(setup));
  ASSERT_EQ(published.size(), prepared.size());
  std::vector<std::string> changed;
  for (size_t i = 0; i < published.size(); ++i) {
    if (published[i] == prepared[i]) continue;
    changed.push_back(published[i].substr(0, published[i].find(' ')));
    if (published[i].starts_with("/opt/octopus/tentacle/Tentacle ") &&
        !published[i].starts_with("/opt/octopus/tentacle/Tentacle register-with ")) {
      EXPECT_EQ(prepared[i], setup.tentacle + published[i].substr(
                                                  std::strlen("/opt/octopus/tentacle/Tentacle")));
    }
  }
  EXPECT_THAT(changed, ::testing::ElementsAre(
                           "thumbprint=\"\"",
                           "configFilePath=\"/etc/octopus/default/tentacle-default.config\"",
                           "applicationPath=\"/home/Octopus/Applications/\"",
                           "/opt/octopus/tentacle/Tentacle", "/opt/octopus/tentacle/Tentacle",
                           "/opt/octopus/tentacle/Tentacle", "/opt/octopus/tentacle/Tentacle",
                           "/opt/octopus/tentacle/Tentacle", "/opt/octopus/tentacle/Tentacle"));
  EXPECT_THAT(prepared, ::testing::Contains(::testing::StartsWith(
                            "# (not run by the test) " + setup.tentacle + " register-with ")));
}

}  // namespace
}  // namespace octo::testing
