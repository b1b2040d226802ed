// Bad input never changes state: each case exits non-zero with a clear
// "Error: ..." line naming the problem, and every config and key file is
// byte-identical afterwards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::HasSubstr;

struct BadInput {
  const char* name;
  bool server;                    // which executable
  std::vector<std::string> args;  // "@X" is replaced by the path of fixture file X
  int exit_code;
  std::string error;  // a substring of the first "Error: " line
  // Where the Windows executables say it otherwise (run under wine by
  // tests/windows/linux_test_under_wine.sh); empty: the same as `error`.
  std::string windows_error = {};
};

class BadInputs : public CliTest {
 protected:
  void SetUp() override {
    MustServer({"create-instance"});
    MustTentacle({"create-instance"});
    MustTentacle({"new-certificate"});
    MustTentacle({"configure", "--trust", ServerThumbprint()});
    MustServer({"add-target", "--name", "web", "--address", "https://127.0.0.1:1", "--thumbprint",
                TentacleThumbprint()});
    MustServer({"export-certificate", "--export-pfx", Path("good.pfx"), "--pfx-password", "right"});
    const std::string good = ReadTestFile(Path("good.pfx"));
    WriteTestFile(Path("truncated.pfx"), good.substr(0, good.size() - 100));
    WriteTestFile(Path("empty.pfx"), "");
    WriteTestFile(Path("text.pfx"), "this is not a certificate\n");
    std::filesystem::create_directory(Path("dir.pfx"));
    auto nokey = RunProcess({"sh", "-c",
                             "openssl pkcs12 -in '" + Path("good.pfx") + "' -passin pass:right -nokeys | "
                             "openssl pkcs12 -export -nokeys -passout pass:right -out '" + Path("nokey.pfx") + "'"});
    ASSERT_EQ(nokey.exit_code, 0) << nokey.err;
    WriteTestFile(Path("notjson.config"), "{ \"SchemaVersion\": 1,\n  nope }\n");
    WriteTestFile(Path("future.config"), "{\"SchemaVersion\": 99}\n");
    WriteTestFile(Path("types.config"),
                  "{\"SchemaVersion\": 1, \"Tentacle.Communication.TrustedOctopusServers\": \"all of them\", "
                  "\"Tentacle.Security.MachineKeyFile\": 5}\n");
    for (const auto& f : {ServerConfig(), ServerKey(), TentacleConfig(), TentacleKey(), Path("notjson.config"),
                          Path("future.config"), Path("types.config"), Path("good.pfx")}) {
      hashes_[f] = HashFile(f);
    }
  }

  std::map<std::string, std::string> hashes_;
};

