// Secrets stay secret: passwords never printed, logged or stored; keys never
// shown; private files private; unelevated users change nothing.
#include <gmock/gmock.h>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kPassword[] = "Pw-5e3b9c1d-DoNotLeak";

// Every file under `dir`, with the ones that contain `needle`.
std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (data.find(needle) != std::string::npos) hits.push_back(e.path());
  }
  return hits;
}


std::string ProcFile(int pid, const char* what) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/" + what, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

class Secrets : public CliTest {
 protected:
  void TearDown() override {
    Server({"service", "--instance", "*", "--stop"});
    Tentacle({"service", "--instance", "*", "--stop"});
  }
};

TEST_F(Secrets, PasswordsAreNeverPrintedLoggedOrStored) {
  std::string all_output;
  auto run = [&](bool server, std::vector<std::string> args, ProcessOptions o = {}) {
    o.env["PFX_SECRET"] = kPassword;
    auto r = server ? Server(args, o) : Tentacle(args, o);
    all_output += r.out + r.err;
    return r;
  };
  run(true, {"create-instance"});
  run(false, {"create-instance"});
  run(false, {"new-certificate", "--export-pfx", Path("t.pfx"), "--pfx-password", kPassword});
  EXPECT_EQ(run(true, {"export-certificate", "--export-pfx", Path("s.pfx"), "--pfx-password", kPassword}).exit_code, 0);
  EXPECT_EQ(run(true, {"new-certificate", "--export-pfx", Path("n.pfx"), "--pfx-password-env", "PFX_SECRET"}).exit_code,
            0);
  EXPECT_EQ(run(true, {"import-certificate", "-f", Path("n.pfx"), "--pw", kPassword}).exit_code, 0);
  EXPECT_EQ(run(false, {"import-certificate", "-f", Path("t.pfx"), "--pfx-password", kPassword}).exit_code, 0);
  // Failures must not echo the password either.
  EXPECT_EQ(run(true, {"import-certificate", "-f", Path("s.pfx"), "--pw", std::string(kPassword) + "x"}).exit_code, 1);
  EXPECT_EQ(run(true, {"export-certificate", "--export-pfx", Path("no/such/dir/x.pfx"), "--pw", kPassword}).exit_code,
            1);
  // The services, started from a shell that holds the password in its environment.
  MustTentacle({"configure", "--port", std::to_string(FreeLoopbackPort()), "--listenIpAddress", "127.0.0.1", "--trust", ServerThumbprint()});
  ProcessOptions env;
  env.env["PFX_SECRET"] = kPassword;
  env.env["OCTOPUS_PFX_PASSWORD"] = kPassword;  // an OCTOPUS_ name does not make it pass either
  env.env["OCTOPUS_SERVICE_PASSWORD"] = kPassword;
  ASSERT_EQ(Tentacle({"service", "--start"}, env).exit_code, 0);
  ASSERT_EQ(Server({"service", "--start"}, env).exit_code, 0);
  for (const auto& pid_file : {root() + "/Tentacle/Tentacle/service.pid", root() + "/OctopusServer/OctopusServer/service.pid"}) {
    int pid = std::atoi(ReadTestFile(pid_file).c_str());
    ASSERT_GT(pid, 0);
    EXPECT_EQ(ProcFile(pid, "cmdline").find(kPassword), std::string::npos) << pid_file;
    EXPECT_EQ(ProcFile(pid, "environ").find(kPassword), std::string::npos) << pid_file;
    EXPECT_EQ(ProcFile(pid, "environ").find("PFX_SECRET"), std::string::npos) << pid_file;
    EXPECT_EQ(ProcFile(pid, "environ").find("OCTOPUS_PFX_PASSWORD"), std::string::npos) << pid_file;
    EXPECT_NE(ProcFile(pid, "environ").find("OCTOPUS_CONFIG_ROOT=" + root()), std::string::npos) << pid_file;
  }
  MustTentacle({"service", "--stop"});
  MustServer({"service", "--stop"});

  EXPECT_EQ(all_output.find(kPassword), std::string::npos) << all_output;
  EXPECT_THAT(FilesContaining(root(), kPassword), ::testing::IsEmpty());
  // show-configuration never shows the sealed certificate nor the key.
  auto shown = MustTentacle({"show-configuration"});
  const std::string key = ReadTestFile(TentacleKey());
  EXPECT_EQ(shown.out.find(key.substr(0, key.size() - 1)), std::string::npos);
  EXPECT_EQ(shown.out.find("v1:"), std::string::npos);
}

