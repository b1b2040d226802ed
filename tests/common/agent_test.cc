// The channel in one process: a TentacleAgent on loopback and the Server's
// health check against it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <sstream>
#include <thread>

#include "common/channel/channel.h"
#include "common/channel/health_check.h"
#include "common/channel/tentacle_agent.h"

namespace octo {
namespace {

// The executables ignore SIGPIPE (frontend/signals.cc), and the TLS code
// relies on it: OpenSSL writes an alert to a peer that has hung up. So does
// this test, whose clients and servers share its process.
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

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

// Connects to `port` with a plain OpenSSL client presenting `as` and judging
// nothing, sends `request`, and returns all that comes back until the peer
// hangs up.
std::string PlainExchange(int port, const Identity& as, const std::string& request) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_use_certificate(ctx.get(), as.certificate.get());
  SSL_CTX_use_PrivateKey(ctx.get(), as.key.get());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  auto fd = ConnectTcp({"127.0.0.1", port}, DeadlineIn(std::chrono::seconds(5)));
  if (!fd.ok()) return "";
  ::fcntl(fd->get(), F_SETFL, ::fcntl(fd->get(), F_GETFL) & ~O_NONBLOCK);
  timeval tv{5, 0};
  ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd->get());
  std::string got;
  if (SSL_connect(ssl.get()) == 1 && SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) > 0) {
    char buf[4096];
    for (int n; (n = SSL_read(ssl.get(), buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
  }
  ERR_clear_error();
  return got;
}

class AgentTest : public ::testing::Test {
 protected:
  void StartAgent(std::set<std::string> trusted, PeerCheck handshake_check = {}) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    sink->set_pattern("%v");
    auto logger = std::make_shared<spdlog::logger>("agent-test", sink);
    AgentOptions o;
    o.listen_ip = "127.0.0.1";
    o.port = 0;
    o.trusted_thumbprints = std::move(trusted);
    o.handshake_timeout = std::chrono::milliseconds(3000);
    o.read_timeout = std::chrono::milliseconds(3000);
    o.handshake_check_for_testing = std::move(handshake_check);
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

  // A connection to the agent as the Server, past the identification lines.
  Result<TlsStream> OpenSessionAsServer(const Deadline& d) {
    auto ctx = MakeTlsContext(TlsRole::kClient, Ids().server);
    if (!ctx.ok()) return ctx.status();
    auto fd = ConnectTcp({"127.0.0.1", agent_->port()}, d);
    if (!fd.ok()) return fd.status();
    auto s = TlsStream::Connect(std::move(fd).value(), ctx->get(), Thumbprint(Ids().tentacle.certificate.get()), d);
    if (!s.ok()) return s.status();
    OCTO_RETURN_IF_ERROR(s->Write(std::string(kClientIdentification) + "\r\n\r\n", d));
    EXPECT_EQ(*s->ReadLine(64, d), kServerIdentification);
    EXPECT_EQ(*s->ReadLine(64, d), "");
    return s;
  }

  // Sends one request frame on `s` and reads its answer (a test failure and
  // {} when there is none).
  static Json Ask(TlsStream& s, const Json& request, const Deadline& d) {
    EXPECT_TRUE(s.Write(*EncodeFrame(request), d).ok());
    auto len = ParseFrameHeader(*s.Read(4, d));
    EXPECT_TRUE(len.ok());
    auto reply = len.ok() ? ParseFramePayload(*s.Read(*len, d)) : Result<Json>(len.status());
    EXPECT_TRUE(reply.ok());
    return reply.ok() ? *reply : Json();
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
  EXPECT_EQ(r.outcome, HealthOutcome::kHealthy);
  EXPECT_EQ(r.reason, "");
  EXPECT_FALSE(r.version.empty());
  EXPECT_EQ(r.thumbprint, Thumbprint(Ids().tentacle.certificate.get()));
}

TEST_F(AgentTest, UntrustedServerIsRefusedAndLogged) {
  StartAgent({Thumbprint(Ids().server.certificate.get())});
  const std::string stranger = Thumbprint(Ids().stranger.certificate.get());
  HealthResult r = Check(Ids().stranger, Thumbprint(Ids().tentacle.certificate.get()));
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.outcome, HealthOutcome::kAborted);
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
  EXPECT_EQ(r.outcome, HealthOutcome::kUnexpectedCertificate);
  EXPECT_EQ(r.thumbprint, Thumbprint(Ids().tentacle.certificate.get()));
  EXPECT_EQ(r.reason, UnexpectedCertificateText(address_, pinned, Thumbprint(Ids().tentacle.certificate.get()),
                                                "CN=Octopus Tentacle"));
}

// Defence in depth: were the handshake's check bypassed (here replaced by one
// accepting every certificate), the agent still refuses an untrusted
// certificate before it serves anything, and logs the mirrored line.
TEST_F(AgentTest, AnUntrustedCertificateIsRefusedAfterTheHandshakeToo) {
  StartAgent({Thumbprint(Ids().server.certificate.get())}, [](const std::string&) { return true; });
  const std::string stranger = Thumbprint(Ids().stranger.certificate.get());
  HealthResult r = Check(Ids().stranger, Thumbprint(Ids().tentacle.certificate.get()));
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.reason, RefusedOurCertificateText(address_, stranger));
  EXPECT_EQ(PlainExchange(agent_->port(), Ids().stranger, "MX-CLIENT 1.0\r\n\r\n"), "");
  EXPECT_EQ(PlainExchange(agent_->port(), Ids().stranger, "GET / HTTP/1.0\r\n\r\n"), "");  // no welcome page
  // The trusted Server is still served.
  EXPECT_TRUE(Check(Ids().server, Thumbprint(Ids().tentacle.certificate.get())).healthy);
  agent_->Stop();
  const std::string line = "A client at 127.0.0.1:";
  const std::string refusal =
      " connected, and attempted a message exchange, but it presented a client certificate with the thumbprint '" +
      stranger + "' which is not in the list of thumbprints that we trust";
  size_t count = 0;  // lines "A client at 127.0.0.1:PORT connected, ... that we trust"
  std::istringstream lines(log_.str());
  for (std::string l; std::getline(lines, l);) {
    if (l.rfind(line, 0) == 0 && l.size() > refusal.size() &&
        l.compare(l.size() - refusal.size(), refusal.size(), refusal) == 0) {
      ++count;
    }
  }
  EXPECT_EQ(count, 3u) << log_.str();
  EXPECT_EQ(log_.str().find("Sent the welcome page"), std::string::npos) << log_.str();
}

TEST_F(AgentTest, NothingListeningIsConnectionRefused) {
  StartAgent({});
  agent_->Stop();
  HealthResult r = Check(Ids().server, Thumbprint(Ids().tentacle.certificate.get()));
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.outcome, HealthOutcome::kRefused);
  EXPECT_EQ(r.reason, "The Tentacle at " + address_ +
                          " refused the connection (No connection could be made because the target machine actively "
                          "refused it): is the Tentacle running and listening on that port?");
  EXPECT_EQ(r.thumbprint, "");
}

