// Hardening against other local users (docs/security.md): what root writes
// into shared directories, which process a service command may signal, keys
// created exactly once, and directories a root-run service writes into.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

struct stat Lstat(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

// Pids of running processes of `exe` whose command line holds `arg`.
std::set<int> ProcessesWith(const std::string& exe, const std::string& arg) {
  std::set<int> pids;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::ifstream st(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') continue;
    if (cmd.rfind(exe + '\0', 0) == 0 && cmd.find(std::string("\0", 1) + arg + '\0') != std::string::npos) {
      pids.insert(std::stoi(name));
    }
  }
  return pids;
}

class Hardening : public CliTest {
 protected:
  void TearDown() override {
    Server({"service", "--instance", "*", "--stop"});
    Tentacle({"service", "--instance", "*", "--stop"});
  }
  void NeedRoot() {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user (CI runs as root)";
    ASSERT_TRUE(HaveProgram("setpriv"));
  }
};

// Point 1: the seed exports to /tmp. Another user who plants files where the
// temporary would go never gets a byte, and the PFX is root's, mode 0600.
TEST_F(Hardening, AnExportIntoASharedDirectoryIgnoresPlantedFiles) {
  NeedRoot();
  MustServer({"create-instance"});
  // Like /tmp: sticky and world-writable, reachable by the other user.
  std::string templ = (std::filesystem::temp_directory_path() / "octo-shared-XXXXXX").string();
  ASSERT_NE(::mkdtemp(templ.data()), nullptr);
  const std::string shared = templ;
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{shared};
  std::filesystem::permissions(shared, std::filesystem::perms::all | std::filesystem::perms::sticky_bit);
  const std::string out = shared + "/oldcert.pfx";
  struct Plant {
    const char* what;
    std::string command;  // run as nobody; $1 is the name the old code used (PATH.tmp.PID)
  };
  const std::vector<Plant> plants = {
      {"a file left open for writing", "touch \"$1\" && chmod 666 \"$1\""},
      {"a FIFO", "mkfifo -m 666 \"$1\""},
      {"a hard link to the attacker's file", "ln \"" + shared + "/attacker\" \"$1\""},
      {"the target itself, hard-linked", "ln \"" + shared + "/attacker\" \"" + out + "\""},
  };
  for (const Plant& plant : plants) {
    std::filesystem::remove(out);
    for (const auto& e : std::filesystem::directory_iterator(shared)) std::filesystem::remove(e.path());
    // The attacker's own file, kept (an open handle would see what a hard link sees).
    auto made = RunProcess({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c",
                            "umask 000; : > '" + shared + "/attacker'"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    // The shell plants at the name built from its own pid, then becomes the
    // export (exec keeps the pid).
    const std::string script = "setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '" + plant.command +
                               "' plant \"" + out + ".tmp.$$\" || exit 99; exec \"$0\" export-certificate " +
                               "--export-pfx \"" + out + "\" --pfx-password MySecretPassword";
    ProcessOptions o;
    o.env["OCTOPUS_CONFIG_ROOT"] = root();
    o.timeout_seconds = 20;
    auto r = RunProcess({"sh", "-c", script, ServerBin()}, o);
    ASSERT_FALSE(r.timed_out) << plant.what << ": the export hung on the planted file";
    EXPECT_EQ(r.exit_code, 0) << plant.what << "\n" << r.out << r.err;
    struct stat st = Lstat(out);
    EXPECT_TRUE(S_ISREG(st.st_mode)) << plant.what;
    EXPECT_EQ(st.st_uid, 0u) << plant.what << ": the PFX belongs to the attacker";
    EXPECT_EQ(st.st_mode & 07777, 0600u) << plant.what;
    EXPECT_EQ(st.st_nlink, 1u) << plant.what << ": the attacker holds a link to the PFX";
    EXPECT_EQ(std::filesystem::file_size(shared + "/attacker"), 0u) << plant.what << ": the attacker got bytes";
  }
}

// Point 2: a stale pid file naming a live process of the same program (here,
// another instance's service) is never signalled.
TEST_F(Hardening, AStalePidFileNeverGetsAnotherProcessSignalled) {
  MustServer({"create-instance", "--instance", "A"});
  MustServer({"create-instance", "--instance", "B"});
  auto started = MustServer({"service", "--instance", "A", "--start"});
  auto a = ProcessesWith(ServerBin(), "A");
  ASSERT_EQ(a.size(), 1u) << started.out;
  const int pid = *a.begin();
  // After a crash or a reboot B's pid file may name anything: here, A.
  WriteTestFile(root() + "/OctopusServer/B/service.pid", std::to_string(pid) + "\n");
  auto status = Server({"service", "--instance", "B", "--status"});
  EXPECT_EQ(status.exit_code, 3);
  EXPECT_EQ(status.out, "The Octopus Server service for instance 'B' is stopped.\n");
  auto stop = MustServer({"service", "--instance", "B", "--stop"});
  EXPECT_EQ(stop.out, "The Octopus Server service for instance 'B' is not running.\n");
  EXPECT_EQ(ProcessesWith(ServerBin(), "A"), a) << "instance A's service was signalled";
  EXPECT_EQ(::kill(pid, 0), 0);
  auto status_a = MustServer({"service", "--instance", "A", "--status"});
  EXPECT_EQ(status_a.OutLines().at(0),
            "The Octopus Server service for instance 'A' is running (pid " + std::to_string(pid) + ").");
}

// Point 2: two starts at once give one service; neither caller is misled.
TEST_F(Hardening, TwoConcurrentStartsGiveOneService) {
  MustServer({"create-instance", "--instance", "Race"});
  for (int round = 0; round < 3; ++round) {
    auto start = [&] { return Server({"service", "--instance", "Race", "--start"}); };
    auto first = std::async(std::launch::async, start);
    auto second = std::async(std::launch::async, start);
    ProcessResult r1 = first.get(), r2 = second.get();
    EXPECT_EQ(r1.exit_code, 0) << r1.out << r1.err;
    EXPECT_EQ(r2.exit_code, 0) << r2.out << r2.err;
    const auto running = ProcessesWith(ServerBin(), "Race");
    ASSERT_EQ(running.size(), 1u) << "round " << round << ": " << r1.out << r1.err << r2.out << r2.err;
    const std::string pid = std::to_string(*running.begin());
    for (const auto* r : {&r1, &r2}) {
      EXPECT_THAT(r->out, MatchesRegex("The Octopus Server service for instance 'Race' (has started|is already "
                                       "running) \\(pid " + pid + "\\)\\.\n"));
    }
    // The control socket is the surviving service's: health-check reaches it.
    EXPECT_EQ(Server({"health-check", "--instance", "Race"}).exit_code, 0);
    MustServer({"service", "--instance", "Race", "--stop"});
    EXPECT_TRUE(ProcessesWith(ServerBin(), "Race").empty());
  }
}

// Point 3: concurrent create-instance of one name leaves exactly one
// instance, whose key opens its configuration.
TEST_F(Hardening, ConcurrentCreateInstanceLeavesOneWholeInstance) {
  std::vector<std::future<ProcessResult>> runs;
  for (int i = 0; i < 20; ++i) {
    runs.push_back(std::async(std::launch::async, [&] { return Server({"create-instance", "--instance", "One"}); }));
  }
  int created = 0;
  for (auto& f : runs) {
    ProcessResult r = f.get();
    if (r.exit_code == 0) {
      created += r.out.find("Configuration file: ") != std::string::npos ? 1 : 0;
    } else {
      EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
      EXPECT_THAT(r.err, HasSubstr("already exists")) << r.err;
    }
  }
  EXPECT_EQ(created, 1);
  // The key opens the config: the certificate exports.
  auto e = Server({"export-certificate", "--instance", "One", "--export-pfx", Path("one.pfx"), "--pw", "x"});
  EXPECT_EQ(e.exit_code, 0) << e.err;
  // Nothing half-made is left beside it.
  std::vector<std::string> left;
  for (const auto& f : std::filesystem::directory_iterator(root() + "/OctopusServer/One")) {
    left.push_back(f.path().filename());
  }
  for (const auto& name : left) {
    EXPECT_THAT(name, ::testing::AnyOf("octopusserver-One.config", "octopusserver-One.config.lock", "One.masterkey"));
  }
  EXPECT_THAT(left, ::testing::IsSupersetOf({"octopusserver-One.config", "One.masterkey"}));
}

// Point 7: a home someone else can write to is refused before the service
// writes anything there, with the command that fixes it.
TEST_F(Hardening, AServiceRefusesAHomeOthersCanWrite) {
  MustTentacle({"create-instance", "--instance", "Open"});
  MustTentacle({"new-certificate", "--instance", "Open"});
  MustTentacle({"configure", "--instance", "Open", "--port", std::to_string(FreeLoopbackPort()),
                "--listenIpAddress", "127.0.0.1"});
  const std::string home = root() + "/Tentacle/Open";
  std::filesystem::permissions(home, std::filesystem::perms::others_write, std::filesystem::perm_options::add);
  auto r = Tentacle({"service", "--instance", "Open", "--start"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("the directory " + home + " can be written by group or others (mode 0702): run "
                               "'chmod go-w " + home + "'"));
  auto fg = Tentacle({"agent", "--instance", "Open"});
  EXPECT_EQ(fg.exit_code, 1);
  EXPECT_THAT(fg.err, HasSubstr("can be written by group or others"));
  EXPECT_FALSE(std::filesystem::exists(home + "/service.lock"));
  EXPECT_FALSE(std::filesystem::exists(home + "/service.pid"));
  // A log that is a link is refused, not followed.
  std::filesystem::permissions(home, std::filesystem::perms::others_write, std::filesystem::perm_options::remove);
  std::filesystem::create_directories(home + "/Logs");
  std::filesystem::permissions(home + "/Logs", std::filesystem::perms::owner_all);
  WriteTestFile(Path("elsewhere.txt"), "");
  std::filesystem::remove(home + "/Logs/OctopusTentacle.txt");
  std::filesystem::create_symlink(Path("elsewhere.txt"), home + "/Logs/OctopusTentacle.txt");
  auto linked = Tentacle({"agent", "--instance", "Open"});
  EXPECT_EQ(linked.exit_code, 1);
  EXPECT_THAT(linked.err, HasSubstr("is not a regular file"));
  EXPECT_EQ(std::filesystem::file_size(Path("elsewhere.txt")), 0u);
}

}  // namespace
}  // namespace octo::testing