TEST_F(Secrets, PrivateFilesArePrivateAndLooseOnesAreReported) {
  MustServer({"create-instance"});
  MustTentacle({"create-instance"});
  MustTentacle({"new-certificate"});
  auto mode = [](const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  };
  EXPECT_EQ(mode(ServerConfig()), 0600u);
  EXPECT_EQ(mode(ServerKey()), 0600u);
  EXPECT_EQ(mode(TentacleConfig()), 0600u);
  EXPECT_EQ(mode(TentacleKey()), 0600u);
  EXPECT_EQ(mode(root() + "/Tentacle/Tentacle"), 0700u);
  EXPECT_EQ(mode(root() + "/OctopusServer/OctopusServer"), 0700u);
  // A restrictive umask or a permissive one: the files come out the same.
  auto loose = RunProcess({"sh", "-c", "umask 000; exec \"$0\" create-instance --instance Loose", TentacleBin()},
                          [&] {
                            ProcessOptions o;
                            o.env["OCTOPUS_CONFIG_ROOT"] = root();
                            return o;
                          }());
  ASSERT_EQ(loose.exit_code, 0) << loose.err;
  EXPECT_EQ(mode(TentacleConfig("Loose")), 0600u);
  EXPECT_EQ(mode(TentacleKey("Loose")), 0600u);
  EXPECT_EQ(mode(root() + "/Tentacle/Loose"), 0700u);

  ::chmod(TentacleConfig().c_str(), 0644);
  ::chmod(TentacleKey().c_str(), 0640);
  auto r = MustTentacle({"show-thumbprint"});
  EXPECT_THAT(r.ErrLines(), ::testing::ElementsAre(
                                "Warning: the configuration file " + TentacleConfig() +
                                    " can be read or changed by other users (mode 0644); make it private: chmod 600 " +
                                    TentacleConfig(),
                                "Warning: the key file " + TentacleKey() +
                                    " can be read or changed by other users (mode 0640); make it private: chmod 600 " +
                                    TentacleKey()));
}

TEST_F(Secrets, AnUnelevatedUserChangesNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run commands as another user (CI runs as root)";
  ASSERT_TRUE(HaveProgram("setpriv"));
  MustServer({"create-instance"});
  MustTentacle({"create-instance"});
  MustTentacle({"new-certificate"});
  MustServer({"export-certificate", "--export-pfx", Path("s.pfx"), "--pw", "x"});
  // "nobody" may walk the directories, but the 0600 files stay root's.
  for (auto p = std::filesystem::path(TentacleConfig()).parent_path(); p.string().size() > 1; p = p.parent_path()) {
    std::filesystem::permissions(p, std::filesystem::perms::others_exec, std::filesystem::perm_options::add);
  }
  for (auto p = std::filesystem::path(ServerConfig()).parent_path(); p.string().size() > 1; p = p.parent_path()) {
    std::filesystem::permissions(p, std::filesystem::perms::others_exec, std::filesystem::perm_options::add);
  }
  std::filesystem::permissions(Path(""), std::filesystem::perms::all, std::filesystem::perm_options::add);
  ::chmod(Path("s.pfx").c_str(), 0644);
  const std::vector<std::string> files = {ServerConfig(), ServerKey(), TentacleConfig(), TentacleKey()};
  std::vector<std::string> before;
  for (const auto& f : files) before.push_back(HashFile(f));
  auto as_nobody = [&](const std::string& bin, std::vector<std::string> args) {
    args.insert(args.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin});
    ProcessOptions o;
    o.env["OCTOPUS_CONFIG_ROOT"] = root();
    return RunProcess(args, o);
  };
  auto configure = as_nobody(TentacleBin(), {"configure", "--trust", std::string(40, 'A')});
  EXPECT_EQ(configure.exit_code, 1);
  EXPECT_THAT(configure.err, HasSubstr("Error: cannot lock " + TentacleConfig() + ": Permission denied"));
  auto import = as_nobody(ServerBin(), {"import-certificate", "-f", Path("s.pfx"), "--pw", "x"});
  EXPECT_EQ(import.exit_code, 1);
  EXPECT_THAT(import.err, HasSubstr("Permission denied"));
  // With the config readable, the key is what is missing: the mirrored warning.
  ::chmod(ServerConfig().c_str(), 0644);
  before[0] = HashFile(ServerConfig());
  auto exported = as_nobody(ServerBin(), {"export-certificate", "--export-pfx", Path("x.pfx"), "--pw", "x"});
  EXPECT_EQ(exported.exit_code, 1);
  EXPECT_THAT(exported.err,
              HasSubstr("The X509 certificate CN=Octopus Portal was loaded but the private key was not loaded."));
  EXPECT_FALSE(std::filesystem::exists(Path("x.pfx")));
  for (size_t i = 0; i < files.size(); ++i) EXPECT_EQ(HashFile(files[i]), before[i]) << files[i];
}

}  // namespace
}  // namespace octo::testing
