// Polling in one process: the Server's PollingHub on loopback and a
// TentacleAgent that only polls it (no listener), through the same methods
// as the listening side. Also run under ThreadSanitizer (the "Channel" tests).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <thread>

#include "common/channel/channel.h"
#include "common/channel/health_check.h"
#include "common/channel/polling_hub.h"
#include "common/channel/tentacle_agent.h"
#include "common/crypto/thumbprint.h"

namespace octo {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

[[maybe_unused]] const bool kSigpipeIgnored = [] {
#ifdef SIGPIPE  // Windows has none: a send on a closed socket fails there
  ::signal(SIGPIPE, SIG_IGN);
#endif
  return true;
}();

struct Identities {
  Identity server, server2, tentacle, tentacle2, stranger;
};

const Identities& Ids() {
  static Identities* ids = [] {
    auto* i = new Identities;
    i->server = std::move(GenerateIdentity(kServerCommonName)).value();
    i->server2 = std::move(GenerateIdentity(kServerCommonName)).value();
    i->tentacle = std::move(GenerateIdentity(kTentacleCommonName)).value();
    i->tentacle2 = std::move(GenerateIdentity(kTentacleCommonName)).value();
    i->stranger = std::move(GenerateIdentity(kTentacleCommonName)).value();
    return i;
  }();
  return *ids;
}

std::string Tp(const Identity& id) { return Thumbprint(id.certificate.get()); }

constexpr char kSub[] = "poll://aaaaaaaaaaaaaaaaaaaa/";
constexpr char kOtherSub[] = "poll://bbbbbbbbbbbbbbbbbbbb/";

// Loggers whose lines the test can read: one sink for all of them, which
// keeps the text under the lock every write takes.
class TextSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string Text() {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    text_.append(msg.payload.data(), msg.payload.size());
    text_ += '\n';
  }
  void flush_() override {}

 private:
  std::string text_;
};

class Log {
 public:
  std::shared_ptr<spdlog::logger> Make(const std::string& name) { return std::make_shared<spdlog::logger>(name, sink_); }
  std::string Text() { return sink_->Text(); }

 private:
  std::shared_ptr<TextSink> sink_ = std::make_shared<TextSink>();
};

class PollingChannel : public ::testing::Test {
 protected:
  void SetUp() override { Pin(kSub, {Tp(Ids().tentacle)}); }
  void TearDown() override {
    for (auto& a : agents_) a->Stop(std::chrono::milliseconds(500));
    agents_.clear();
    if (hub_) hub_->Stop();
    hub_.reset();
  }

  void Pin(const std::string& sub, std::vector<std::string> pins) {
    std::lock_guard<std::mutex> lock(mu_);
    pins_[sub] = SubscriptionPins{"target-" + sub.substr(7, 1), std::move(pins)};
  }

  void StartHub(int port = 0, PollingHubOptions o = {}) {
    o.listen_ip = "127.0.0.1";
    o.port = port;
    hub_ = std::make_unique<PollingHub>(
        o,
        [this](const std::string& sub) -> std::optional<SubscriptionPins> {
          std::lock_guard<std::mutex> lock(mu_);
          auto it = pins_.find(sub);
          if (it == pins_.end()) return std::nullopt;
          return it->second;
        },
        log_.Make("server"));
    hub_->SetIdentity(std::move(MakePresentedIdentity(TlsRole::kServer, Ids().server)).value());
    ASSERT_TRUE(hub_->Start().ok());
  }

  // A Tentacle that only polls the hub as `sub`, trusting `servers`.
  TentacleAgent& StartPoller(const Identity& as, const std::string& sub, std::set<std::string> servers,
                             int connections = 1) {
    AgentOptions o;
    o.listen_ip = "127.0.0.1";  // if a test makes it listen too
    o.port = 0;
    o.trusted_thumbprints = servers;
    o.polling.retry_min = std::chrono::milliseconds(100);
    o.polling.retry_max = std::chrono::milliseconds(400);
    agents_.push_back(std::make_unique<TentacleAgent>(o, CopyIdentity(as), log_.Make("tentacle")));
    PollingEndpoint ep{"https://127.0.0.1:" + std::to_string(hub_->port()), sub, servers};
    EXPECT_TRUE(agents_.back()->SetPolling({ep}, connections).ok());
    return *agents_.back();
  }

  static Identity CopyIdentity(const Identity& id) {
    Identity copy;
    X509_up_ref(id.certificate.get());
    copy.certificate.reset(id.certificate.get());
    EVP_PKEY_up_ref(id.key.get());
    copy.key.reset(id.key.get());
    return copy;
  }

