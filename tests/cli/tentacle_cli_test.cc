// Tentacle, run as a user would: exit codes, exact lines, files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/base/encoding.h"
#include "common/crypto/pkcs12.h"
#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kRestart[] = "These changes require a restart of the Tentacle.";
const std::string kA = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const std::string kB = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const std::string kC = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";

class TentacleCli : public CliTest {
 protected:
  void SetUp() override {
    MustTentacle({"create-instance", "--instance", "Tentacle"});
    MustTentacle({"new-certificate", "--instance", "Tentacle", "--if-blank"});
  }

  std::vector<std::string> Trusted() {
    auto j = nlohmann::json::parse(ReadTestFile(TentacleConfig()));
    std::vector<std::string> out;
    for (const auto& e : j["Tentacle.Communication.TrustedOctopusServers"]) out.push_back(e["Thumbprint"]);
    return out;
  }

  nlohmann::json Config() { return nlohmann::json::parse(ReadTestFile(TentacleConfig())); }
};

TEST_F(CliTest, TentacleNewCertificateAndIfBlank) {
  MustTentacle({"create-instance"});
  auto r = MustTentacle({"new-certificate", "--if-blank"});
  auto lines = r.OutLines();
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], "A new certificate has been generated and installed. Thumbprint:");
  EXPECT_EQ(lines[1], TentacleThumbprint());
  EXPECT_EQ(lines[2], kRestart);
  const std::string config = HashFile(TentacleConfig());
  auto again = MustTentacle({"new-certificate", "-b"});
  EXPECT_EQ(again.out, "A certificate already exists, no changes will be applied.\n");
  EXPECT_EQ(HashFile(TentacleConfig()), config);
  // Without --if-blank it regenerates.
  auto fresh = MustTentacle({"new-certificate"});
  EXPECT_NE(fresh.OutLines()[1], lines[1]);
  EXPECT_EQ(fresh.OutLines()[1], TentacleThumbprint());
}

