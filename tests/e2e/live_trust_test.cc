// Live trust on the Tentacle (issue 10, point 2): `configure` and
// `update-trust` change a running agent's trusted set without a restart;
// connections authenticated by a thumbprint no longer trusted are closed at
// once; a change the agent cannot be told about still lands in the file, and
// the agent picks it up from the file.
#include <signal.h>
#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/channel/channel.h"
#include "common/channel/control.h"
#include "common/base/net.h"
#include "common/crypto/pkcs12.h"
#include "common/crypto/tls.h"
#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::MatchesRegex;

const char kPassword[] = "MySecretPassword";
const char kApplied[] = "The running Tentacle applied the trust changes; no restart is needed.";
const char kRestart[] = "These changes require a restart of the Tentacle.";

// Any well-formed thumbprint: the agent does not care whether a server has it.
std::string FakeThumbprint(int i) {
  char buf[41];
  std::snprintf(buf, sizeof buf, "%040X", i + 1);
  return buf;
}

class LiveTrust : public SupervisedServiceTest {
 protected:
  void SetUp() override {
    MustServer({"create-instance", "--instance", "OctopusServer"}, Env());
    server_tp_ = ServerThumbprint();
    ASSERT_EQ(server_tp_.size(), 40u);
    MustTentacle({"create-instance", "--instance", "Tentacle"}, Env());
    MustTentacle({"new-certificate", "--instance", "Tentacle"}, Env());
    tentacle_tp_ = TentacleThumbprint();
    ProcessResult start;
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = FreeLoopbackPort();
      ASSERT_GT(port_, 0);
      std::vector<std::string> args = {"configure", "--port", std::to_string(port_), "--listenIpAddress",
                                       "127.0.0.1"};
      if (attempt == 0) args.insert(args.end(), {"--trust", server_tp_});
      MustTentacle(args, Env());
      start = T({"service", "--start"});
      if (start.exit_code == 0 || start.err.find("cannot listen") == std::string::npos) break;
    }
    ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
    started_ = true;
    pid_ = RunningPid();
    ASSERT_GT(pid_, 0);
    address_ = "https://127.0.0.1:" + std::to_string(port_);
    MustServer({"add-target", "--name", "T", "--address", address_, "--thumbprint", tentacle_tp_}, Env());
  }

  void TearDown() override {
    if (started_) T({"service", "--stop"});
    S({"service", "--instance", "*", "--stop"});
    T({"service", "--instance", "*", "--stop"});
  }


  std::string TentacleHome() const { return root() + "/Tentacle/Tentacle"; }
  std::string Socket() const { return TentacleHome() + "/service.sock"; }

  // The running agent's pid, from `service --status`.
  int RunningPid() {
    auto r = T({"service", "--status"});
    const std::string marker = "is running (pid ";
    auto at = r.out.find(marker);
    if (r.exit_code != 0 || at == std::string::npos) return -1;
    return std::atoi(r.out.c_str() + at + marker.size());
  }

  // What the running agent trusts now, asked over its control socket.
  std::vector<std::string> RunningTrust(const std::string& socket) {
    auto reply = SendControlRequest(socket, Json{{"Command", "status"}}, DeadlineIn(std::chrono::seconds(5)));
    EXPECT_TRUE(reply.ok()) << reply.status().message();
    if (!reply.ok()) return {};
    return (*reply)["Trusted"].get<std::vector<std::string>>();
  }
  std::vector<std::string> StoredTrust() {
    auto j = nlohmann::json::parse(ReadTestFile(TentacleConfig()));
    std::vector<std::string> out;
    for (const auto& e : j["Tentacle.Communication.TrustedOctopusServers"]) out.push_back(e["Thumbprint"]);
    std::sort(out.begin(), out.end());
    return out;
  }

  ProcessResult HealthCheck() { return S({"health-check"}); }

  // Connects to the Tentacle as the Server would, with the Server's
  // certificate (exported), pinning `pinned`, and exchanges identifications.
  void ConnectAsServer(const std::string& pinned, std::optional<TlsStream>* out) {
    if (!std::filesystem::exists(Path("server.pfx"))) {
      MustServer({"export-certificate", "--export-pfx", Path("server.pfx"), "--pfx-password", kPassword}, Env());
    }
    auto pfx = ReadPfx(ReadTestFile(Path("server.pfx")), Secret(kPassword));
    ASSERT_TRUE(pfx.ok()) << pfx.status().message();
    auto ctx = MakeTlsContext(TlsRole::kClient, pfx->identity);
    ASSERT_TRUE(ctx.ok());
    auto fd = ConnectTcp({"127.0.0.1", port_}, DeadlineIn(std::chrono::seconds(5)));
    ASSERT_TRUE(fd.ok()) << fd.status().message();
    auto stream = TlsStream::Connect(std::move(fd).value(), ctx->get(), pinned, DeadlineIn(std::chrono::seconds(5)));
    ASSERT_TRUE(stream.ok()) << stream.status().message();
    auto deadline = DeadlineIn(std::chrono::seconds(5));
    ASSERT_TRUE(stream->Write(std::string(kClientIdentification) + "\r\n\r\n", deadline).ok());
    auto ident = stream->ReadLine(64, deadline);
    ASSERT_TRUE(ident.ok());
    EXPECT_EQ(*ident, kServerIdentification);
    ASSERT_TRUE(stream->ReadLine(64, deadline).ok());
    out->emplace(std::move(stream).value());
  }

  // Sends a Health request on `stream`; the answer's `field`, or the error.
  static std::string Health(TlsStream& stream, const char* field) {
    auto deadline = DeadlineIn(std::chrono::seconds(5));
    auto frame = EncodeFrame(Json{{"Method", "Health"}});
    if (!stream.Write(*frame, deadline).ok()) return "write failed";
    auto header = stream.Read(4, deadline);
    if (!header.ok()) return header.status().message();
    auto len = ParseFrameHeader(*header);
    if (!len.ok()) return len.status().message();
    auto payload = stream.Read(*len, deadline);
    return payload.ok() ? StringField(*ParseFramePayload(*payload), field) : payload.status().message();
  }

  std::string server_tp_;
  std::string tentacle_tp_;
  std::string address_;
  int port_ = 0;
  int pid_ = 0;
  bool started_ = false;
};

