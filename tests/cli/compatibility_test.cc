// Script compatibility: the option forms, switches, texts and exit codes of
// the real Tentacle and Octopus.Server that published scripts rely on
// (docs/compatibility.md lists them with their sources). Each test runs the
// built executables as a script would and checks what a script sees.
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
using ::testing::StartsWith;

constexpr char kRestart[] = "These changes require a restart of the Tentacle.";
const std::string kA = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const std::string kB = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

class Compatibility : public CliTest {
 protected:
  void SetUp() override {
    MustTentacle({"create-instance", "--instance", "Tentacle"});
    MustTentacle({"new-certificate", "--instance", "Tentacle"});
    MustServer({"create-instance", "--instance", "OctopusServer"});
  }
  nlohmann::json TentacleJson() { return nlohmann::json::parse(ReadTestFile(TentacleConfig())); }
  nlohmann::json ServerJson() { return nlohmann::json::parse(ReadTestFile(ServerConfig())); }
};

// ---------------------------------------------------------------------------
// Switches, help, exit codes (Startup/OctopusProgram.cs, HelpCommand.cs).

TEST_F(Compatibility, EveryCommandAcceptsTheCommonSwitches) {
  const std::string tp = TentacleThumbprint();
  for (const std::vector<std::string>& sw : std::vector<std::vector<std::string>>{
           {"--console"}, {"--nologo"}, {"--noninteractive"}, {"--noconsolelogging"},
           {"--console", "--nologo", "--noninteractive", "--noconsolelogging"}, {"-console"}, {"-noninteractive"}}) {
    std::vector<std::string> args = {"show-thumbprint"};
    args.insert(args.end(), sw.begin(), sw.end());
    auto r = Tentacle(args);
    EXPECT_EQ(r.exit_code, 0) << ::testing::PrintToString(args) << r.err;
    EXPECT_EQ(r.out, tp + "\n") << ::testing::PrintToString(args);
    EXPECT_EQ(r.err, "") << ::testing::PrintToString(args);
  }
  // Before the command too, as "Tentacle --console show-thumbprint".
  EXPECT_EQ(MustTentacle({"--console", "show-thumbprint"}).out, tp + "\n");
  // Every command of both programs takes them (their own --help proves the parse).
  for (bool server : {false, true}) {
    const std::vector<std::string> commands =
        server ? std::vector<std::string>{"create-instance", "delete-instance", "list-instances", "new-certificate",
                                          "export-certificate", "import-certificate", "show-thumbprint",
                                          "show-master-key", "configure", "show-configuration", "add-target",
                                          "list-targets", "update-target", "remove-target", "health-check", "run",
                                          "service", "version"}
               : std::vector<std::string>{"create-instance", "delete-instance", "list-instances", "new-certificate",
                                          "import-certificate", "export-certificate", "show-thumbprint",
                                          "configure", "update-trust", "show-configuration", "agent", "run",
                                          "service", "version"};
    for (const auto& c : commands) {
      auto r = server ? Server({c, "--console", "--nologo", "--noninteractive", "--noconsolelogging", "--help"})
                      : Tentacle({c, "--console", "--nologo", "--noninteractive", "--noconsolelogging", "--help"});
      EXPECT_EQ(r.exit_code, 0) << c << r.err;
      EXPECT_THAT(r.out, HasSubstr("--noninteractive")) << c;
    }
  }
  // The systemd unit's own command line.
  MustServer({"list-targets", "--instance=OctopusServer", "--noninteractive"});
}