TEST_F(BadInputs, ExitNonZeroWithOneClearLineAndChangeNothing) {
  const std::string kShort = "ABC123";
  const std::string k41(41, 'A');
  const std::string kNonHex = std::string(39, 'A') + "Z";
  const std::string kGood(40, 'E');
  std::vector<BadInput> cases = {
      // Thumbprints.
      {"short thumbprint", false, {"configure", "--trust", kShort}, 1, "has 6 hexadecimal characters"},
      {"long thumbprint", false, {"configure", "--trust", k41}, 1, "has 41 hexadecimal characters"},
      {"non-hex thumbprint", false, {"configure", "--trust", kNonHex}, 1, "contains 'Z'"},
      {"empty thumbprint", false, {"configure", "--trust", ""}, 1, "the thumbprint is empty"},
      {"bad remove-trust", false, {"configure", "--remove-trust", "xyz"}, 1, "--remove-trust: the thumbprint 'xyz'"},
      {"bad old thumbprint", false, {"update-trust", "--oldThumbprint", "1", "--newThumbprint", kGood}, 1,
       "--oldThumbprint"},
      {"untrusted old thumbprint", false, {"update-trust", "--oldThumbprint", kGood, "--newThumbprint", k41.substr(1)},
       1, "is not trusted"},
      {"one bad among good", false, {"configure", "--trust", kGood, "--trust", kShort}, 1, "'ABC123'"},
      // Ports, addresses, booleans, options.
      {"port zero", false, {"configure", "--port", "0"}, 1, "0 is not a port number"},
      {"port too big", false, {"configure", "--port", "65536"}, 1, "65536 is not a port number"},
      {"port negative", false, {"configure", "--port=-5"}, 1, "-5 is not a port number"},
      {"port not a number", false, {"configure", "--port", "ten"}, 1, "--port"},
      {"bad listen address", false, {"configure", "--listenIpAddress", "localhost:1"}, 1,
       "is not an IPv4 or IPv6 address"},
      {"bad boolean", false, {"configure", "--noListen", "perhaps"}, 1, "is not true or false"},
      {"nothing to configure", false, {"configure"}, 1, "needs at least one setting"},
      {"unknown option", false, {"configure", "--trustme", kGood}, 1, "--trustme"},
      {"unknown command", false, {"reconfigure-everything"}, 2, "is not a command of Tentacle"},
      {"bad format", false, {"show-thumbprint", "--format", "yaml"}, 1, "--format"},
      {"conflicting sources", false, {"import-certificate", "-f", "@good.pfx", "-b", "AAAA"}, 1, "exactly one of"},
      {"password without export", false, {"new-certificate", "--pfx-password", "x"}, 1, "only used with --export-pfx"},
      // PFX files.
      {"missing file", false, {"import-certificate", "-f", "@missing.pfx", "--pw", "right"}, 1,
       "missing.pfx' was not found."},
      {"directory", false, {"import-certificate", "-f", "@dir.pfx", "--pw", "right"}, 1, "is a directory"},
      {"empty file", false, {"import-certificate", "-f", "@empty.pfx", "--pw", "right"}, 1, "the file is empty"},
      {"text file", false, {"import-certificate", "-f", "@text.pfx", "--pw", "right"}, 1, "not a PFX"},
      {"truncated pfx", false, {"import-certificate", "-f", "@truncated.pfx", "--pw", "right"}, 1, "not a PFX"},
      {"wrong password", false, {"import-certificate", "-f", "@good.pfx", "--pw", "wrong"}, 1,
       "the password is not correct"},
      {"no password", false, {"import-certificate", "-f", "@good.pfx"}, 1, "none was given"},
      {"pfx without key", false, {"import-certificate", "-f", "@nokey.pfx", "--pw", "right"}, 1,
       "contains no private key"},
      {"bad base64", false, {"import-certificate", "--from-base64", "!!not base64!!"}, 1, "not a PFX"},
      // Passwords for export.
      {"export without password", false, {"export-certificate", "--export-pfx", "@out.pfx"}, 1,
       "a PFX password is required"},
      {"empty password", false, {"export-certificate", "--export-pfx", "@out.pfx", "--pw", ""}, 1, "must not be empty"},
      {"missing password file", false,
       {"export-certificate", "--export-pfx", "@out.pfx", "--pfx-password-file", "@nofile"}, 1,
       "cannot read the password file"},
      {"unset password variable", false,
       {"export-certificate", "--export-pfx", "@out.pfx", "--pfx-password-env", "OCTO_NOT_SET_ANYWHERE"}, 1,
       "is not set"},
      {"export into a directory", false, {"export-certificate", "--export-pfx", "@dir.pfx", "--pw", "x"}, 1,
       "cannot write"},
      // Instances and configs.
      {"unknown instance", false, {"show-thumbprint", "--instance", "Nope"}, 1, "no Tentacle instance named 'Nope'"},
      {"invalid instance name", false, {"show-thumbprint", "--instance", "../etc"}, 1, "--instance"},
      {"config not json", false, {"configure", "--config", "@notjson.config", "--trust", kGood}, 1,
       "notjson.config: line 2"},
      {"future schema", false, {"configure", "--config", "@future.config", "--trust", kGood}, 1,
       "schema version 99 is not supported"},
      {"wrong types", false, {"configure", "--config", "@types.config", "--trust", kGood}, 1, "must be an array"},
      {"wrong type key file", false, {"new-certificate", "--config", "@types.config"}, 1, "must be a string"},
      {"missing config", false, {"show-thumbprint", "--config", "@none.config"}, 1, "does not exist"},
      {"create again with another config", false, {"create-instance", "--config", "@other.config"}, 1,
       "already exists with the configuration file"},
      // Forms of the real products that are refused as the real ones refuse them.
      {"if-blank with export", false, {"new-certificate", "-b", "--export-pfx", "@out.pfx", "--pw", "x"}, 1,
       "Invalid command: --if-blank and --export-pfx cannot be specified together"},
      {"export-file with export-pfx", false, {"new-certificate", "-e", "@out.txt", "--export-pfx", "@out.pfx", "--pw",
                                              "x"}, 1, "--export-file and --export-pfx cannot be specified together"},
      {"listen address word", false, {"configure", "--listenIpAddress", "everywhere"}, 1, "or 'any'"},
      {"unrecognised arguments", false, {"show-thumbprint", "--proxyHost", "squid"}, 1,
       "Unrecognized command line arguments: --proxyHost squid"},
      {"help for no command", false, {"help", "register-with"}, 2, "is not a command of Tentacle"},
      {"show-configuration format", false, {"show-configuration", "--format", "yaml"}, 1, "--format"},
      // A domain account is what Windows expects; there, this one does not exist.
      {"windows service account", false, {"service", "--install", "--username", "CORP\\octo"}, 1,
       "is a Windows account", "there is no user 'CORP\\octo' here"},
      {"unknown service account", false, {"service", "--install", "--user", "nobody-at-all-here"}, 1,
       "there is no user"},
      {"depend on two words", false, {"service", "--install", "--dependOn", "a b"}, 1, "is not a systemd unit name",
       "Unable to set dependency on service 'a b' as no service was found with that name."},
      // The Server.
      {"server wrong password", true, {"import-certificate", "-f", "@good.pfx", "--pw", "wrong"}, 1,
       "the password is not correct"},
      {"server pfx without key", true, {"import-certificate", "-f", "@nokey.pfx", "--pw", "right"}, 1,
       "contains no private key"},
      {"server new-certificate without mode", true, {"new-certificate"}, 1, "needs --export-pfx FILE"},
      {"server export bad encoding", true, {"export-certificate", "--export-pfx", "@o.pfx", "--pw", "x",
                                            "--pfx-encoding", "rc2"}, 1, "--pfx-encoding"},
      {"target bad address", true, {"add-target", "--name", "x", "--address", "http://h:1", "--thumbprint", kGood}, 1,
       "must be https://HOST:PORT"},
      {"target no port", true, {"add-target", "--name", "x", "--address", "https://h", "--thumbprint", kGood}, 1,
       "must be https://HOST:PORT"},
      {"target bad thumbprint", true, {"add-target", "--name", "x", "--address", "https://h:1", "--thumbprint", "1"}, 1,
       "--thumbprint"},
      {"target duplicate", true, {"add-target", "--name", "web", "--address", "https://h:1", "--thumbprint", kGood}, 1,
       "already exists"},
      {"target unknown update", true, {"update-target", "--name", "nope", "--thumbprint", kGood}, 1,
       "no deployment target named 'nope'"},
      {"target unknown remove", true, {"remove-target", "--name", "nope"}, 1, "no deployment target named 'nope'"},
      {"service without action", true, {"service", "--username", "root"}, 1, "needs at least one of"},
      {"server grpc certificate", true, {"new-certificate", "--export-pfx", "@out.pfx", "--pw", "x", "--type", "grpc"},
       1, "the gRPC certificate is not managed here"},
      {"server comms port", true, {"configure", "--commsListenPort", "70000"}, 1, "is not a port number"},
      {"server configure nothing", true, {"configure"}, 1, "needs at least one setting"},
      {"server show-configuration format", true, {"show-configuration", "--format", "ini"}, 1, "--format"},
      {"health check without service", true, {"health-check"}, 3, "is not running"},
  };
  ASSERT_GE(cases.size(), 40u);
  for (auto c : cases) {
    for (auto& a : c.args) {
      if (a.size() > 1 && a[0] == '@') a = Path(a.substr(1));
    }
    ProcessOptions hermetic;  // a service row must never reach the real systemd
    hermetic.env["OCTOPUS_SYSTEMD_UNIT_DIR"] = Path("units");
    hermetic.env["OCTOPUS_SYSTEMCTL"] = "false";
    auto r = c.server ? Server(c.args, hermetic) : Tentacle(c.args, hermetic);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.name << "\n" << r.out << r.err;
    EXPECT_FALSE(std::filesystem::exists(Path("units"))) << c.name;
    std::string error_line;
    for (const auto& line : r.ErrLines()) {
      if (line.rfind("Error: ", 0) == 0) {
        error_line = line;
        break;
      }
    }
    const bool windows = !ProgramWrapper().empty();
    EXPECT_THAT(error_line, HasSubstr(windows && !c.windows_error.empty() ? c.windows_error : c.error))
        << c.name << "\n" << r.err;
    int error_lines = 0;
    for (const auto& line : r.ErrLines()) error_lines += line.rfind("Error: ", 0) == 0 ? 1 : 0;
    EXPECT_EQ(error_lines, 1) << c.name << "\n" << r.err;
    for (const auto& [file, hash] : hashes_) EXPECT_EQ(HashFile(file), hash) << c.name << ": " << file << " changed";
    EXPECT_FALSE(std::filesystem::exists(Path("out.pfx"))) << c.name;
    EXPECT_FALSE(std::filesystem::exists(Path("out.txt"))) << c.name;
    EXPECT_FALSE(std::filesystem::exists(Path("other.config"))) << c.name;
  }
}

}  // namespace
}  // namespace octo::testing