TEST_F(CliTest, TentacleWithoutCertificateSaysSo) {
  MustTentacle({"create-instance"});
  auto r = Tentacle({"show-thumbprint"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: the Tentacle instance 'Tentacle' has no certificate yet\n");
}

TEST_F(TentacleCli, ShowThumbprintIsTheBareThumbprint) {
  auto r = MustTentacle({"show-thumbprint"});
  EXPECT_THAT(r.out, ::testing::MatchesRegex("[0-9A-F]{40}\n"));
  auto j = nlohmann::json::parse(MustTentacle({"show-thumbprint", "--format", "json"}).out);
  EXPECT_EQ(j["Thumbprint"].get<std::string>() + "\n", r.out);
  EXPECT_EQ(j["Subject"], "CN=Octopus Tentacle");
  EXPECT_EQ(j["SignatureAlgorithm"], "sha256RSA");
}

// The thumbprint printed is the one stored with the certificate after
// new-certificate and import-certificate; without a stored summary it is
// computed from the certificate, the same.
TEST_F(TentacleCli, ShowThumbprintFollowsNewAndImportedCertificates) {
  const std::string first = TentacleThumbprint();  // --format json: decoded from the certificate
  EXPECT_EQ(MustTentacle({"show-thumbprint"}).out, first + "\n");
  EXPECT_TRUE(Config().contains("Tentacle.CertificateSummary"));
  MustTentacle({"export-certificate", "--export-pfx", Path("first.pfx"), "--pfx-password", "pw"});
  MustTentacle({"new-certificate"});
  const std::string second = TentacleThumbprint();
  EXPECT_NE(second, first);
  EXPECT_EQ(MustTentacle({"show-thumbprint"}).out, second + "\n");
  MustTentacle({"import-certificate", "--from-file", Path("first.pfx"), "--pfx-password", "pw"});
  EXPECT_EQ(MustTentacle({"show-thumbprint"}).out, first + "\n");
  auto j = Config();
  j.erase("Tentacle.CertificateSummary");
  WriteTestFile(TentacleConfig(), j.dump(2) + "\n");
  auto computed = MustTentacle({"show-thumbprint"});
  EXPECT_EQ(computed.out, first + "\n");
  EXPECT_EQ(computed.err, "");
}

TEST_F(TentacleCli, ConfigureTrustAddsAndSaysRestart) {
  auto r = MustTentacle({"configure", "--trust=" + kA});
  EXPECT_THAT(r.OutLines(), ElementsAre("Adding 1 trusted Octopus Servers", kRestart));
  EXPECT_EQ(Trusted(), std::vector<std::string>{kA});
  auto entry = Config()["Tentacle.Communication.TrustedOctopusServers"][0];
  EXPECT_EQ(entry["CommunicationStyle"], 1);
  EXPECT_TRUE(entry.contains("Address") && entry.contains("Squid") && entry.contains("SubscriptionId"));
}

TEST_F(TentacleCli, ConfigureTrustIsRepeatableAndAcceptsOtherForms) {
  std::string lower_b = kB;
  for (auto& c : lower_b) c = static_cast<char>(std::tolower(c));
  std::string colon_c;
  for (size_t i = 0; i < kC.size(); i += 2) colon_c += (i ? ":" : "") + kC.substr(i, 2);
  auto r = MustTentacle({"configure", "--trust", kA, "--trust=" + lower_b, "--trust", " " + colon_c + " "});
  EXPECT_THAT(r.OutLines(), ElementsAre("Adding 3 trusted Octopus Servers", kRestart));
  EXPECT_EQ(Trusted(), (std::vector<std::string>{kA, kB, kC}));
}

TEST_F(TentacleCli, TrustingTwiceSaysSoAndChangesNothing) {
  MustTentacle({"configure", "--trust", kA});
  const std::string config = HashFile(TentacleConfig());
  auto r = MustTentacle({"configure", "--trust", kA});
  EXPECT_THAT(r.OutLines(), ElementsAre("The Octopus Server with thumbprint " + kA + " is already trusted."));
  EXPECT_EQ(HashFile(TentacleConfig()), config);
}

TEST_F(TentacleCli, RemovingAnUntrustedThumbprintSaysSoAndChangesNothing) {
  MustTentacle({"configure", "--trust", kA});
  const std::string config = HashFile(TentacleConfig());
  auto r = MustTentacle({"configure", "--remove-trust", kB});
  EXPECT_THAT(r.OutLines(),
              ElementsAre("The Octopus Server with thumbprint " + kB + " is not trusted; nothing to remove."));
  EXPECT_EQ(HashFile(TentacleConfig()), config);
}

TEST_F(TentacleCli, ResetRemoveAddThenTheRestInOneCall) {
  MustTentacle({"configure", "--trust", kA, "--trust", kB});
  auto r = MustTentacle({"configure", "--remove-trust", kA, "--trust", kC, "--port", "10934"});
  EXPECT_THAT(r.OutLines(), ElementsAre("Removing 1 trusted Octopus Servers", "Adding 1 trusted Octopus Servers",
                                        "Services listen port: 10934", kRestart));
  EXPECT_EQ(Trusted(), (std::vector<std::string>{kB, kC}));
  EXPECT_EQ(Config()["Tentacle.Services.PortNumber"], 10934);
  auto reset = MustTentacle({"configure", "--reset-trust", "--trust", kA});
  EXPECT_THAT(reset.OutLines(),
              ElementsAre("Removing all trusted Octopus Servers...", "Adding 1 trusted Octopus Servers", kRestart));
  EXPECT_EQ(Trusted(), std::vector<std::string>{kA});
}

TEST_F(TentacleCli, ConfigureListeningSettings) {
  auto r = MustTentacle({"configure", "--listenIpAddress", "127.0.0.1", "--noListen=true", "--home", Path("h"),
                         "--app", Path("apps")});
  EXPECT_THAT(r.OutLines(), ElementsAre("Listen on IP address: 127.0.0.1", "Tentacle will not listen on a port",
                                        "Home directory set to: " + Shown(Path("h")),
                                        "Application directory set to: " + Shown(Path("apps")), kRestart));
  auto c = Config();
  EXPECT_EQ(c["Tentacle.Services.ListenIP"], "127.0.0.1");
  EXPECT_EQ(c["Tentacle.Services.NoListen"], true);
  EXPECT_EQ(c["Octopus.Home"], Shown(Path("h")));
  EXPECT_EQ(c["Tentacle.Deployment.ApplicationDirectory"], Shown(Path("apps")));
  MustTentacle({"configure", "--noListen", "false"});
  EXPECT_EQ(Config()["Tentacle.Services.NoListen"], false);
}

TEST_F(TentacleCli, ConfigureRejectsBadInputAndChangesNothing) {
  MustTentacle({"configure", "--trust", kA});
  const std::string config = HashFile(TentacleConfig());
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  std::vector<Case> cases = {
      {{"configure", "--trust", "1234"},
       "Error: --trust: the thumbprint '1234' has 4 hexadecimal characters; a thumbprint has exactly 40"},
      {{"configure", "--trust", kB, "--trust", "XYZ"},
       "Error: --trust: the thumbprint 'XYZ' contains 'X', which is not a hexadecimal digit"},
      {{"configure", "--remove-trust", ""}, "Error: --remove-trust: the thumbprint is empty"},
      {{"configure", "--trust", kB, "--port", "70000"}, "Error: --port: 70000 is not a port number (1-65535)"},
      {{"configure", "--port", "0"}, "Error: --port: 0 is not a port number (1-65535)"},
      {{"configure", "--port", "ten"}, "Error: Could not convert: --port = ten"},
      {{"configure", "--listenIpAddress", "300.1.1.1"},
       "Error: --listenIpAddress: '300.1.1.1' is not an IPv4 or IPv6 address, or 'any'"},
      {{"configure", "--noListen", "maybe"}, "Error: --noListen: 'maybe' is not true or false"},
      {{"configure"}, "Error: configure needs at least one setting to change (see 'Tentacle configure --help')"},
      {{"update-trust", "--oldThumbprint", kA, "--newThumbprint", "bad"},
       "Error: --newThumbprint: the thumbprint 'bad' has 3 hexadecimal characters; a thumbprint has exactly 40"},
      {{"update-trust", "--oldThumbprint", kA}, "Error: --newThumbprint is required"},
  };
  for (const auto& c : cases) {
    auto r = Tentacle(c.args);
    EXPECT_EQ(r.exit_code, 1) << ::testing::PrintToString(c.args) << r.err;
    ASSERT_FALSE(r.ErrLines().empty());
    EXPECT_EQ(r.ErrLines()[0], c.error);
    EXPECT_EQ(HashFile(TentacleConfig()), config) << ::testing::PrintToString(c.args);
  }
}

TEST_F(TentacleCli, UpdateTrustReplacesOneThumbprint) {
  MustTentacle({"configure", "--trust", kA, "--trust", kB});
  auto r = MustTentacle({"update-trust", "--oldThumbprint", kA, "--newThumbprint=" + kC});
  EXPECT_EQ(r.OutLines().front(), "Updating Octopus servers thumbprint from " + kA + " to " + kC);
  EXPECT_EQ(r.OutLines().back(), kRestart);
  EXPECT_EQ(Trusted(), (std::vector<std::string>{kC, kB}));
  const std::string config = HashFile(TentacleConfig());
  auto missing = Tentacle({"update-trust", "--oldThumbprint", kA, "--newThumbprint", "DD" + kA.substr(2)});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "Error: the Octopus Server with thumbprint " + kA + " is not trusted\n");
  auto dup = Tentacle({"update-trust", "--oldThumbprint", kC, "--newThumbprint", kB});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_EQ(dup.err, "Error: the Octopus Server with thumbprint " + kB + " is already trusted\n");
  EXPECT_EQ(HashFile(TentacleConfig()), config);
}

TEST_F(TentacleCli, ShowConfigurationNeverShowsTheKey) {
  MustTentacle({"configure", "--trust", kA});
  auto r = MustTentacle({"show-configuration"});
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["Tentacle"]["CertificateThumbprint"], TentacleThumbprint());
  EXPECT_EQ(j["Tentacle"]["Communication"]["TrustedOctopusServers"][0]["Thumbprint"], kA);
  EXPECT_EQ(j["Tentacle"]["Services"]["PortNumber"], 10933);
  EXPECT_FALSE(j["Tentacle"].contains("Certificate"));
  EXPECT_EQ(r.out.find("v1:"), std::string::npos);
  EXPECT_EQ(r.out.find(ReadTestFile(TentacleKey()).substr(0, 20)), std::string::npos);
}

