// rotate-certificate and rotate-target-certificate against a live fleet
// (issue 11): a running Octopus Server and five running Tentacles, each its
// own process, with a loop that health-checks every target every 200 ms
// through the running Server while the rotations run. What a user would
// notice is asserted: every check of the loop healthy, the same service
// processes before and after, what each side presents, trusts and pins, the
// lines printed and the exit codes; and failures injected where they hurt:
// a Tentacle down before trust, the command killed (SIGKILL) at each phase,
// the Server killed in the switch, a Tentacle killed between stage and
// switch, rollback from each phase.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/null_sink.h>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/base/net.h"
#include "common/channel/control.h"
#include "common/channel/health_check.h"
#include "common/channel/tentacle_client.h"
#include "common/config/instance.h"
#include "common/service/server_service.h"
#include "common/crypto/pkcs12.h"
#include "common/crypto/tls.h"
#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr int kTentacles = 5;
const char kKill[] = "OCTOPUS_FAILPOINT_ROTATION_KILL_AFTER";

// Health-checks every target through the running Server every 200 ms until
// stopped; keeps every result that was not healthy.
class CheckLoop {
 public:
  explicit CheckLoop(std::string socket) : socket_(std::move(socket)) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        auto reply = SendControlRequest(socket_, Json{{"Command", "health-check"}, {"Names", Json::array()}},
                                        DeadlineIn(std::chrono::seconds(30)));
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++rounds_;
          if (!reply.ok()) {
            failures_.push_back("the Server did not answer: " + reply.status().message());
          } else {
            for (const auto& j : (*reply)["Results"]) {
              HealthResult r = HealthResult::FromJson(j);
              ++checks_;
              if (!r.healthy) failures_.push_back(r.name + ": " + r.reason);
            }
          }
        }
        for (int i = 0; i < 20 && !stop_.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  }
  ~CheckLoop() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int checks() {
    std::lock_guard<std::mutex> lock(mu_);
    return checks_;
  }
  std::vector<std::string> failures() {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  std::string socket_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  int rounds_ = 0;
  int checks_ = 0;
  std::vector<std::string> failures_;
};

class FleetRotation : public SupervisedServiceTest {
 protected:
  struct Tentacle {
    std::string instance;  // T1..
    std::string target;    // t1..
    int port = 0;
    std::string address;
  };

  void SetUp() override {
    MustServer({"create-instance", "--instance", "OctopusServer"}, Env());
    old_server_tp_ = ServerThumbprint();
    for (int i = 1; i <= kTentacles; ++i) ASSERT_NO_FATAL_FAILURE(StartTentacle(i));
    for (const auto& t : fleet_) {
      MustServer({"add-target", "--name", t.target, "--address", t.address, "--thumbprint", TentacleThumbprint(t.instance)},
                 Env());
    }
    auto start = S({"service", "--start", "--health-check-interval", "0"});
    if (start.exit_code != 0) start = S({"service", "--start"});
    ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
    server_started_ = true;
    ExpectAllHealthy("after set-up");
  }

  void TearDown() override {
    for (const auto& t : fleet_) T({"service", "--instance", t.instance, "--stop"});
    if (server_started_) S({"service", "--stop"});
  }

  void StartTentacle(int i) {
    Tentacle t;
    t.instance = "T" + std::to_string(i);
    t.target = "t" + std::to_string(i);
    MustTentacle({"create-instance", "--instance", t.instance}, Env());
    MustTentacle({"new-certificate", "--instance", t.instance}, Env());
    ProcessResult start;
    for (int attempt = 0; attempt < 5; ++attempt) {
      t.port = FreeLoopbackPort();
      ASSERT_GT(t.port, 0);
      std::vector<std::string> args = {"configure", "--instance", t.instance, "--port", std::to_string(t.port),
                                       "--listenIpAddress", "127.0.0.1"};
      if (attempt == 0) args.insert(args.end(), {"--trust", old_server_tp_});
      MustTentacle(args, Env());
      start = T({"service", "--instance", t.instance, "--start"});
      if (start.exit_code == 0 || start.err.find("cannot listen") == std::string::npos) break;
    }
    ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
    t.address = "https://127.0.0.1:" + std::to_string(t.port);
    fleet_.push_back(t);
  }