// Something accepts TCP connections at the address (the kernel's backlog)
// but never completes a handshake: the check gives up at its deadline.
TEST(HealthCheck, AHandshakeThatNeverCompletesTimesOut) {
  auto listener = ListenTcp("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok());
  const std::string address = "https://127.0.0.1:" + std::to_string(LocalPort(listener->get()));
  auto ctx = MakeTlsContext(TlsRole::kClient, Ids().server);
  ASSERT_TRUE(ctx.ok());
  HealthCheckOptions o;
  o.timeout = std::chrono::milliseconds(300);
  const HealthResult r = CheckTarget(ctx->get(), Thumbprint(Ids().server.certificate.get()),
                                     {"T", address, Thumbprint(Ids().tentacle.certificate.get())}, o);
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.outcome, HealthOutcome::kTimedOut);
  EXPECT_EQ(r.reason, "The Tentacle at " + address + " did not complete the TLS handshake in time (timed out)");
  EXPECT_EQ(r.thumbprint, "");
}

TEST(HealthCheck, AnAddressThatDoesNotParseIsAnError) {
  auto ctx = MakeTlsContext(TlsRole::kClient, Ids().server);
  ASSERT_TRUE(ctx.ok());
  const HealthResult r = CheckTarget(ctx->get(), "", {"T", "http://h:1", std::string(40, 'A')}, HealthCheckOptions{});
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.outcome, HealthOutcome::kError);
  EXPECT_EQ(r.reason, "the address 'http://h:1' must be https://HOST:PORT");
}