// The seed procedure's Tentacle step, live: the running Tentacle trusts the
// Server's new certificate with no restart, and the Server, restarted with
// that certificate, is healthy.
TEST_F(LiveTrust, ARunningTentacleTrustsANewServerCertificateWithoutRestart) {
  ASSERT_EQ(S({"service", "--start"}).exit_code, 0);
  auto before = HealthCheck();
  ASSERT_EQ(before.exit_code, 0) << before.out << before.err;

  auto made = S({"new-certificate", "--replace"});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  const std::string new_tp = ServerThumbprint();
  ASSERT_NE(new_tp, server_tp_);

  auto trusted = T({"configure", "--trust", new_tp});
  EXPECT_EQ(trusted.exit_code, 0) << trusted.err;
  EXPECT_THAT(trusted.OutLines(), ElementsAre("Adding 1 trusted Octopus Servers", kApplied));
  EXPECT_EQ(RunningPid(), pid_) << "the Tentacle restarted";
  std::vector<std::string> both = {server_tp_, new_tp};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(RunningTrust(Socket()), both);

  ASSERT_EQ(S({"service", "--restart"}).exit_code, 0);
  auto after = HealthCheck();
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;
  EXPECT_THAT(after.OutLines(), ElementsAre("T (" + address_ + "): healthy"));
  EXPECT_EQ(RunningPid(), pid_);
  const std::string log = ReadTestFile(TentacleHome() + "/Logs/OctopusTentacle.txt");
  EXPECT_THAT(log, ::testing::HasSubstr("Agent will trust Octopus Servers with the thumbprint: " + new_tp +
                                        " (asked by Tentacle configure (pid "));

  // update-trust, the real command for exactly this, is live too.
  auto updated = T({"update-trust", "--oldThumbprint", server_tp_, "--newThumbprint", FakeThumbprint(7)});
  EXPECT_EQ(updated.exit_code, 0) << updated.err;
  EXPECT_EQ(updated.OutLines().back(), kApplied);
  EXPECT_EQ(RunningTrust(Socket()), StoredTrust());
}