  // Calls until healthy (the Tentacle may still be connecting), at most ~5 s.
  PolledCall CallUntilAnswered(const std::string& sub, const Json& request) {
    PolledCall c;
    for (int i = 0; i < 25; ++i) {
      c = hub_->Call(sub, request, std::chrono::milliseconds(200));
      if (c.outcome == HealthOutcome::kHealthy) break;
    }
    return c;
  }

  Log log_;
  std::mutex mu_;
  std::map<std::string, SubscriptionPins> pins_;
  std::unique_ptr<PollingHub> hub_;
  std::vector<std::unique_ptr<TentacleAgent>> agents_;
};

TEST_F(PollingChannel, APollingTentacleAnswersTheServersRequestsThroughItsQueue) {
  StartHub();
  StartPoller(Ids().tentacle, kSub, {Tp(Ids().server)});
  PolledCall c = CallUntilAnswered(kSub, Json{{"Method", "Health"}});
  ASSERT_EQ(c.outcome, HealthOutcome::kHealthy) << c.status.message();
  EXPECT_TRUE(c.status.ok());
  EXPECT_EQ(c.thumbprint, Tp(Ids().tentacle));
  EXPECT_EQ(StringField(c.answer, "Status"), "Healthy");
  EXPECT_EQ(StringField(c.answer, "ClientThumbprint"), Tp(Ids().server));
  EXPECT_EQ(hub_->View(kSub).state, PollingState::kConnected);
  EXPECT_EQ(hub_->View(kSub).connections, 1u);
  // An unknown method is answered as on the listening side.
  c = hub_->Call(kSub, Json{{"Method", "Nope"}}, std::chrono::seconds(5));
  EXPECT_EQ(c.outcome, HealthOutcome::kHealthy);
  EXPECT_EQ(c.status.code(), StatusCode::kNotFound);
  EXPECT_THAT(c.status.message(), HasSubstr("unknown method 'Nope'"));
}

TEST_F(PollingChannel, ATentacleMayListenAndPollAtOnce) {
  StartHub();
  TentacleAgent& agent = StartPoller(Ids().tentacle, kSub, {Tp(Ids().server)});
  ASSERT_TRUE(agent.Start().ok());  // listening as well, on a free loopback port
  const PolledCall polled = CallUntilAnswered(kSub, Json{{"Method", "Health"}});
  EXPECT_EQ(polled.outcome, HealthOutcome::kHealthy) << polled.status.message();
  auto ctx = MakeTlsContext(TlsRole::kClient, Ids().server);
  ASSERT_TRUE(ctx.ok());
  const HealthResult listened =
      CheckTarget(ctx->get(), Tp(Ids().server),
                  Target("t", "https://127.0.0.1:" + std::to_string(agent.port()), Tp(Ids().tentacle)), {});
  EXPECT_TRUE(listened.healthy) << listened.reason;
  EXPECT_EQ(listened.thumbprint, polled.thumbprint);
}