TEST_F(TentacleCli, ExportAndImportCertificate) {
  const std::string tp = TentacleThumbprint();
  auto e = MustTentacle({"export-certificate", "--export-pfx", Path("t.pfx"), "--pfx-password", "pw"});
  EXPECT_THAT(e.OutLines(),
              ElementsAre("Exporting certificate...", "The certificate has been written to " + Path("t.pfx") + "."));
  MustTentacle({"new-certificate"});
  ASSERT_NE(TentacleThumbprint(), tp);
  auto i = MustTentacle({"import-certificate", "--from-file", Path("t.pfx"), "--pfx-password", "pw"});
  EXPECT_THAT(i.OutLines(), ElementsAre("Certificate with thumbprint " + tp + " imported successfully.", kRestart));
  EXPECT_EQ(TentacleThumbprint(), tp);
  // Base64 text, on the command line and in a file.
  const std::string b64 = Base64Encode(ReadTestFile(Path("t.pfx")));
  MustTentacle({"new-certificate"});
  auto b = MustTentacle({"import-certificate", "--from-base64", b64, "-pw", "pw"});
  EXPECT_EQ(b.OutLines()[0], "Certificate with thumbprint " + tp + " imported successfully.");
  WriteTestFile(Path("t.b64"), b64 + "\n");
  MustTentacle({"new-certificate"});
  MustTentacle({"import-certificate", "-f", Path("t.b64"), "--pfx-password", "pw"});
  EXPECT_EQ(TentacleThumbprint(), tp);
}

