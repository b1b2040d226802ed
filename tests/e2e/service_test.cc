// The services, run as a user would: `service` with the built-in supervisor
// and with systemd units (against a stand-in systemctl, never the real one),
// `agent`/`run` in the foreground, start-up failures, and the Server's
// deployment targets. Loopback only; every test stops what it starts.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <thread>

#include "support/cli_fixture.h"
#include "support/fake_systemctl.h"

namespace octo::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

constexpr char kCheckingMasterKey[] = "Checking the Octopus Master Key has been configured.";
// What a target change says when the Server's service is not running (the
// running case is asserted by the rotation tests).
constexpr char kTargetWhenStarts[] =
    "The Octopus Server service is not running; it uses this when it starts.";
constexpr int kExitStopped = 3;
const std::string kA = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const std::string kB = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";


// Holds 127.0.0.1:port (bound and listening) while it lives.
class PortHolder {
 public:
  PortHolder() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    EXPECT_EQ(::listen(fd_, 4), 0) << std::strerror(errno);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~PortHolder() { ::close(fd_); }
  PortHolder(const PortHolder&) = delete;
  PortHolder& operator=(const PortHolder&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A program running in the background (its own process group), standard
// output read line by line, standard error appended to a file. The
// destructor kills it (SIGKILL) if it still runs; Terminate() is the
// graceful way.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
             const std::string& err_file) {
    int out[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      int devnull = ::open("/dev/null", O_RDONLY);
      int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(devnull, 0);
      ::dup2(out[1], 1);
      ::dup2(err, 2);
      ::unsetenv("OCTO_READY_FD");
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
    ::fcntl(out_, F_SETFL, O_NONBLOCK);
  }
  ~Background() {
    if (pid_ > 0 && !reaped_) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  pid_t pid() const { return pid_; }

  // The next line of standard output, or nullopt at end of output or when
  // none arrives within `timeout`.
  std::optional<std::string> ReadLine(milliseconds timeout = milliseconds(20000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      if (eof_) return std::nullopt;
      auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now())
              .count();
      if (left <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char chunk[4096];
      ssize_t n = ::read(out_, chunk, sizeof chunk);
      if (n > 0) {
        buf_.append(chunk, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        eof_ = true;
      }
    }
  }

  // Reads `n` lines (fewer at end of output or timeout).
  std::vector<std::string> ReadLines(size_t n) {
    std::vector<std::string> lines;
    while (lines.size() < n) {
      auto l = ReadLine();
      if (!l) break;
      lines.push_back(*l);
    }
    return lines;
  }

  // Everything left on standard output until it closes (bounded).
  std::vector<std::string> RestOfOutput() {
    std::vector<std::string> lines;
    while (auto l = ReadLine()) lines.push_back(*l);
    return lines;
  }

  // Sends `sig`, waits up to `timeout` for the exit; returns the exit code,
  // or -1 if it did not exit by itself (it is killed then).
  int Signal(int sig, milliseconds timeout = milliseconds(20000)) {
    ::kill(pid_, sig);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    reaped_ = true;
    return -1;
  }

  // Waits up to `timeout` for it to exit by itself; the exit code, or -1.
  int Wait(milliseconds timeout = milliseconds(20000)) { return Signal(0, timeout); }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buf_;
  bool eof_ = false;
  bool reaped_ = false;
};

// The pid in "... (pid N)." or -1.
int PidIn(const std::string& line) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex(R"(\(pid ([0-9]+)\)\.$)"))) return -1;
  return std::stoi(m[1]);
}

// Whether `pid` runs: a zombie waiting for init to reap it has stopped.
bool ProcessAlive(int pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ||
         (stat[close + 2] != 'Z' && stat[close + 2] != 'X');
}

std::string Canonical(const std::string& path) { return std::filesystem::canonical(path).string(); }

// Every `service` call goes through these, with the systemd unit directory
// and systemctl pointed at the test's own stand-ins: the real systemd is
// never touched, even when a unit of the same name exists on the machine.
// TearDown stops every instance of both products and checks nothing runs.
class ServiceTest : public CliTest {
 protected:
  void SetUp() override { units_ = Path("units"); }

  void TearDown() override {
    for (bool server : {false, true}) {
      auto stop = server ? S({"service", "--instance", "*", "--stop"})
                         : T({"service", "--instance", "*", "--stop"});
      EXPECT_EQ(stop.exit_code, 0) << stop.out << stop.err;
      auto status = server ? S({"service", "--instance", "*", "--status"})
                           : T({"service", "--instance", "*", "--status"});
      for (const auto& line : status.OutLines()) {
        EXPECT_THAT(line, AnyOf(EndsWith("is stopped."), StartsWith("There are no ")))
            << "left running";
      }
    }
    for (int pid : started_pids_)
      EXPECT_FALSE(ProcessAlive(pid)) << "pid " << pid << " is still running";
  }

  ProcessOptions Env() const {
    ProcessOptions o;
    o.env["OCTOPUS_SYSTEMD_UNIT_DIR"] = units_;
    o.env["OCTOPUS_SYSTEMCTL"] = systemctl_.path();
    o.timeout_seconds = 90;
    return o;
  }
  ProcessResult T(std::vector<std::string> args) { return Tentacle(std::move(args), Env()); }
  ProcessResult S(std::vector<std::string> args) { return Server(std::move(args), Env()); }
  ProcessResult MustT(std::vector<std::string> args) {
    return MustTentacle(std::move(args), Env());
  }
  ProcessResult MustS(std::vector<std::string> args) { return MustServer(std::move(args), Env()); }

  // A Tentacle instance with a certificate listening on 127.0.0.1:port,
  // trusting `trust`. Returns the port.
  int MakeTentacle(const std::string& name, const std::vector<std::string>& trust = {}) {
    MustT({"create-instance", "--instance", name});
    MustT({"new-certificate", "--instance", name});
    const int port = FreeLoopbackPort();
    std::vector<std::string> args = {"configure",         "--instance", name,
                                     "--listenIpAddress", "127.0.0.1",  "--port",
                                     std::to_string(port)};
    for (const auto& t : trust) args.push_back("--trust=" + t);
    MustT(args);
    return port;
  }

  // Runs a start command and remembers the pid it reports (TearDown checks
  // it is gone).
  // The pid in the last line that names one ("has started (pid N)", or
  // --status's "is running (pid N)", which lines about the certificate follow).
  int Started(const ProcessResult& r) {
    int pid = -1;
    for (const auto& line : r.OutLines()) {
      if (line.find("(pid ") != std::string::npos) pid = PidIn(line);
    }
    if (pid > 0) started_pids_.push_back(pid);
    return pid;
  }

  std::string Home(const std::string& product_dir, const std::string& name) const {
    return root() + "/" + product_dir + "/" + name;
  }
  std::string units_;
  FakeSystemctl systemctl_{work()};  // systemctl_.path() is Path("systemctl")
  std::vector<int> started_pids_;
};

// ---------------------------------------------------------------------------
// The built-in supervisor.

