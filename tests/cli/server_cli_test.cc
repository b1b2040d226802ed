// Octopus.Server, run as a user would: exit codes, exact lines, files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>

#include "common/base/encoding.h"
#include "common/crypto/pkcs12.h"
#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kChecking[] = "Checking the Octopus Master Key has been configured.";

class ServerCli : public CliTest {
 protected:
  void SetUp() override { MustServer({"create-instance", "--instance", "OctopusServer"}); }

  // Thumbprint of the certificate in a PFX file, read with our library.
  std::string PfxThumbprint(const std::string& path, const std::string& password) {
    auto r = ReadPfx(ReadTestFile(path), Secret(password));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? Thumbprint(r->identity.certificate.get()) : "";
  }
};

mode_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST_F(CliTest, ServerCreateInstancePrintsWhatItMade) {
  auto r = MustServer({"create-instance", "--instance", "Main"});
  auto lines = r.OutLines();
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0], "Creating installation for instance 'Main'...");
  EXPECT_EQ(lines[1], "Saving instance: Main");
  EXPECT_EQ(lines[2], "Configuration file: " + Shown(ServerConfig("Main")));
  EXPECT_EQ(lines[3], "The Octopus Master Key was written to " + Shown(ServerKey("Main")) + ".");
  EXPECT_EQ(lines[4], "A new certificate has been generated with thumbprint: " + ServerThumbprint("Main"));
  EXPECT_TRUE(IsPrivateFileMode(Mode(ServerConfig("Main")))) << std::oct << Mode(ServerConfig("Main"));
  EXPECT_TRUE(IsPrivateFileMode(Mode(ServerKey("Main")))) << std::oct << Mode(ServerKey("Main"));
  EXPECT_EQ(r.err, "");
}

TEST_F(ServerCli, CreateInstanceTwiceKeepsTheFirst) {
  // A set-up script run again succeeds, as the real one, and changes nothing.
  const std::string config = HashFile(ServerConfig()), key = HashFile(ServerKey());
  auto r = MustServer({"create-instance"});
  EXPECT_EQ(r.OutLines().back(), "Using the existing configuration file " + Shown(ServerConfig()) + ".");
  EXPECT_EQ(HashFile(ServerConfig()), config);
  EXPECT_EQ(HashFile(ServerKey()), key);
}

TEST_F(ServerCli, ShowThumbprintTextJsonAndExportFile) {
  const std::string tp = ServerThumbprint();
  ASSERT_EQ(tp.size(), 40u);
  auto text = MustServer({"show-thumbprint"});
  EXPECT_THAT(text.OutLines(), ElementsAre("The thumbprint of this Octopus Server is: " + tp,
                                           "The certificate's signature algorithm is: sha256RSA"));
  auto json = MustServer({"show-thumbprint", "--format=json"});
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["Thumbprint"], tp);
  EXPECT_EQ(j["SignatureAlgorithm"], "sha256RSA");
  EXPECT_EQ(j["Subject"], "CN=Octopus Portal");
  EXPECT_EQ(j["Sha256Fingerprint"].get<std::string>().size(), 64u);
  EXPECT_TRUE(j.contains("NotBefore") && j.contains("NotAfter"));
  MustServer({"show-thumbprint", "-e", Path("tp.txt")});
  EXPECT_EQ(ReadTestFile(Path("tp.txt")), tp + "\n");
  MustServer({"show-thumbprint", "--export-file", Path("tp.json"), "--format", "JSON"});
  EXPECT_EQ(nlohmann::json::parse(ReadTestFile(Path("tp.json")))["Thumbprint"], tp);
}

