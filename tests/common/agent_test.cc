// The channel in one process: a TentacleAgent on loopback and the Server's
// health check against it.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "common/channel.h"
#include "common/health_check.h"
#include "common/tentacle_agent.h"

namespace octo {
namespace {

struct Identities {
  Identity server, tentacle, stranger;
};

// RSA key generation is slow: one set for the suite.
const Identities& Ids() {
  static Identities* ids = [] {
    auto* i = new Identities;
    i->server = std::move(GenerateIdentity(kServerCommonName)).value();
    i->tentacle = std::move(GenerateIdentity(kTentacleCommonName)).value();
    i->stranger = std::move(GenerateIdentity(kServerCommonName)).value();
    return i;
  }();
  return *ids;
}

class AgentTest : public ::testing::Test {
 protected:
  void StartAgent(std::set<std::string> trusted) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    sink->set_pattern("%v");
    auto logger = std::make_shared<spdlog::logger>("agent-test", sink);
    AgentOptions o;
    o.listen_ip = "127.0.0.1";
    o.port = 0;
    o.trusted_thumbprints = std::move(trusted);
    o.handshake_timeout = std::chrono::milliseconds(3000);
    o.read_timeout = std::chrono::milliseconds(3000);
    agent_ = std::make_unique<TentacleAgent>(o, ShareIdentity(Ids().tentacle), logger);
    ASSERT_TRUE(agent_->Start().ok());
    address_ = "https://127.0.0.1:" + std::to_string(agent_->port());
  }

  HealthResult Check(const Identity& as, const std::string& pinned) {
    auto ctx = MakeTlsContext(TlsRole::kClient, as);
    EXPECT_TRUE(ctx.ok());
    HealthCheckOptions o;
    o.timeout = std::chrono::milliseconds(5000);
    return CheckTarget(ctx->get(), Thumbprint(as.certificate.get()), {"T", address_, pinned}, o);
  }

  void TearDown() override {
    if (agent_) agent_->Stop();
  }

  std::ostringstream log_;
  std::unique_ptr<TentacleAgent> agent_;
  std::string address_;
};

TEST_F(AgentTest, TrustedServerIsHealthy) {
  StartAgent({Thumbprint(Ids().server.certificate.get())});
  HealthResult r = Check(Ids().server, Thumbprint(Ids().tentacle.certificate.get()));
  EXPECT_TRUE(r.healthy) << r.reason;
  EXPECT_EQ(r.reason, "");
  EXPECT_FALSE(r.version.empty());
}

TEST_F(AgentTest, UntrustedServerIsRefusedAndLogged) {
  StartAgent({Thumbprint(Ids().server.certificate.get())});
  const std::string stranger = Thumbprint(Ids().stranger.certificate.get());
  HealthResult r = Check(Ids().stranger, Thumbprint(Ids().tentacle.certificate.get()));
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.reason, RefusedOurCertificateText(address_, stranger));
  agent_->Stop();
  EXPECT_NE(log_.str().find("presented a client certificate with the thumbprint '" + stranger +
                            "' which is not in the list of thumbprints that we trust"),
            std::string::npos)
      << log_.str();
}

TEST_F(AgentTest, WrongPinnedThumbprintIsAnUnexpectedCertificate) {
  StartAgent({Thumbprint(Ids().server.certificate.get())});
  const std::string pinned(40, 'A');
  HealthResult r = Check(Ids().server, pinned);
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.reason, UnexpectedCertificateText(address_, pinned, Thumbprint(Ids().tentacle.certificate.get()),
                                                "CN=Octopus Tentacle"));
}

TEST_F(AgentTest, NothingListeningIsConnectionRefused) {
  StartAgent({});
  agent_->Stop();
  HealthResult r = Check(Ids().server, Thumbprint(Ids().tentacle.certificate.get()));
  EXPECT_FALSE(r.healthy);
  EXPECT_NE(r.reason.find("refused the connection"), std::string::npos) << r.reason;
}

TEST_F(AgentTest, ARequestOfTheWrongShapeIsAnsweredNotFatal) {
  StartAgent({Thumbprint(Ids().server.certificate.get())});
  auto ctx = MakeTlsContext(TlsRole::kClient, Ids().server);
  ASSERT_TRUE(ctx.ok());
  auto fd = ConnectTcp({"127.0.0.1", agent_->port()}, DeadlineIn(std::chrono::seconds(5)));
  ASSERT_TRUE(fd.ok());
  auto s = TlsStream::Connect(std::move(fd).value(), ctx->get(), DeadlineIn(std::chrono::seconds(5)));
  ASSERT_TRUE(s.ok());
  const Deadline d = DeadlineIn(std::chrono::seconds(5));
  ASSERT_TRUE(s->Write(std::string(kClientIdentification) + "\r\n\r\n", d).ok());
  EXPECT_EQ(*s->ReadLine(64, d), kServerIdentification);
  EXPECT_EQ(*s->ReadLine(64, d), "");
  for (const Json& request : {Json{{"Method", 1}}, Json{{"Method", Json::array()}}, Json{{"Other", "x"}}}) {
    ASSERT_TRUE(s->Write(*EncodeFrame(request), d).ok());
    auto len = ParseFrameHeader(*s->Read(4, d));
    ASSERT_TRUE(len.ok());
    auto reply = ParseFramePayload(*s->Read(*len, d));
    ASSERT_TRUE(reply.ok());
    EXPECT_TRUE(reply->contains("Error")) << reply->dump();
  }
  // The agent is still serving.
  EXPECT_TRUE(Check(Ids().server, Thumbprint(Ids().tentacle.certificate.get())).healthy);
}

TEST(StringField, NeverThrowsOnAWrongType) {
  Json j = {{"a", "x"}, {"b", 1}, {"c", nullptr}};
  EXPECT_EQ(StringField(j, "a"), "x");
  EXPECT_EQ(StringField(j, "b"), "");
  EXPECT_EQ(StringField(j, "c", "d"), "d");
  EXPECT_EQ(StringField(j, "missing", "d"), "d");
  EXPECT_EQ(StringField(Json::array(), "a"), "");
}

TEST_F(AgentTest, ManyChecksAtOnce) {
  StartAgent({Thumbprint(Ids().server.certificate.get())});
  auto ctx = MakeTlsContext(TlsRole::kClient, Ids().server);
  ASSERT_TRUE(ctx.ok());
  std::vector<Target> targets(40, Target{"T", address_, Thumbprint(Ids().tentacle.certificate.get())});
  HealthCheckOptions o;
  o.parallelism = 8;
  auto results = CheckTargets(ctx->get(), Thumbprint(Ids().server.certificate.get()), targets, o);
  ASSERT_EQ(results.size(), 40u);
  for (const auto& r : results) EXPECT_TRUE(r.healthy) << r.reason;
  EXPECT_GE(agent_->served(), 40u);
}

}  // namespace
}  // namespace octo