// The whole life cycle of one product's service; `run` calls the executable.
void LifeCycle(const std::function<ProcessResult(std::vector<std::string>)>& run,
               const std::string& display, const std::string& instance, std::vector<int>* pids) {
  const std::string who = "The " + display + " service for instance '" + instance + "'";
  auto status0 = run({"service", "--instance", instance, "--status"});
  EXPECT_EQ(status0.exit_code, kExitStopped);
  EXPECT_THAT(status0.OutLines(), ElementsAre(who + " is stopped."));

  auto start = run({"service", "--instance", instance, "--start"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  ASSERT_EQ(start.OutLines().size(), 1u) << start.out;
  EXPECT_THAT(start.OutLines()[0], MatchesRegex(who + " has started \\(pid [0-9]+\\)\\."));
  EXPECT_EQ(start.err, "");
  const int pid = PidIn(start.OutLines()[0]);
  pids->push_back(pid);
  EXPECT_TRUE(ProcessAlive(pid));

  auto status = run({"service", "--instance", instance, "--status"});
  EXPECT_EQ(status.exit_code, 0);
  ASSERT_FALSE(status.OutLines().empty());  // then what it uses (LiveTrust.StatusShowsWhatTheServiceUses)
  EXPECT_EQ(status.OutLines()[0], who + " is running (pid " + std::to_string(pid) + ").");

  auto again = run({"service", "--instance", instance, "--start"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.OutLines(),
              ElementsAre(who + " is already running (pid " + std::to_string(pid) + ")."));

  auto restart = run({"service", "--instance", instance, "--restart"});
  ASSERT_EQ(restart.exit_code, 0) << restart.out << restart.err;
  ASSERT_EQ(restart.OutLines().size(), 2u) << restart.out;
  EXPECT_EQ(restart.OutLines()[0], who + " has stopped.");
  EXPECT_THAT(restart.OutLines()[1], MatchesRegex(who + " has started \\(pid [0-9]+\\)\\."));
  const int new_pid = PidIn(restart.OutLines()[1]);
  pids->push_back(new_pid);
  EXPECT_NE(new_pid, pid);
  EXPECT_FALSE(ProcessAlive(pid));
  EXPECT_THAT(run({"service", "--instance", instance, "--status"}).OutLines(),
              ::testing::Contains(who + " is running (pid " + std::to_string(new_pid) + ")."));

  auto stop = run({"service", "--instance", instance, "--stop"});
  EXPECT_EQ(stop.exit_code, 0);
  EXPECT_THAT(stop.OutLines(), ElementsAre(who + " has stopped."));
  EXPECT_FALSE(ProcessAlive(new_pid));

  auto stopped = run({"service", "--instance", instance, "--status"});
  EXPECT_EQ(stopped.exit_code, kExitStopped);
  EXPECT_THAT(stopped.OutLines(), ElementsAre(who + " is stopped."));

  auto stop_again = run({"service", "--instance", instance, "--stop"});
  EXPECT_EQ(stop_again.exit_code, 0);
  EXPECT_THAT(stop_again.OutLines(), ElementsAre(who + " is not running."));

  // A restart of a stopped service just starts it.
  auto from_stopped = run({"service", "--instance", instance, "--restart"});
  EXPECT_EQ(from_stopped.exit_code, 0);
  ASSERT_EQ(from_stopped.OutLines().size(), 2u) << from_stopped.out;
  EXPECT_EQ(from_stopped.OutLines()[0], who + " is not running.");
  pids->push_back(PidIn(from_stopped.OutLines()[1]));
  EXPECT_EQ(run({"service", "--instance", instance, "--stop"}).OutLines(),
            std::vector<std::string>{who + " has stopped."});
}

TEST_F(ServiceTest, TentacleStartStatusRestartStop) {
  MakeTentacle("Tentacle", {kA});
  LifeCycle([this](std::vector<std::string> a) { return T(std::move(a)); }, "Tentacle", "Tentacle",
            &started_pids_);
  EXPECT_FALSE(std::filesystem::exists(Home("Tentacle", "Tentacle") + "/service.pid"));
}

TEST_F(ServiceTest, ServerStartStatusRestartStopWithoutTargets) {
  MustS({"create-instance", "--instance", "OctopusServer"});
  LifeCycle([this](std::vector<std::string> a) { return S(std::move(a)); }, "Octopus Server",
            "OctopusServer", &started_pids_);
  EXPECT_FALSE(std::filesystem::exists(Home("OctopusServer", "OctopusServer") + "/service.pid"));
  EXPECT_FALSE(std::filesystem::exists(Home("OctopusServer", "OctopusServer") + "/service.sock"));
}

TEST_F(ServiceTest, StartedServicesLogToTheirFiles) {
  const int port = MakeTentacle("Tentacle", {kA});
  const std::string tp = TentacleThumbprint();
  Started(MustT({"service", "--start"}));
  MustS({"create-instance"});
  Started(MustS({"service", "--start"}));
  MustT({"service", "--stop"});
  MustS({"service", "--stop"});
  const std::string tlog = ReadTestFile(Home("Tentacle", "Tentacle") + "/Logs/OctopusTentacle.txt");
  EXPECT_THAT(tlog, HasSubstr("Tentacle version "));
  EXPECT_THAT(tlog, HasSubstr("instance 'Tentacle', certificate " + tp + "\n"));
  EXPECT_THAT(tlog,
              HasSubstr("Agent will trust Octopus Servers with the thumbprint: " + kA + "\n"));
  EXPECT_THAT(tlog, HasSubstr("Agent listening on: 127.0.0.1:" + std::to_string(port) + "\n"));
  EXPECT_THAT(tlog, HasSubstr("The agent has stopped.\n"));
  const std::string slog =
      ReadTestFile(Home("OctopusServer", "OctopusServer") + "/Logs/OctopusServer.txt");
  EXPECT_THAT(slog, HasSubstr(std::string(kCheckingMasterKey) + "\n"));
  EXPECT_THAT(slog, HasSubstr("The Octopus Server is using the certificate with thumbprint: " +
                              ServerThumbprint()));
  EXPECT_THAT(slog, HasSubstr("The Octopus Server has stopped.\n"));
}

TEST_F(ServiceTest, EveryInstanceWithStar) {
  MakeTentacle("Alpha");
  MakeTentacle("Beta", {kA});
  const std::string a = "The Tentacle service for instance 'Alpha'",
                    b = "The Tentacle service for instance 'Beta'";

  auto start = T({"service", "--instance", "*", "--start"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  auto lines = start.OutLines();
  ASSERT_EQ(lines.size(), 2u) << start.out;
  EXPECT_THAT(lines[0], MatchesRegex(a + " has started \\(pid [0-9]+\\)\\."));
  EXPECT_THAT(lines[1], MatchesRegex(b + " has started \\(pid [0-9]+\\)\\."));
  const int pa = PidIn(lines[0]), pb = PidIn(lines[1]);
  started_pids_ = {pa, pb};

  auto status = T({"service", "--instance", "*", "--status"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_THAT(status.OutLines(), ::testing::IsSupersetOf({a + " is running (pid " + std::to_string(pa) + ").",
                                                          b + " is running (pid " + std::to_string(pb) + ")."}));

  // One stopped is enough for --status to say "not all running" (exit 3).
  MustT({"service", "--instance", "Alpha", "--stop"});
  auto mixed = T({"service", "--instance", "*", "--status"});
  EXPECT_EQ(mixed.exit_code, kExitStopped);
  ASSERT_FALSE(mixed.OutLines().empty());
  EXPECT_EQ(mixed.OutLines()[0], a + " is stopped.");
  EXPECT_THAT(mixed.OutLines(), ::testing::Contains(b + " is running (pid " + std::to_string(pb) + ")."));

  auto stop = T({"service", "--instance", "*", "--stop"});
  EXPECT_EQ(stop.exit_code, 0);
  EXPECT_THAT(stop.OutLines(), ElementsAre(a + " is not running.", b + " has stopped."));
  auto stopped = T({"service", "--instance", "*", "--status"});
  EXPECT_EQ(stopped.exit_code, kExitStopped);
  EXPECT_THAT(stopped.OutLines(), ElementsAre(a + " is stopped.", b + " is stopped."));
  EXPECT_FALSE(ProcessAlive(pa));
  EXPECT_FALSE(ProcessAlive(pb));

  // --restart * starts them again, each with a new pid.
  auto restart = T({"service", "--instance", "*", "--restart"});
  EXPECT_EQ(restart.exit_code, 0);
  EXPECT_EQ(restart.OutLines().size(), 4u) << restart.out;
  for (const auto& l : restart.OutLines()) {
    if (PidIn(l) > 0) started_pids_.push_back(PidIn(l));
  }
  EXPECT_EQ(started_pids_.size(), 4u);
}

TEST_F(ServiceTest, StarWithOneBrokenInstanceStartsTheOthers) {
  MakeTentacle("Good");
  MustT({"create-instance", "--instance", "NoCert"});
  auto r = T({"service", "--instance", "*", "--start"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "Error: the Tentacle service for instance 'NoCert' could not start: the Tentacle "
            "instance 'NoCert' has "
            "no certificate yet\n");
  ASSERT_EQ(r.OutLines().size(), 1u) << r.out;
  EXPECT_THAT(
      r.OutLines()[0],
      MatchesRegex("The Tentacle service for instance 'Good' has started \\(pid [0-9]+\\)\\."));
  Started(r);
}

TEST_F(ServiceTest, StarWithoutInstances) {
  auto t = T({"service", "--instance", "*", "--status"});
  EXPECT_EQ(t.exit_code, 0);
  EXPECT_EQ(t.out, "There are no Tentacle instances.\n");
  auto s = S({"service", "--instance", "*", "--start"});
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_EQ(s.out, "There are no Octopus Server instances.\n");
}

// ---------------------------------------------------------------------------
// Start-up failures: a non-zero exit and one line saying why.

TEST_F(ServiceTest, TentacleStartFailuresSayWhy) {
  const std::string who = "Error: the Tentacle service for instance 'X' could not start: ";
  {
    PortHolder busy;
    MakeTentacle("X");
    MustT({"configure", "--instance", "X", "--port", std::to_string(busy.port())});
    const std::string config = HashFile(TentacleConfig("X"));
    auto r = T({"service", "--instance", "X", "--start"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, who + "cannot listen on 127.0.0.1:" + std::to_string(busy.port()) +
                         ": Address already in use\n");
    EXPECT_EQ(T({"service", "--instance", "X", "--status"}).exit_code, kExitStopped);
    EXPECT_FALSE(std::filesystem::exists(Home("Tentacle", "X") + "/service.pid"));
    EXPECT_EQ(HashFile(TentacleConfig("X")), config);
    // The service's own log says so too.
    EXPECT_THAT(ReadTestFile(Home("Tentacle", "X") + "/Logs/OctopusTentacle.txt"),
                HasSubstr("The agent could not start: cannot listen on 127.0.0.1:" +
                          std::to_string(busy.port()) + ": Address already in use"));
  }
  // Once the port is free it starts.
  Started(MustT({"service", "--instance", "X", "--start"}));
  MustT({"service", "--instance", "X", "--stop"});

  // No certificate yet.
  MustT({"create-instance", "--instance", "Bare"});
  auto bare = T({"service", "--instance", "Bare", "--start"});
  EXPECT_EQ(bare.exit_code, 1);
  EXPECT_EQ(bare.out, "");
  EXPECT_EQ(bare.err,
            "Error: the Tentacle service for instance 'Bare' could not start: the Tentacle "
            "instance 'Bare' has no "
            "certificate yet\n");

  // The machine key is gone.
  ASSERT_TRUE(std::filesystem::remove(TentacleKey("X")));
  auto nokey = T({"service", "--instance", "X", "--start"});
  EXPECT_EQ(nokey.exit_code, 1);
  EXPECT_EQ(nokey.out, "");
  EXPECT_EQ(
      nokey.err,
      who + "the Tentacle machine key file " + TentacleKey("X") +
          " is missing; without it the stored certificate cannot be decrypted (restore the file "
          "from a backup, or import a certificate into a new instance)\n");
  EXPECT_FALSE(std::filesystem::exists(TentacleKey("X")));  // never silently regenerated

  // An instance that does not exist.
  auto none = T({"service", "--instance", "Nope", "--start"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(
      none.err,
      "Error: there is no Tentacle instance named 'Nope' (see list-instances; create one with "
      "create-instance)\n");
}

TEST_F(ServiceTest, ServerWithoutMasterKeyDoesNotStart) {
  MustS({"create-instance"});
  ASSERT_TRUE(std::filesystem::remove(ServerKey()));
  auto r = S({"service", "--start"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(
      r.err,
      "Error: the Octopus Server service for instance 'OctopusServer' could not start: the Octopus "
      "Master Key file " +
          ServerKey() +
          " is missing; without it the stored certificate cannot be decrypted (restore the file "
          "from a "
          "backup, or import a certificate into a new instance)\n");
  EXPECT_EQ(S({"service", "--status"}).exit_code, kExitStopped);
}

// ---------------------------------------------------------------------------
// agent / run in the foreground.

// Lines of a service log file without their "DATE TIME LEVEL " prefix.
std::vector<std::string> LogMessages(const std::string& path) {
  std::vector<std::string> out;
  std::regex prefix(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [a-z]+ +)");
  for (const auto& line : SplitLines(ReadTestFile(path)))
    out.push_back(std::regex_replace(line, prefix, ""));
  return out;
}

TEST_F(ServiceTest, TentacleAgentInTheForeground) {
  const int port = MakeTentacle("Fg", {kA, kB});
  const std::string tp = TentacleThumbprint("Fg");
  Background agent({TentacleBin(), "agent", "--instance", "Fg"}, {{"OCTOPUS_CONFIG_ROOT", root()}},
                   Path("agent.err"));
  auto lines = agent.ReadLines(4);
  ASSERT_EQ(lines.size(), 4u) << ::testing::PrintToString(lines) << ReadTestFile(Path("agent.err"));
  EXPECT_THAT(lines[0],
              MatchesRegex("Tentacle version [0-9.]+ starting, instance 'Fg', certificate " + tp));
  EXPECT_EQ(lines[1], "Agent will trust Octopus Servers with the thumbprint: " + kA);
  EXPECT_EQ(lines[2], "Agent will trust Octopus Servers with the thumbprint: " + kB);
  EXPECT_EQ(lines[3], "Agent listening on: 127.0.0.1:" + std::to_string(port));

  // It keeps the pid file, written before the "listening" line, so `service` sees it.
  const std::string who = "The Tentacle service for instance 'Fg'";
  const std::string pid_file = Home("Tentacle", "Fg") + "/service.pid";
  EXPECT_TRUE(std::filesystem::exists(pid_file));
  // A second agent for the same instance is refused.
  auto second = T({"agent", "--instance", "Fg"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_EQ(second.err, "Error: " + std::string("the Tentacle service for instance 'Fg' is already running (pid ") +
                            std::to_string(agent.pid()) + ")\n");
  auto status = T({"service", "--instance", "Fg", "--status"});
  EXPECT_EQ(status.exit_code, 0);
  ASSERT_FALSE(status.OutLines().empty());
  EXPECT_EQ(status.OutLines()[0], who + " is running (pid " + std::to_string(agent.pid()) + ").");
  EXPECT_THAT(T({"service", "--instance", "Fg", "--start"}).OutLines(),
              ElementsAre(who + " is already running (pid " + std::to_string(agent.pid()) + ")."));

  EXPECT_EQ(agent.Signal(SIGTERM), 0);
  EXPECT_THAT(agent.RestOfOutput(),
              ElementsAre("Stopping (signal 15)...", "The agent has stopped."));
  EXPECT_EQ(ReadTestFile(Path("agent.err")), "");
  EXPECT_FALSE(std::filesystem::exists(Home("Tentacle", "Fg") + "/service.pid"));
  EXPECT_EQ(T({"service", "--instance", "Fg", "--status"}).exit_code, kExitStopped);

  // The log file has the same lines.
  lines.insert(lines.end(), {"Stopping (signal 15)...", "The agent has stopped."});
  EXPECT_EQ(LogMessages(Home("Tentacle", "Fg") + "/Logs/OctopusTentacle.txt"), lines);
}

TEST_F(ServiceTest, TentacleRunWithoutTrustAndSigint) {
  const int port = MakeTentacle("Lonely");
  Background agent({TentacleBin(), "run", "--instance=Lonely"}, {{"OCTOPUS_CONFIG_ROOT", root()}},
                   Path("agent.err"));
  auto lines = agent.ReadLines(3);
  ASSERT_EQ(lines.size(), 3u) << ::testing::PrintToString(lines) << ReadTestFile(Path("agent.err"));
  EXPECT_THAT(lines[0], StartsWith("Tentacle version "));
  EXPECT_EQ(lines[1], "The agent is not configured to trust any Octopus Servers.");
  EXPECT_EQ(lines[2], "Agent listening on: 127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(agent.Signal(SIGINT), 0);
  EXPECT_THAT(agent.RestOfOutput(),
              ElementsAre("Stopping (signal 2)...", "The agent has stopped."));
  lines.insert(lines.end(), {"Stopping (signal 2)...", "The agent has stopped."});
  EXPECT_EQ(LogMessages(Home("Tentacle", "Lonely") + "/Logs/OctopusTentacle.txt"), lines);
}

// Whether a TCP connection to ADDRESS:port (IPv4 or IPv6) is accepted.
bool Connects(const std::string& address, int port) {
  const bool v6 = address.find(':') != std::string::npos;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int rc = -1;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET6, address.c_str(), &a.sin6_addr);
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  ::close(fd);
  return rc == 0;
}

// Whether this machine has an IPv6 loopback to try.
bool HaveIpv6Loopback() {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// create-instance alone (no --listenIpAddress) makes a Tentacle that listens
// on every address, IPv4 and IPv6, as cli.md and the rotation guide warn.
TEST_F(ServiceTest, TentacleCreatedWithoutListenIpAddressListensOnEveryAddress) {
  MustT({"create-instance", "--instance", "Everywhere"});
  MustT({"new-certificate", "--instance", "Everywhere"});
  const int port = FreeLoopbackPort();
  auto configured = MustT({"configure", "--instance", "Everywhere", "--port", std::to_string(port)});
  EXPECT_THAT(configured.OutLines(), ElementsAre("Services listen port: " + std::to_string(port),
                                                 "These changes require a restart of the Tentacle."));
  Background agent({TentacleBin(), "agent", "--instance", "Everywhere"}, {{"OCTOPUS_CONFIG_ROOT", root()}},
                   Path("agent.err"));
  auto lines = agent.ReadLines(3);
  ASSERT_EQ(lines.size(), 3u) << ::testing::PrintToString(lines) << ReadTestFile(Path("agent.err"));
  EXPECT_THAT(lines[0], StartsWith("Tentacle version "));
  EXPECT_EQ(lines[1], "The agent is not configured to trust any Octopus Servers.");
  EXPECT_EQ(lines[2], "Agent listening on: [::]:" + std::to_string(port));
  // A bare TCP connection on each loopback is accepted; the agent logs it
  // when it closes without a TLS handshake, naming where it came from.
  const std::string ended = " ended during the TLS handshake: the TLS handshake failed: unexpected eof while reading";
  EXPECT_TRUE(Connects("127.0.0.1", port));
  EXPECT_THAT(agent.ReadLine().value_or("(none)"), MatchesRegex("A connection from 127\\.0\\.0\\.1:[0-9]+" + ended));
  if (HaveIpv6Loopback()) {
    EXPECT_TRUE(Connects("::1", port));
    EXPECT_THAT(agent.ReadLine().value_or("(none)"), MatchesRegex("A connection from \\[::1\\]:[0-9]+" + ended));
  }
  EXPECT_EQ(agent.Signal(SIGTERM), 0);
  EXPECT_THAT(agent.RestOfOutput(), ElementsAre("Stopping (signal 15)...", "The agent has stopped."));
}

TEST_F(ServiceTest, TentacleAgentInTheForegroundPortInUse) {
  PortHolder busy;
  MakeTentacle("Busy");
  MustT({"configure", "--instance", "Busy", "--port", std::to_string(busy.port())});
  Background agent({TentacleBin(), "agent", "--instance", "Busy"},
                   {{"OCTOPUS_CONFIG_ROOT", root()}}, Path("agent.err"));
  EXPECT_EQ(agent.Wait(), 1);
  const std::string reason =
      "cannot listen on 127.0.0.1:" + std::to_string(busy.port()) + ": Address already in use";
  auto out = agent.RestOfOutput();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), "The agent could not start: " + reason);
  EXPECT_EQ(ReadTestFile(Path("agent.err")), "Error: " + reason + "\n");
}

TEST_F(ServiceTest, ServerRunInTheForeground) {
  MustS({"create-instance", "--instance", "Fg"});
  const std::string tp = ServerThumbprint("Fg");
  const std::string home = Home("OctopusServer", "Fg");
  Background server({ServerBin(), "run", "--instance", "Fg", "--health-check-interval", "0"},
                    {{"OCTOPUS_CONFIG_ROOT", root()}}, Path("server.err"));
  auto lines = server.ReadLines(4);
  ASSERT_EQ(lines.size(), 4u) << ::testing::PrintToString(lines)
                              << ReadTestFile(Path("server.err"));
  EXPECT_EQ(lines[0], kCheckingMasterKey);
  EXPECT_THAT(lines[1], MatchesRegex("Octopus Server version [0-9.]+ started, instance 'Fg'"));
  EXPECT_EQ(lines[2], "The Octopus Server is using the certificate with thumbprint: " + tp);
  EXPECT_EQ(lines[3],
            "Periodic health checks are off; control socket " + home + "/service.sock");
  auto hc = S({"health-check", "--instance", "Fg"});
  EXPECT_EQ(hc.exit_code, 0);
  EXPECT_EQ(hc.out, "There are no deployment targets to check.\n");
  EXPECT_EQ(server.Signal(SIGTERM), 0);
  EXPECT_THAT(server.RestOfOutput(),
              ElementsAre("Stopping (signal 15)...", "The Octopus Server has stopped."));
  EXPECT_EQ(ReadTestFile(Path("server.err")), "");
  EXPECT_FALSE(std::filesystem::exists(home + "/service.sock"));
  EXPECT_FALSE(std::filesystem::exists(home + "/service.pid"));
  lines.insert(lines.end(), {"Stopping (signal 15)...", "The Octopus Server has stopped."});
  EXPECT_EQ(LogMessages(home + "/Logs/OctopusServer.txt"), lines);
}

// ---------------------------------------------------------------------------
// Health checks through the running services.

TEST_F(ServiceTest, HealthCheckThroughTheRunningServer) {
  MustS({"create-instance"});
  const int port = MakeTentacle("Tentacle", {ServerThumbprint()});
  const std::string address = "https://127.0.0.1:" + std::to_string(port);
  MustS(
      {"add-target", "--name", "web", "--address", address, "--thumbprint", TentacleThumbprint()});

  auto not_running = S({"health-check"});
  EXPECT_EQ(not_running.exit_code, kExitStopped);
  EXPECT_EQ(not_running.out, "");
  EXPECT_EQ(not_running.err,
            "Error: the Octopus Server service for instance 'OctopusServer' is not running; start "
            "it with: "
            "Octopus.Server service --instance OctopusServer --start\n");

  Started(MustS({"service", "--start"}));
  auto none_yet = S({"health-check", "--last"});
  EXPECT_EQ(none_yet.exit_code, 0);
  EXPECT_EQ(none_yet.out, "No health check has run yet.\n");
  auto down = S({"health-check"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.OutLines(),
              ElementsAre("web (" + address + "): unhealthy: The Tentacle at " + address +
                          " refused the connection (No connection could be made because the target "
                          "machine actively "
                          "refused it): is the Tentacle running and listening on that port?"));

  Started(MustT({"service", "--start"}));
  auto up = S({"health-check"});
  EXPECT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_THAT(up.OutLines(), ElementsAre("web (" + address + "): healthy"));
  auto json =
      nlohmann::json::parse(MustS({"health-check", "--name", "web", "--format", "json"}).out);
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["Name"], "web");
  EXPECT_EQ(json[0]["Healthy"], true);
  EXPECT_EQ(json[0]["Reason"], "");
  EXPECT_THAT(json[0]["TentacleVersion"].get<std::string>(), MatchesRegex("[0-9.]+"));

  // --last shows the kept results without checking again.
  auto last = S({"health-check", "--last"});
  EXPECT_EQ(last.exit_code, 0);
  EXPECT_THAT(
      last.OutLines(),
      ElementsAre(MatchesRegex("web \\(" + std::regex_replace(address, std::regex("[.]"), "\\.") +
                               "\\): healthy \\(checked [0-9-]+T[0-9:]+Z\\)")));

  auto unknown = S({"health-check", "--name", "nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err, "Error: there is no deployment target named 'nope'\n");
}

// ---------------------------------------------------------------------------
// Usage errors.

TEST_F(ServiceTest, UsageErrorsExitOneAndChangeNothing) {
  MakeTentacle("Tentacle");
  const std::string one_action =
      "Error: service needs at least one of --start, --stop, --restart, --reload, --status, --install, "
      "--uninstall, --reconfigure";
  const std::string star_only =
      "Error: --instance * works with --start, --stop, --restart, --reload and --status only";
  struct Case {
    std::vector<std::string> args;
    std::string first_error_line;
  };
  std::vector<Case> cases = {
      {{"service"}, one_action},
      {{"service", "--instance", "Tentacle"}, one_action},
      {{"service", "--install", "--username", "CORP\\svc-octopus"},
       "Error: --username: 'CORP\\svc-octopus' is a Windows account; on Linux give the name of a local user"},
      {{"service", "--install", "--user", "no-such-user-here"},
       "Error: --username: there is no user 'no-such-user-here' here"},
      {{"service", "--install", "--dependOn", "two words"},
       "Error: --dependOn: 'two words' is not a systemd unit name"},
      {{"service", "--instance", "*", "--install"}, star_only},
      {{"service", "--instance", "*", "--uninstall"}, star_only},
      {{"service", "--instance", "*", "--reconfigure"}, star_only},
      {{"service", "--start", "--timeout", "0"},
       "Error: --timeout: Value 0 not in range 1 to 3600"},
      {{"service", "--start", "--instance", "bad/name"},
       "Error: --instance: the instance name 'bad/name' may hold only letters, digits, spaces, "
       "'.', '_' and '-'"},
  };
  for (const auto& c : cases) {
    for (bool server : {false, true}) {
      auto r = server ? S(c.args) : T(c.args);
      EXPECT_EQ(r.exit_code, 1) << ::testing::PrintToString(c.args) << r.err;
      ASSERT_FALSE(r.ErrLines().empty()) << ::testing::PrintToString(c.args);
      EXPECT_EQ(r.ErrLines()[0], c.first_error_line) << ::testing::PrintToString(c.args);
      EXPECT_EQ(r.out, "") << ::testing::PrintToString(c.args);
    }
  }
  EXPECT_FALSE(std::filesystem::exists(units_));
  EXPECT_TRUE(systemctl_.Calls().empty());
  EXPECT_EQ(T({"service", "--status"}).exit_code, kExitStopped);
}

// ---------------------------------------------------------------------------
// systemd units, against the stand-in systemctl.

// The unit as the real Linux Tentacle writes it (LinuxServiceConfigurator),
// with our RestartSec/TimeoutStopSec/KillMode.
std::string ExpectedUnit(const std::string& description, const std::string& exe,
                         const std::string& args, const std::string& user = "root",
                         const std::string& after = "network.target") {
  return "[Unit]\n"
         "Description=" +
         description +
         "\n"
         "After=" + after + "\n"
         "\n"
         "[Service]\n"
         "Type=simple\n"
         "User=" + user + "\n"
         "ExecStart=" +
         exe + " run " + args + " --noninteractive" +
         "\n"
         "Restart=always\n"
         "RestartSec=5\n"
         "TimeoutStopSec=30\n"
         "KillMode=mixed\n"
         "\n"
         "[Install]\n"
         "WantedBy=multi-user.target\n";
}

// systemd-analyze verify accepts the unit file (no output, exit 0).
void ExpectSystemdAccepts(const std::string& unit_file) {
  ASSERT_TRUE(HaveProgram("systemd-analyze")) << "systemd-analyze is not installed: the systemd "
                                                 "unit tests need it (Debian package 'systemd')";
  auto r = RunProcess({"systemd-analyze", "verify", "--man=no", unit_file});
  EXPECT_EQ(r.exit_code, 0) << unit_file << "\n" << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "") << unit_file;
}

TEST_F(ServiceTest, TentacleSystemdUnitLifeCycle) {
  MakeTentacle("Web");
  const std::string unit = "Web.service", file = units_ + "/" + unit;

  auto install = T({"service", "--instance", "Web", "--install"});
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  EXPECT_THAT(install.OutLines(), ElementsAre("Service installed: Web"));
  EXPECT_EQ(ReadTestFile(file), ExpectedUnit("Octopus Deploy: Tentacle deployment agent (instance Web)",
                                             Canonical(TentacleBin()), "--instance=Web"));
  EXPECT_THAT(systemctl_.Calls(), ElementsAre("daemon-reload", "enable " + unit));
  ExpectSystemdAccepts(file);

  // With the unit installed, the commands go through systemctl.
  systemctl_.ClearCalls();
  auto start = T({"service", "--instance", "Web", "--start"});
  EXPECT_EQ(start.exit_code, 0);
  EXPECT_THAT(start.OutLines(), ElementsAre("Service started: Web"));
  systemctl_.SetActive(true);
  auto status = T({"service", "--instance", "Web", "--status"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_THAT(status.OutLines(),
              ElementsAre("The Tentacle service for instance 'Web' (systemd unit " + unit +
                          ") is running."));
  auto restart = T({"service", "--instance", "Web", "--restart"});
  EXPECT_EQ(restart.exit_code, 0);
  EXPECT_THAT(restart.OutLines(), ElementsAre("Restarting service: Web", "Service has been restarted"));
  auto stop = T({"service", "--instance", "Web", "--stop"});
  EXPECT_EQ(stop.exit_code, 0);
  EXPECT_THAT(stop.OutLines(), ElementsAre("Stopping service: Web", "Service stopped"));
  systemctl_.SetActive(false);
  auto stopped = T({"service", "--instance", "Web", "--status"});
  EXPECT_EQ(stopped.exit_code, kExitStopped);
  EXPECT_THAT(stopped.OutLines(),
              ElementsAre("The Tentacle service for instance 'Web' (systemd unit " + unit +
                          ") is stopped."));
  EXPECT_THAT(systemctl_.Calls(),
              ElementsAre("start " + unit, "is-active --quiet " + unit, "restart " + unit,
                          "stop " + unit, "is-active --quiet " + unit));
  // The built-in supervisor started nothing.
  EXPECT_FALSE(std::filesystem::exists(Home("Tentacle", "Web") + "/service.pid"));

  // --reconfigure rewrites the unit; a running unit is restarted.
  WriteTestFile(file, "[Service]\nExecStart=/opt/octopus/tentacle/Tentacle run --instance=Web\n");
  systemctl_.ClearCalls();
  systemctl_.SetActive(true);
  auto reconf = T({"service", "--instance", "Web", "--reconfigure", "--user", "nobody"});
  EXPECT_EQ(reconf.exit_code, 0) << reconf.err;
  EXPECT_THAT(reconf.OutLines(), ElementsAre("Service installed: Web", "Service started: Web"));
  EXPECT_EQ(ReadTestFile(file), ExpectedUnit("Octopus Deploy: Tentacle deployment agent (instance Web)",
                                             Canonical(TentacleBin()), "--instance=Web", "nobody"));
  EXPECT_THAT(systemctl_.Calls(), ElementsAre("is-active --quiet " + unit, "daemon-reload", "enable " + unit,
                                              "restart " + unit));
  // ... and a stopped one is left stopped.
  systemctl_.ClearCalls();
  systemctl_.SetActive(false);
  EXPECT_EQ(T({"service", "--instance", "Web", "--reconfigure"}).exit_code, 0);
  EXPECT_THAT(systemctl_.Calls(), ElementsAre("is-active --quiet " + unit, "daemon-reload", "enable " + unit));

  // --uninstall stops, disables, removes, reloads.
  systemctl_.ClearCalls();
  auto uninstall = T({"service", "--instance", "Web", "--uninstall"});
  EXPECT_EQ(uninstall.exit_code, 0) << uninstall.err;
  EXPECT_THAT(uninstall.OutLines(), ElementsAre("Removing systemd service: Web", "Service uninstalled"));
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_THAT(systemctl_.Calls(), ElementsAre("stop " + unit, "disable " + unit, "daemon-reload"));
  systemctl_.ClearCalls();
  auto again = T({"service", "--instance", "Web", "--uninstall"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.OutLines(), ElementsAre("The systemd unit " + file + " is not installed."));
  EXPECT_TRUE(systemctl_.Calls().empty());

  // Without the unit, the built-in supervisor is back.
  auto builtin = T({"service", "--instance", "Web", "--start"});
  EXPECT_EQ(builtin.exit_code, 0) << builtin.err;
  EXPECT_THAT(builtin.OutLines(),
              ElementsAre(MatchesRegex(
                  "The Tentacle service for instance 'Web' has started \\(pid [0-9]+\\)\\.")));
  Started(builtin);
  EXPECT_TRUE(systemctl_.Calls().empty());
}

TEST_F(ServiceTest, ServerSystemdUnit) {
  MustS({"create-instance", "--instance", "Main"});
  const std::string unit = "Main.service", file = units_ + "/" + unit;
  auto install = S({"service", "--instance", "Main", "--install"});
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  EXPECT_THAT(install.OutLines(), ElementsAre("Service installed: Main"));
  EXPECT_EQ(ReadTestFile(file), ExpectedUnit("Octopus Deploy: Octopus Server (instance Main)",
                                             Canonical(ServerBin()), "--instance=Main"));
  EXPECT_THAT(systemctl_.Calls(), ElementsAre("daemon-reload", "enable " + unit));
  ExpectSystemdAccepts(file);

  // Installing again rewrites it (and enables it again, as the real one).
  systemctl_.ClearCalls();
  auto again = S({"service", "--instance", "Main", "--install"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.OutLines(), ElementsAre("Service installed: Main"));
  EXPECT_THAT(systemctl_.Calls(), ElementsAre("is-active --quiet " + unit, "daemon-reload", "enable " + unit));

  systemctl_.ClearCalls();
  EXPECT_THAT(MustS({"service", "--instance", "Main", "--start"}).OutLines(),
              ElementsAre("Service started: Main"));
  EXPECT_THAT(MustS({"service", "--instance", "Main", "--stop"}).OutLines(),
              ElementsAre("Stopping service: Main", "Service stopped"));
  EXPECT_THAT(MustS({"service", "--instance", "Main", "--uninstall"}).OutLines(),
              ElementsAre("Removing systemd service: Main", "Service uninstalled"));
  EXPECT_THAT(systemctl_.Calls(), ElementsAre("start " + unit, "stop " + unit, "stop " + unit,
                                              "disable " + unit, "daemon-reload"));
}

TEST_F(ServiceTest, SystemdUnitWithConfigPath) {
  MustS({"create-instance", "--instance", "Main"});
  const std::string unit = "Main.service", file = units_ + "/" + unit;
  MustS({"service", "--instance", "Main", "--config", ServerConfig("Main"), "--install"});
  EXPECT_EQ(ReadTestFile(file),
            ExpectedUnit("Octopus Deploy: Octopus Server (instance Main)", Canonical(ServerBin()),
                         "--instance=Main --config=" + ServerConfig("Main")));
  ExpectSystemdAccepts(file);
}

// The canonical Linux install line, `service --install --start`, and the
// other combinations published scripts use: one call, the real order.
TEST_F(ServiceTest, SeveralActionsInOneCallRunInTheRealOrder) {
  MakeTentacle("Web");
  const std::string unit = "Web.service";
  auto r = T({"service", "--start", "--install", "--instance", "Web"});  // order on the line does not matter
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAre("Service installed: Web", "Service started: Web"));
  EXPECT_THAT(systemctl_.Calls(), ElementsAre("daemon-reload", "enable " + unit, "start " + unit));
  systemctl_.SetActive(true);

  systemctl_.ClearCalls();
  auto restart = T({"service", "--stop", "--start", "--instance", "Web"});
  ASSERT_EQ(restart.exit_code, 0) << restart.err;
  EXPECT_THAT(restart.OutLines(), ElementsAre("Stopping service: Web", "Service stopped", "Service started: Web"));
  EXPECT_THAT(systemctl_.Calls(), ElementsAre("stop " + unit, "start " + unit));

  systemctl_.ClearCalls();
  auto remove = T({"service", "--uninstall", "--stop", "--instance", "Web"});
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_THAT(remove.OutLines(), ElementsAre("Stopping service: Web", "Service stopped",
                                             "Removing systemd service: Web", "Service uninstalled"));
  EXPECT_THAT(systemctl_.Calls(),
              ElementsAre("stop " + unit, "stop " + unit, "disable " + unit, "daemon-reload"));
  EXPECT_FALSE(std::filesystem::exists(units_ + "/" + unit));
  systemctl_.SetActive(false);

  // --install --reconfigure writes the unit once.
  systemctl_.ClearCalls();
  auto both = T({"service", "--install", "--reconfigure", "--instance", "Web"});
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_THAT(both.OutLines(), ElementsAre("Service installed: Web"));
  EXPECT_THAT(systemctl_.Calls(), ElementsAre("daemon-reload", "enable " + unit));
  MustT({"service", "--uninstall", "--instance", "Web"});

  // Without systemd, the built-in supervisor takes the same combinations.
  const int pid = Started(MustT({"service", "--instance", "Web", "--start", "--status"}));
  ASSERT_GT(pid, 0);
  auto cycle = T({"service", "--instance", "Web", "--stop", "--start"});
  ASSERT_EQ(cycle.exit_code, 0) << cycle.err;
  ASSERT_EQ(cycle.OutLines().size(), 2u);
  EXPECT_EQ(cycle.OutLines()[0], "The Tentacle service for instance 'Web' has stopped.");
  EXPECT_FALSE(ProcessAlive(pid));
  Started(cycle);
}

TEST_F(ServiceTest, AccountAndDependencyOptionsGoIntoTheUnit) {
  MakeTentacle("Web");
  auto r = T({"service", "--install", "--instance", "Web", "--username", "nobody", "--password", "Secret123",
              "--dependOn", "postgresql"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err,
            "Warning: --password is not used on Linux: systemd starts the service as the --username account, no "
            "password needed\n");
  EXPECT_EQ(r.out.find("Secret123"), std::string::npos);
  EXPECT_EQ(ReadTestFile(units_ + "/Web.service"),
            ExpectedUnit("Octopus Deploy: Tentacle deployment agent (instance Web)", Canonical(TentacleBin()),
                         "--instance=Web", "nobody", "network.target postgresql.service"));
  EXPECT_EQ(ReadTestFile(units_ + "/Web.service").find("Secret123"), std::string::npos);
  // Only --install and --reconfigure use them: said in one line, not an error.
  systemctl_.ClearCalls();
  auto stop = T({"service", "--stop", "--instance", "Web", "--user", "nobody"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(stop.err, "Warning: --username, --password and --dependOn are used only with --install or --reconfigure; "
                      "ignored\n");
  // The real product's environment variable for the account.
  ProcessOptions env = Env();
  env.env["OCTOPUS_SERVICE_USERNAME"] = "nobody";
  MustT({"service", "--uninstall", "--instance", "Web"});
  auto viaenv = Tentacle({"service", "--install", "--instance", "Web"}, env);
  ASSERT_EQ(viaenv.exit_code, 0) << viaenv.err;
  EXPECT_THAT(ReadTestFile(units_ + "/Web.service"), HasSubstr("\nUser=nobody\n"));
  MustT({"service", "--uninstall", "--instance", "Web"});
}

TEST_F(ServiceTest, AUnitOfTheSameNameThatIsNotOursIsNeverTouched) {
  MakeTentacle("ssh");
  std::filesystem::create_directories(units_);
  const std::string theirs = "[Unit]\nDescription=OpenBSD Secure Shell server\n[Service]\nExecStart=/usr/sbin/sshd -D\n";
  WriteTestFile(units_ + "/ssh.service", theirs);
  for (const auto& args : std::vector<std::vector<std::string>>{{"--install"}, {"--reconfigure"}, {"--install", "--start"}}) {
    std::vector<std::string> argv = {"service", "--instance", "ssh"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = T(argv);
    EXPECT_EQ(r.exit_code, 1) << ::testing::PrintToString(args);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "Error: the systemd unit ssh.service already exists (" + units_ +
                         "/ssh.service) and does not run this Tentacle instance; nothing was changed (use another "
                         "instance name)\n");
  }
  // A unit in systemd's other directories counts too.
  const std::string vendor = Path("vendor-units");
  std::filesystem::create_directories(vendor);
  WriteTestFile(vendor + "/Web.service", theirs);
  MakeTentacle("Web");
  ProcessOptions env = Env();
  env.env["OCTOPUS_SYSTEMD_SEARCH_PATH"] = vendor;
  auto clash = Tentacle({"service", "--instance", "Web", "--install"}, env);
  EXPECT_EQ(clash.exit_code, 1);
  EXPECT_THAT(clash.err, HasSubstr("the systemd unit Web.service already exists (" + vendor + "/Web.service)"));
  EXPECT_EQ(ReadTestFile(units_ + "/ssh.service"), theirs);
  EXPECT_EQ(ReadTestFile(vendor + "/Web.service"), theirs);
  EXPECT_FALSE(std::filesystem::exists(units_ + "/Web.service"));
  EXPECT_TRUE(systemctl_.Calls().empty());
  // start/stop/status do not drive a unit that is not ours: the built-in supervisor serves.
  auto status = T({"service", "--instance", "ssh", "--status"});
  EXPECT_EQ(status.exit_code, kExitStopped);
  EXPECT_THAT(status.OutLines(), ElementsAre("The Tentacle service for instance 'ssh' is stopped."));
  EXPECT_TRUE(systemctl_.Calls().empty());
}

TEST_F(ServiceTest, AUnitUnderTheOldNameIsMovedToTheRealName) {
  MakeTentacle("Web");
  std::filesystem::create_directories(units_);
  const std::string legacy = units_ + "/tentacle-Web.service";
  WriteTestFile(legacy, "[Service]\nExecStart=\"" + Canonical(TentacleBin()) + "\" run \"--instance=Web\"\n");
  systemctl_.SetActive(true);
  // Before it is moved, start/stop/status use it.
  EXPECT_THAT(MustT({"service", "--instance", "Web", "--status"}).OutLines(),
              ElementsAre("The Tentacle service for instance 'Web' (systemd unit tentacle-Web.service) is running."));
  systemctl_.ClearCalls();
  auto r = T({"service", "--instance", "Web", "--reconfigure"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(),
              ElementsAre("Removed the systemd unit tentacle-Web.service (the name used before this version).",
                          "Service installed: Web", "Service started: Web"));
  // The new unit is in place before the old one goes.
  EXPECT_THAT(systemctl_.Calls(),
              ElementsAre("is-active --quiet tentacle-Web.service", "daemon-reload", "enable Web.service",
                          "stop tentacle-Web.service", "disable tentacle-Web.service", "daemon-reload",
                          "start Web.service"));
  EXPECT_FALSE(std::filesystem::exists(legacy));
  EXPECT_TRUE(std::filesystem::exists(units_ + "/Web.service"));
  MustT({"service", "--instance", "Web", "--uninstall"});
  systemctl_.SetActive(false);
}

TEST_F(ServiceTest, SystemdUnitNameIsTheRealProductsName) {
  // As LinuxServiceConfigurator names it: whitespace becomes '-'.
  MakeTentacle("My Tentacle");
  const std::string unit = "My-Tentacle.service", file = units_ + "/" + unit;
  auto install = T({"service", "--instance", "My Tentacle", "--install"});
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  EXPECT_THAT(install.OutLines(), ElementsAre("Service installed: My-Tentacle"));
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(ReadTestFile(file),
            ExpectedUnit("Octopus Deploy: Tentacle deployment agent (instance My Tentacle)",
                         Canonical(TentacleBin()), "\"--instance=My Tentacle\""));
  EXPECT_THAT(systemctl_.Calls(), ElementsAre("daemon-reload", "enable " + unit));
  ExpectSystemdAccepts(file);
  systemctl_.ClearCalls();
  EXPECT_EQ(T({"service", "--instance", "My Tentacle", "--start"}).exit_code, 0);
  EXPECT_THAT(systemctl_.Calls(), ElementsAre("start " + unit));
  MustT({"service", "--instance", "My Tentacle", "--uninstall"});
  EXPECT_FALSE(std::filesystem::exists(file));
}

TEST_F(ServiceTest, SystemctlFailureIsReported) {
  MakeTentacle("Web");
  MustT({"service", "--instance", "Web", "--install"});
  systemctl_.FailWith(5);
  auto r = T({"service", "--instance", "Web", "--start"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "Error: systemctl start Web.service failed with exit code 5\n");
  std::filesystem::remove(units_ + "/Web.service");
}

TEST_F(ServiceTest, InstallStopsAServiceTheBuiltInSupervisorRuns) {
  MakeTentacle("Web");
  const int pid = Started(MustT({"service", "--instance", "Web", "--start"}));
  ASSERT_GT(pid, 0);
  auto r = MustT({"service", "--instance", "Web", "--install"});
  EXPECT_THAT(r.OutLines(),
              ElementsAre("Stopped the running service (pid " + std::to_string(pid) +
                              ") so that systemd runs it from now on.",
                          "Service installed: Web", "Service started: Web"));
  EXPECT_THAT(systemctl_.Calls(), ::testing::Contains("start Web.service"));
  EXPECT_FALSE(ProcessAlive(pid));
  MustT({"service", "--instance", "Web", "--uninstall"});
}

TEST_F(ServiceTest, FailedInstallLeavesNoUnitBehind) {
  MakeTentacle("Web");
  systemctl_.FailWith(1);
  auto r = T({"service", "--instance", "Web", "--install"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "Error: systemctl daemon-reload failed\n");
  EXPECT_FALSE(std::filesystem::exists(units_ + "/Web.service"));
  std::filesystem::remove(systemctl_.path());
  auto missing = T({"service", "--instance", "Web", "--install"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "Error: cannot run " + Path("systemctl") + " (not found, or not executable)\n");
  EXPECT_FALSE(std::filesystem::exists(units_ + "/Web.service"));
  // Without a unit the built-in supervisor still works.
  Started(MustT({"service", "--instance", "Web", "--start"}));
}

// ---------------------------------------------------------------------------
// Deployment targets.

class ServiceTargets : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    MustS({"create-instance"});
  }
  nlohmann::json Targets() {
    auto j = nlohmann::json::parse(ReadTestFile(ServerConfig()));
    return j.contains("Octopus.Server.DeploymentTargets") ? j["Octopus.Server.DeploymentTargets"]
                                                          : nlohmann::json::array();
  }
};

TEST_F(ServiceTargets, AddListUpdateRemove) {
  auto empty = MustS({"list-targets"});
  EXPECT_EQ(empty.out, "There are no deployment targets.\n");
  EXPECT_EQ(MustS({"list-targets", "--format", "json"}).out, "[]\n");

  auto add = MustS({"add-target", "--name", "web", "--address", "https://127.0.0.1:10933",
                    "--thumbprint", " " + std::string(40, 'a') + " "});
  EXPECT_THAT(
      add.OutLines(),
      ElementsAre(
          "Added deployment target 'web' at https://127.0.0.1:10933 with thumbprint " + kA + ".",
          kTargetWhenStarts));
  MustS({"add-target", "--name", "db server", "--address", "https://db.example:10943/",
         "--thumbprint", kB});
  EXPECT_THAT(MustS({"list-targets"}).OutLines(),
              ElementsAre("web  https://127.0.0.1:10933  " + kA,
                          "db server  https://db.example:10943/  " + kB));
  auto json = nlohmann::json::parse(MustS({"list-targets", "--format=json"}).out);
  EXPECT_EQ(json,
            nlohmann::json::parse(
                R"([{"Name":"web","Address":"https://127.0.0.1:10933","Thumbprint":")" + kA +
                R"(","Thumbprints":[")" + kA +
                R"("]},{"Name":"db server","Address":"https://db.example:10943/","Thumbprint":")" +
                kB + R"(","Thumbprints":[")" + kB + R"("]}])"));
  EXPECT_EQ(Targets(), json);

  auto tp = MustS({"update-target", "--name", "web", "--thumbprint", kB});
  EXPECT_THAT(tp.OutLines(),
              ElementsAre("The thumbprint of deployment target 'web' is now " + kB + ".",
                          kTargetWhenStarts));
  auto both = MustS(
      {"update-target", "--name", "web", "--thumbprint", kA, "--address", "https://[::1]:10934"});
  EXPECT_THAT(both.OutLines(),
              ElementsAre("The thumbprint of deployment target 'web' is now " + kA + ".",
                          "The address of deployment target 'web' is now https://[::1]:10934.",
                          kTargetWhenStarts));
  EXPECT_THAT(MustS({"list-targets"}).OutLines(),
              ElementsAre("web  https://[::1]:10934  " + kA,
                          "db server  https://db.example:10943/  " + kB));

  auto rm = MustS({"remove-target", "--name", "web"});
  EXPECT_THAT(rm.OutLines(), ElementsAre("Removed deployment target 'web'."));
  EXPECT_THAT(MustS({"list-targets"}).OutLines(),
              ElementsAre("db server  https://db.example:10943/  " + kB));
  MustS({"remove-target", "--name", "db server"});
  EXPECT_EQ(MustS({"list-targets"}).out, "There are no deployment targets.\n");
}

TEST_F(ServiceTargets, ErrorsChangeNothing) {
  MustS(
      {"add-target", "--name", "web", "--address", "https://127.0.0.1:10933", "--thumbprint", kA});
  const std::string config = HashFile(ServerConfig());
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string error;
  };
  std::vector<Case> cases = {
      {{"add-target", "--name", "x", "--address", "http://x", "--thumbprint", kA},
       1,
       "Error: --address: the address 'http://x' must be https://HOST:PORT"},
      {{"add-target", "--name", "x", "--address", "https://x", "--thumbprint", kA},
       1,
       "Error: --address: the address 'https://x' must be https://HOST:PORT"},
      {{"add-target", "--name", "x", "--address", "https://x:0", "--thumbprint", kA},
       1,
       "Error: --address: the address 'https://x:0' must be https://HOST:PORT"},
      {{"add-target", "--name", "x", "--address", "https://x:10933/path", "--thumbprint", kA},
       1,
       "Error: --address: the address 'https://x:10933/path' must be https://HOST:PORT"},
      {{"add-target", "--name", "x", "--address", "https://x:10933", "--thumbprint", "1234"},
       1,
       "Error: --thumbprint: the thumbprint '1234' has 4 hexadecimal characters; a thumbprint has "
       "exactly 40"},
      {{"add-target", "--name", "x", "--address", "https://x:10933", "--thumbprint",
        std::string(40, 'G')},
       1,
       "Error: --thumbprint: the thumbprint '" + std::string(40, 'G') +
           "' contains 'G', which is not a hexadecimal digit"},
      {{"add-target", "--name", "x", "--address", "https://x:10933"},
       1,
       "Error: add-target needs --address (or --subscription) and --thumbprint"},
      {{"add-target", "--address", "https://x:10933", "--thumbprint", kA},
       1,
       "Error: --name is required"},
      {{"add-target", "--name", "", "--address", "https://x:10933", "--thumbprint", kA},
       1,
       "Error: --name: the target name is empty"},
      {{"add-target", "--name", "web", "--address", "https://x:10933", "--thumbprint", kB},
       1,
       "Error: a deployment target named 'web' already exists"},
      {{"update-target", "--name", "web"},
       1,
       "Error: update-target needs --thumbprint, --address or --subscription"},
      {{"update-target", "--name", "web", "--address", "http://x"},
       1,
       "Error: --address: the address 'http://x' must be https://HOST:PORT"},
      {{"update-target", "--name", "web", "--thumbprint", "xyz"},
       1,
       "Error: --thumbprint: the thumbprint 'xyz' contains 'x', which is not a hexadecimal digit"},
      {{"update-target", "--name", "nope", "--thumbprint", kB},
       1,
       "Error: there is no deployment target named 'nope'"},
      {{"remove-target", "--name", "nope"}, 1, "Error: there is no deployment target named 'nope'"},
      {{"remove-target", "--name", "WEB"}, 1, "Error: there is no deployment target named 'WEB'"},
      {{"list-targets", "--format", "xml"}, 1, "Error: --format: xml not in {text,json}"},
      {{"add-target", "--instance", "Nope", "--name", "x", "--address", "https://x:1",
        "--thumbprint", kA},
       1,
       "Error: there is no Octopus Server instance named 'Nope' (see list-instances; create one "
       "with "
       "create-instance)"},
  };
  for (const auto& c : cases) {
    auto r = S(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << ::testing::PrintToString(c.args) << r.err;
    ASSERT_FALSE(r.ErrLines().empty()) << ::testing::PrintToString(c.args);
    EXPECT_EQ(r.ErrLines()[0], c.error) << ::testing::PrintToString(c.args);
    EXPECT_EQ(r.out, "") << ::testing::PrintToString(c.args);
    EXPECT_EQ(HashFile(ServerConfig()), config) << ::testing::PrintToString(c.args);
  }
}

TEST_F(ServiceTargets, DamagedTargetListIsReportedAndKept) {
  auto j = nlohmann::json::parse(ReadTestFile(ServerConfig()));
  j["Octopus.Server.DeploymentTargets"] = nlohmann::json::array({{{"Name", "web"}}});
  WriteTestFile(ServerConfig(), j.dump(2));
  const std::string config = HashFile(ServerConfig());
  const std::string error =
      "Error: " + ServerConfig() +
      ": every entry of \"Octopus.Server.DeploymentTargets\" must have \"Name\", \"Address\" "
      "and \"Thumbprint\" strings";
  for (std::vector<std::string> args :
       {std::vector<std::string>{"list-targets"},
        std::vector<std::string>{"add-target", "--name", "x", "--address", "https://x:1",
                                 "--thumbprint", kA},
        std::vector<std::string>{"update-target", "--name", "web", "--thumbprint", kA},
        std::vector<std::string>{"remove-target", "--name", "web"}}) {
    auto r = S(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_EQ(r.err, error + "\n") << args[0];
    EXPECT_EQ(HashFile(ServerConfig()), config) << args[0];
  }
}

}  // namespace
}  // namespace octo::testing