// Removing the Server's thumbprint cuts it off at once: an open connection
// it authenticated is closed, and the next check is refused.
TEST_F(LiveTrust, RemovingTrustClosesTheServersOpenConnectionAndRefusesTheNext) {
  // Act as the Server: its certificate, exported, on a connection of our own.
  std::optional<TlsStream> stream_holder;
  ASSERT_NO_FATAL_FAILURE(ConnectAsServer(tentacle_tp_, &stream_holder));
  TlsStream* stream = &*stream_holder;
  auto health = [&] { return Health(*stream, "Status"); };
  ASSERT_EQ(health(), "Healthy");
  ASSERT_EQ(S({"service", "--start"}).exit_code, 0);
  ASSERT_EQ(HealthCheck().exit_code, 0);

  auto removed = T({"configure", "--remove-trust", server_tp_});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_THAT(removed.OutLines(), ElementsAre("Removing 1 trusted Octopus Servers", kApplied));
  // The agent closed our connection before it answered the command: the
  // next read sees the end at once, not a timeout.
  auto next = stream->Read(4, DeadlineIn(std::chrono::seconds(3)));  // NOLINT
  ASSERT_FALSE(next.ok());
  EXPECT_THAT(next.status().message(), ::testing::Not(::testing::HasSubstr("timed out")));

  auto check = HealthCheck();
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_THAT(check.OutLines(),
              ElementsAre("T (" + address_ + "): unhealthy: The server " + address_ +
                          " aborted the connection before it was fully established. This usually means that the "
                          "server rejected the certificate that we provided. We provided a certificate with a "
                          "thumbprint of '" + server_tp_ + "'."));
  EXPECT_EQ(RunningPid(), pid_);
  const std::string log = ReadTestFile(TentacleHome() + "/Logs/OctopusTentacle.txt");
  EXPECT_THAT(log, ::testing::HasSubstr("Agent no longer trusts Octopus Servers with the thumbprint: " + server_tp_));
  // Ours, and the one the running Server kept after its check
  // (docs/protocol.md, "Connection reuse"): both, at once.
  EXPECT_THAT(log, ::testing::HasSubstr("Closed 2 connection(s) authenticated by a thumbprint no longer trusted"));
}

// 50 concurrent changes against a running agent all land, in the file and
// in what the agent trusts.
TEST_F(LiveTrust, FiftyConcurrentChangesAllLandInTheFileAndTheAgent) {
  std::vector<std::future<ProcessResult>> runs;
  for (int i = 0; i < 50; ++i) {
    runs.push_back(std::async(std::launch::async, [this, i] { return T({"configure", "--trust", FakeThumbprint(i)}); }));
  }
  for (auto& f : runs) {
    auto r = f.get();
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.OutLines(), ElementsAre("Adding 1 trusted Octopus Servers", kApplied)) << r.err;
  }
  std::vector<std::string> expected = {server_tp_};
  for (int i = 0; i < 50; ++i) expected.push_back(FakeThumbprint(i));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(StoredTrust(), expected);
  EXPECT_EQ(RunningTrust(Socket()), expected);
  EXPECT_EQ(RunningPid(), pid_);
}