TEST_F(PollingChannel, ARequestNobodyCollectsFailsInTimeSayingNoTentacleCame) {
  StartHub();
  const auto start = Clock::now();
  PolledCall c = hub_->Call(kOtherSub, Json{{"Method", "Health"}}, std::chrono::milliseconds(300));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(c.outcome, HealthOutcome::kTimedOut);
  EXPECT_EQ(c.status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(c.status.message(),
            "A request was sent to a polling endpoint, but the polling endpoint did not collect the request within "
            "the allowed time (00:00:00.3000000), so the request timed out. No Tentacle has connected as "
            "poll://bbbbbbbbbbbbbbbbbbbb/ since the Octopus Server started.");
  EXPECT_EQ(c.view.state, PollingState::kNeverConnected);
}

TEST_F(PollingChannel, ATentacleWhoseCertificateIsNotPinnedForTheSubscriptionIsRefused) {
  StartHub();
  // The stranger trusts the Server and announces a subscription pinned to
  // another certificate: it must not read that queue.
  StartPoller(Ids().stranger, kSub, {Tp(Ids().server)});
  PolledCall c;
  for (int i = 0; i < 25 && c.outcome != HealthOutcome::kUnexpectedCertificate; ++i) {
    c = hub_->Call(kSub, Json{{"Method", "Health"}}, std::chrono::milliseconds(200));
    ASSERT_NE(c.outcome, HealthOutcome::kHealthy);
  }
  EXPECT_EQ(c.outcome, HealthOutcome::kUnexpectedCertificate);
  EXPECT_EQ(c.status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(c.thumbprint, Tp(Ids().stranger));
  EXPECT_THAT(c.status.message(), HasSubstr("it presented a certificate with the thumbprint '" + Tp(Ids().stranger) +
                                            "', which is not one the deployment target pins ('" +
                                            Tp(Ids().tentacle) + "')"));
  EXPECT_EQ(hub_->View(kSub).state, PollingState::kRefused);
  EXPECT_THAT(log_.Text(), HasSubstr("presented a client certificate with the thumbprint '" + Tp(Ids().stranger) +
                                     "' which is not in the list of thumbprints that we trust for the subscription " +
                                     kSub));
}

TEST_F(PollingChannel, ATentacleThatDoesNotTrustTheServerNeverCollectsAndBacksOff) {
  StartHub();
  TentacleAgent& agent = StartPoller(Ids().tentacle, kSub, {Tp(Ids().server2)});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  // 100 ms growing to 400 ms, jittered: a handful of attempts, never a hot loop.
  EXPECT_GE(agent.polling_attempts(), 3u);
  EXPECT_LE(agent.polling_attempts(), 16u);
  EXPECT_EQ(agent.polling_identified(), 0u);
  EXPECT_THAT(log_.Text(), HasSubstr("Halibut client exception: An error occurred when sending a request to "
                                     "'https://127.0.0.1:" + std::to_string(hub_->port()) +
                                     "', before the request could begin: The server at https://127.0.0.1:" +
                                     std::to_string(hub_->port()) +
                                     " presented an unexpected security certificate. We expected the server to "
                                     "present a certificate with the thumbprint '" + Tp(Ids().server2) + "'."));
  PolledCall c = hub_->Call(kSub, Json{{"Method", "Health"}}, std::chrono::milliseconds(200));
  EXPECT_EQ(c.outcome, HealthOutcome::kTimedOut);
}

TEST_F(PollingChannel, UnpinningTheTentacleClosesItsConnectionBeforeTheNextRequest) {
  StartHub();
  StartPoller(Ids().tentacle, kSub, {Tp(Ids().server)});
  ASSERT_EQ(CallUntilAnswered(kSub, Json{{"Method", "Health"}}).outcome, HealthOutcome::kHealthy);
  Pin(kSub, {Tp(Ids().tentacle2)});
  PolledCall c = hub_->Call(kSub, Json{{"Method", "Health"}}, std::chrono::milliseconds(500));
  EXPECT_EQ(c.outcome, HealthOutcome::kUnexpectedCertificate) << c.status.message();
  EXPECT_THAT(log_.Text(), HasSubstr("its certificate " + Tp(Ids().tentacle) + " is no longer pinned"));
}

TEST_F(PollingChannel, AServerCertificateChangeReconnectsTheTentacleAtOnce) {
  StartHub();
  TentacleAgent& agent = StartPoller(Ids().tentacle, kSub, {Tp(Ids().server), Tp(Ids().server2)});
  ASSERT_EQ(CallUntilAnswered(kSub, Json{{"Method", "Health"}}).outcome, HealthOutcome::kHealthy);
  const uint64_t before = agent.polling_identified();
  hub_->SetIdentity(std::move(MakePresentedIdentity(TlsRole::kServer, Ids().server2)).value());
  PolledCall c = hub_->Call(kSub, Json{{"Method", "Health"}}, std::chrono::seconds(5));
  ASSERT_EQ(c.outcome, HealthOutcome::kHealthy) << c.status.message();
  // Answered on a new connection, which saw the new certificate.
  EXPECT_EQ(StringField(c.answer, "ClientThumbprint"), Tp(Ids().server2));
  EXPECT_EQ(agent.polling_identified(), before + 1);
}

TEST_F(PollingChannel, ATentacleCertificateChangeReconnectsWithTheNewOne) {
  StartHub();
  Pin(kSub, {Tp(Ids().tentacle), Tp(Ids().tentacle2)});
  TentacleAgent& agent = StartPoller(Ids().tentacle, kSub, {Tp(Ids().server)}, 2);
  ASSERT_EQ(CallUntilAnswered(kSub, Json{{"Method", "Health"}}).outcome, HealthOutcome::kHealthy);
  ASSERT_TRUE(agent.SetIdentity(Ids().tentacle2).ok());
  // Every later request is answered with the new certificate, on either connection.
  for (int i = 0; i < 6; ++i) {
    PolledCall c = hub_->Call(kSub, Json{{"Method", "Health"}}, std::chrono::seconds(5));
    ASSERT_EQ(c.outcome, HealthOutcome::kHealthy) << c.status.message();
    EXPECT_EQ(c.thumbprint, Tp(Ids().tentacle2)) << i << "\n" << log_.Text();
  }
}

TEST_F(PollingChannel, ConcurrentCallsAreAllAnsweredWhileCertificatesChangeOnBothSides) {
  StartHub();
  Pin(kSub, {Tp(Ids().tentacle), Tp(Ids().tentacle2)});
  TentacleAgent& agent = StartPoller(Ids().tentacle, kSub, {Tp(Ids().server), Tp(Ids().server2)}, 3);
  ASSERT_EQ(CallUntilAnswered(kSub, Json{{"Method", "Health"}}).outcome, HealthOutcome::kHealthy);
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  std::mutex why_mu;
  std::string why;
  std::vector<std::thread> callers;
  for (int t = 0; t < 6; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 15; ++i) {
        PolledCall c = hub_->Call(kSub, Json{{"Method", "Health"}}, std::chrono::seconds(10));
        (c.outcome == HealthOutcome::kHealthy ? answered : failed)++;
        if (c.outcome != HealthOutcome::kHealthy) {
          std::lock_guard<std::mutex> lock(why_mu);
          why += c.status.message() + "\n";
        }
      }
    });
  }
  for (int i = 0; i < 4; ++i) {
    hub_->SetIdentity(std::move(MakePresentedIdentity(TlsRole::kServer, i % 2 ? Ids().server : Ids().server2)).value());
    EXPECT_TRUE(agent.SetIdentity(i % 2 ? Ids().tentacle : Ids().tentacle2).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(failed.load(), 0) << why;
  EXPECT_EQ(answered.load(), 90);
}

TEST_F(PollingChannel, TheTentacleReconnectsAfterTheServerRestartsWithinItsBackoffBound) {
  StartHub();
  TentacleAgent& agent = StartPoller(Ids().tentacle, kSub, {Tp(Ids().server)});
  ASSERT_EQ(CallUntilAnswered(kSub, Json{{"Method", "Health"}}).outcome, HealthOutcome::kHealthy);
  const int port = hub_->port();
  hub_->Stop();
  hub_.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  const uint64_t attempts_while_down = agent.polling_attempts();
  StartHub(port);
  const auto back = Clock::now();
  PolledCall c = CallUntilAnswered(kSub, Json{{"Method", "Health"}});
  ASSERT_EQ(c.outcome, HealthOutcome::kHealthy) << c.status.message();
  // The retry bound is 400 ms (with jitter under 2x the time failing).
  EXPECT_LT(Clock::now() - back, std::chrono::seconds(2));
  // 0.8 s down with at least 100 ms between attempts: no storm.
  EXPECT_LE(attempts_while_down, 12u);
}

TEST_F(PollingChannel, StoppingTheHubFailsTheQueuedCallsAtOnce) {
  StartHub();
  std::thread stopper([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    hub_->Stop();
  });
  const auto start = Clock::now();
  PolledCall c = hub_->Call(kOtherSub, Json{{"Method", "Health"}}, std::chrono::seconds(20));
  stopper.join();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(c.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(c.status.message(), "the Octopus Server is stopping");
}

TEST(PollingIdentification, SubscriberLinesAreParsedAndBadOnesRefused) {
  EXPECT_EQ(*ParseSubscriberIdentification("MX-SUBSCRIBER 1.0 poll://ABC/"), "poll://abc/");
  EXPECT_EQ(*ParseSubscriberIdentification("MX-SUBSCRIBER 1.0 poll://abc"), "poll://abc/");
  EXPECT_EQ(ParseSubscriberIdentification("MX-SUBSCRIBER 1.0").status().message(),
            "The remote host identified as a subscriber, but did not supply a subscription ID.");
  EXPECT_THAT(ParseSubscriberIdentification("MX-CLIENT 1.0").status().message(), StartsWith("expected 'MX-SUBSCRIBER 1.0'"));
  EXPECT_THAT(ParseSubscriberIdentification("MX-SUBSCRIBER 1.0 https://x/").status().message(),
              HasSubstr("must start with poll://"));
  EXPECT_THAT(ParseSubscriberIdentification("MX-SUBSCRIBER 1.0 poll://a b/").status().message(),
              HasSubstr("only letters, digits"));
  EXPECT_THAT(ParseSubscriberIdentification("MX-SUBSCRIBER 1.0 poll:///").status().message(),
              HasSubstr("nothing follows poll://"));
  EXPECT_THAT(ParseSubscriptionId("poll://" + std::string(101, 'a') + "/").status().message(),
              HasSubstr("longer than 100 characters"));
  EXPECT_TRUE(IsPollingAddress("POLL://x/"));
  EXPECT_FALSE(IsPollingAddress("https://x:1"));
}

}  // namespace
}  // namespace octo
