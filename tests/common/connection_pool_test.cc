// Connection reuse, in one process: TentacleAgents on loopback, the Server's
// checks and calls through a ConnectionPool. What a user would notice: which
// certificate a check sees, whether it is healthy, how many handshakes the
// Tentacle served, how many connections it holds idle.
#include <dirent.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <csignal>
#include <sstream>
#include <thread>

#include "common/channel/connection_pool.h"
#include "common/channel/health_check.h"
#include "common/channel/tentacle_agent.h"
#include "common/crypto/thumbprint.h"

namespace octo {
namespace {

[[maybe_unused]] const bool kSigpipeIgnored = [] {
#ifdef SIGPIPE  // Windows has none: a send on a closed socket fails there
  ::signal(SIGPIPE, SIG_IGN);
#endif
  return true;
}();

struct Identities {
  Identity server, server2, tentacle, tentacle2;
};

const Identities& Ids() {
  static Identities* ids = [] {
    auto* i = new Identities;
    i->server = std::move(GenerateIdentity(kServerCommonName)).value();
    i->server2 = std::move(GenerateIdentity(kServerCommonName)).value();
    i->tentacle = std::move(GenerateIdentity(kTentacleCommonName)).value();
    i->tentacle2 = std::move(GenerateIdentity(kTentacleCommonName)).value();
    return i;
  }();
  return *ids;
}

std::string Tp(const Identity& id) { return Thumbprint(id.certificate.get()); }

// Waits up to 5 s for `done`; whether it came.
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

class PooledChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = std::make_shared<ConnectionPool>();
    UseServer(Ids().server);
  }

  void StartAgent(std::set<std::string> trusted, int port = 0,
                  std::chrono::milliseconds idle_timeout = std::chrono::minutes(10)) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    sink->set_pattern("%v");
    AgentOptions o;
    o.listen_ip = "127.0.0.1";
    o.port = port;
    o.trusted_thumbprints = std::move(trusted);
    o.handshake_timeout = std::chrono::milliseconds(3000);
    o.read_timeout = std::chrono::milliseconds(3000);
    o.idle_timeout = idle_timeout;
    agent_ = std::make_unique<TentacleAgent>(o, ShareIdentity(Ids().tentacle),
                                             std::make_shared<spdlog::logger>("pool-test", sink));
    ASSERT_TRUE(agent_->Start().ok());
    address_ = "https://127.0.0.1:" + std::to_string(agent_->port());
  }

  void UseServer(const Identity& id) {
    auto ctx = MakeTlsContext(TlsRole::kClient, id);
    ASSERT_TRUE(ctx.ok());
    ctx_ = std::move(ctx).value();
    ours_ = Tp(id);
  }

  HealthCheckOptions Options() const {
    HealthCheckOptions o;
    o.timeout = std::chrono::milliseconds(5000);
    o.pool = pool_;
    return o;
  }

  HealthResult Check(const std::vector<std::string>& pins) {
    Target t;
    t.name = "T";
    t.address = address_;
    t.thumbprints = pins;
    return CheckTarget(ctx_.get(), ours_, t, Options());
  }

  void TearDown() override {
    if (agent_) agent_->Stop();
  }

  std::ostringstream log_;
  std::shared_ptr<ConnectionPool> pool_;
  SslCtxPtr ctx_;
  std::string ours_;
  std::unique_ptr<TentacleAgent> agent_;
  std::string address_;
};

TEST_F(PooledChannelTest, TheNextCheckReusesTheKeptConnection) {
  StartAgent({Tp(Ids().server)});
  for (int i = 0; i < 5; ++i) {
    HealthResult r = Check({Tp(Ids().tentacle)});
    ASSERT_TRUE(r.healthy) << r.reason;
    EXPECT_EQ(r.thumbprint, Tp(Ids().tentacle));
  }
  EXPECT_EQ(agent_->served(), 1u);  // one handshake for five checks
  EXPECT_EQ(pool_->stats().reused, 4u);
  EXPECT_EQ(pool_->stats().idle, 1u);
  ASSERT_TRUE(Eventually([&] { return agent_->idle() == 1; }));
  EXPECT_EQ(agent_->active(), 1u);
}