// FNV-1a (64 bits) of the thumbprint, the algorithm and the public
// certificate, each followed by a NUL: the "Check" of a stored summary
// (common/config/certificate_summary.h), written here to forge one.
std::string SummaryCheck(const std::string& tp, const std::string& algorithm, const std::string& public_b64) {
  uint64_t h = 14695981039346656037ULL;
  for (const std::string* part : {&tp, &algorithm, &public_b64}) {
    for (char c : *part) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    h *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

// show-thumbprint prints the summary stored with the certificate (no OpenSSL
// needed) after every command that changes the certificate, and computes it
// from the certificate when the summary is missing or was not written for it.
TEST_F(ServerCli, ShowThumbprintPrintsTheStoredSummaryOrComputesIt) {
  auto shown = [&] { return MustServer({"show-thumbprint"}).OutLines(); };
  auto expected = [](const std::string& tp, const std::string& algorithm = "sha256RSA") {
    return std::vector<std::string>{"The thumbprint of this Octopus Server is: " + tp,
                                    "The certificate's signature algorithm is: " + algorithm};
  };
  auto config = [&] { return nlohmann::ordered_json::parse(ReadTestFile(ServerConfig())); };
  auto edit = [&](const std::function<void(nlohmann::ordered_json&)>& change) {
    auto j = config();
    change(j);
    WriteTestFile(ServerConfig(), j.dump(2) + "\n");
  };
  const std::string first = ServerThumbprint();  // --format json: decoded from the certificate
  EXPECT_EQ(shown(), expected(first));
  EXPECT_TRUE(config().contains("Octopus.Server.CertificateSummary"));
  MustServer({"export-certificate", "--export-pfx", Path("first.pfx"), "--pfx-password", "pw"});

  MustServer({"new-certificate", "--replace"});
  const std::string second = ServerThumbprint();
  EXPECT_NE(second, first);
  EXPECT_EQ(shown(), expected(second));

  MustServer({"import-certificate", "--from-file", Path("first.pfx"), "--pfx-password", "pw"});
  EXPECT_EQ(shown(), expected(first));

  // What is printed is the stored summary: one forged with a valid check is believed.
  const std::string public_b64 = config()["Octopus.Server.PublicCertificate"];
  edit([&](auto& j) {
    j["Octopus.Server.CertificateSummary"] = {{"SignatureAlgorithm", "sha1RSA"},
                                              {"Check", SummaryCheck(first, "sha1RSA", public_b64)}};
  });
  auto forged = MustServer({"show-thumbprint"});
  EXPECT_EQ(forged.OutLines(), expected(first, "sha1RSA"));
  EXPECT_THAT(forged.err, HasSubstr("Warning: the certificate is signed with sha1RSA"));

  // Not written for what is stored now, or missing: computed from the certificate.
  edit([&](auto& j) { j["Octopus.Server.CertificateSummary"]["Check"] = SummaryCheck(first, "sha1RSA", "x"); });
  EXPECT_EQ(shown(), expected(first));
  edit([&](auto& j) { j.erase("Octopus.Server.CertificateSummary"); });
  auto computed = MustServer({"show-thumbprint"});
  EXPECT_EQ(computed.OutLines(), expected(first));
  EXPECT_EQ(computed.err, "");
  MustServer({"create-instance", "--instance", "Other"});
  const std::string other_b64 = nlohmann::ordered_json::parse(ReadTestFile(ServerConfig("Other")))
      ["Octopus.Server.PublicCertificate"];
  MustServer({"new-certificate", "--replace"});  // a summary again, for the certificate replaced next
  edit([&](auto& j) { j["Octopus.Server.PublicCertificate"] = other_b64; });  // a hand edit
  EXPECT_EQ(shown(), expected(ServerThumbprint("Other")));
}

TEST_F(ServerCli, ExportCertificateWritesAPfxOfTheCurrentCertificate) {
  auto r = MustServer({"export-certificate", "--instance", "OctopusServer", "--export-pfx=" + Path("old.pfx"),
                       "--pfx-password", "MySecretPassword"});
  EXPECT_THAT(r.OutLines(), ElementsAre(kChecking, "Exporting certificate...",
                                        "The certificate has been written to " + Path("old.pfx") + "."));
  EXPECT_EQ(PfxThumbprint(Path("old.pfx"), "MySecretPassword"), ServerThumbprint());
  EXPECT_TRUE(IsPrivateFileMode(Mode(Path("old.pfx")))) << std::oct << Mode(Path("old.pfx"));
}

TEST_F(ServerCli, NewCertificateToAFileChangesNothingElse) {
  const std::string before = HashFile(ServerConfig()), old_tp = ServerThumbprint();
  auto r = MustServer({"new-certificate", "--instance", "OctopusServer", "--export-pfx=" + Path("new.pfx"),
                       "--pfx-password", "MySecretPassword"});
  const std::string new_tp = PfxThumbprint(Path("new.pfx"), "MySecretPassword");
  EXPECT_NE(new_tp, old_tp);
  EXPECT_THAT(r.OutLines(),
              ElementsAre(kChecking, "Generating certificate...",
                          "The Octopus Server currently uses a certificate with thumbprint:", old_tp,
                          "A new certificate has been generated with thumbprint:", new_tp,
                          "The new certificate has been written to " + Path("new.pfx") + "."));
  EXPECT_EQ(HashFile(ServerConfig()), before);
  EXPECT_EQ(ServerThumbprint(), old_tp);
}

TEST_F(ServerCli, NewCertificateReplaceInstallsItAtOnce) {
  const std::string old_tp = ServerThumbprint();
  auto r = MustServer({"new-certificate", "--replace"});
  const std::string new_tp = ServerThumbprint();
  EXPECT_NE(new_tp, old_tp);
  EXPECT_THAT(r.OutLines(),
              ElementsAre(kChecking, "Generating certificate...",
                          "The Octopus Server currently uses a certificate with thumbprint:", old_tp,
                          "A new certificate has been generated with thumbprint:", new_tp,
                          "The new certificate has been installed.",
                          "These changes require a restart of the Octopus Server."));
}

TEST_F(ServerCli, ImportCertificateSwapsTheCertificate) {
  MustServer({"new-certificate", "--export-pfx", Path("new.pfx"), "--pfx-password", "pw"});
  const std::string old_tp = ServerThumbprint(), new_tp = PfxThumbprint(Path("new.pfx"), "pw");
  auto r = MustServer({"import-certificate", "--instance", "OctopusServer", "--from-file=" + Path("new.pfx"),
                       "--pfx-password", "pw"});
  EXPECT_THAT(r.OutLines(),
              ElementsAre("Importing the certificate stored in PFX file in " + Path("new.pfx") +
                              " using the provided password...",
                          kChecking,
                          "The certificate CN=Octopus Portal was updated; old thumbprint = " + old_tp +
                              ", new thumbprint = " + new_tp,
                          "Certificate imported successfully.", "These changes require a restart of the Octopus Server."));
  EXPECT_EQ(ServerThumbprint(), new_tp);
  // The imported key is usable: export it again and compare.
  MustServer({"export-certificate", "--export-pfx", Path("again.pfx"), "--pw", "x"});
  EXPECT_EQ(PfxThumbprint(Path("again.pfx"), "x"), new_tp);
}

TEST_F(ServerCli, SingleDashLongOptionsOfTheRealProductWork) {
  MustServer({"new-certificate", "--export-pfx", Path("new.pfx"), "--pfx-password", "pw"});
  MustServer({"import-certificate", "-instance", "OctopusServer", "-f", Path("new.pfx"), "-pw", "pw"});
  EXPECT_EQ(ServerThumbprint(), PfxThumbprint(Path("new.pfx"), "pw"));
}

TEST_F(ServerCli, PasswordFromFileEnvironmentAndStandardInput) {
  WriteTestFile(Path("pw.txt"), "from-file\n");
  MustServer({"export-certificate", "--export-pfx", Path("a.pfx"), "--pfx-password-file", Path("pw.txt")});
  EXPECT_EQ(PfxThumbprint(Path("a.pfx"), "from-file"), ServerThumbprint());
  ProcessOptions env;
  env.env["PFX_PW"] = "from-env";
  MustServer({"export-certificate", "--export-pfx", Path("b.pfx"), "--pfx-password-env", "PFX_PW"}, env);
  EXPECT_EQ(PfxThumbprint(Path("b.pfx"), "from-env"), ServerThumbprint());
  ProcessOptions in;
  in.stdin_data = "from-stdin\n";
  MustServer({"export-certificate", "--export-pfx", Path("c.pfx"), "--pfx-password-stdin"}, in);
  EXPECT_EQ(PfxThumbprint(Path("c.pfx"), "from-stdin"), ServerThumbprint());
  MustServer({"import-certificate", "-f", Path("c.pfx"), "--pfx-password-stdin"}, in);
}

// Runs Octopus.Server with a pseudo-terminal as standard input (what a user
// at a shell has); each of `answers` is typed, then Enter, when a prompt
// (a line ending in ": ") appears. Standard output and error go to the files
// `capture`.out and `capture`.err. At most 30 seconds.
ProcessResult RunServerOnATerminal(const std::string& root, const std::string& capture,
                                   const std::vector<std::string>& args, std::vector<std::string> answers) {
  ProcessResult result;
  int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) {
    ADD_FAILURE() << "no pseudo-terminal";
    if (master >= 0) ::close(master);
    return result;
  }
  const std::string slave = ::ptsname(master);
  const std::string out_file = capture + ".out";
  const std::string err_file = capture + ".err";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    int tty = ::open(slave.c_str(), O_RDWR);
    int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (tty < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(tty, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::setenv("OCTOPUS_CONFIG_ROOT", root.c_str(), 1);
    std::vector<std::string> argv = {ServerBin()};
    if (const std::string wrapper = ProgramWrapper(); !wrapper.empty()) argv.insert(argv.begin(), wrapper);
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c_args;
    for (auto& a : argv) c_args.push_back(a.data());
    c_args.push_back(nullptr);
    ::execvp(c_args[0], c_args.data());
    ::_exit(127);
  }
  size_t answered_at = 0;  // the size of the error output when last answered
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      result.timed_out = true;
      break;
    }
    // A new prompt: type the next answer as a user would, after it shows
    // (wine's console drops what was typed before the program asked).
    if (!answers.empty()) {
      std::ifstream in(err_file, std::ios::binary);  // not there until the child opens it
      const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (err.size() > answered_at && err.size() >= 2 && err.compare(err.size() - 2, 2, ": ") == 0) {
        const std::string line = answers.front() + "\r";  // Enter; the terminal makes it \n
        EXPECT_EQ(::write(master, line.data(), line.size()), static_cast<ssize_t>(line.size()));
        answers.erase(answers.begin());
        answered_at = err.size();
      }
    }
    // Drain what the terminal echoes, so that the program never blocks on it.
    char buf[256];
    ::fcntl(master, F_SETFL, O_NONBLOCK);
    while (::read(master, buf, sizeof buf) > 0) {
    }
    ::usleep(20000);
  }
  ::close(master);
  if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.out = ReadTestFile(out_file);
  result.err = ReadTestFile(err_file);
  std::erase(result.out, '\r');  // the Windows executables' CRLF lines, under wine
  std::erase(result.err, '\r');
  return result;
}

