// The parts of the seed procedure (shared/reference/seed-regenerate-
// certificates.txt) that need no running service, run exactly as written for
// Linux, asserting the lines the procedure shows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::ElementsAre;

class SeedProcedure : public CliTest {
 protected:
  void SetUp() override {
    MustServer({"create-instance", "--instance", "OctopusServer"});
    MustTentacle({"create-instance", "--instance", "Tentacle"});
    MustTentacle({"new-certificate", "--if-blank"});
    MustTentacle({"configure", "--trust", ServerThumbprint()});
  }

  std::vector<std::string> Trusted() {
    auto j = nlohmann::json::parse(MustTentacle({"show-configuration"}).out);
    std::vector<std::string> out;
    for (const auto& e : j["Tentacle"]["Communication"]["TrustedOctopusServers"]) out.push_back(e["Thumbprint"]);
    return out;
  }
};

TEST_F(SeedProcedure, ServerCertificateRotationWithoutServices) {
  const std::string old_tp = ServerThumbprint();
  const std::string oldcert = Path("oldcert.pfx"), newcert = Path("newcert.pfx");

  // 1. Backup the existing certificate.
  auto step1 = MustServer({"export-certificate", "--instance", "OctopusServer", "--export-pfx=" + oldcert,
                           "--pfx-password", "MySecretPassword"});
  EXPECT_THAT(step1.OutLines(), ElementsAre("Checking the Octopus Master Key has been configured.",
                                            "Exporting certificate...",
                                            "The certificate has been written to " + oldcert + "."));

  // 2. Generate a new certificate to a file.
  auto step2 = MustServer({"new-certificate", "--instance", "OctopusServer", "--export-pfx=" + newcert,
                           "--pfx-password", "MySecretPassword"});
  auto lines = step2.OutLines();
  ASSERT_EQ(lines.size(), 7u) << step2.out;
  EXPECT_EQ(lines[0], "Checking the Octopus Master Key has been configured.");
  EXPECT_EQ(lines[1], "Generating certificate...");
  EXPECT_EQ(lines[2], "The Octopus Server currently uses a certificate with thumbprint:");
  EXPECT_EQ(lines[3], old_tp);
  EXPECT_EQ(lines[4], "A new certificate has been generated with thumbprint:");
  const std::string new_tp = lines[5];
  ASSERT_EQ(new_tp.size(), 40u);
  EXPECT_EQ(lines[6], "The new certificate has been written to " + newcert + ".");
  EXPECT_EQ(ServerThumbprint(), old_tp);  // nothing else changed

  // 3. The Tentacle trusts the new certificate as well as the old one.
  auto step3 = MustTentacle({"configure", "--trust=" + new_tp});
  EXPECT_THAT(step3.OutLines(),
              ElementsAre("Adding 1 trusted Octopus Servers", "These changes require a restart of the Tentacle."));
  EXPECT_EQ(Trusted(), (std::vector<std::string>{old_tp, new_tp}));

  // 4. Replace the certificate on the Server.
  auto step4 = MustServer({"import-certificate", "--instance", "OctopusServer", "--from-file=" + newcert,
                           "--pfx-password", "MySecretPassword"});
  EXPECT_THAT(step4.OutLines(),
              ElementsAre("Importing the certificate stored in PFX file in " + newcert +
                              " using the provided password...",
                          "Checking the Octopus Master Key has been configured.",
                          "The certificate CN=Octopus Portal was updated; old thumbprint = " + old_tp +
                              ", new thumbprint = " + new_tp,
                          "Certificate imported successfully.",
                          "These changes require a restart of the Octopus Server."));
  EXPECT_EQ(ServerThumbprint(), new_tp);

  // 6. Stop trusting the old certificate.
  auto step6 = MustTentacle({"configure", "--instance", "Tentacle", "--remove-trust", old_tp});
  EXPECT_THAT(step6.OutLines(),
              ElementsAre("Removing 1 trusted Octopus Servers", "These changes require a restart of the Tentacle."));
  EXPECT_EQ(Trusted(), std::vector<std::string>{new_tp});

  // 8. The new certificate uses sha256.
  auto step8 = nlohmann::json::parse(MustServer({"show-thumbprint", "--format", "json"}).out);
  EXPECT_EQ(step8["Thumbprint"], new_tp);
  EXPECT_EQ(step8["SignatureAlgorithm"], "sha256RSA");

  // The backup still restores the old certificate.
  MustServer({"import-certificate", "--from-file", oldcert, "--pfx-password", "MySecretPassword"});
  EXPECT_EQ(ServerThumbprint(), old_tp);
}

TEST_F(SeedProcedure, TentacleCertificateRotation) {
  const std::string old_tp = TentacleThumbprint();
  auto r = MustTentacle({"new-certificate"});
  auto lines = r.OutLines();
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0], "A new certificate has been generated and installed. Thumbprint:");
  EXPECT_EQ(lines[1], TentacleThumbprint());
  EXPECT_NE(lines[1], old_tp);
  EXPECT_EQ(Trusted(), std::vector<std::string>{ServerThumbprint()});  // trust is untouched
}

}  // namespace
}  // namespace octo::testing