TEST_F(PooledChannelTest, CallsAndChecksShareTheConnection) {
  StartAgent({Tp(Ids().server)});
  Target t{"T", address_, Tp(Ids().tentacle)};
  ASSERT_TRUE(Check({Tp(Ids().tentacle)}).healthy);
  TentacleCall call = CallTentacle(ctx_.get(), ours_, t, Json{{"Method", "Health"}}, Options());
  ASSERT_TRUE(call.status.ok()) << call.status.message();
  EXPECT_EQ(StringField(call.answer, "ClientThumbprint"), Tp(Ids().server));
  EXPECT_EQ(agent_->served(), 1u);
}

TEST_F(PooledChannelTest, ChangedPinsCloseTheKeptConnection) {
  StartAgent({Tp(Ids().server)});
  ASSERT_TRUE(Check({Tp(Ids().tentacle)}).healthy);
  // update-target pinned a second thumbprint: the Server's next look at its
  // targets closes the connection made for the old pins.
  Target now{"T", address_, std::vector<std::string>{Tp(Ids().tentacle), Tp(Ids().tentacle2)}};
  EXPECT_EQ(pool_->Retain({now}), 1u);
  EXPECT_EQ(pool_->stats().idle, 0u);
  ASSERT_TRUE(Eventually([&] { return agent_->active() == 0; }));
  HealthResult r = Check(now.thumbprints);
  EXPECT_TRUE(r.healthy) << r.reason;
  EXPECT_EQ(agent_->served(), 2u);  // a new handshake, judged against the new pins
  // A request with other pins than a kept connection was made with never
  // uses it: it closes it and makes its own.
  r = Check({Tp(Ids().tentacle)});
  EXPECT_TRUE(r.healthy) << r.reason;
  EXPECT_EQ(agent_->served(), 3u);
  // The target removed: its connection goes too.
  EXPECT_EQ(pool_->Retain({}), 1u);
}

TEST_F(PooledChannelTest, AChangedPinThatNoLongerMatchesFailsAtOnce) {
  StartAgent({Tp(Ids().server)});
  ASSERT_TRUE(Check({Tp(Ids().tentacle)}).healthy);
  // Pinned to another certificate: the kept connection (which proved the old
  // pin) must not answer for the new one.
  HealthResult r = Check({Tp(Ids().tentacle2)});
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.outcome, HealthOutcome::kUnexpectedCertificate);
  EXPECT_EQ(r.thumbprint, Tp(Ids().tentacle));
}

TEST_F(PooledChannelTest, TheServerCertificateChangeClosesKeptConnections) {
  StartAgent({Tp(Ids().server), Tp(Ids().server2)});
  ASSERT_TRUE(Check({Tp(Ids().tentacle)}).healthy);
  // The Server now presents another certificate (reload, rotation switch):
  // ServerService::SetIdentity clears the pool; a request made with the new
  // one never takes a connection made with the old one either.
  UseServer(Ids().server2);
  Target t{"T", address_, Tp(Ids().tentacle)};
  TentacleCall call = CallTentacle(ctx_.get(), ours_, t, Json{{"Method", "Health"}}, Options());
  ASSERT_TRUE(call.status.ok()) << call.status.message();
  EXPECT_EQ(StringField(call.answer, "ClientThumbprint"), Tp(Ids().server2));
  EXPECT_EQ(agent_->served(), 2u);
  EXPECT_EQ(pool_->Clear(), 1u);
  EXPECT_EQ(pool_->stats().idle, 0u);
}