// --noninteractive: never a prompt, even with a user at a terminal; a PFX
// that needs a password and has none is refused. Without it, the same
// command on the same terminal prompts.
TEST_F(ServerCli, NoninteractiveRefusesToPromptForAPfxPasswordOnATerminal) {
  auto refused = RunServerOnATerminal(root(), Path("tty"), {"export-certificate", "--export-pfx", Path("n.pfx"),
                                                        "--noninteractive"}, {"typed", "typed"});
  EXPECT_FALSE(refused.timed_out) << "it waited for a password";
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.out, "");
  EXPECT_EQ(refused.err,
            "Error: a PFX password is required: give --pfx-password, --pfx-password-file, --pfx-password-env or "
            "--pfx-password-stdin (--noninteractive: there is no prompt)\n");
  EXPECT_FALSE(std::filesystem::exists(Path("n.pfx")));

  auto prompted =
      RunServerOnATerminal(root(), Path("tty"), {"export-certificate", "--export-pfx", Path("p.pfx")}, {"typed", "typed"});
  EXPECT_EQ(prompted.exit_code, 0) << prompted.err;
  EXPECT_EQ(prompted.err, "PFX password: \nRepeat the PFX password: \n");
  EXPECT_EQ(PfxThumbprint(Path("p.pfx"), "typed"), ServerThumbprint());
}