TEST_F(AgentTest, ARequestOfTheWrongShapeIsAnsweredNotFatal) {
  StartAgent({Thumbprint(Ids().server.certificate.get())});
  const Deadline d = DeadlineIn(std::chrono::seconds(5));
  auto s = OpenSessionAsServer(d);
  ASSERT_TRUE(s.ok()) << s.status().message();
  for (const Json& request : {Json{{"Method", 1}}, Json{{"Method", Json::array()}}, Json{{"Other", "x"}}}) {
    const Json reply = Ask(*s, request, d);
    EXPECT_TRUE(reply.contains("Error")) << reply.dump();
  }
  // The agent is still serving.
  EXPECT_TRUE(Check(Ids().server, Thumbprint(Ids().tentacle.certificate.get())).healthy);
}

// Requests go through the agent's method table: Health and the trust and
// certificate methods (tests/common/rotation_methods_test.cc); anything else
// gets the error answer and the connection stays open.
TEST_F(AgentTest, RequestsAreAnsweredThroughTheMethodTable) {
  StartAgent({Thumbprint(Ids().server.certificate.get())});
  std::vector<std::string> names;
  for (const auto& [name, handler] : agent_->methods()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"DiscardCertificate", "GetCertificateStatus", "Health", "RemoveTrust",
                                             "StageCertificate", "SwitchCertificate", "TrustThumbprint"}));

  const Deadline d = DeadlineIn(std::chrono::seconds(5));
  auto s = OpenSessionAsServer(d);
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto ask = [&](const Json& request) { return Ask(*s, request, d); };
  EXPECT_EQ(ask(Json{{"Method", "Reboot"}}), (Json{{"Error", "unknown method 'Reboot'"}, {"Code", "NotFound"}}));
  EXPECT_EQ(ask(Json{{"Method", 1}}), (Json{{"Error", "a request needs a \"Method\" string"}, {"Code", "InvalidArgument"}}));
  EXPECT_EQ(ask(Json{{"Other", "x"}}), (Json{{"Error", "unknown method ''"}, {"Code", "NotFound"}}));
  // No admin is set here: the methods that change the Tentacle refuse.
  EXPECT_EQ(ask(Json{{"Method", "StageCertificate"}}),
            (Json{{"Error", "this Tentacle does not take changes over the channel"}, {"Code", "FailedPrecondition"}}));
  const Json health = ask(Json{{"Method", "Health"}});
  EXPECT_EQ(health["Status"], "Healthy");
  EXPECT_EQ(health["Thumbprint"], Thumbprint(Ids().tentacle.certificate.get()));
  EXPECT_EQ(health["ClientThumbprint"], Thumbprint(Ids().server.certificate.get()));
  EXPECT_TRUE(health["UptimeSeconds"].is_number());
  EXPECT_FALSE(StringField(health, "Version").empty());
}