  std::string ServerHome() const { return root() + "/OctopusServer/OctopusServer"; }
  std::string TentacleHome(const std::string& instance) const { return root() + "/Tentacle/" + instance; }

  Json Status(const std::string& socket) {
    auto reply = SendControlRequest(socket, Json{{"Command", "status"}}, DeadlineIn(std::chrono::seconds(10)));
    EXPECT_TRUE(reply.ok()) << socket << ": " << reply.status().message();
    return reply.ok() ? *reply : Json::object();
  }
  std::string Presented() { return Status(ServerHome() + "/service.sock").value("Thumbprint", ""); }
  // The pid of every running service: the Server's, then each Tentacle's.
  std::vector<int> Pids() {
    std::vector<int> pids = {Status(ServerHome() + "/service.sock").value("Pid", 0)};
    for (const auto& t : fleet_) pids.push_back(Status(TentacleHome(t.instance) + "/service.sock").value("Pid", 0));
    return pids;
  }
  // The thumbprints a Tentacle's config trusts, sorted.
  std::vector<std::string> Trusted(const std::string& instance) {
    const auto config = nlohmann::json::parse(ReadTestFile(TentacleConfig(instance)));
    std::vector<std::string> out;
    for (const auto& e : config["Tentacle.Communication.TrustedOctopusServers"]) out.push_back(e["Thumbprint"]);
    std::sort(out.begin(), out.end());
    return out;
  }
  // Each target's pins (list-targets --format json).
  std::map<std::string, std::vector<std::string>> Pins() {
    auto listed = MustServer({"list-targets", "--format", "json"}, Env());
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& t : nlohmann::json::parse(listed.out)) out[t["Name"]] = t["Thumbprints"];
    return out;
  }
  nlohmann::json RotationStatus() {
    auto r = MustServer({"rotate-certificate", "--status", "--format", "json"}, Env());
    return nlohmann::json::parse(r.out);
  }
  ProcessResult Rotate(std::vector<std::string> args, const std::string& kill_after = "") {
    args.insert(args.begin(), "rotate-certificate");
    ProcessOptions o = Env();
    if (!kill_after.empty()) o.env[kKill] = kill_after;
    return Server(args, o);
  }

  void ExpectAllHealthy(const std::string& when) {
    auto r = S({"health-check"});
    EXPECT_EQ(r.exit_code, 0) << when << ":\n" << r.out << r.err;
  }
  // After a complete rotation of the Server's certificate: it presents
  // `tp`, and every Tentacle trusts only it.
  void ExpectServerRotatedTo(const std::string& tp) {
    EXPECT_EQ(Presented(), tp);
    EXPECT_EQ(ServerThumbprint(), tp);
    for (const auto& t : fleet_) EXPECT_THAT(Trusted(t.instance), ElementsAre(tp)) << t.instance;
  }
  // After a rollback: as before the rotation, with no staged certificate left.
  void ExpectAsBefore() {
    EXPECT_EQ(Presented(), old_server_tp_);
    EXPECT_EQ(ServerThumbprint(), old_server_tp_);
    for (const auto& t : fleet_) EXPECT_THAT(Trusted(t.instance), ElementsAre(old_server_tp_)) << t.instance;
    const auto config = nlohmann::json::parse(ReadTestFile(ServerConfig()));
    EXPECT_FALSE(config.contains("Octopus.Server.StagedCertificate"));
    EXPECT_FALSE(config.contains("Octopus.Server.PreviousCertificate"));
    EXPECT_EQ(RotationStatus()["Phase"], "RolledBack");
    ExpectAllHealthy("after the rollback");
  }

  std::string old_server_tp_;
  std::vector<Tentacle> fleet_;
  bool server_started_ = false;
};