TEST_F(ServerCli, ShowMasterKeyPrintsTheKeyFile) {
  auto r = MustServer({"show-master-key"});
  auto j = MustServer({"show-master-key", "--format", "json"});
  std::string key = r.out;
  ASSERT_EQ(key.size(), 45u) << "32 bytes in base64 and a newline: " << key;
  key.pop_back();
  EXPECT_EQ(JsonField(j.out, "MasterKey"), key);
  if (!UnderWine()) {
    EXPECT_EQ(r.out, ReadTestFile(ServerKey()));
  } else {
    // On Windows the file holds the key protected by DPAPI; the key it
    // prints is the one a Linux key file would hold, so it still reads.
    EXPECT_EQ(ReadTestFile(ServerKey()).rfind("dpapi:", 0), 0u) << ReadTestFile(ServerKey());
    WriteTestFile(ServerKey(), r.out);
    EXPECT_EQ(MustServer({"show-master-key"}).out, r.out);
    EXPECT_EQ(Server({"show-thumbprint"}).exit_code, 0) << "the certificate decrypts with the key printed";
  }
}

TEST_F(ServerCli, MissingMasterKeyIsReportedAndNotRegenerated) {
  ASSERT_EQ(::unlink(ServerKey().c_str()), 0);
  const std::string config = HashFile(ServerConfig());
  for (std::vector<std::string> args :
       {std::vector<std::string>{"export-certificate", "--export-pfx", Path("x.pfx"), "--pfx-password", "pw"},
        std::vector<std::string>{"new-certificate", "--replace"}, std::vector<std::string>{"show-master-key"}}) {
    auto r = Server(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_THAT(r.err, HasSubstr("Error: the Octopus Master Key file " + Shown(ServerKey()) + " is missing"))
        << args[0];
    EXPECT_FALSE(std::filesystem::exists(ServerKey())) << args[0];
    EXPECT_EQ(HashFile(ServerConfig()), config) << args[0];
  }
  EXPECT_FALSE(std::filesystem::exists(Path("x.pfx")));
}

TEST_F(ServerCli, UnreadableKeyGivesTheMirroredWarning) {
  if (UnderWine()) GTEST_SKIP() << "POSIX modes and users: Windows has no mode warning (docs/cli.md, Windows)";
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a command as another user (CI runs as root)";
  ASSERT_TRUE(HaveProgram("setpriv"));
  // Let "nobody" reach and read the config, but not the key file (0600 root).
  for (auto p = std::filesystem::path(ServerConfig()).parent_path(); p.string().size() > 1; p = p.parent_path()) {
    std::filesystem::permissions(p, std::filesystem::perms::others_exec, std::filesystem::perm_options::add);
  }
  std::filesystem::permissions(ServerConfig(), std::filesystem::perms::others_read, std::filesystem::perm_options::add);
  std::filesystem::permissions(Path(""), std::filesystem::perms::all, std::filesystem::perm_options::add);
  const std::string config = HashFile(ServerConfig());
  auto r = RunProcess({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ServerBin(),
                       "export-certificate", "--export-pfx", Path("x.pfx"), "--pfx-password", "pw"},
                      [&] {
                        ProcessOptions o;
                        o.env["OCTOPUS_CONFIG_ROOT"] = root();
                        return o;
                      }());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto err = r.ErrLines();
  ASSERT_EQ(err.size(), 3u) << r.err;
  EXPECT_EQ(err[0], "Warning: the configuration file " + ServerConfig() +
                        " can be read or changed by other users (mode 0604); make it private: chmod 600 " +
                        ServerConfig());
  EXPECT_EQ(err[1], "The X509 certificate CN=Octopus Portal was loaded but the private key was not loaded.");
  EXPECT_EQ(err[2], "Error: cannot read " + ServerKey() +
                        ": Permission denied (run the command elevated, as the user that owns the instance)");
  EXPECT_EQ(HashFile(ServerConfig()), config);
  EXPECT_FALSE(std::filesystem::exists(Path("x.pfx")));
}

struct ImportFailure {
  const char* name;
  std::function<void(const std::string& dir)> prepare;  // makes dir/in.pfx
  std::vector<std::string> password;                     // password options
  std::string error;                                     // after "Error: ", DIR replaced
};

TEST_F(ServerCli, ImportFailuresChangeNothing) {
  MustServer({"new-certificate", "--export-pfx", Path("good.pfx"), "--pfx-password", "right"});
  const std::string good = ReadTestFile(Path("good.pfx"));
  std::vector<ImportFailure> cases = {
      {"wrong password", [&](const std::string& d) { WriteTestFile(d + "/in.pfx", good); }, {"--pfx-password", "wrong"},
       "cannot import DIR/in.pfx: the password is not correct for this PFX"},
      {"no password", [&](const std::string& d) { WriteTestFile(d + "/in.pfx", good); }, {},
       "cannot import DIR/in.pfx: the PFX is protected by a password, and none was given"},
      {"missing file", [](const std::string&) {}, {"--pfx-password", "x"},
       UnderWine() ? "cannot read DIR/in.pfx: File not found" : "cannot read DIR/in.pfx: No such file or directory"},
      {"empty file", [](const std::string& d) { WriteTestFile(d + "/in.pfx", ""); }, {"--pfx-password", "x"},
       "cannot import DIR/in.pfx: the file is empty"},
      {"text file", [](const std::string& d) { WriteTestFile(d + "/in.pfx", "hello, world\n"); }, {"--pfx-password", "x"},
       "cannot import DIR/in.pfx: it is not a PFX (PKCS#12) file, nor base64 text of one"},
      {"truncated", [&](const std::string& d) { WriteTestFile(d + "/in.pfx", good.substr(0, good.size() / 2)); },
       {"--pfx-password", "right"}, "cannot import DIR/in.pfx: it is not a PFX (PKCS#12) file"},
      {"directory", [](const std::string& d) { std::filesystem::create_directory(d + "/in.pfx"); },
       {"--pfx-password", "x"}, "cannot read DIR/in.pfx: it is a directory, not a file"},
  };
  const std::string config = HashFile(ServerConfig()), tp = ServerThumbprint();
  for (const auto& c : cases) {
    TempDir dir;
    c.prepare(dir.path());
    std::vector<std::string> args = {"import-certificate", "--from-file", dir.Path("in.pfx")};
    args.insert(args.end(), c.password.begin(), c.password.end());
    auto r = Server(args);
    std::string expected = c.error;
    expected.replace(expected.find("DIR/in.pfx"), 10, Shown(dir.Path("in.pfx")));
    EXPECT_EQ(r.exit_code, 1) << c.name;
    EXPECT_EQ(r.err, "Error: " + expected + "\n") << c.name;
    EXPECT_EQ(HashFile(ServerConfig()), config) << c.name;
  }
  EXPECT_EQ(ServerThumbprint(), tp);
}

struct UsageCase {
  std::vector<std::string> args;
  std::string first_error_line;
};

TEST_F(ServerCli, UsageErrorsExitOneWithOneClearLine) {
  std::vector<UsageCase> cases = {
      {{"show-thumbprint", "--bogus"}, "Error: Unrecognized command line arguments: --bogus"},
      {{"show-thumbprint", "--format", "xml"}, "Error: --format: xml not in {text,json}"},
      {{"export-certificate", "--pfx-password", "x"}, "Error: --export-pfx is required"},
      {{"export-certificate", "--export-pfx", "/tmp/never.pfx"},
       "Error: a PFX password is required: give --pfx-password, --pfx-password-file, --pfx-password-env or "
       "--pfx-password-stdin (standard input is not a terminal, so there is no prompt)"},
      {{"export-certificate", "--export-pfx", "/tmp/never.pfx", "--pfx-password", ""},
       "Error: the PFX password must not be empty"},
      {{"export-certificate", "--export-pfx", "/tmp/never.pfx", "--pfx-password", "a", "--pfx-password-env", "B"},
       "Error: give the PFX password one way only: --pfx-password, --pfx-password-file, --pfx-password-env or "
       "--pfx-password-stdin"},
      {{"export-certificate", "--export-pfx", "/tmp/never.pfx", "--pfx-password-env", "OCTO_UNSET_VARIABLE"},
       "Error: the environment variable OCTO_UNSET_VARIABLE is not set"},
      {{"new-certificate"},
       "Error: new-certificate needs --export-pfx FILE (write the new certificate to a file) or --replace (install "
       "it at once)"},
      {{"new-certificate", "--replace", "--pfx-password", "x"}, "Error: a PFX password is only used with --export-pfx"},
      {{"create-instance", "--instance", "bad/name"},
       "Error: --instance: the instance name 'bad/name' may hold only letters, digits, spaces, '.', '_' and '-'"},
      {{"show-thumbprint", "--instance", ".hidden"},
       "Error: --instance: the instance name '.hidden' must not start with '.' or a space"},
      {{"export-certificate", "--export-pfx", "/tmp/never.pfx", "--pw", "x", "--pfx-encoding", "0"},
       "Error: --pfx-encoding: 0 not in {modern,compatible}"},
  };
  const std::string config = HashFile(ServerConfig());
  for (const auto& c : cases) {
    auto r = Server(c.args);
    EXPECT_EQ(r.exit_code, 1) << ::testing::PrintToString(c.args) << r.err;
    ASSERT_FALSE(r.ErrLines().empty()) << ::testing::PrintToString(c.args);
    EXPECT_EQ(r.ErrLines()[0], c.first_error_line) << ::testing::PrintToString(c.args);
    EXPECT_EQ(r.out, "") << ::testing::PrintToString(c.args);
  }
  EXPECT_EQ(HashFile(ServerConfig()), config);
  EXPECT_FALSE(std::filesystem::exists("/tmp/never.pfx"));
  // An unknown command (and none at all) is 2, as the real program's UnknownCommand.
  auto unknown = Server({"no-such-command"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.ErrLines()[0], "Error: 'no-such-command' is not a command of Octopus.Server");
  EXPECT_EQ(Server({}).exit_code, 2);
  EXPECT_EQ(HashFile(ServerConfig()), config);
}

TEST_F(ServerCli, UnknownInstanceFails) {
  auto r = Server({"show-thumbprint", "--instance", "Nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "Error: there is no Octopus Server instance named 'Nope' (see list-instances; create one with "
            "create-instance)\n");
}

TEST_F(ServerCli, ListAndDeleteInstances) {
  MustServer({"create-instance", "--instance", "Second"});
  auto text = MustServer({"list-instances"});
  EXPECT_THAT(text.OutLines(),
              ElementsAre("Instance 'OctopusServer' uses configuration '" + Shown(ServerConfig()) + "'.",
                          "Instance 'Second' uses configuration '" + Shown(ServerConfig("Second")) + "'."));
  auto json = nlohmann::json::parse(MustServer({"list-instances", "--format", "json"}).out);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[1]["InstanceName"], "Second");
  EXPECT_EQ(json[1]["ConfigurationFilePath"], Shown(ServerConfig("Second")));
  auto del = MustServer({"delete-instance", "--instance", "Second"});
  EXPECT_EQ(del.OutLines()[0], "Deleted instance: Second");
  EXPECT_EQ(nlohmann::json::parse(MustServer({"list-instances", "--format", "json"}).out).size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(ServerKey("Second")));  // files are kept: the key must never be lost
  EXPECT_EQ(Server({"delete-instance", "--instance", "Second"}).exit_code, 1);
}

TEST_F(ServerCli, EveryCommandHasHelp) {
  for (const char* cmd : {"create-instance", "delete-instance", "list-instances", "new-certificate",
                          "export-certificate", "import-certificate", "show-thumbprint", "show-master-key",
                          "version"}) {
    auto r = Server({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_THAT(r.out, HasSubstr("Usage: Octopus.Server " + std::string(cmd))) << cmd;
  }
  auto top = Server({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.out, HasSubstr("import-certificate"));
}

TEST_F(ServerCli, Version) {
  auto r = MustServer({"version"});
  EXPECT_THAT(r.out, ::testing::MatchesRegex("Octopus\\.Server [0-9]+\\.[0-9]+\\.[0-9]+\n"));
  auto j = nlohmann::json::parse(MustServer({"version", "--format", "json"}).out);
  EXPECT_EQ(j["Name"], "Octopus.Server");
}

}  // namespace
}  // namespace octo::testing