TEST_F(TentacleCli, ImportNeedsExactlyOneSource) {
  EXPECT_EQ(Tentacle({"import-certificate"}).exit_code, 1);
  auto r = Tentacle({"import-certificate", "-f", "a", "-b", "b"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: give the certificate with exactly one of --from-file FILE or --from-base64 TEXT\n");
}

TEST_F(TentacleCli, NewCertificateExportTakesTheCompatibleEncoding) {
  auto r = MustTentacle({"new-certificate", "--export-pfx", Path("n.pfx"), "--pfx-password", "pw",
                         "--pfx-encoding", "compatible"});
  auto read = ReadPfx(ReadTestFile(Path("n.pfx")), Secret("pw"));
  ASSERT_TRUE(read.ok());
  EXPECT_THAT(r.OutLines(),
              ElementsAre("A new certificate has been generated and written to " + Path("n.pfx") + ". Thumbprint:",
                          Thumbprint(read->identity.certificate.get())));
  EXPECT_THAT(RunProcess({"openssl", "pkcs12", "-info", "-noout", "-in", Path("n.pfx"), "-passin", "pass:pw"}).err,
              HasSubstr("pbeWithSHA1And3-KeyTripleDES-CBC"));
}

TEST_F(TentacleCli, ConfigThatIsNotJsonIsReportedAndNeverOverwritten) {
  WriteTestFile(TentacleConfig(), "{\n  \"SchemaVersion\": 1,\n  oops\n}\n");
  const std::string config = HashFile(TentacleConfig());
  auto r = Tentacle({"configure", "--trust", kA});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: " + Shown(TentacleConfig()) + ": line 3, column 3: not valid JSON"));
  EXPECT_EQ(HashFile(TentacleConfig()), config);
}

TEST_F(TentacleCli, EveryCommandHasHelp) {
  for (const char* cmd : {"create-instance", "delete-instance", "list-instances", "new-certificate",
                          "import-certificate", "export-certificate", "show-thumbprint", "configure", "update-trust",
                          "show-configuration", "version"}) {
    auto r = Tentacle({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_THAT(r.out, HasSubstr("Usage: Tentacle " + std::string(cmd))) << cmd;
  }
}

TEST_F(TentacleCli, ConfigOptionBypassesTheRegistry) {
  MustTentacle({"create-instance", "--instance", "Other", "--config", Path("other/t.config")});
  MustTentacle({"new-certificate", "--config", Path("other/t.config")});
  MustTentacle({"configure", "--config", Path("other/t.config"), "--trust", kB});
  auto j = nlohmann::json::parse(ReadTestFile(Path("other/t.config")));
  EXPECT_EQ(j["Tentacle.Communication.TrustedOctopusServers"][0]["Thumbprint"], kB);
  EXPECT_TRUE(std::filesystem::exists(Path("other/Other.machinekey")));
  EXPECT_EQ(Trusted(), std::vector<std::string>{});  // the default instance is untouched
}

TEST_F(TentacleCli, AValueThatLooksLikeAnOptionIsKeptAsItIs) {
  MustTentacle({"export-certificate", "--export-pfx", Path("t.pfx"), "--pw", "-pw"});
  auto read = ReadPfx(ReadTestFile(Path("t.pfx")), Secret("-pw"));
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(Thumbprint(read->identity.certificate.get()), TentacleThumbprint());
  // ...while the real products' single-dash options are understood.
  MustTentacle({"configure", "-instance", "Tentacle", "-trust", kA});
  EXPECT_EQ(Trusted(), std::vector<std::string>{kA});
}

TEST_F(TentacleCli, UpdateTrustToTheSameThumbprintChangesNothing) {
  MustTentacle({"configure", "--trust", kA});
  const std::string config = HashFile(TentacleConfig());
  auto r = MustTentacle({"update-trust", "--oldThumbprint", kA, "--newThumbprint", kA});
  EXPECT_EQ(r.OutLines().back(), "The Octopus Server with thumbprint " + kA + " is already trusted; nothing changed.");
  EXPECT_EQ(HashFile(TentacleConfig()), config);
}

TEST_F(TentacleCli, ResetAndRemoveInOneCallDoesNotComplain) {
  MustTentacle({"configure", "--trust", kA});
  auto r = MustTentacle({"configure", "--reset-trust", "--remove-trust", kA, "--listenIpAddress", ""});
  EXPECT_THAT(r.OutLines(), ElementsAre("Removing all trusted Octopus Servers...",
                                        "Listen on any IP address", kRestart));
  EXPECT_EQ(Trusted(), std::vector<std::string>{});
}

TEST_F(TentacleCli, ADamagedRegistryEntryHidesNoOtherAndCanBeDeleted) {
  MustTentacle({"create-instance", "--instance", "Second"});
  WriteTestFile(root() + "/Tentacle/Instances/Broken.config", "{bad");
  auto list = Tentacle({"list-instances"});
  EXPECT_EQ(list.exit_code, 1);
  EXPECT_THAT(list.OutLines(),
              ElementsAre("Instance 'Second' uses configuration '" + Shown(TentacleConfig("Second")) + "'.",
                          "Instance 'Tentacle' uses configuration '" + Shown(TentacleConfig()) + "'."));
  EXPECT_THAT(list.err, HasSubstr("Warning: instance 'Broken' cannot be listed: " +
                                  Shown(root() + "/Tentacle/Instances/Broken.config") +
                                  ": line 1, column 2: not valid JSON"));
  auto del = MustTentacle({"delete-instance", "--instance", "Broken"});
  EXPECT_EQ(del.out, "Deleted instance: Broken\n");
  EXPECT_EQ(MustTentacle({"list-instances"}).OutLines().size(), 2u);
}

TEST_F(TentacleCli, CreateInstanceAdoptsTheConfigOfADeletedInstance) {
  MustTentacle({"configure", "--trust", kA});
  const std::string tp = TentacleThumbprint();
  const std::string config = HashFile(TentacleConfig()), key = HashFile(TentacleKey());
  MustTentacle({"delete-instance"});
  EXPECT_EQ(Tentacle({"show-thumbprint"}).exit_code, 1);
  auto r = MustTentacle({"create-instance", "--config", TentacleConfig()});
  EXPECT_THAT(r.OutLines(), ElementsAre("Creating installation for instance 'Tentacle'...", "Saving instance: Tentacle",
                                        "Using the existing configuration file " + Shown(TentacleConfig()) + "."));
  EXPECT_EQ(TentacleThumbprint(), tp);
  EXPECT_EQ(Trusted(), std::vector<std::string>{kA});
  EXPECT_EQ(HashFile(TentacleConfig()), config);
  EXPECT_EQ(HashFile(TentacleKey()), key);
}

}  // namespace
}  // namespace octo::testing