TEST_F(PooledChannelTest, TheTentacleRemovingTrustEndsTheKeptConnection) {
  StartAgent({Tp(Ids().server)});
  ASSERT_TRUE(Check({Tp(Ids().tentacle)}).healthy);
  ASSERT_TRUE(Eventually([&] { return agent_->idle() == 1; }));
  EXPECT_EQ(agent_->SetTrusted({}), 1u);  // closes it at once
  ASSERT_TRUE(Eventually([&] { return agent_->active() == 0; }));
  // The next check does not succeed on the old connection, nor fail because
  // of it: it makes a new one, which the Tentacle refuses.
  HealthResult r = Check({Tp(Ids().tentacle)});
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.outcome, HealthOutcome::kAborted);
  EXPECT_EQ(r.reason, RefusedOurCertificateText(address_, Tp(Ids().server)));
  // The Tentacle counts the refused handshake once its side of it returns,
  // which may be just after the Server has seen the refusal.
  EXPECT_TRUE(Eventually([&] { return agent_->served() == 2u; })) << agent_->served();
}

TEST_F(PooledChannelTest, TheTentacleSwitchingItsCertificateClosesIdleConnections) {
  StartAgent({Tp(Ids().server)});
  ASSERT_TRUE(Check({Tp(Ids().tentacle)}).healthy);
  ASSERT_TRUE(Eventually([&] { return agent_->idle() == 1; }));
  ASSERT_TRUE(agent_->SetIdentity(Ids().tentacle2).ok());
  EXPECT_EQ(agent_->idle(), 0u);
  EXPECT_NE(log_.str().find("Closed 1 idle connection(s) made with the previous certificate"), std::string::npos)
      << log_.str();
  // The next check sees the certificate presented now, not the kept one.
  HealthResult r = Check({Tp(Ids().tentacle)});
  EXPECT_EQ(r.outcome, HealthOutcome::kUnexpectedCertificate);
  EXPECT_EQ(r.thumbprint, Tp(Ids().tentacle2));
  r = Check({Tp(Ids().tentacle), Tp(Ids().tentacle2)});
  EXPECT_TRUE(r.healthy) << r.reason;
  EXPECT_EQ(r.thumbprint, Tp(Ids().tentacle2));
}

TEST_F(PooledChannelTest, ARestartedTentacleIsHealthyAtTheNextCheck) {
  StartAgent({Tp(Ids().server)});
  ASSERT_TRUE(Check({Tp(Ids().tentacle)}).healthy);
  const int port = agent_->port();
  agent_->Stop();  // as if killed: its end of the kept connection is gone
  agent_.reset();
  StartAgent({Tp(Ids().server)}, port);
  EXPECT_EQ(pool_->stats().idle, 1u);
  HealthResult r = Check({Tp(Ids().tentacle)});
  EXPECT_TRUE(r.healthy) << r.reason;
  EXPECT_EQ(agent_->served(), 1u);
  EXPECT_EQ(pool_->stats().reused, 0u);
  EXPECT_GE(pool_->stats().discarded, 1u);
}