TEST(StringField, NeverThrowsOnAWrongType) {
  Json j = {{"a", "x"}, {"b", 1}, {"c", nullptr}};
  EXPECT_EQ(StringField(j, "a"), "x");
  EXPECT_EQ(StringField(j, "b"), "");
  EXPECT_EQ(StringField(j, "c", "d"), "d");
  EXPECT_EQ(StringField(j, "missing", "d"), "d");
  EXPECT_EQ(StringField(Json::array(), "a"), "");
}

// A TLS server at a target's address that is not the pinned Tentacle: it
// presents another certificate and asks for a client certificate, judging
// nothing. It serves one connection and records what the client gave it.
class RogueServer {
 public:
  RogueServer(const Identity& id, int version) {
    ctx_.reset(SSL_CTX_new(TLS_server_method()));
    SSL_CTX_use_certificate(ctx_.get(), id.certificate.get());
    SSL_CTX_use_PrivateKey(ctx_.get(), id.key.get());
    SSL_CTX_set_min_proto_version(ctx_.get(), version);
    SSL_CTX_set_max_proto_version(ctx_.get(), version);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, [](int, X509_STORE_CTX* store) {
      auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
      static_cast<RogueServer*>(SSL_get_app_data(ssl))->client_certificate_seen_ = true;
      return 1;
    });
    listener_ = std::move(ListenTcp("127.0.0.1", 0)).value();
    address_ = "https://127.0.0.1:" + std::to_string(LocalPort(listener_.get()));
    thread_ = std::thread([this] { ServeOne(); });
  }
  ~RogueServer() { Join(); }

  const std::string& address() const { return address_; }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  // After Join().
  int accept_rc() const { return accept_rc_; }
  bool client_certificate_seen() const { return client_certificate_seen_; }
  bool peer_certificate() const { return peer_certificate_; }

 private:
  void ServeOne() {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return;
    Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));  // blocking
    if (!conn.valid()) return;
    timeval tv{5, 0};
    ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SslPtr ssl(SSL_new(ctx_.get()));
    SSL_set_app_data(ssl.get(), this);
    SSL_set_fd(ssl.get(), conn.get());
    accept_rc_ = SSL_accept(ssl.get());
    if (accept_rc_ == 1) {
      char byte;  // TLS 1.3: the client's Finished may follow its certificate
      (void)SSL_read(ssl.get(), &byte, 1);
    }
    peer_certificate_ = SSL_get0_peer_certificate(ssl.get()) != nullptr;
    ERR_clear_error();
  }

  SslCtxPtr ctx_;
  Fd listener_;
  std::string address_;
  std::thread thread_;
  int accept_rc_ = 0;
  std::atomic<bool> client_certificate_seen_{false};
  bool peer_certificate_ = false;
};

// The pin is checked inside the handshake: a server with the wrong
// certificate is refused before we send our certificate or sign anything,
// and the reason is the same mirrored text as before.
TEST(HealthCheck, AWrongServerAtTheAddressNeverGetsOurCertificate) {
  auto ctx = MakeTlsContext(TlsRole::kClient, Ids().server);
  ASSERT_TRUE(ctx.ok());
  const std::string pinned = Thumbprint(Ids().tentacle.certificate.get());
  const CertificateInfo rogue = Describe(Ids().stranger.certificate.get());
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version == TLS1_2_VERSION ? "TLS 1.2" : "TLS 1.3");
    RogueServer server(Ids().stranger, version);
    HealthCheckOptions o;
    o.timeout = std::chrono::milliseconds(5000);
    const HealthResult r =
        CheckTarget(ctx->get(), Thumbprint(Ids().server.certificate.get()), {"T", server.address(), pinned}, o);
    server.Join();
    EXPECT_FALSE(r.healthy);
    EXPECT_EQ(r.reason, UnexpectedCertificateText(server.address(), pinned, rogue.thumbprint, rogue.subject));
    EXPECT_EQ(rogue.subject, "CN=Octopus Portal");
    EXPECT_FALSE(server.client_certificate_seen());
    EXPECT_FALSE(server.peer_certificate());
    EXPECT_NE(server.accept_rc(), 1);
  }
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
