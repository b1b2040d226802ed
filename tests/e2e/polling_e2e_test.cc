// Polling Tentacles end to end: a running Octopus Server listening for
// polling Tentacles on a loopback port (configure --commsListenPort /
// --commsListenAddress), polling Tentacles (server-comms --style
// TentacleActive, --noListen) and, for the mixed fleet, listening ones, each
// its own service process started with `service --start` under a temporary
// OCTOPUS_CONFIG_ROOT (except the reconnect test's agent, run in the
// foreground for its short backoff). What a user sees is asserted: exit codes, the lines
// printed, the health check's JSON ("Outcome", "Polling", "Thumbprint",
// "Reason"), and the lines in the Tentacle's and the Server's logs. Every
// wait is bounded; every service is stopped at the end.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/cli_fixture.h"

extern "C" char** environ;  // NOLINT: the process environment, passed on to the foreground agent

namespace octo::testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

using SteadyClock = std::chrono::steady_clock;

const char kPassword[] = "MySecretPassword";
const char kRestartTentacle[] = "These changes require a restart of the Tentacle.";
const char kAppliedLive[] = "The running Tentacle applied the trust changes; no restart is needed.";
const char kTrustedKey[] = "Tentacle.Communication.TrustedOctopusServers";
const char kSubscriptionRegex[] = "poll://[a-z0-9]{20}/";
// The polling reconnect backoff of the foreground agent in the reconnect
// test (agent.cc reads these variables; the defaults are Halibut's 5 s and
// 2 min). `service --start` does not pass them on (docs/cli.md, "Polling
// Tentacles": the service gets a minimal environment), so the services of
// the other tests back off as Halibut does.
constexpr int kRetryMinMs = 200;
constexpr int kRetryMaxMs = 1000;
// The Server's health-check timeout (HealthCheckOptions: 10 s), which bounds
// how long a polling request waits to be collected.
constexpr int kCheckTimeoutSeconds = 10;
const char kNotCollected[] =
    "A request was sent to a polling endpoint, but the polling endpoint did not collect the request within the "
    "allowed time (00:00:10), so the request timed out.";

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// A file's text, "" while it does not exist (a log not written yet).
std::string ReadIfExists(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// Each wait the Tentacle's log text announces before it connects again
// ("Halibut client exception: ... Retrying in N seconds" after a failed
// attempt, "... Connecting again in N seconds" after a connection ended), as N.
std::vector<double> RetryDelays(const std::string& log) {
  std::vector<double> out;
  for (const std::string marker : {". Retrying in ", ". Connecting again in "}) {
    for (size_t at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) {
      out.push_back(std::strtod(log.c_str() + at + marker.size(), nullptr));
    }
  }
  return out;
}

// `Tentacle agent` run in the foreground as a child of the test, with extra
// environment variables (the way the polling backoff variables reach an
// agent). Stopped (SIGTERM, then SIGKILL after 10 s) and reaped by Stop or
// the destructor; only this process is signalled, by its pid.
class ForegroundAgent {
 public:
  ForegroundAgent() = default;
  ForegroundAgent(const ForegroundAgent&) = delete;
  ForegroundAgent& operator=(const ForegroundAgent&) = delete;
  ~ForegroundAgent() { Stop(); }

  bool Start(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra,
             const std::string& output) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string var = *e;
      if (extra.count(var.substr(0, var.find('='))) == 0) env.push_back(var);
    }
    for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& v : env) envp.push_back(v.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> argp;
    for (auto& a : args) argp.push_back(a.data());
    argp.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      int devnull = ::open("/dev/null", O_RDONLY);
      int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (devnull >= 0) ::dup2(devnull, 0);
      if (out >= 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
      }
      ::execve(argp[0], argp.data(), envp.data());
      ::_exit(127);
    }
    return pid_ > 0;
  }

  // SIGTERM, and its exit status (-1 if it had to be killed or was not running).
  int Stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
    pid_t done = 0;
    while ((done = ::waitpid(pid_, &status, WNOHANG)) == 0 && SteadyClock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (done == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      return -1;
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

class PollingE2E : public SupervisedServiceTest {
 protected:
  // A Tentacle: listening (address https://127.0.0.1:PORT) or polling
  // (address = its subscription id poll://ID/). Its target has its name.
  struct Agent {
    std::string name;
    bool polling = false;
    std::string address;
    std::string subscription;  // polling only
    std::string thumbprint;    // its certificate at set-up
  };

  // Every command of these tests: the built-in supervisor, never systemd.
  ProcessOptions Opts() { return Env(); }
  ProcessResult S(std::vector<std::string> args) { return Server(std::move(args), Opts()); }
  ProcessResult T(std::vector<std::string> args) { return Tentacle(std::move(args), Opts()); }
  ProcessResult MustS(std::vector<std::string> args) { return MustServer(std::move(args), Opts()); }
  ProcessResult MustT(std::vector<std::string> args) { return MustTentacle(std::move(args), Opts()); }

  // The Server instance OctopusServer, listening for polling Tentacles on a
  // free loopback port, running.
  void SetUp() override {
    MustS({"create-instance", "--instance", "OctopusServer"});
    server_tp_ = ServerThumbprint();
    ASSERT_EQ(server_tp_.size(), 40u);
    ProcessResult start;
    for (int attempt = 0; attempt < 5; ++attempt) {
      comms_port_ = FreeLoopbackPort();
      ASSERT_GT(comms_port_, 0);
      auto configured = MustS({"configure", "--instance", "OctopusServer", "--commsListenPort",
                               std::to_string(comms_port_), "--commsListenAddress", "127.0.0.1"});
      EXPECT_THAT(configured.OutLines(), ElementsAre("Communications listen port: " + std::to_string(comms_port_),
                                                     "Communications listen address: 127.0.0.1",
                                                     "These changes require a restart of the Octopus Server."));
      start = S({"service", "--instance", "OctopusServer", "--start"});
      if (start.exit_code == 0 || start.err.find("could not listen") == std::string::npos) break;
    }
    ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
    server_started_ = true;
    EXPECT_THAT(ReadTestFile(ServerLog()),
                HasSubstr("Listening for polling Tentacles on 127.0.0.1:" + std::to_string(comms_port_)));
  }

  void TearDown() override {
    for (const auto& name : started_) {
      auto r = T({"service", "--instance", name, "--stop"});
      EXPECT_EQ(r.exit_code, 0) << name << ": " << r.out << r.err;
    }
    if (server_started_) {
      auto r = S({"service", "--instance", "OctopusServer", "--stop"});
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    }
    // The safety net: whatever a failed step may have left running.
    T({"service", "--instance", "*", "--stop"});
    S({"service", "--instance", "*", "--stop"});
    for (const auto& a : fleet_) {
      auto r = T({"service", "--instance", a.name, "--status"});
      EXPECT_EQ(r.exit_code, 3) << a.name << " still runs: " << r.out << r.err;
    }
    auto r = S({"service", "--instance", "OctopusServer", "--status"});
    EXPECT_EQ(r.exit_code, 3) << "the Server still runs: " << r.out << r.err;
  }

  // ---- paths ---------------------------------------------------------------

  std::string ServerHome() const { return root() + "/OctopusServer/OctopusServer"; }
  std::string ServerLog() const { return ServerHome() + "/Logs/OctopusServer.txt"; }
  std::string TentacleHome(const std::string& name) const { return root() + "/Tentacle/" + name; }
  std::string TentacleLog(const std::string& name) const { return TentacleHome(name) + "/Logs/OctopusTentacle.txt"; }
  std::string CommsAddress() const { return "https://127.0.0.1:" + std::to_string(comms_port_); }

  // ---- set-up ----------------------------------------------------------------

  // A polling Tentacle `name`, configured as a user would, added as the
  // polling target `name` and started (`service --start`) unless `start` is
  // false.
  void AddPolling(const std::string& name, bool start_service = true) {
    Agent a;
    a.name = name;
    a.polling = true;
    MustT({"create-instance", "--instance", name});
    MustT({"new-certificate", "--instance", name, "--if-blank"});
    a.thumbprint = TentacleThumbprint(name);
    ASSERT_EQ(a.thumbprint.size(), 40u);
    auto configured = MustT({"configure", "--instance", name, "--trust", server_tp_, "--noListen", "true"});
    EXPECT_THAT(configured.OutLines(),
                ElementsAre("Adding 1 trusted Octopus Servers", "Tentacle will not listen on a port", kRestartTentacle));
    auto comms = MustT({"server-comms", "--instance", name, "--thumbprint", server_tp_, "--style", "TentacleActive",
                        "--host", "127.0.0.1", "--port", std::to_string(comms_port_)});
    EXPECT_THAT(comms.OutLines(), ElementsAre("Updated server communications configuration", kRestartTentacle));
    a.subscription = Subscription(name);
    ASSERT_THAT(a.subscription, MatchesRegex(kSubscriptionRegex));
    a.address = a.subscription;
    auto added = MustS({"add-target", "--instance", "OctopusServer", "--name", name, "--subscription",
                        a.subscription, "--thumbprint", a.thumbprint});
    EXPECT_THAT(added.OutLines(),
                ElementsAre("Added polling deployment target '" + name + "' with subscription " + a.subscription +
                                " and thumbprint " + a.thumbprint + ".",
                            "The running Octopus Server uses this at its next health check."));
    fleet_.push_back(a);
    if (!start_service) return;
    auto start = T({"service", "--instance", name, "--start"});
    ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
    EXPECT_THAT(start.OutLines(), ElementsAre(MatchesRegex("The Tentacle service for instance '" + name +
                                                           "' has started \\(pid [0-9]+\\)\\.")));
    started_.push_back(name);
  }

  // A listening Tentacle `name` on a free loopback port, added as the target
  // `name` and started (as fleet_rotation_e2e_test.cc).
  void AddListening(const std::string& name) {
    Agent a;
    a.name = name;
    MustT({"create-instance", "--instance", name});
    MustT({"new-certificate", "--instance", name});
    a.thumbprint = TentacleThumbprint(name);
    ProcessResult start;
    int port = 0;
    for (int attempt = 0; attempt < 5; ++attempt) {
      port = FreeLoopbackPort();
      ASSERT_GT(port, 0);
      std::vector<std::string> args = {"configure", "--instance", name, "--port", std::to_string(port),
                                       "--listenIpAddress", "127.0.0.1"};
      if (attempt == 0) args.insert(args.end(), {"--trust", server_tp_});
      MustT(args);
      start = T({"service", "--instance", name, "--start"});
      if (start.exit_code == 0 || start.err.find("cannot listen") == std::string::npos) break;
    }
    ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
    started_.push_back(name);
    a.address = "https://127.0.0.1:" + std::to_string(port);
    MustS({"add-target", "--instance", "OctopusServer", "--name", name, "--address", a.address, "--thumbprint",
           a.thumbprint});
    fleet_.push_back(a);
  }

  const Agent& Get(const std::string& name) const {
    for (const auto& a : fleet_) {
      if (a.name == name) return a;
    }
    ADD_FAILURE() << "no Tentacle " << name;
    return fleet_.front();
  }

  // ---- what the Tentacle shows ---------------------------------------------

  // `show-configuration`, parsed.
  nlohmann::json ShownConfig(const std::string& name) {
    auto r = MustT({"show-configuration", "--instance", name});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.out;
    return j.is_object() ? j : nlohmann::json::object();
  }
  nlohmann::json TrustedEntries(const std::string& name) {
    nlohmann::json j = ShownConfig(name);
    if (!j.contains("Tentacle") || !j["Tentacle"].contains("Communication")) return nlohmann::json::array();
    return j["Tentacle"]["Communication"]["TrustedOctopusServers"];
  }
  // The subscription id of its polling entry (show-configuration).
  std::string Subscription(const std::string& name) {
    std::set<std::string> ids;
    for (const auto& e : TrustedEntries(name)) {
      if (e["CommunicationStyle"] == 2 && e["SubscriptionId"].is_string()) ids.insert(e["SubscriptionId"]);
    }
    EXPECT_EQ(ids.size(), 1u) << TrustedEntries(name).dump();
    return ids.empty() ? "" : *ids.begin();
  }
  // The thumbprints of its trusted-server entries, sorted, one per entry
  // (a polling Tentacle has a listening entry and a polling one per Server).
  std::vector<std::string> TrustedThumbprints(const std::string& name) {
    std::vector<std::string> out;
    for (const auto& e : TrustedEntries(name)) out.push_back(e["Thumbprint"]);
    std::sort(out.begin(), out.end());
    return out;
  }
  // Its polling entries as "THUMBPRINT ADDRESS SUBSCRIPTION", sorted.
  std::vector<std::string> PollingEntries(const std::string& name) {
    std::vector<std::string> out;
    for (const auto& e : TrustedEntries(name)) {
      if (e["CommunicationStyle"] != 2) continue;
      out.push_back(e["Thumbprint"].get<std::string>() + " " + e["Address"].get<std::string>() + " " +
                    e["SubscriptionId"].get<std::string>());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // The running service's pid, from `service --status`; -1 if not running.
  int Pid(const std::string& name) {
    auto r = T({"service", "--instance", name, "--status"});
    const std::string marker = "is running (pid ";
    auto at = r.out.find(marker);
    if (r.exit_code != 0 || at == std::string::npos) return -1;
    return std::atoi(r.out.c_str() + at + marker.size());
  }

  // ---- health ----------------------------------------------------------------

  struct Check {
    ProcessResult run;
    double seconds = 0;
    nlohmann::json results = nlohmann::json::array();
    // The result of target `name` (an empty object, and a failure, if absent).
    nlohmann::json Of(const std::string& name) const {
      for (const auto& r : results) {
        if (r.value("Name", "") == name) return r;
      }
      ADD_FAILURE() << "no result for " << name << " in " << run.out << run.err;
      return nlohmann::json::object();
    }
  };

  // `health-check [--name N...] --format json`, timed.
  Check HealthJson(const std::vector<std::string>& names = {}) {
    std::vector<std::string> args = {"health-check", "--instance", "OctopusServer", "--format", "json"};
    for (const auto& n : names) args.insert(args.end(), {"--name", n});
    Check c;
    const auto start = SteadyClock::now();
    c.run = S(args);
    c.seconds = SecondsSince(start);
    auto j = nlohmann::json::parse(c.run.out, nullptr, false);
    if (j.is_array()) c.results = j;
    return c;
  }

  // Repeats the health check until every target asked is healthy, at most
  // `attempts` times (a polling Tentacle just (re)started may not have
  // connected yet); returns the last.
  Check WaitHealthy(const std::vector<std::string>& names = {}, int attempts = 4) {
    Check c;
    for (int i = 0; i < attempts; ++i) {
      c = HealthJson(names);
      if (c.run.exit_code == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(kRetryMaxMs));
    }
    return c;
  }

  // Every target healthy, in target order, as `health-check` prints it.
  void ExpectAllHealthy(const std::string& when) {
    SCOPED_TRACE("health check " + when);
    Check c = WaitHealthy();
    ASSERT_EQ(c.run.exit_code, 0) << c.run.out << c.run.err;
    auto text = S({"health-check", "--instance", "OctopusServer"});
    EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
    std::vector<std::string> lines;
    for (const auto& a : fleet_) lines.push_back(a.name + " (" + a.address + "): healthy");
    EXPECT_THAT(text.OutLines(), ElementsAreArray(lines));
    EXPECT_EQ(text.err, "");
    for (const auto& a : fleet_) {
      if (a.polling) {
        EXPECT_EQ(c.Of(a.name).value("Polling", ""), "Connected") << a.name;
      }
    }
  }

  // ---- steps -------------------------------------------------------------------

  void RestartTentacle(const std::string& name) {
    auto r = T({"service", "--instance", name, "--restart"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.OutLines(), ElementsAre("The Tentacle service for instance '" + name + "' has stopped.",
                                          MatchesRegex("The Tentacle service for instance '" + name +
                                                       "' has started \\(pid [0-9]+\\)\\.")));
  }
  void RestartServer() {
    auto r = S({"service", "--instance", "OctopusServer", "--restart"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.OutLines(),
                ElementsAre("The Octopus Server service for instance 'OctopusServer' has stopped.",
                            MatchesRegex("The Octopus Server service for instance 'OctopusServer' has started "
                                         "\\(pid [0-9]+\\)\\.")));
  }
  // Seed steps 1 and 2: the old certificate backed up, a new one generated to
  // a file. Returns the new thumbprint.
  std::string ExportAndGenerate() {
    const std::string old_file = Path("oldcert.pfx");
    auto exported = S({"export-certificate", "--instance", "OctopusServer", "--export-pfx=" + old_file,
                       "--pfx-password", kPassword});
    EXPECT_EQ(exported.exit_code, 0) << exported.out << exported.err;
    EXPECT_THAT(exported.OutLines(), ElementsAre("Checking the Octopus Master Key has been configured.",
                                                 "Exporting certificate...",
                                                 "The certificate has been written to " + old_file + "."));
    const std::string new_file = Path("newcert.pfx");
    auto made = S({"new-certificate", "--instance", "OctopusServer", "--export-pfx=" + new_file, "--pfx-password",
                   kPassword});
    EXPECT_EQ(made.exit_code, 0) << made.out << made.err;
    const auto lines = made.OutLines();
    if (lines.size() != 7) {
      ADD_FAILURE() << "unexpected new-certificate output:\n" << made.out << made.err;
      return "";
    }
    const std::string tp = lines[5];
    EXPECT_THAT(lines, ElementsAre("Checking the Octopus Master Key has been configured.", "Generating certificate...",
                                   "The Octopus Server currently uses a certificate with thumbprint:", server_tp_,
                                   "A new certificate has been generated with thumbprint:", tp,
                                   "The new certificate has been written to " + new_file + "."));
    EXPECT_THAT(tp, MatchesRegex("[0-9A-F]{40}"));
    EXPECT_NE(tp, server_tp_);
    EXPECT_EQ(ServerThumbprint(), server_tp_) << "new-certificate --export-pfx changed the Server";
    return tp;
  }
  // Seed step 4, first half: the new certificate imported (restart apart).
  void ImportNew(const std::string& new_tp) {
    const std::string file = Path("newcert.pfx");
    auto r = S({"import-certificate", "--instance", "OctopusServer", "--from-file=" + file, "--pfx-password",
                kPassword});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.OutLines(),
                ElementsAre("Importing the certificate stored in PFX file in " + file + " using the provided password...",
                            "Checking the Octopus Master Key has been configured.",
                            "The certificate CN=Octopus Portal was updated; old thumbprint = " + server_tp_ +
                                ", new thumbprint = " + new_tp,
                            "Certificate imported successfully.",
                            "These changes require a restart of the Octopus Server."));
    EXPECT_EQ(ServerThumbprint(), new_tp);
  }

  std::string server_tp_;
  int comms_port_ = 0;
  std::vector<Agent> fleet_;
  std::vector<std::string> started_;
  bool server_started_ = false;
};

// 1. The seed procedure (seed-regenerate-certificates.txt), step by step with
// its own commands, on a fleet of two listening and two polling Tentacles:
// the polling ones need nothing the listening ones do not.
TEST_F(PollingE2E, SeedProcedureOnAMixedFleet) {
  ASSERT_NO_FATAL_FAILURE(AddListening("L1"));
  ASSERT_NO_FATAL_FAILURE(AddListening("L2"));
  ASSERT_NO_FATAL_FAILURE(AddPolling("P1"));
  ASSERT_NO_FATAL_FAILURE(AddPolling("P2"));
  ASSERT_NO_FATAL_FAILURE(ExpectAllHealthy("after set-up"));
  const std::string old_tp = server_tp_;

  // 1 and 2: back up the certificate; generate a new one to a file.
  const std::string new_tp = ExportAndGenerate();
  ASSERT_EQ(new_tp.size(), 40u);
  ASSERT_NO_FATAL_FAILURE(ExpectAllHealthy("after steps 1 and 2"));

  // 3: every Tentacle trusts the new certificate, and is restarted. A
  // polling Tentacle now also accepts it at the address it polls, with the
  // same subscription.
  for (const auto& a : fleet_) {
    auto r = T({"configure", "--instance", a.name, "--trust=" + new_tp});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.OutLines(), ElementsAre("Adding 1 trusted Octopus Servers", kAppliedLive)) << a.name;
    ASSERT_NO_FATAL_FAILURE(RestartTentacle(a.name));
    if (a.polling) {
      std::vector<std::string> both = {old_tp + " " + CommsAddress() + " " + a.subscription,
                                       new_tp + " " + CommsAddress() + " " + a.subscription};
      std::sort(both.begin(), both.end());
      EXPECT_EQ(PollingEntries(a.name), both) << a.name;
    }
  }
  ASSERT_NO_FATAL_FAILURE(ExpectAllHealthy("after step 3"));

  // 4: the Server's certificate replaced, and the Server restarted.
  ASSERT_NO_FATAL_FAILURE(ImportNew(new_tp));
  ASSERT_NO_FATAL_FAILURE(RestartServer());

  // 5: a health check: all healthy, the polling ones included.
  ASSERT_NO_FATAL_FAILURE(ExpectAllHealthy("step 5, after step 4"));
  for (const auto& a : fleet_) {
    if (!a.polling) continue;
    EXPECT_THAT(ReadTestFile(TentacleLog(a.name)),
                HasSubstr("Polling " + CommsAddress() + " as " + a.subscription +
                          ": connected; the Octopus Server presented the certificate " + new_tp))
        << a.name;
  }

  // 6: the Tentacles stop trusting the old certificate, and are restarted.
  for (const auto& a : fleet_) {
    auto r = T({"configure", "--instance", a.name, "--remove-trust", old_tp});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.OutLines(), ElementsAre("Removing 1 trusted Octopus Servers", kAppliedLive)) << a.name;
    ASSERT_NO_FATAL_FAILURE(RestartTentacle(a.name));
    if (a.polling) {
      EXPECT_THAT(TrustedThumbprints(a.name), ElementsAre(new_tp, new_tp)) << a.name;
      EXPECT_THAT(PollingEntries(a.name), ElementsAre(new_tp + " " + CommsAddress() + " " + a.subscription));
    } else {
      EXPECT_THAT(TrustedThumbprints(a.name), ElementsAre(new_tp)) << a.name;
    }
  }

  // 7: a health check: all healthy.
  ASSERT_NO_FATAL_FAILURE(ExpectAllHealthy("step 7, after step 6"));

  // 8: the new certificate uses sha256.
  auto shown = MustS({"show-thumbprint", "--instance", "OctopusServer", "--format", "json"});
  auto j = nlohmann::json::parse(shown.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << shown.out;
  EXPECT_EQ(j.value("Thumbprint", ""), new_tp);
  EXPECT_EQ(j.value("SignatureAlgorithm", ""), "sha256RSA");
}

// 2. Step 4 before step 3 on a polling Tentacle: the Server presents a
// certificate the Tentacle does not trust, so the Tentacle never collects
// the request; update-trust recovers it.
TEST_F(PollingE2E, ServerReplacedBeforeThePollingTentacleTrustsItThenUpdateTrustRecovers) {
  ASSERT_NO_FATAL_FAILURE(AddPolling("P1"));
  const Agent p = Get("P1");
  ASSERT_EQ(WaitHealthy({"P1"}).run.exit_code, 0);
  const std::string old_tp = server_tp_;
  const std::string new_tp = ExportAndGenerate();
  ASSERT_EQ(new_tp.size(), 40u);
  ASSERT_NO_FATAL_FAILURE(ImportNew(new_tp));
  ASSERT_NO_FATAL_FAILURE(RestartServer());

  Check c = HealthJson({"P1"});
  EXPECT_EQ(c.run.exit_code, 1) << c.run.out << c.run.err;
  EXPECT_LT(c.seconds, kCheckTimeoutSeconds + 10);
  nlohmann::json r = c.Of("P1");
  EXPECT_EQ(r.value("Healthy", true), false);
  EXPECT_EQ(r.value("Outcome", ""), "TimedOut");
  EXPECT_EQ(r.value("Polling", ""), "NeverConnected");
  EXPECT_THAT(r.value("Reason", ""), StartsWith(kNotCollected));
  EXPECT_THAT(r.value("Reason", ""),
              HasSubstr("No Tentacle has connected as " + p.subscription + " since the Octopus Server started."));
  // The Tentacle refused the Server, with Halibut's text naming both.
  const std::string tentacle_log = ReadTestFile(TentacleLog("P1"));
  EXPECT_THAT(tentacle_log,
              HasSubstr("Halibut client exception: An error occurred when sending a request to '" + CommsAddress() +
                        "', before the request could begin: The server at " + CommsAddress() +
                        " presented an unexpected security certificate. We expected the server to present a "
                        "certificate with the thumbprint '" +
                        old_tp + "'. Instead, it presented a certificate with a thumbprint of '" + new_tp + "'"));

  // Recovery: the real command for exactly this, applied live.
  auto updated = T({"update-trust", "--instance", "P1", "--oldThumbprint", old_tp, "--newThumbprint", new_tp});
  ASSERT_EQ(updated.exit_code, 0) << updated.out << updated.err;
  EXPECT_THAT(updated.OutLines(),
              ElementsAre("Updating Octopus servers thumbprint from " + old_tp + " to " + new_tp,
                          "Finding existing Octopus Server registrations trusting the thumbprint " + old_tp +
                              " and updating them to trust the thumbprint " + new_tp + ":",
                          "Updating listening tentacle  " + old_tp + " - changing to trust " + new_tp,
                          "Updating polling tentacle " + CommsAddress() + " " + old_tp + " - changing to trust " +
                              new_tp,
                          kAppliedLive));
  EXPECT_THAT(PollingEntries("P1"), ElementsAre(new_tp + " " + CommsAddress() + " " + p.subscription));
  Check live = WaitHealthy({"P1"}, 3);
  EXPECT_EQ(live.run.exit_code, 0) << live.run.out;
  EXPECT_EQ(live.Of("P1").value("Thumbprint", ""), p.thumbprint);
  EXPECT_EQ(live.Of("P1").value("Polling", ""), "Connected");
  // And after the restart the procedure asks for.
  ASSERT_NO_FATAL_FAILURE(RestartTentacle("P1"));
  Check restarted = WaitHealthy({"P1"}, 3);
  EXPECT_EQ(restarted.run.exit_code, 0) << restarted.run.out;
}

// 3. A polling Tentacle's certificate replaced (Tentacle new-certificate and
// restart) while its target still pins the old one: the Server refuses it
// and says which certificate it refused and which it pins.
TEST_F(PollingE2E, APollingTentacleWithANewCertificateIsRefusedByItsPin) {
  ASSERT_NO_FATAL_FAILURE(AddPolling("P1"));
  const Agent p = Get("P1");
  ASSERT_EQ(WaitHealthy({"P1"}).run.exit_code, 0);
  auto made = MustT({"new-certificate", "--instance", "P1"});
  const std::string new_tp = TentacleThumbprint("P1");
  ASSERT_NE(new_tp, p.thumbprint);
  EXPECT_THAT(made.OutLines(), ElementsAre("A new certificate has been generated and installed. Thumbprint:", new_tp,
                                           kRestartTentacle));
  ASSERT_NO_FATAL_FAILURE(RestartTentacle("P1"));

  Check c = HealthJson({"P1"});
  EXPECT_EQ(c.run.exit_code, 1) << c.run.out << c.run.err;
  EXPECT_LT(c.seconds, kCheckTimeoutSeconds + 10);
  nlohmann::json r = c.Of("P1");
  EXPECT_EQ(r.value("Healthy", true), false);
  EXPECT_EQ(r.value("Outcome", ""), "UnexpectedCertificate");
  EXPECT_EQ(r.value("Polling", ""), "Refused");
  EXPECT_EQ(r.value("Thumbprint", ""), new_tp);
  EXPECT_THAT(r.value("Reason", ""),
              AllOf(StartsWith(kNotCollected),
                    HasSubstr("The Tentacle polling as " + p.subscription + " was refused at "),
                    HasSubstr("it presented a certificate with the thumbprint '" + new_tp +
                              "', which is not one the deployment target pins ('" + p.thumbprint + "')")));
  // The Server's log: Halibut's words, with the subscription.
  EXPECT_THAT(ReadTestFile(ServerLog()),
              HasSubstr("but it presented a client certificate with the thumbprint '" + new_tp +
                        "' which is not in the list of thumbprints that we trust for the subscription " +
                        p.subscription + " (the deployment target 'P1' pins '" + p.thumbprint + "')"));
  // The Tentacle's log: the Server reset the connection.
  EXPECT_THAT(ReadTestFile(TentacleLog("P1")),
              HasSubstr("The remote host at " + CommsAddress() +
                        " reset the connection. This may mean that the expected listening service does not trust "
                        "the thumbprint " +
                        new_tp + " or was shut down."));
  // The text line says the same.
  auto last = S({"health-check", "--instance", "OctopusServer", "--last"});
  EXPECT_THAT(last.out, HasSubstr("P1 (" + p.subscription + "): unhealthy (checked "));
}

// 4. A Tentacle the Server trusts (it is pinned by its own target) that
// identifies with another target's subscription is refused: it cannot read
// that target's queue, and the target keeps answering with its own Tentacle.
TEST_F(PollingE2E, ATrustedTentacleAnnouncingAnotherTargetsSubscriptionIsRefused) {
  ASSERT_NO_FATAL_FAILURE(AddPolling("P1"));
  ASSERT_NO_FATAL_FAILURE(AddPolling("P2"));
  const Agent p1 = Get("P1");
  const Agent p2 = Get("P2");
  ASSERT_EQ(WaitHealthy().run.exit_code, 0);

  // P2's polling entries now claim P1's subscription.
  auto stopped = T({"service", "--instance", "P2", "--stop"});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.out << stopped.err;
  auto config = nlohmann::ordered_json::parse(ReadTestFile(TentacleConfig("P2")));
  int changed = 0;
  for (auto& e : config[kTrustedKey]) {
    if (e["CommunicationStyle"] == 2) {
      e["SubscriptionId"] = p1.subscription;
      ++changed;
    }
  }
  ASSERT_EQ(changed, 1) << config.dump();
  WriteTestFile(TentacleConfig("P2"), config.dump(2));
  EXPECT_EQ(Subscription("P2"), p1.subscription);
  auto start = T({"service", "--instance", "P2", "--start"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;

  // The Server refuses it (bounded wait for its first attempt).
  const std::string refused = "presented a client certificate with the thumbprint '" + p2.thumbprint +
                              "' which is not in the list of thumbprints that we trust for the subscription " +
                              p1.subscription + " (the deployment target 'P1' pins '" + p1.thumbprint + "')";
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  while (ReadTestFile(ServerLog()).find(refused) == std::string::npos && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_THAT(ReadTestFile(ServerLog()), HasSubstr(refused));

  // P1's target: healthy, answered by P1 every time.
  for (int i = 0; i < 5; ++i) {
    Check c = HealthJson({"P1"});
    EXPECT_EQ(c.run.exit_code, 0) << c.run.out << c.run.err;
    EXPECT_EQ(c.Of("P1").value("Healthy", false), true) << c.run.out;
    EXPECT_EQ(c.Of("P1").value("Thumbprint", ""), p1.thumbprint) << "check " << i;
  }
  // P2 was never accepted as P1: no line says so.
  for (const auto& line : SplitLines(ReadTestFile(ServerLog()))) {
    if (line.find("A polling Tentacle identified as " + p1.subscription) == std::string::npos) continue;
    EXPECT_THAT(line, HasSubstr("with the thumbprint " + p1.thumbprint));
  }
}

// 5. The Server stopped for about 3 s: the polling Tentacle retries within its
// backoff bounds (never a hot loop), and is healthy again soon after the
// Server is back. The agent runs in the foreground with
// OCTOPUS_POLLING_RETRY_MIN_MS=200 and OCTOPUS_POLLING_RETRY_MAX_MS=1000
// (`service --start` would not pass them on).
TEST_F(PollingE2E, ReconnectsAfterAServerRestartWithinTheBackoffBound) {
  ASSERT_NO_FATAL_FAILURE(AddPolling("P1", /*start_service=*/false));
  ForegroundAgent agent;
  ASSERT_TRUE(agent.Start({TentacleBin(), "agent", "--instance", "P1"},
                          {{"OCTOPUS_CONFIG_ROOT", root()},
                           {"OCTOPUS_POLLING_RETRY_MIN_MS", std::to_string(kRetryMinMs)},
                           {"OCTOPUS_POLLING_RETRY_MAX_MS", std::to_string(kRetryMaxMs)}},
                          Path("agent-output.txt")));
  // Ready when it has logged that it polls (bounded).
  const auto ready_by = SteadyClock::now() + std::chrono::seconds(10);
  while (ReadIfExists(TentacleLog("P1")).find("it polls 1 Octopus Server address(es).") == std::string::npos &&
         SteadyClock::now() < ready_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(WaitHealthy({"P1"}).run.exit_code, 0) << ReadTestFile(Path("agent-output.txt"));
  const size_t log_before = ReadTestFile(TentacleLog("P1")).size();

  const auto outage_start = SteadyClock::now();
  auto stopped = S({"service", "--instance", "OctopusServer", "--stop"});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.out << stopped.err;
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto started = S({"service", "--instance", "OctopusServer", "--start"});
  ASSERT_EQ(started.exit_code, 0) << started.out << started.err;
  const double outage = SecondsSince(outage_start);
  const auto back = SteadyClock::now();
  Check c = WaitHealthy({"P1"}, 3);
  const double to_healthy = SecondsSince(back);
  EXPECT_EQ(c.run.exit_code, 0) << c.run.out << c.run.err;
  // Within the backoff bound: the Tentacle tries again at most kRetryMaxMs
  // after its last failure; 2 s more for the connection and the check.
  EXPECT_LT(to_healthy, kRetryMaxMs / 1000.0 + 2.0) << "healthy again only " << to_healthy << " s after the start";

  const std::string during = ReadTestFile(TentacleLog("P1")).substr(log_before);
  const size_t failures = Count(during, "Halibut client exception");
  // Every failed attempt waits at least kRetryMinMs (200 ms) before the next,
  // so the outage allows at most outage / 0.2 s failures, plus 2 for the
  // edges (the attempt as the Server stopped, and one as it came back). A hot
  // loop would log thousands.
  const size_t bound = static_cast<size_t>(outage * 1000 / kRetryMinMs) + 2;
  RecordProperty("OutageSeconds", std::to_string(outage));
  RecordProperty("FailedAttempts", static_cast<int>(failures));
  RecordProperty("SecondsToHealthy", std::to_string(to_healthy));
  EXPECT_GE(failures, 1u) << during;
  EXPECT_LE(failures, bound) << during;
  // Every wait is within [kRetryMinMs, kRetryMaxMs], as configured.
  const std::vector<double> delays = RetryDelays(during);
  EXPECT_FALSE(delays.empty()) << during;
  for (double d : delays) {
    EXPECT_GE(d, kRetryMinMs / 1000.0 - 0.05) << during;
    EXPECT_LE(d, kRetryMaxMs / 1000.0 + 0.05) << "a wait above OCTOPUS_POLLING_RETRY_MAX_MS=" << kRetryMaxMs
                                              << " ms:\n"
                                              << during;
  }
  // And one connection again, not a storm of them.
  const std::string server_log = ReadTestFile(ServerLog());
  const size_t restart_at = server_log.rfind("Checking the Octopus Master Key has been configured.");  // the start
  ASSERT_NE(restart_at, std::string::npos);
  EXPECT_EQ(Count(server_log.substr(restart_at), "A polling Tentacle identified as " + Get("P1").subscription), 1u)
      << server_log.substr(restart_at);
  EXPECT_EQ(agent.Stop(), 0) << ReadTestFile(Path("agent-output.txt"));
}

// 6. A polling target whose Tentacle never connects: its request waits in
// the queue only as long as the check allows, and says why.
TEST_F(PollingE2E, ARequestForATentacleThatNeverConnectsTimesOutWithinTheCheckTimeout) {
  ASSERT_NO_FATAL_FAILURE(AddPolling("P1"));
  ASSERT_EQ(WaitHealthy({"P1"}).run.exit_code, 0);
  const std::string sub = "poll://neverconnects0000000/";
  auto added = MustS({"add-target", "--instance", "OctopusServer", "--name", "X", "--subscription", sub,
                      "--thumbprint", std::string(40, 'A')});
  EXPECT_THAT(added.OutLines(),
              ElementsAre("Added polling deployment target 'X' with subscription " + sub + " and thumbprint " +
                              std::string(40, 'A') + ".",
                          "The running Octopus Server uses this at its next health check."));

  // While X's request waits in its queue, P1's is answered at once.
  auto pending = std::async(std::launch::async, [this] { return HealthJson({"X"}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Check p1 = HealthJson({"P1"});
  EXPECT_EQ(p1.run.exit_code, 0) << p1.run.out << p1.run.err;
  EXPECT_LT(p1.seconds, 5);
  EXPECT_EQ(pending.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "X's check ended before its timeout";

  ASSERT_EQ(pending.wait_for(std::chrono::seconds(40)), std::future_status::ready);
  Check c = pending.get();
  EXPECT_EQ(c.run.exit_code, 1) << c.run.out << c.run.err;
  EXPECT_LT(c.seconds, 30);
  EXPECT_GE(c.seconds, kCheckTimeoutSeconds - 1);
  nlohmann::json r = c.Of("X");
  EXPECT_EQ(r.value("Outcome", ""), "TimedOut");
  EXPECT_EQ(r.value("Polling", ""), "NeverConnected");
  EXPECT_EQ(r.value("Thumbprint", "?"), "");
  EXPECT_EQ(r.value("Reason", ""), std::string(kNotCollected) + " No Tentacle has connected as " + sub +
                                       " since the Octopus Server started.");
  // The text line says the same, and the abandoned request left nothing
  // behind: P1 is still answered at once.
  auto last = S({"health-check", "--instance", "OctopusServer", "--last", "--name", "X"});
  EXPECT_THAT(last.OutLines(), ElementsAre(MatchesRegex("X \\(poll://neverconnects0000000/\\): unhealthy \\(checked "
                                                        "[-0-9T:]+Z\\): A request was sent to a polling endpoint.*")));
  Check again = HealthJson({"P1"});
  EXPECT_EQ(again.run.exit_code, 0) << again.run.out;
  EXPECT_LT(again.seconds, 5);
}

// 7. Bad polling input: one clear line, exit 1 (this project's controlled
// failure, docs/cli.md "Exit codes"), and the Server's config unchanged.
TEST_F(PollingE2E, BadPollingInputIsRefusedWithOneLineAndChangesNothing) {
  const std::string a(40, 'A');
  const std::string b(40, 'B');
  auto first = MustS({"add-target", "--instance", "OctopusServer", "--name", "P1", "--subscription",
                      "poll://abcdefghjkmnpqrstuvw/", "--thumbprint", a});
  const std::string config = HashFile(ServerConfig());
  ASSERT_FALSE(config.empty());
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"add-target", "--name", "X", "--subscription", "notpoll://x", "--thumbprint", b},
       "Error: --subscription: 'notpoll://x' is not a subscription id: it must start with poll://, e.g. "
       "poll://abcdefghjkmnpqrstuvw/"},
      {{"add-target", "--name", "X", "--subscription", "poll://", "--thumbprint", b},
       "Error: --subscription: 'poll://' is not a subscription id: nothing follows poll://"},
      {{"add-target", "--name", "X", "--subscription", "poll://a b/", "--thumbprint", b},
       "Error: --subscription: 'poll://a b/' is not a subscription id: only letters, digits, '.', '-' and '_' may "
       "follow poll://"},
      {{"add-target", "--name", "X", "--address", "https://127.0.0.1:10933", "--subscription", "poll://x/",
        "--thumbprint", b},
       "Error: --address (a listening Tentacle) and --subscription (a polling Tentacle) cannot be given together"},
      {{"add-target", "--name", "X", "--subscription", "poll://x/"},
       "Error: add-target needs --address (or --subscription) and --thumbprint"},
      // The same subscription, however it is spelled (case, no slash).
      {{"add-target", "--name", "X", "--subscription", "POLL://ABCDEFGHJKMNPQRSTUVW", "--thumbprint", b},
       "Error: the deployment target 'P1' already has the subscription poll://abcdefghjkmnpqrstuvw/; a subscription "
       "belongs to one target"},
      {{"configure", "--commsListenPort", "70000"}, "Error: --commsListenPort: 70000 is not a port number (1-65535)"},
      {{"configure", "--commsListenPort", "0"}, "Error: --commsListenPort: 0 is not a port number (1-65535)"},
      {{"configure", "--commsListenAddress", "not-an-ip"},
       "Error: --commsListenAddress: 'not-an-ip' is not an IPv4 or IPv6 address, or 'any'"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.begin() + 1, {"--instance", "OctopusServer"});
    auto r = S(args);
    SCOPED_TRACE(::testing::PrintToString(args));
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_EQ(r.out, "");
    ASSERT_FALSE(r.ErrLines().empty());
    EXPECT_EQ(r.ErrLines()[0], c.error);
    EXPECT_EQ(r.ErrLines().size(), 1u) << r.err;
    EXPECT_EQ(HashFile(ServerConfig()), config);
  }
  auto listed = MustS({"list-targets", "--instance", "OctopusServer"});
  EXPECT_THAT(listed.OutLines(), ElementsAre("P1  poll://abcdefghjkmnpqrstuvw/  " + a));
}

// 7b. "A subscription belongs to one target" holds for update-target too:
// otherwise two targets share one queue and only the first one's pins count.
TEST_F(PollingE2E, UpdateTargetRefusesAnotherTargetsSubscription) {
  const std::string a(40, 'A');
  const std::string b(40, 'B');
  MustS({"add-target", "--instance", "OctopusServer", "--name", "P1", "--subscription", "poll://first/",
         "--thumbprint", a});
  MustS({"add-target", "--instance", "OctopusServer", "--name", "P2", "--subscription", "poll://second/",
         "--thumbprint", b});
  const std::string config = HashFile(ServerConfig());
  auto r = S({"update-target", "--instance", "OctopusServer", "--name", "P2", "--subscription", "poll://first/"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.ErrLines(), std::vector<std::string>{"Error: the deployment target 'P1' already has the subscription "
                                                   "poll://first/; a subscription belongs to one target"});
  EXPECT_EQ(HashFile(ServerConfig()), config);
  auto listed = MustS({"list-targets", "--instance", "OctopusServer"});
  EXPECT_THAT(listed.OutLines(), ElementsAre("P1  poll://first/  " + a, "P2  poll://second/  " + b));
}

// 8. Both rotations over polling Tentacles, through the running Server: no
// restart of any Tentacle, every target healthy after, each side trusting
// and pinning only the new certificates.
TEST_F(PollingE2E, RotationsReachPollingTentaclesThroughTheRunningServer) {
  ASSERT_NO_FATAL_FAILURE(AddPolling("P1"));
  ASSERT_NO_FATAL_FAILURE(AddPolling("P2"));
  ASSERT_EQ(WaitHealthy().run.exit_code, 0);
  const std::map<std::string, int> pids = {{"P1", Pid("P1")}, {"P2", Pid("P2")}};
  ASSERT_GT(pids.at("P1"), 0);
  ASSERT_GT(pids.at("P2"), 0);
  const std::string old_tp = server_tp_;

  auto rotated = S({"rotate-certificate", "--instance", "OctopusServer"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out << rotated.err;
  const std::string new_tp = ServerThumbprint();
  ASSERT_NE(new_tp, old_tp);
  EXPECT_THAT(rotated.OutLines(),
              ElementsAre("Prepare: the new certificate " + new_tp +
                              " is staged in the instance, sealed with the Master Key; the Octopus Server presents " +
                              old_tp + " until the switch.",
                          "Trust: 2 of 2 Tentacles now trust " + new_tp + ".",
                          "Switch: the Octopus Server now presents " + new_tp + " (no restart).",
                          "Switch: 2 of 2 targets are healthy with " + new_tp + ".",
                          "Cleanup: 2 of 2 Tentacles no longer trust " + old_tp + ".",
                          "The old certificate is kept in " + ServerHome() + "/Rotation/OctopusServer-" + old_tp +
                              ".pfx (its password is the Master Key) until the next rotation.",
                          "The Octopus Server's certificate has been rotated; every Tentacle trusts only the new one."));
  for (const auto& a : fleet_) {
    EXPECT_THAT(TrustedThumbprints(a.name), ElementsAre(new_tp, new_tp)) << a.name;
    EXPECT_THAT(PollingEntries(a.name), ElementsAre(new_tp + " " + CommsAddress() + " " + a.subscription)) << a.name;
  }
  ASSERT_EQ(WaitHealthy().run.exit_code, 0);

  auto targets = S({"rotate-target-certificate", "--instance", "OctopusServer", "--all"});
  ASSERT_EQ(targets.exit_code, 0) << targets.out << targets.err;
  ASSERT_EQ(targets.OutLines().size(), 3u) << targets.out;
  EXPECT_EQ(targets.OutLines().back(), "Rotated 2 of 2 Tentacle certificates.");
  auto listed = MustS({"list-targets", "--instance", "OctopusServer", "--format", "json"});
  std::map<std::string, nlohmann::json> pins;
  for (const auto& t : nlohmann::json::parse(listed.out)) pins[t["Name"]] = t;
  for (const auto& a : fleet_) {
    const std::string now = TentacleThumbprint(a.name);
    EXPECT_NE(now, a.thumbprint) << a.name;
    EXPECT_THAT(targets.out, HasSubstr(a.name + " (" + a.subscription + "): rotated " + a.thumbprint + " -> " + now))
        << a.name;
    EXPECT_EQ(pins[a.name]["Thumbprints"], nlohmann::json::array({now})) << a.name;
    EXPECT_EQ(pins[a.name]["Address"], a.subscription) << a.name;
  }
  Check c = WaitHealthy();
  EXPECT_EQ(c.run.exit_code, 0) << c.run.out;
  for (const auto& a : fleet_) {
    EXPECT_EQ(c.Of(a.name).value("Thumbprint", ""), TentacleThumbprint(a.name)) << a.name;
    EXPECT_EQ(Pid(a.name), pids.at(a.name)) << a.name << " restarted";
  }
  ASSERT_NO_FATAL_FAILURE(ExpectAllHealthy("after both rotations"));
}

// 9. audit-certificates reaches a polling Tentacle through the running
// Server; with the Server stopped it says why it cannot.
TEST_F(PollingE2E, AuditReachesAPollingTargetOnlyThroughTheRunningServer) {
  ASSERT_NO_FATAL_FAILURE(AddPolling("P1"));
  const Agent p = Get("P1");
  ASSERT_EQ(WaitHealthy({"P1"}).run.exit_code, 0);

  auto text = S({"audit-certificates", "--instance", "OctopusServer"});
  EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
  EXPECT_THAT(text.OutLines(), ElementsAre("Audited 1 target and the Octopus Server's certificate: nothing needs action."));
  auto json = S({"audit-certificates", "--instance", "OctopusServer", "--format", "json"});
  EXPECT_EQ(json.exit_code, 0) << json.out << json.err;
  nlohmann::json audit = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(audit.is_object()) << json.out;
  EXPECT_EQ(audit["FindingCount"], 0);
  ASSERT_EQ(audit["Targets"].size(), 1u);
  EXPECT_EQ(audit["Targets"][0]["Name"], "P1");
  EXPECT_EQ(audit["Targets"][0]["Address"], p.subscription);
  EXPECT_EQ(audit["Targets"][0]["Presented"], p.thumbprint);
  EXPECT_EQ(audit["Targets"][0]["Trusted"], nlohmann::json::array({server_tp_}));
  EXPECT_EQ(audit["Targets"][0]["SignatureAlgorithm"], "sha256RSA");
  EXPECT_EQ(audit["Targets"][0]["Findings"], nlohmann::json::array());

  auto stopped = S({"service", "--instance", "OctopusServer", "--stop"});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.out << stopped.err;
  server_started_ = false;
  const std::string why = "The Tentacle at " + p.subscription +
                          " polls the Octopus Server, which is not running: it can be reached only through the "
                          "running Server";
  auto down = S({"audit-certificates", "--instance", "OctopusServer"});
  EXPECT_EQ(down.exit_code, 1) << down.out << down.err;
  EXPECT_THAT(down.OutLines(),
              ElementsAre("P1 (" + p.subscription + "): could not be audited: " + why,
                          "Audited 1 target and the Octopus Server's certificate: 1 finding on 1 target."));
  auto down_json = S({"audit-certificates", "--instance", "OctopusServer", "--format", "json"});
  EXPECT_EQ(down_json.exit_code, 1);
  nlohmann::json d = nlohmann::json::parse(down_json.out, nullptr, false);
  ASSERT_TRUE(d.is_object()) << down_json.out;
  ASSERT_EQ(d["Targets"].size(), 1u);
  ASSERT_EQ(d["Targets"][0]["Findings"].size(), 1u);
  EXPECT_EQ(d["Targets"][0]["Findings"][0]["Kind"], "Unreachable");
  EXPECT_EQ(d["Targets"][0]["Findings"][0]["Detail"], "could not be audited: " + why);
}

}  // namespace
}  // namespace octo::testing