TEST_F(FleetRotation, BothRotationsRunAgainstALiveFleetWithNoFailedCheckAndNoRestart) {
  const std::vector<int> pids = Pids();
  CheckLoop loop(ServerHome() + "/service.sock");

  auto rotated = Rotate({});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out << rotated.err;
  const std::string new_tp = RotationStatus()["NewThumbprint"];
  ASSERT_EQ(new_tp.size(), 40u);
  ASSERT_NE(new_tp, old_server_tp_);
  const std::string all = std::to_string(kTentacles) + " of " + std::to_string(kTentacles);
  EXPECT_THAT(rotated.OutLines(),
              ElementsAre("Prepare: the new certificate " + new_tp +
                              " is staged in the instance, sealed with the Master Key; the Octopus Server presents " +
                              old_server_tp_ + " until the switch.",
                          "Trust: " + all + " Tentacles now trust " + new_tp + ".",
                          "Switch: the Octopus Server now presents " + new_tp + " (no restart).",
                          "Switch: " + all + " targets are healthy with " + new_tp + ".",
                          "Cleanup: " + all + " Tentacles no longer trust " + old_server_tp_ + ".",
                          "The old certificate is kept in " + ServerHome() + "/Rotation/OctopusServer-" +
                              old_server_tp_ + ".pfx (its password is the Master Key) until the next rotation.",
                          "The Octopus Server's certificate has been rotated; every Tentacle trusts only the new one."));
  ExpectServerRotatedTo(new_tp);
  EXPECT_EQ(RotationStatus()["Phase"], "Completed");
  // The old certificate is kept, and only its owner can read it.
  struct stat st {};
  ASSERT_EQ(::stat((ServerHome() + "/Rotation/OctopusServer-" + old_server_tp_ + ".pfx").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::map<std::string, std::string> before;
  for (const auto& t : fleet_) before[t.target] = TentacleThumbprint(t.instance);
  auto targets = S({"rotate-target-certificate", "--all"});
  ASSERT_EQ(targets.exit_code, 0) << targets.out << targets.err;
  const auto lines = targets.OutLines();
  ASSERT_EQ(lines.size(), static_cast<size_t>(kTentacles + 1)) << targets.out;
  EXPECT_EQ(lines.back(), "Rotated " + std::to_string(kTentacles) + " of " + std::to_string(kTentacles) +
                              " Tentacle certificates.");
  const auto pins = Pins();
  for (const auto& t : fleet_) {
    const std::string now = TentacleThumbprint(t.instance);
    EXPECT_NE(now, before[t.target]) << t.instance;
    EXPECT_THAT(pins.at(t.target), ElementsAre(now)) << t.target;
    EXPECT_THAT(targets.out, HasSubstr(t.target + " (" + t.address + "): rotated " + before[t.target] + " -> " + now))
        << t.target;
    // The old certificate is gone from the Tentacle.
    EXPECT_FALSE(nlohmann::json::parse(ReadTestFile(TentacleConfig(t.instance))).contains("Tentacle.PreviousCertificate"));
  }

  // The Server's log records each call, with who ran the command.
  const std::string log = ReadTestFile(ServerHome() + "/Logs/OctopusServer.txt");
  const Tentacle& t1 = fleet_[0];
  EXPECT_THAT(log, HasSubstr("Rotation, phase trust: TrustThumbprint " + new_tp + " to " + t1.target + " at " +
                             t1.address + ", presenting " + old_server_tp_ + ": done, run by rotate-certificate (pid "));
  EXPECT_THAT(log, HasSubstr("Rotation, phase cleanup: RemoveTrust " + old_server_tp_ + " to " + t1.target + " at " +
                             t1.address + ", presenting " + new_tp + ": done, run by rotate-certificate (pid "));
  EXPECT_THAT(log, HasSubstr("Target certificate rotation: " + t1.target + " (" + t1.address + "): rotated " +
                             before[t1.target] + " -> "));
  EXPECT_THAT(log, HasSubstr("run by rotate-target-certificate (pid "));

  loop.Stop();
  EXPECT_GT(loop.checks(), 0);
  EXPECT_THAT(loop.failures(), ElementsAre()) << "checks: " << loop.checks();
  EXPECT_EQ(Pids(), pids);
  ExpectAllHealthy("after both rotations");
}

TEST_F(FleetRotation, ATentacleDownBeforeTrustStopsTheRotationWhichResumesOnceItIsUp) {
  const Tentacle& down = fleet_[2];
  MustTentacle({"service", "--instance", down.instance, "--stop"}, Env());
  auto stopped = Rotate({});
  EXPECT_EQ(stopped.exit_code, 1);
  const std::string new_tp = RotationStatus()["NewThumbprint"];
  EXPECT_THAT(stopped.OutLines(),
              ElementsAre(HasSubstr("Prepare: the new certificate " + new_tp),
                          "  " + down.target + " (" + down.address + "): The Tentacle at " + down.address +
                              " refused the connection (No connection could be made because the target machine "
                              "actively refused it): is the Tentacle running and listening on that port?",
                          "Trust: " + std::to_string(kTentacles - 1) + " of " + std::to_string(kTentacles) +
                              " Tentacles now trust " + new_tp + "."));
  EXPECT_EQ(stopped.ErrLines(),
            std::vector<std::string>{
                "Error: the rotation stopped in phase trust: 1 target (named above) was not reached; run "
                "rotate-certificate again when it is up to resume, pass --allow-unreachable to go on without it, or "
                "undo the rotation with --phase rollback"});
  EXPECT_EQ(Presented(), old_server_tp_);
  const auto status = RotationStatus();
  EXPECT_EQ(status["Phase"], "Prepared");
  for (const auto& t : status["Targets"]) {
    EXPECT_EQ(t["Step"], t["Name"] == down.target ? "" : "Trusted") << t.dump();
  }
  auto text = MustServer({"rotate-certificate", "--status"}, Env());
  EXPECT_THAT(text.out, HasSubstr("  " + down.target + " (" + down.address + "): not done; last attempt: The Tentacle at"));

  MustTentacle({"service", "--instance", down.instance, "--start"}, Env());
  auto resumed = Rotate({});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(resumed.OutLines().front(), "Trust: " + std::to_string(kTentacles) + " of " + std::to_string(kTentacles) +
                                            " Tentacles now trust " + new_tp + ".");
  ExpectServerRotatedTo(new_tp);
  ExpectAllHealthy("after the resumed rotation");
}

TEST_F(FleetRotation, AllowUnreachableLetsAPhasePassWithItsStragglersNamed) {
  const Tentacle& down = fleet_[0];
  MustTentacle({"service", "--instance", down.instance, "--stop"}, Env());
  auto r = Rotate({"--phase", "prepare"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Rotate({"--phase", "trust", "--allow-unreachable"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.ErrLines(), std::vector<std::string>{"Warning: phase trust passes without " + down.target +
                                                    " (--allow-unreachable)"});
  EXPECT_EQ(RotationStatus()["Phase"], "Trusted");
  // The switch asks the straggler again, and stops while it is still down.
  r = Rotate({"--phase", "switch"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Presented(), old_server_tp_);
  MustTentacle({"service", "--instance", down.instance, "--start"}, Env());
  r = Rotate({"--phase", "switch"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("Trust: 1 of 1 Tentacle that did not trust it yet now trust"));
  ExpectAllHealthy("after the switch");
}

TEST_F(FleetRotation, ACommandKilledInAnyPhaseIsResumedByTheNextRun) {
  CheckLoop loop(ServerHome() + "/service.sock");
  // Each run resumes where the one before was killed: after prepare; after
  // the trust answers were saved but before the phase passed; after trust;
  // after the Server's certificate was switched but before the reload; after
  // the checks; after the cleanup answers were saved but before completion.
  for (const char* point : {"Prepared#1", "Prepared#1", "Trusted#1", "Switching#1", "Switched#1", "Switched#1"}) {
    SCOPED_TRACE(point);
    auto killed = Rotate({}, point);
    EXPECT_EQ(killed.term_signal, SIGKILL) << killed.out << killed.err;
  }
  // Each kill above stopped a run that the next one resumed; this one finishes.
  auto finished = Rotate({});
  ASSERT_EQ(finished.exit_code, 0) << finished.out << finished.err;
  const std::string new_tp = RotationStatus()["NewThumbprint"];
  ExpectServerRotatedTo(new_tp);
  loop.Stop();
  EXPECT_THAT(loop.failures(), ElementsAre());
}

TEST_F(FleetRotation, ACommandKilledInAnyPhaseBeforeCleanupIsRolledBack) {
  // After prepare; after the trust answers; after trust; after the switch
  // was saved, before the reload; after the checks; and in the cleanup,
  // after some Tentacles stopped trusting the old certificate (they are
  // made to trust it again before the Server presents it).
  for (const char* point : {"Prepared#1", "Prepared#2", "Trusted#1", "Switching#1", "Switched#1", "Switched#2"}) {
    SCOPED_TRACE(point);
    CheckLoop loop(ServerHome() + "/service.sock");
    auto killed = Rotate({}, point);
    EXPECT_EQ(killed.term_signal, SIGKILL) << killed.out << killed.err;
    auto back = Rotate({"--phase", "rollback"});
    ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
    EXPECT_THAT(back.out, HasSubstr("Rollback: the Octopus Server presents " + old_server_tp_ + ".\n"));
    loop.Stop();
    EXPECT_THAT(loop.failures(), ElementsAre());
    ExpectAsBefore();
  }
}

TEST_F(FleetRotation, RollbackFromEachPhaseRestoresTheFleet) {
  for (const char* phase : {"prepare", "trust", "switch"}) {
    SCOPED_TRACE(phase);
    for (const char* step : {"prepare", "trust", "switch"}) {
      auto r = Rotate({"--phase", step});
      ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
      if (std::string(step) == phase) break;
    }
    auto back = Rotate({"--phase", "rollback"});
    ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
    EXPECT_EQ(back.OutLines().back(),
              "Rollback: the rotation to " + RotationStatus()["NewThumbprint"].get<std::string>() + " is undone.");
    ExpectAsBefore();
  }
  // Nothing to roll back now, and a completed rotation cannot be.
  auto none = Rotate({"--phase", "rollback"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.ErrLines(), std::vector<std::string>{"Error: there is no rotation under way to roll back"});
  ASSERT_EQ(Rotate({}).exit_code, 0);
  const std::string new_tp = RotationStatus()["NewThumbprint"];
  auto done = Rotate({"--phase", "rollback"});
  EXPECT_EQ(done.exit_code, 1);
  EXPECT_EQ(done.ErrLines(), std::vector<std::string>{"Error: the rotation to " + new_tp +
                                                      " is complete; it cannot be rolled back (rotate again to "
                                                      "change the certificate)"});
  EXPECT_EQ(Presented(), new_tp);
}

TEST_F(FleetRotation, TheServerKilledInTheSwitchPresentsACertificateEveryTentacleTrustsAfterItsRestart) {
  auto killed = Rotate({}, "Switching#1");
  EXPECT_EQ(killed.term_signal, SIGKILL);
  const std::string new_tp = RotationStatus()["NewThumbprint"];
  const int pid = Status(ServerHome() + "/service.sock").value("Pid", 0);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  for (int i = 0; i < 200 && S({"service", "--status"}).exit_code == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  auto start = S({"service", "--start", "--health-check-interval", "0"});
  if (start.exit_code != 0) start = S({"service", "--start"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  // It presents what was stored: the new certificate, which every Tentacle trusts already.
  EXPECT_EQ(Presented(), new_tp);
  ExpectAllHealthy("after the Server's restart");
  auto finished = Rotate({});
  ASSERT_EQ(finished.exit_code, 0) << finished.out << finished.err;
  ExpectServerRotatedTo(new_tp);
}

TEST_F(FleetRotation, ATrustAddedByHandDuringARotationIsKept) {
  ASSERT_EQ(Rotate({"--phase", "prepare"}).exit_code, 0);
  ASSERT_EQ(Rotate({"--phase", "trust"}).exit_code, 0);
  const std::string other(40, 'C');
  MustTentacle({"configure", "--instance", fleet_[1].instance, "--trust", other}, Env());
  auto finished = Rotate({});
  ASSERT_EQ(finished.exit_code, 0) << finished.out << finished.err;
  const std::string new_tp = RotationStatus()["NewThumbprint"];
  std::vector<std::string> expected = {other, new_tp};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Trusted(fleet_[1].instance), expected);
}

TEST_F(FleetRotation, TheRotationNeedsTheRunningServerAndOnePhaseAtATime) {
  auto bad = Rotate({"--phase", "later"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.ErrLines().front(),
            "Error: --phase: 'later' is not one of prepare, trust, switch, cleanup, rollback");
  auto early = Rotate({"--phase", "switch"});
  EXPECT_EQ(early.exit_code, 1);
  EXPECT_EQ(early.ErrLines(), std::vector<std::string>{"Error: the switch phase runs after trust; the rotation is not "
                                                       "under way"});
  {
    // Another rotation holds the instance's rotation lock: both commands stop at once.
    auto held = LockFile(ServerConfig() + ".rotation", std::chrono::milliseconds(1000));
    ASSERT_TRUE(held.ok()) << held.status().message();
    const std::vector<std::string> busy = {"Error: another rotation is running for instance 'OctopusServer'; wait "
                                           "for it to finish, or see rotate-certificate --status"};
    auto second = Rotate({});
    EXPECT_EQ(second.exit_code, 1);
    EXPECT_EQ(second.ErrLines(), busy);
    auto targets = S({"rotate-target-certificate", "--all"});
    EXPECT_EQ(targets.exit_code, 1);
    EXPECT_EQ(targets.ErrLines(), busy);
    EXPECT_EQ(RotationStatus()["Phase"], "None");
  }
  MustServer({"service", "--stop"}, Env());
  server_started_ = false;
  auto stopped = Rotate({});
  EXPECT_EQ(stopped.exit_code, 3);
  EXPECT_EQ(stopped.ErrLines(), std::vector<std::string>{"Error: the Octopus Server service for instance "
                                                         "'OctopusServer' is not running; start it with: "
                                                         "Octopus.Server service --instance OctopusServer --start"});
  // Nothing was started, and --status still answers.
  EXPECT_EQ(RotationStatus()["Phase"], "None");
}

TEST_F(FleetRotation, ATentacleKilledBetweenStageAndSwitchStaysConsistentAndIsRotatedLater) {
  const Tentacle& t = fleet_[3];
  const std::string old_tp = TentacleThumbprint(t.instance);
  // Step 2 of a rotation, as the Server asks it, then the Tentacle dies.
  MustServer({"export-certificate", "--export-pfx", Path("server.pfx"), "--pfx-password", "pw"}, Env());
  auto pfx = ReadPfx(ReadTestFile(Path("server.pfx")), Secret("pw"));
  ASSERT_TRUE(pfx.ok()) << pfx.status().message();
  auto ctx = MakeTlsContext(TlsRole::kClient, pfx->identity);
  ASSERT_TRUE(ctx.ok());
  TentacleClient client{ctx->get(), old_server_tp_, {}, {}};
  auto staged = AskStageCertificate(client, Target{t.target, t.address, old_tp});
  ASSERT_TRUE(staged.ok()) << staged.status().message();
  const int pid = Status(TentacleHome(t.instance) + "/service.sock").value("Pid", 0);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  for (int i = 0; i < 200 && T({"service", "--instance", t.instance, "--status"}).exit_code == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  auto failed = S({"rotate-target-certificate", "--name", t.target});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_THAT(failed.OutLines(),
              ElementsAre(MatchesRegex(t.target + " \\(" + t.address + "\\): not rotated, failed at status: The "
                                       "Tentacle at .* refused the connection.*; nothing was changed"),
                          "Rotated 0 of 1 Tentacle certificates; not rotated: " + t.target + "."));
  EXPECT_THAT(Pins().at(t.target), ElementsAre(old_tp));
  // Restarted, it presents the certificate it is pinned to.
  MustTentacle({"service", "--instance", t.instance, "--start"}, Env());
  ExpectAllHealthy("after the Tentacle's restart");
  // The next run goes on with the certificate staged before the kill.
  auto again = S({"rotate-target-certificate", "--name", t.target});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(TentacleThumbprint(t.instance), staged->thumbprint);
  EXPECT_THAT(Pins().at(t.target), ElementsAre(staged->thumbprint));
  ExpectAllHealthy("after the rotation");
}

// A health-check round reads each target's pins when that target's turn
// comes: a round that began before a Tentacle's new certificate was pinned
// and presented must not call it unexpected (a long round over many targets
// saw this during rotate-target-certificate, bench/results).
TEST_F(FleetRotation, ARoundThatBeganBeforeAPinChangeChecksWithThePinsOfItsTurn) {
  const Tentacle& t = fleet_[0];
  const std::string old_tp = TentacleThumbprint(t.instance);
  // A target that holds the round up: it accepts TCP and never speaks TLS.
  const int slow_port = FreeLoopbackPort();
  auto slow = ListenTcp("127.0.0.1", slow_port);
  ASSERT_TRUE(slow.ok()) << slow.status().message();
  MustServer({"add-target", "--name", "a-slow", "--address", "https://127.0.0.1:" + std::to_string(slow_port),
              "--thumbprint", std::string(40, 'A')},
             Env());
  MustServer({"export-certificate", "--export-pfx", Path("server.pfx"), "--pfx-password", "pw"}, Env());
  auto pfx = ReadPfx(ReadTestFile(Path("server.pfx")), Secret("pw"));
  ASSERT_TRUE(pfx.ok()) << pfx.status().message();
  auto ctx = MakeTlsContext(TlsRole::kClient, pfx->identity);
  ASSERT_TRUE(ctx.ok());
  TentacleClient client{ctx->get(), old_server_tp_, {}, {}};

  ServerServiceOptions options;
  options.config_path = ServerConfig();
  options.socket_path = Path("in-process.sock");
  options.interval = std::chrono::seconds(0);
  options.check.parallelism = 1;  // one target after the other, the slow one first
  options.check.timeout = std::chrono::milliseconds(4000);
  auto presented = ReadPfx(ReadTestFile(Path("server.pfx")), Secret("pw"));
  ASSERT_TRUE(presented.ok());
  ServerService service(options, std::move(presented->identity), spdlog::null_logger_mt("round-test"));
  ASSERT_TRUE(service.Start().ok());
  auto round = std::async(std::launch::async, [&] { return service.CheckNow({"a-slow", t.target}); });
  // While the round waits on the slow target: pin both, then switch, as step 3 and 4 of a rotation.
  auto staged = AskStageCertificate(client, Target{t.target, t.address, old_tp});
  ASSERT_TRUE(staged.ok()) << staged.status().message();
  MustServer({"update-target", "--name", t.target, "--add-thumbprint", staged->thumbprint}, Env());
  auto switched = AskSwitchCertificate(client, Target{t.target, t.address, {old_tp, staged->thumbprint}},
                                       staged->thumbprint);
  ASSERT_TRUE(switched.ok()) << switched.status().message();
  ASSERT_EQ(round.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto results = round.get();
  ASSERT_TRUE(results.ok()) << results.status().message();
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0].outcome, HealthOutcome::kTimedOut);
  EXPECT_TRUE((*results)[1].healthy) << (*results)[1].reason;
  EXPECT_EQ((*results)[1].thumbprint, staged->thumbprint);
  service.Stop();
}

TEST_F(FleetRotation, RotateTargetCertificateRefusesBadChoicesWithOneLine) {
  auto none = S({"rotate-target-certificate"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.ErrLines().front(), "Error: rotate-target-certificate needs one of --name, --all or --sha1-only");
  auto two = S({"rotate-target-certificate", "--all", "--sha1-only"});
  EXPECT_EQ(two.exit_code, 1);
  auto unknown = S({"rotate-target-certificate", "--name", "nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.ErrLines().front(), "Error: --name: there is no deployment target named 'nope'");
  // None of the fleet presents a SHA-1 certificate: nothing to do, all fine.
  auto sha1 = S({"rotate-target-certificate", "--sha1-only"});
  EXPECT_EQ(sha1.exit_code, 0) << sha1.out << sha1.err;
  EXPECT_THAT(sha1.OutLines(), ElementsAre("0 of " + std::to_string(kTentacles) +
                                               " Tentacles asked present a SHA-1 certificate.",
                                           "Rotated 0 of 0 Tentacle certificates."));
}

}  // namespace
}  // namespace octo::testing