// A notification that cannot be delivered never loses the change: with the
// agent killed, the file is changed and the restart line printed.
TEST_F(LiveTrust, AnUndeliverableNotificationLeavesTheFileChangedAndAsksForARestart) {
  ASSERT_EQ(::kill(pid_, SIGKILL), 0);
  for (int i = 0; i < 100 && ::kill(pid_, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  struct stat st {};
  ASSERT_EQ(::stat(Socket().c_str(), &st), 0) << "the killed agent's socket should be left behind";
  auto r = T({"configure", "--trust", FakeThumbprint(1)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAre("Adding 1 trusted Octopus Servers", kRestart));
  EXPECT_EQ(r.err, "");
  std::vector<std::string> expected = {server_tp_, FakeThumbprint(1)};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(StoredTrust(), expected);
  // And it comes back trusting both.
  auto start = T({"service", "--start"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  pid_ = RunningPid();
  EXPECT_EQ(RunningTrust(Socket()), expected);
}

// The fallback: a change the agent was not told about (here the socket is
// out of the command's reach) is seen in the file within a second or so.
TEST_F(LiveTrust, AChangeNobodyAnnouncedIsPickedUpFromTheFile) {
  const std::string hidden = TentacleHome() + "/hidden.sock";
  ASSERT_EQ(::rename(Socket().c_str(), hidden.c_str()), 0);
  auto r = T({"configure", "--trust", FakeThumbprint(2)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAre("Adding 1 trusted Octopus Servers", kRestart));
  std::vector<std::string> expected = {server_tp_, FakeThumbprint(2)};
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> running;
  for (int i = 0; i < 50; ++i) {  // bounded: 5 s
    running = RunningTrust(hidden);
    if (running == expected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(running, expected);
  EXPECT_EQ(RunningPid(), pid_);
  ASSERT_EQ(::rename(hidden.c_str(), Socket().c_str()), 0);
}

// `service --status` shows what the running service uses, and says when the
// stored configuration differs; show-thumbprint warns about it too.
TEST_F(LiveTrust, StatusShowsWhatTheServiceUsesAndWhenTheStoredOneDiffers) {
  const std::string who = "The Tentacle service for instance 'Tentacle'";
  auto status = T({"service", "--status"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_THAT(status.OutLines(), ElementsAre(who + " is running (pid " + std::to_string(pid_) + ").",
                                             "Certificate in use: " + tentacle_tp_,
                                             "Trusted Octopus Servers in use: " + server_tp_));
  auto json = T({"service", "--status", "--format", "json"});
  EXPECT_EQ(json.exit_code, 0);
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["Running"], true);
  EXPECT_EQ(j["Pid"], pid_);
  EXPECT_EQ(j["Thumbprint"], tentacle_tp_);
  EXPECT_EQ(j["StoredThumbprint"], tentacle_tp_);
  EXPECT_EQ(j["Trusted"], nlohmann::json::array({server_tp_}));
  EXPECT_EQ(j["StoredTrusted"], nlohmann::json::array({server_tp_}));
  EXPECT_EQ(j["ReloadOrRestartNeeded"], false);

  // A new certificate is stored; the running agent still presents the old one.
  MustTentacle({"new-certificate"}, Env());
  const std::string new_tp = TentacleThumbprint();
  ASSERT_NE(new_tp, tentacle_tp_);
  status = T({"service", "--status"});
  EXPECT_THAT(status.OutLines(),
              ElementsAre(who + " is running (pid " + std::to_string(pid_) + ").", "Certificate in use: " + tentacle_tp_,
                          "Trusted Octopus Servers in use: " + server_tp_,
                          "The stored certificate is " + new_tp + ": reload or restart needed to use it."));
  j = nlohmann::json::parse(T({"service", "--status", "--format", "json"}).out);
  EXPECT_EQ(j["Thumbprint"], tentacle_tp_);
  EXPECT_EQ(j["StoredThumbprint"], new_tp);
  EXPECT_EQ(j["ReloadOrRestartNeeded"], true);
  auto shown = T({"show-thumbprint"});
  EXPECT_EQ(shown.out, new_tp + "\n");
  EXPECT_EQ(shown.err, "Warning: the running Tentacle service uses the certificate " + tentacle_tp_ +
                           ": reload or restart needed to use this one\n");

  ASSERT_EQ(T({"service", "--restart"}).exit_code, 0);
  pid_ = RunningPid();
  status = T({"service", "--status"});
  EXPECT_THAT(status.OutLines(), ElementsAre(who + " is running (pid " + std::to_string(pid_) + ").",
                                             "Certificate in use: " + new_tp,
                                             "Trusted Octopus Servers in use: " + server_tp_));
  EXPECT_EQ(T({"show-thumbprint"}).err, "");

  ASSERT_EQ(T({"service", "--stop"}).exit_code, 0);
  started_ = false;
  status = T({"service", "--status"});
  EXPECT_EQ(status.exit_code, 3);
  EXPECT_THAT(status.OutLines(), ElementsAre(who + " is stopped."));
  j = nlohmann::json::parse(T({"service", "--status", "--format", "json"}).out);
  EXPECT_EQ(j["Running"], false);
  EXPECT_TRUE(j["Pid"].is_null());
  EXPECT_TRUE(j["Thumbprint"].is_null());
  EXPECT_EQ(j["StoredThumbprint"], new_tp);
}

// Polling entries written while the agent runs (the polling connection is
// not built yet): the agent goes on, trusts the Server once, and the stored
// set with one entry per address does not read as a pending change.
TEST_F(LiveTrust, PollingEntriesLeaveTheRunningAgentAndItsStatusAlone) {
  MustTentacle({"server-comms", "--thumbprint", server_tp_, "--style", "TentacleActive", "--host", "node1"}, Env());
  MustTentacle({"poll-server", "--server-comms-address", "https://node2:10943", "--reuse-server-thumbprint",
                server_tp_},
               Env());
  auto entries = nlohmann::json::parse(ReadTestFile(TentacleConfig()))["Tentacle.Communication.TrustedOctopusServers"];
  ASSERT_EQ(entries.size(), 3u) << entries.dump();
  EXPECT_EQ(RunningPid(), pid_);
  EXPECT_EQ(RunningTrust(Socket()), std::vector<std::string>{server_tp_});
  auto j = nlohmann::json::parse(T({"service", "--status", "--format", "json"}).out);
  EXPECT_EQ(j["StoredTrusted"], nlohmann::json::array({server_tp_}));
  EXPECT_EQ(j["ReloadOrRestartNeeded"], false);
  // update-trust rewrites all three entries and the agent applies it live.
  const std::string other = FakeThumbprint(7);
  auto u = MustTentacle({"update-trust", "--oldThumbprint", server_tp_, "--newThumbprint", other}, Env());
  EXPECT_EQ(u.OutLines().back(), kApplied);
  EXPECT_EQ(RunningTrust(Socket()), std::vector<std::string>{other});
  EXPECT_EQ(StoredTrust(), (std::vector<std::string>{other, other, other}));
}

// service --reload: the Tentacle presents its new certificate to the next
// connection without a restart, and closes its idle connections, which
// were made with the old one, so that a Server keeping one sees the new
// certificate at its next request.
TEST_F(LiveTrust, TentacleReloadPresentsTheNewCertificateToTheNextConnectionOnly) {
  std::optional<TlsStream> open;
  ASSERT_NO_FATAL_FAILURE(ConnectAsServer(tentacle_tp_, &open));
  ASSERT_EQ(Health(*open, "Thumbprint"), tentacle_tp_);

  MustTentacle({"new-certificate"}, Env());
  const std::string new_tp = TentacleThumbprint();
  auto reload = T({"service", "--reload"});
  EXPECT_EQ(reload.exit_code, 0) << reload.err;
  EXPECT_THAT(reload.OutLines(), ElementsAre("The Tentacle service for instance 'Tentacle' has reloaded: it presents "
                                             "the certificate " + new_tp + " from now on (was " + tentacle_tp_ + ")."));
  EXPECT_EQ(reload.err, "");
  EXPECT_EQ(RunningPid(), pid_);

  // The idle connection was closed at the reload: the next read sees its
  // end at once, not a timeout.
  auto ended = open->Read(4, DeadlineIn(std::chrono::seconds(3)));  // NOLINT
  ASSERT_FALSE(ended.ok());
  EXPECT_THAT(ended.status().message(), ::testing::Not(::testing::HasSubstr("timed out")));
  EXPECT_THAT(ReadTestFile(TentacleHome() + "/Logs/OctopusTentacle.txt"),
              ::testing::HasSubstr("Closed 1 idle connection(s) made with the previous certificate"));
  std::optional<TlsStream> next;
  ASSERT_NO_FATAL_FAILURE(ConnectAsServer(new_tp, &next));
  EXPECT_EQ(Health(*next, "Thumbprint"), new_tp);

  // The Server pins the new thumbprint and is healthy, with no restart anywhere.
  ASSERT_EQ(S({"service", "--start"}).exit_code, 0);
  MustServer({"update-target", "--name", "T", "--thumbprint", new_tp}, Env());
  auto check = HealthCheck();
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  // Reloading again changes nothing, and says so.
  reload = T({"service", "--reload"});
  EXPECT_THAT(reload.OutLines(), ElementsAre("The Tentacle service for instance 'Tentacle' has reloaded: its "
                                             "certificate " + new_tp + " is unchanged."));
}

// service --reload on the Server: its checks present the new certificate.
TEST_F(LiveTrust, ServerReloadPresentsTheNewCertificateInItsChecks) {
  ASSERT_EQ(S({"service", "--start"}).exit_code, 0);
  auto status = S({"service", "--status"});
  const std::string server_pid = status.OutLines().at(0);
  MustServer({"new-certificate", "--replace"}, Env());
  const std::string new_tp = ServerThumbprint();
  auto trusted = T({"configure", "--trust", new_tp, "--remove-trust", server_tp_});
  EXPECT_THAT(trusted.OutLines(), ElementsAre("Removing 1 trusted Octopus Servers", "Adding 1 trusted Octopus Servers",
                                              kApplied));
  // Not reloaded yet: the Server still presents the certificate it started with.
  EXPECT_EQ(HealthCheck().exit_code, 1);
  auto reload = S({"service", "--reload"});
  EXPECT_EQ(reload.exit_code, 0) << reload.err;
  EXPECT_THAT(reload.OutLines(),
              ElementsAre("The Octopus Server service for instance 'OctopusServer' has reloaded: it presents the "
                          "certificate " + new_tp + " from now on (was " + server_tp_ + ")."));
  auto check = HealthCheck();
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(S({"service", "--status"}).OutLines().at(0), server_pid) << "the Server restarted";
  EXPECT_THAT(S({"service", "--status"}).OutLines(), ::testing::Contains("Certificate in use: " + new_tp));
}

// Bad input: reloading a stopped service is one clear error that changes nothing.
TEST_F(LiveTrust, ReloadOfAStoppedServiceIsOneClearError) {
  auto r = S({"service", "--reload"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "Error: the Octopus Server service for instance 'OctopusServer' is not running: nothing to reload "
                   "(start it, and it uses what is stored)\n");
  const std::string before = ReadTestFile(TentacleConfig());
  ASSERT_EQ(T({"service", "--stop"}).exit_code, 0);
  started_ = false;
  r = T({"service", "--reload"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: the Tentacle service for instance 'Tentacle' is not running: nothing to reload (start it, "
                   "and it uses what is stored)\n");
  EXPECT_EQ(ReadTestFile(TentacleConfig()), before);
}

}  // namespace
}  // namespace octo::testing
