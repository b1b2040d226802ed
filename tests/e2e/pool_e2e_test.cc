// Connection reuse end to end: a running Octopus Server keeps its
// connection to a running Tentacle between checks, and closes it when the
// pins or its own certificate change; a killed Tentacle's kept connection
// does not fail the next check after it restarts. What is observed: exit
// codes, the lines printed and logged, and the TCP connections the kernel
// lists for the Tentacle's port. Every test stops what it starts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/base/json.h"
#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Established TCP connections whose local end is 127.0.0.1:`port` (the
// Tentacle's side of each connection the Server holds), from /proc/net/tcp.
int EstablishedTo(int port) {
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);  // the header
  int n = 0;
  char want[16];
  std::snprintf(want, sizeof want, ":%04X", port);
  while (std::getline(tcp, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (state == "01" && local.size() > 5 && local.compare(local.size() - 5, 5, want) == 0) ++n;
  }
  return n;
}

// Server OctopusServer and Tentacle Tentacle (listening on 127.0.0.1, trusting
// the Server), target "T" pinning the Tentacle, both services running.
class PoolE2e : public SupervisedServiceTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(S({"create-instance"}).exit_code, 0);
    ASSERT_EQ(T({"create-instance"}).exit_code, 0);
    ASSERT_EQ(T({"new-certificate"}).exit_code, 0);
    port_ = FreeLoopbackPort();
    address_ = "https://127.0.0.1:" + std::to_string(port_);
    auto c = T({"configure", "--listenIpAddress", "127.0.0.1", "--port", std::to_string(port_), "--trust",
                ServerThumbprint()});
    ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
    tentacle_tp_ = TentacleThumbprint();
    ASSERT_EQ(S({"add-target", "--name", "T", "--address", address_, "--thumbprint", tentacle_tp_}).exit_code, 0);
    for (bool server : {true, false}) {
      auto r = server ? S({"service", "--start"}) : T({"service", "--start"});
      ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    }
  }

  void TearDown() override {
    S({"service", "--instance", "*", "--stop"});
    T({"service", "--instance", "*", "--stop"});
  }

  void ExpectHealthy(const std::string& when, const std::string& suffix = "") {
    auto r = S({"health-check"});
    EXPECT_EQ(r.exit_code, 0) << when << ": " << r.out << r.err;
    EXPECT_THAT(r.OutLines(), ElementsAre("T (" + address_ + "): healthy" + suffix)) << when;
  }

  // Waits up to 5 s for the Tentacle's port to have `n` established connections.
  bool EventuallyEstablished(int n) {
    for (int i = 0; i < 250 && EstablishedTo(port_) != n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return EstablishedTo(port_) == n;
  }

  std::string ServerLog() { return ReadTestFile(root() + "/OctopusServer/OctopusServer/Logs/OctopusServer.txt"); }
  std::string TentacleLog() { return ReadTestFile(root() + "/Tentacle/Tentacle/Logs/OctopusTentacle.txt"); }

  int TentaclePid() {
    auto r = T({"service", "--status"});
    const std::string marker = "is running (pid ";
    auto at = r.out.find(marker);
    return r.exit_code == 0 && at != std::string::npos ? std::atoi(r.out.c_str() + at + marker.size()) : -1;
  }

  // The running Server's pool, from `service --status --format json`.
  Json KeptConnections() {
    auto r = S({"service", "--status", "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    Json j = Json::parse(r.out, nullptr, false);
    return j.is_object() && j.contains("KeptConnections") ? j["KeptConnections"] : Json();
  }

  int port_ = 0;
  std::string address_;
  std::string tentacle_tp_;
};

TEST_F(PoolE2e, TheServerKeepsOneConnectionToATentacleAcrossChecks) {
  EXPECT_EQ(EstablishedTo(port_), 0);
  for (int i = 0; i < 5; ++i) ExpectHealthy("check " + std::to_string(i));
  EXPECT_TRUE(EventuallyEstablished(1)) << EstablishedTo(port_) << " connections, not 1";
}

TEST_F(PoolE2e, UpdateTargetClosesTheKeptConnectionAndTheNextCheckMakesANewOne) {
  ExpectHealthy("before");
  ASSERT_TRUE(EventuallyEstablished(1));
  const std::string other = std::string(40, 'A');
  auto pinned = S({"update-target", "--name", "T", "--add-thumbprint", other});
  ASSERT_EQ(pinned.exit_code, 0) << pinned.out << pinned.err;
  ExpectHealthy("after the pin change", ", presenting pinned thumbprint " + tentacle_tp_ + " (1 of 2)");
  EXPECT_THAT(ServerLog(), HasSubstr("Closed 1 kept connection(s) to targets whose pins or address changed"));
  EXPECT_TRUE(EventuallyEstablished(1)) << "the old connection was not replaced: " << EstablishedTo(port_);
}

TEST_F(PoolE2e, TheServerReloadingANewCertificateClosesItsKeptConnections) {
  ExpectHealthy("before");
  const std::string old_tp = ServerThumbprint();
  ASSERT_EQ(S({"new-certificate", "--replace"}).exit_code, 0);
  const std::string new_tp = ServerThumbprint();
  auto trusted = T({"configure", "--trust", new_tp});
  ASSERT_EQ(trusted.exit_code, 0) << trusted.out << trusted.err;
  auto reload = S({"service", "--reload"});
  ASSERT_EQ(reload.exit_code, 0) << reload.out << reload.err;
  EXPECT_THAT(ServerLog(), HasSubstr("Closed 1 kept connection(s) made with the previous certificate"));
  // The Tentacle now trusts only the new one: a check over the old
  // connection would still pass; a new one proves the Server's new certificate.
  auto removed = T({"configure", "--remove-trust", old_tp});
  ASSERT_EQ(removed.exit_code, 0) << removed.out << removed.err;
  ExpectHealthy("after the reload, trusting only the new certificate");
}

TEST_F(PoolE2e, AKilledTentacleIsHealthyAtTheFirstCheckAfterItRestarts) {
  ExpectHealthy("before");
  ASSERT_TRUE(EventuallyEstablished(1));
  const int pid = TentaclePid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  for (int i = 0; i < 200 && TentaclePid() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  auto start = T({"service", "--start"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  // The Server still holds its end of the dead connection: the first check
  // finds it closed, makes a new one, and is healthy.
  ExpectHealthy("after the restart");
  ExpectHealthy("again");
}

TEST_F(PoolE2e, ATentacleSwitchingItsCertificateIsSeenAtTheNextCheck) {
  ExpectHealthy("before");
  ASSERT_TRUE(EventuallyEstablished(1));
  ASSERT_EQ(T({"new-certificate"}).exit_code, 0);
  const std::string new_tp = TentacleThumbprint();
  auto reload = T({"service", "--reload"});
  ASSERT_EQ(reload.exit_code, 0) << reload.out << reload.err;
  EXPECT_THAT(TentacleLog(), HasSubstr("Closed 1 idle connection(s) made with the previous certificate"));
  // Not over the kept connection, which proved the old certificate: the
  // check sees the new one at once.
  auto r = S({"health-check"});
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(r.OutLines().size(), 1u) << r.out;
  EXPECT_THAT(r.OutLines()[0], HasSubstr("Instead, it presented a certificate with a thumbprint of '" + new_tp + "'"));
}

TEST_F(PoolE2e, RotateCertificateAsksTheTentacleOverTheRunningServersConnection) {
  ExpectHealthy("before");
  ASSERT_TRUE(EventuallyEstablished(1));
  const Json before = KeptConnections();
  ASSERT_TRUE(before.is_object()) << before.dump();
  EXPECT_EQ(before["Idle"], 1);
  const std::string old_tp = ServerThumbprint();
  auto rotated = S({"rotate-certificate"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out << rotated.err;
  const std::string new_tp = ServerThumbprint();
  ASSERT_NE(new_tp, old_tp);
  // The trust phase went over the connection the health check left (old
  // certificate), the cleanup over the one the switch's check made (new
  // certificate): two requests on kept connections, none made by the command.
  const Json after = KeptConnections();
  ASSERT_TRUE(after.is_object()) << after.dump();
  EXPECT_GE(after["Reused"].get<long long>() - before["Reused"].get<long long>(), 2) << after.dump();
  EXPECT_EQ(after["Idle"], 1) << after.dump();
  EXPECT_THAT(ServerLog(), HasSubstr("Rotation, phase trust: TrustThumbprint " + new_tp + " to T at " + address_ +
                                     ", presenting " + old_tp + ": done"));
  EXPECT_THAT(ServerLog(), HasSubstr("Rotation, phase cleanup: RemoveTrust " + old_tp + " to T at " + address_ +
                                     ", presenting " + new_tp + ": done"));
  auto status = T({"service", "--status", "--format", "json"});
  EXPECT_THAT(status.out, HasSubstr("\"Trusted\":[\"" + new_tp + "\"]"));
  ExpectHealthy("after");
}

TEST_F(PoolE2e, AuditAsksOverTheRunningServersConnectionAndConnectsItselfWhenItIsStopped) {
  ExpectHealthy("before");
  ASSERT_TRUE(EventuallyEstablished(1));
  const Json before = KeptConnections();
  ASSERT_TRUE(before.is_object()) << before.dump();
  auto audit = S({"audit-certificates"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  EXPECT_THAT(audit.OutLines(), ElementsAre("Audited 1 target and the Octopus Server's certificate: nothing needs action."));
  const Json after = KeptConnections();
  ASSERT_TRUE(after.is_object()) << after.dump();
  EXPECT_EQ(after["Reused"].get<long long>() - before["Reused"].get<long long>(), 1) << after.dump();
  // Stopped, the Server keeps nothing and the command makes its own connection.
  ASSERT_EQ(S({"service", "--stop"}).exit_code, 0);
  auto status = S({"service", "--status", "--format", "json"});
  EXPECT_EQ(status.exit_code, 3);
  EXPECT_THAT(status.out, HasSubstr("\"KeptConnections\":null"));
  audit = S({"audit-certificates"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  EXPECT_THAT(audit.OutLines(), ElementsAre("Audited 1 target and the Octopus Server's certificate: nothing needs action."));
}

}  // namespace
}  // namespace octo::testing