TEST_F(Compatibility, HelpCommandAndItsAliases) {
  for (const char* alias : {"help", "h", "?"}) {
    auto all = Tentacle({alias});
    EXPECT_EQ(all.exit_code, 0) << alias;
    EXPECT_THAT(all.out, HasSubstr("update-trust")) << alias;
    EXPECT_THAT(all.out, HasSubstr("Run 'Tentacle help COMMAND' for a command's options.")) << alias;
    auto one = Tentacle({alias, "configure"});
    EXPECT_EQ(one.exit_code, 0) << alias;
    EXPECT_THAT(one.out, HasSubstr("Usage: Tentacle configure [OPTIONS]")) << alias;
    EXPECT_THAT(one.out, HasSubstr("--remove-trust")) << alias;
  }
  // The command word is taken in any case, help and its aliases too.
  auto upper = Tentacle({"HELP"});
  EXPECT_EQ(upper.exit_code, 0) << upper.err;
  EXPECT_THAT(upper.out, HasSubstr("Run 'Tentacle help COMMAND' for a command's options."));
  EXPECT_EQ(upper.err, "");
  auto upper_one = Tentacle({"H", "configure"});
  EXPECT_EQ(upper_one.exit_code, 0) << upper_one.err;
  EXPECT_THAT(upper_one.out, HasSubstr("Usage: Tentacle configure [OPTIONS]"));
  EXPECT_THAT(MustServer({"help", "import-certificate"}).out, HasSubstr("--from-file"));
  EXPECT_THAT(MustServer({"import-certificate", "--help"}).out, HasSubstr("--from-file"));
  auto unknown = Tentacle({"help", "register-everything"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.ErrLines(), ElementsAre("Error: 'register-everything' is not a command of Tentacle",
                                              "Run 'Tentacle help' for the commands."));
}

TEST_F(Compatibility, ExitCodesAreTheRealOnes) {
  // No command: the general help, exit 2 (UnknownCommand).
  auto none = Tentacle({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.out, HasSubstr("show-thumbprint"));
  // An unknown command: 2.
  auto unknown = Server({"register-with", "--server", "https://x"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.ErrLines(), ElementsAre("Error: 'register-with' is not a command of Octopus.Server",
                                              "Run 'Octopus.Server help' for the commands."));
  // Unrecognised arguments: 1, with the real text.
  const std::string config = HashFile(TentacleConfig());
  auto extra = Tentacle({"configure", "--trust", kA, "--proxyHost", "squid"});
  EXPECT_EQ(extra.exit_code, 1);
  EXPECT_THAT(extra.ErrLines(), ElementsAre("Error: Unrecognized command line arguments: --proxyHost squid",
                                            "Run 'Tentacle configure --help' for the options."));
  EXPECT_EQ(HashFile(TentacleConfig()), config);
  // A bad value: 1, nothing changed.
  auto bad = Tentacle({"configure", "--port", "ten"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(HashFile(TentacleConfig()), config);
  // A controlled failure: 1.
  EXPECT_EQ(Tentacle({"show-thumbprint", "--instance", "Missing"}).exit_code, 1);
}

TEST_F(Compatibility, NamesInAnyCaseAndARepeatedOptionKeepsTheLast) {
  auto r = MustTentacle({"Configure", "--NoListen", "true", "--PORT", "10934", "--port", "10935"});
  EXPECT_THAT(r.OutLines(), ElementsAre("Services listen port: 10935", "Tentacle will not listen on a port", kRestart));
  EXPECT_EQ(TentacleJson()["Tentacle.Services.PortNumber"], 10935);
  EXPECT_EQ(TentacleJson()["Tentacle.Services.NoListen"], true);
  EXPECT_EQ(MustTentacle({"SHOW-THUMBPRINT", "--FORMAT", "JSON"}).out.substr(0, 15), "{\"Thumbprint\":\"");
  MustTentacle({"configure", "--trust", kA});
  auto u = MustTentacle({"update-trust", "--oldthumbprint", kA, "--newthumbprint", kB});
  EXPECT_EQ(u.OutLines()[0], "Updating Octopus servers thumbprint from " + kA + " to " + kB);
}

// ---------------------------------------------------------------------------
// Tentacle commands.

TEST_F(Compatibility, TentacleNewCertificateExportWritesTheFileAndInstallsNothing) {
  const std::string before = TentacleThumbprint();
  const std::string config = HashFile(TentacleConfig());
  auto r = MustTentacle({"new-certificate", "--export-pfx", Path("new.pfx"), "--pfx-password", "pw"});
  ASSERT_EQ(r.OutLines().size(), 2u) << r.out;
  EXPECT_EQ(r.OutLines()[0], "A new certificate has been generated and written to " + Path("new.pfx") + ". Thumbprint:");
  auto read = ReadPfx(ReadTestFile(Path("new.pfx")), Secret("pw"));
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(r.OutLines()[1], Thumbprint(read->identity.certificate.get()));
  EXPECT_NE(r.OutLines()[1], before);
  EXPECT_EQ(HashFile(TentacleConfig()), config);
  EXPECT_EQ(TentacleThumbprint(), before);
  const auto pfx_mode = static_cast<unsigned>(std::filesystem::status(Path("new.pfx")).permissions());
  EXPECT_TRUE(IsPrivateFileMode(pfx_mode & 0777u)) << std::oct << pfx_mode;
  // It imports as the real procedure does.
  auto i = MustTentacle({"import-certificate", "--from-file", Path("new.pfx"), "--pfx-password", "pw"});
  EXPECT_EQ(i.OutLines()[0], "Certificate with thumbprint " + r.OutLines()[1] + " imported successfully.");
  EXPECT_EQ(TentacleThumbprint(), r.OutLines()[1]);

  // The deprecated -e/--export-file: unprotected base64 text, importable.
  auto e = MustTentacle({"new-certificate", "-e", Path("new.txt")});
  EXPECT_EQ(e.OutLines()[0], "A new certificate has been generated and written to " + Path("new.txt") + ". Thumbprint:");
  auto decoded = Base64Decode(ReadTestFile(Path("new.txt")));
  ASSERT_TRUE(decoded.ok());
  auto plain = ReadPfx(*decoded, Secret());
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(Thumbprint(plain->identity.certificate.get()), e.OutLines()[1]);
  MustTentacle({"import-certificate", "-f", Path("new.txt")});
  EXPECT_EQ(TentacleThumbprint(), e.OutLines()[1]);
}

TEST_F(Compatibility, TentacleNewCertificateRefusesWhatTheRealOneRefuses) {
  const std::string config = HashFile(TentacleConfig());
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {{"new-certificate", "--if-blank", "--export-pfx", Path("x.pfx"), "--pfx-password", "pw"},
            "Error: Invalid command: --if-blank and --export-pfx cannot be specified together"},
           {{"new-certificate", "-b", "-e", Path("x.txt")},
            "Error: Invalid command: --if-blank and --export-file cannot be specified together"},
           {{"new-certificate", "--export-file", Path("x.txt"), "--export-pfx", Path("x.pfx"), "--pw", "p"},
            "Error: Invalid command: --export-file and --export-pfx cannot be specified together"},
       }) {
    auto r = Tentacle(c.args);
    EXPECT_EQ(r.exit_code, 1) << ::testing::PrintToString(c.args);
    EXPECT_EQ(r.err, c.error + "\n");
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(HashFile(TentacleConfig()), config);
  EXPECT_FALSE(std::filesystem::exists(Path("x.pfx")));
  EXPECT_FALSE(std::filesystem::exists(Path("x.txt")));
}

TEST_F(Compatibility, TentacleShowThumbprintForms) {
  const std::string tp = TentacleThumbprint();
  EXPECT_EQ(MustTentacle({"show-thumbprint", "--thumbprint-only"}).out, tp + "\n");
  // JSON: the real object's only key comes first; ours follow it.
  auto j = MustTentacle({"show-thumbprint", "--format", "json"});
  EXPECT_THAT(j.out, StartsWith("{\"Thumbprint\":\"" + tp + "\""));
  EXPECT_EQ(nlohmann::ordered_json::parse(j.out).begin().key(), "Thumbprint");
  // -e: the file gets it, standard output nothing.
  auto e = MustTentacle({"show-thumbprint", "-e", Path("tp.txt")});
  EXPECT_EQ(e.out, "");
  EXPECT_EQ(e.err, "The thumbprint has been written to " + Path("tp.txt") + ".\n");
  EXPECT_EQ(ReadTestFile(Path("tp.txt")), tp + "\n");
  auto ej = MustTentacle({"show-thumbprint", "--export-file", Path("tp.json"), "--format", "json"});
  EXPECT_EQ(ej.out, "");
  EXPECT_EQ(nlohmann::json::parse(ReadTestFile(Path("tp.json")))["Thumbprint"], tp);
}

TEST_F(Compatibility, TentacleConfigureAliasesAndListenAddresses) {
  auto r = MustTentacle({"configure", "--homedir", Path("home"), "--appdir", Path("apps")});
  EXPECT_THAT(r.OutLines(), ElementsAre("Home directory set to: " + Shown(Path("home")),
                                        "Application directory set to: " + Shown(Path("apps")), kRestart));
  EXPECT_EQ(TentacleJson()["Octopus.Home"], Shown(Path("home")));
  EXPECT_EQ(TentacleJson()["Tentacle.Deployment.ApplicationDirectory"], Shown(Path("apps")));
  EXPECT_TRUE(std::filesystem::is_directory(Path("home")));  // made, as the real command makes them
  EXPECT_TRUE(std::filesystem::is_directory(Path("apps")));
  struct Case {
    std::string value, line, stored;
  };
  for (const Case& c : std::vector<Case>{{"127.0.0.1", "Listen on IP address: 127.0.0.1", "127.0.0.1"},
                                         {"::1", "Listen on IP address: ::1", "::1"},
                                         // Printed and stored in the usual form, as the real one prints it.
                                         {"0:0::1", "Listen on IP address: ::1", "::1"},
                                         {"FE80:0000:0000::0001", "Listen on IP address: fe80::1", "fe80::1"},
                                         {"0:0:0:0:0:0:0:0", "Listen on IP address: ::", "::"},
                                         {"any", "Listen on any IP address", ""},
                                         {"Any", "Listen on any IP address", ""},
                                         {"", "Listen on any IP address", ""}}) {
    auto l = MustTentacle({"configure", "--listenIpAddress", c.value});
    EXPECT_THAT(l.OutLines(), ElementsAre(c.line, kRestart)) << c.value;
    EXPECT_EQ(TentacleJson()["Tentacle.Services.ListenIP"], c.stored) << c.value;
  }
  auto noListen = MustTentacle({"configure", "--noListen", "False"});
  EXPECT_THAT(noListen.OutLines(), ElementsAre("Tentacle will listen on a TCP port", kRestart));
  const std::string config = HashFile(TentacleConfig());
  auto bad = Tentacle({"configure", "--listenIpAddress", "anywhere"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, "Error: --listenIpAddress: 'anywhere' is not an IPv4 or IPv6 address, or 'any'\n");
  EXPECT_EQ(HashFile(TentacleConfig()), config);
}

TEST_F(Compatibility, TentacleImportOfAMissingFileUsesTheRealText) {
  const std::string config = HashFile(TentacleConfig());
  auto r = Tentacle({"import-certificate", "--from-file", Path("nope.pfx"), "--pfx-password", "pw"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: Certificate '" + Path("nope.pfx") + "' was not found.\n");
  EXPECT_EQ(HashFile(TentacleConfig()), config);
}

TEST_F(Compatibility, TentacleUpdateTrustPrintsTheRealLinesAndCanRunTwice) {
  MustTentacle({"configure", "--trust", kA, "--trust", kB});
  const std::string kN = "1111111111111111111111111111111111111111";
  auto r = MustTentacle({"update-trust", "--oldThumbprint", kA, "--newThumbprint", kN});
  EXPECT_THAT(r.OutLines(),
              ElementsAre("Updating Octopus servers thumbprint from " + kA + " to " + kN,
                          "Finding existing Octopus Server registrations trusting the thumbprint " + kA +
                              " and updating them to trust the thumbprint " + kN + ":",
                          "Updating listening tentacle  " + kA + " - changing to trust " + kN,
                          "Ignoring listening tentacle  " + kB + " - does not match old thumbprint", kRestart));
  const std::string config = HashFile(TentacleConfig());
  // A script run a second time: done already, nothing changes, success.
  auto again = MustTentacle({"update-trust", "--oldThumbprint", kA, "--newThumbprint", kN});
  EXPECT_EQ(again.OutLines().back(),
            "The Octopus Server with thumbprint " + kN + " is already trusted; nothing changed.");
  EXPECT_EQ(HashFile(TentacleConfig()), config);
}

// ---------------------------------------------------------------------------
// Octopus.Server commands.

TEST_F(Compatibility, ServerNewCertificatePrintsEachThumbprintOnItsOwnLine) {
  const std::string old_tp = ServerThumbprint();
  auto r = MustServer({"new-certificate", "--instance", "OctopusServer", "--export-pfx=" + Path("new.pfx"),
                       "--pfx-password", "MySecretPassword", "--type", "tentacle"});
  auto lines = r.OutLines();
  ASSERT_EQ(lines.size(), 7u) << r.out;
  EXPECT_EQ(lines[0], "Checking the Octopus Master Key has been configured.");
  EXPECT_EQ(lines[1], "Generating certificate...");
  EXPECT_EQ(lines[2], "The Octopus Server currently uses a certificate with thumbprint:");
  EXPECT_EQ(lines[3], old_tp);
  EXPECT_EQ(lines[4], "A new certificate has been generated with thumbprint:");
  EXPECT_EQ(lines[6], "The new certificate has been written to " + Path("new.pfx") + ".");
  auto read = ReadPfx(ReadTestFile(Path("new.pfx")), Secret("MySecretPassword"));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(lines[5], Thumbprint(read->identity.certificate.get()));
  EXPECT_EQ(ServerThumbprint(), old_tp);
  // The older docs' --export-file (base64 text).
  auto e = MustServer({"new-certificate", "--export-file=" + Path("new.txt")});
  EXPECT_EQ(e.OutLines().back(), "The new certificate has been written to " + Path("new.txt") + ".");
  EXPECT_TRUE(Base64Decode(ReadTestFile(Path("new.txt"))).ok());
}

TEST_F(Compatibility, ServerCertificateTypeIsTentacleOnly) {
  const std::string config = HashFile(ServerConfig());
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"show-thumbprint", "--type", "Tentacle"},
           {"export-certificate", "--type", "tentacle", "--export-pfx", Path("t.pfx"), "--pfx-password", "p"}}) {
    auto r = Server(args);
    EXPECT_EQ(r.exit_code, 0) << ::testing::PrintToString(args) << r.err;
  }
  for (const char* cmd : {"show-thumbprint", "new-certificate", "import-certificate", "export-certificate"}) {
    auto r = Server({cmd, "--type", "grpc"});
    EXPECT_EQ(r.exit_code, 1) << cmd;
    EXPECT_EQ(r.ErrLines()[0], "Error: --type: the gRPC certificate is not managed here; use --type tentacle") << cmd;
  }
  EXPECT_EQ(HashFile(ServerConfig()), config);
}

TEST_F(Compatibility, ServerCreateInstanceNodeNameAndConfigure) {
  auto c = MustServer({"create-instance", "--instance", "Node2", "--serverNodeName", "octo-node-2"});
  EXPECT_EQ(c.OutLines().back(), "Server node name: octo-node-2");
  EXPECT_EQ(nlohmann::json::parse(ReadTestFile(ServerConfig("Node2")))["Octopus.Server.NodeName"], "octo-node-2");
  auto r = MustServer({"configure", "--commsListenPort", "10943", "--serverNodeName", "main"});
  EXPECT_THAT(r.OutLines(), ElementsAre("Server node name: main", "Communications listen port: 10943",
                                        "These changes require a restart of the Octopus Server."));
  EXPECT_EQ(ServerJson()["Octopus.Communications.ServicesPort"], 10943);
  const std::string config = HashFile(ServerConfig());
  auto bad = Server({"configure", "--commsListenPort", "0"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, "Error: --commsListenPort: 0 is not a port number (1-65535)\n");
  EXPECT_EQ(HashFile(ServerConfig()), config);
}

TEST_F(Compatibility, ShowConfigurationInTheRealFormats) {
  // Server: XML by default.
  auto xml = MustServer({"show-configuration"});
  EXPECT_THAT(xml.out, StartsWith("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<octopus-settings"));
  EXPECT_THAT(xml.out, HasSubstr("  <set key=\"Octopus.Home\">" + ServerJson()["Octopus.Home"].get<std::string>() +
                                 "</set>\n"));
  auto flat = nlohmann::json::parse(MustServer({"show-configuration", "--format", "json"}).out);
  EXPECT_EQ(flat["Octopus.Home"], ServerJson()["Octopus.Home"]);
  auto nested = nlohmann::json::parse(MustServer({"show-configuration", "--format=json-hierarchical"}).out);
  EXPECT_EQ(nested["Octopus"]["Home"], ServerJson()["Octopus.Home"]);
  // Never the sealed certificate, in any format.
  const std::string sealed = ServerJson()["Octopus.Server.Certificate"].get<std::string>();
  ASSERT_FALSE(sealed.empty());
  for (const char* f : {"xml", "json", "json-hierarchical"}) {
    EXPECT_EQ(MustServer({"show-configuration", "--format", f}).out.find(sealed.substr(0, 24)), std::string::npos);
  }
  // Tentacle: hierarchical by default; --file writes it instead.
  auto t = MustTentacle({"show-configuration", "--file", Path("t.json")});
  EXPECT_EQ(t.out, "");
  EXPECT_EQ(nlohmann::json::parse(ReadTestFile(Path("t.json")))["Tentacle"]["CertificateThumbprint"],
            TentacleThumbprint());
}

TEST_F(Compatibility, ReimportingTheCurrentCertificateSaysSo) {
  MustServer({"export-certificate", "--export-pfx", Path("cur.pfx"), "--pfx-password", "pw"});
  const std::string config = HashFile(ServerConfig());
  auto r = MustServer({"import-certificate", "--from-file", Path("cur.pfx"), "--pfx-password", "pw"});
  EXPECT_EQ(r.OutLines().back(), "The certificate CN=Octopus Portal with thumbprint " + ServerThumbprint() +
                                     " is already the Octopus Server's certificate; nothing was changed.");
  EXPECT_EQ(HashFile(ServerConfig()), config);
}

TEST_F(Compatibility, TargetChangesSayWhenTheyApply) {
  auto r = MustServer({"add-target", "--name", "web", "--address", "https://127.0.0.1:10933", "--thumbprint", kA});
  EXPECT_EQ(r.OutLines().back(), "The Octopus Server service is not running; it uses this when it starts.");
}

// ---------------------------------------------------------------------------
// Instances: set-up scripts run twice, and what delete-instance keeps.

TEST_F(Compatibility, CreateInstanceRunAgainWithTheSameConfigSucceeds) {
  const std::string config = Path("etc/Web/tentacle-Web.config");
  MustTentacle({"create-instance", "--instance", "Web", "--config", config});
  const std::string hash = HashFile(config);
  auto again = MustTentacle({"create-instance", "--instance", "Web", "--config", config});
  EXPECT_THAT(again.OutLines(), ElementsAre("Creating installation for instance 'Web'...", "Saving instance: Web",
                                            "Using the existing configuration file " + Shown(config) + "."));
  EXPECT_EQ(HashFile(config), hash);
  // Another configuration under a registered name is still refused.
  auto other = Tentacle({"create-instance", "--instance", "Web", "--config", Path("other.config")});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_EQ(other.ErrLines().back(),
            "Error: the Tentacle instance 'Web' already exists with the configuration file " + Shown(config));
}

TEST_F(Compatibility, CreateInstanceWarnsWhenTheAdoptedConfigsKeyIsMissing) {
  MustServer({"delete-instance", "--instance", "OctopusServer"});
  std::filesystem::rename(ServerKey(), Path("saved.masterkey"));
  auto r = MustServer({"create-instance", "--instance", "OctopusServer", "--config", ServerConfig()});
  EXPECT_EQ(r.err, "Warning: the Octopus Master Key of this configuration, " + Shown(ServerKey()) +
                       ", is missing: its certificate cannot be read until the key file is restored\n");
  auto d = MustServer({"delete-instance", "--instance", "OctopusServer"});
  EXPECT_THAT(d.OutLines(), ElementsAre("Deleted instance: OctopusServer",
                                        "The configuration file " + Shown(ServerConfig()) + " was kept; its key file " +
                                            Shown(ServerKey()) + " is missing; remove it yourself once it is no longer "
                                                          "needed."));
  std::filesystem::rename(Path("saved.masterkey"), ServerKey());
  MustServer({"create-instance", "--instance", "OctopusServer", "--config", ServerConfig()});
  auto kept = MustServer({"delete-instance", "--instance", "OctopusServer"});
  EXPECT_EQ(kept.OutLines().back(), "The configuration file " + Shown(ServerConfig()) + " and its key file " + Shown(ServerKey()) +
                                        " were kept; remove them yourself once they are no longer needed.");
}

TEST_F(Compatibility, TentacleCreateInstanceWarnsWhenTheAdoptedConfigsKeyIsMissing) {
  MustTentacle({"delete-instance", "--instance", "Tentacle"});
  std::filesystem::rename(TentacleKey(), Path("saved.machinekey"));
  auto r = MustTentacle({"create-instance", "--instance", "Tentacle", "--config", TentacleConfig()});
  EXPECT_THAT(r.OutLines(), ElementsAre("Creating installation for instance 'Tentacle'...", "Saving instance: Tentacle",
                                        "Using the existing configuration file " + Shown(TentacleConfig()) + "."));
  EXPECT_EQ(r.err, "Warning: the Tentacle machine key of this configuration, " + Shown(TentacleKey()) +
                       ", is missing: its certificate cannot be read until the key file is restored\n");
  EXPECT_FALSE(std::filesystem::exists(TentacleKey()));  // never silently regenerated
  auto d = MustTentacle({"delete-instance", "--instance", "Tentacle"});
  EXPECT_THAT(d.OutLines(), ElementsAre("Deleted instance: Tentacle",
                                        "The configuration file " + Shown(TentacleConfig()) + " was kept; its key file " +
                                            Shown(TentacleKey()) + " is missing; remove it yourself once it is no longer "
                                                            "needed."));
  // With the key back, no warning.
  std::filesystem::rename(Path("saved.machinekey"), TentacleKey());
  auto again = MustTentacle({"create-instance", "--instance", "Tentacle", "--config", TentacleConfig()});
  EXPECT_EQ(again.err, "");
}

}  // namespace
}  // namespace octo::testing