TEST_F(PooledChannelTest, IdleConnectionsCloseAfterTheIdleTimeoutOnBothSides) {
  StartAgent({Tp(Ids().server)}, 0, std::chrono::milliseconds(200));
  ASSERT_TRUE(Check({Tp(Ids().tentacle)}).healthy);
  ASSERT_TRUE(Eventually([&] { return agent_->active() == 0; }));  // the Tentacle's side
  ASSERT_TRUE(Check({Tp(Ids().tentacle)}).healthy);                   // a new one, not a failure
  EXPECT_EQ(agent_->served(), 2u);
  // The Server's side: a pool that keeps connections 50 ms closes them itself.
  ConnectionPoolOptions o;
  o.idle_timeout = std::chrono::milliseconds(50);
  pool_ = std::make_shared<ConnectionPool>(o);
  ASSERT_TRUE(Check({Tp(Ids().tentacle)}).healthy);
  EXPECT_EQ(pool_->stats().idle, 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_EQ(pool_->CloseExpired(), 1u);
  EXPECT_EQ(pool_->stats().idle, 0u);
}

TEST_F(PooledChannelTest, TheBoundsAreKept) {
  StartAgent({Tp(Ids().server)});
  ConnectionPoolOptions o;
  o.max_idle_per_target = 2;
  pool_ = std::make_shared<ConnectionPool>(o);
  // Six checks at once make six connections; two are kept.
  std::vector<Target> targets(6, Target{"T", address_, Tp(Ids().tentacle)});
  HealthCheckOptions opts = Options();
  opts.parallelism = 6;
  for (const auto& r : CheckTargets(ctx_.get(), ours_, targets, opts)) EXPECT_TRUE(r.healthy) << r.reason;
  EXPECT_LE(pool_->stats().idle, 2u);
  ASSERT_TRUE(Eventually([&] { return agent_->active() == pool_->stats().idle; }));
}

// Open descriptors and threads of this process.
size_t CountEntries(const char* dir) {
  size_t n = 0;
  if (DIR* d = ::opendir(dir)) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

TEST(FleetSweep, AThousandAgentsInOneProcessAreAllHealthyWithBoundedThreads) {
  constexpr size_t kAgents = 1000;
  // Each agent holds its listening socket and one kept connection, and the
  // pool the other end: about 3 descriptors per agent.
  ASSERT_GE(RaiseDescriptorLimit(), 3 * kAgents + 512) << "raise the open-file limit (ulimit -n) to run this test";
  auto reactor = std::make_shared<Reactor>();
  auto workers = std::make_shared<WorkerPool>();
  auto logger = std::make_shared<spdlog::logger>("fleet-test");  // no sink: quiet
  std::vector<std::unique_ptr<TentacleAgent>> agents;
  std::vector<Target> targets;
  for (size_t i = 0; i < kAgents; ++i) {
    AgentOptions o;
    o.listen_ip = "127.0.0.1";
    o.port = 0;
    o.trusted_thumbprints = {Tp(Ids().server)};
    o.reactor = reactor;
    o.workers = workers;
    agents.push_back(std::make_unique<TentacleAgent>(o, ShareIdentity(Ids().tentacle), logger));
    ASSERT_TRUE(agents.back()->Start().ok());
    targets.push_back(Target{"T" + std::to_string(i), "https://127.0.0.1:" + std::to_string(agents.back()->port()),
                             Tp(Ids().tentacle)});
  }
  auto ctx = MakeTlsContext(TlsRole::kClient, Ids().server);
  ASSERT_TRUE(ctx.ok());
  HealthCheckOptions o;
  o.timeout = std::chrono::seconds(60);
  o.parallelism = 32;
  o.pool = std::make_shared<ConnectionPool>();
  for (int sweep = 0; sweep < 3; ++sweep) {
    SCOPED_TRACE(sweep);
    auto results = CheckTargets(ctx->get(), Tp(Ids().server), targets, o);
    ASSERT_EQ(results.size(), kAgents);
    size_t healthy = 0;
    for (const auto& r : results) healthy += r.healthy ? 1 : 0;
    EXPECT_EQ(healthy, kAgents) << results[0].reason;
    // Threads: the sweep's 32, the reactor, the workers busy at the end;
    // never one per agent or per connection.
    EXPECT_LT(CountEntries("/proc/self/task"), 200u);
    EXPECT_LT(workers->threads(), 100u);
  }
  size_t served = 0;
  for (const auto& a : agents) served += a->served();
  EXPECT_EQ(served, kAgents);  // one handshake each: the second and third sweeps reused them
  EXPECT_EQ(o.pool->stats().idle, kAgents);
  EXPECT_EQ(o.pool->stats().reused, 2 * kAgents);
#ifndef _WIN32
  // (On Windows sockets are handles, and wine keeps unix descriptors of its
  // own for each: the thread bound above is what is checked there.)
  EXPECT_LT(CountEntries("/proc/self/fd"), 3 * kAgents + 256);
#endif
  EXPECT_TRUE(Eventually([&] { return reactor->watching() == 2 * kAgents; }));  // listeners + idle connections
  o.pool->Clear();
  for (auto& a : agents) a->Stop();
  EXPECT_EQ(reactor->watching(), 0u);
}

}  // namespace
}  // namespace octo
