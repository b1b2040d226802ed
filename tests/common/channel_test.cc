#include "common/channel/channel.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <csignal>
#include <thread>

#include "common/crypto/certificate.h"
#include "common/crypto/tls.h"
#include "support/identities.h"

namespace octo {
namespace {

// The executables ignore SIGPIPE (frontend/signals.cc), and the TLS code
// relies on it: OpenSSL writes an alert to a peer that has hung up. So does
// this test, whose clients and servers share its process.
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

TEST(Frame, EncodesLengthThenJson) {
  auto f = EncodeFrame(Json{{"Method", "Health"}});
  ASSERT_TRUE(f.ok());
  const std::string payload = R"({"Method":"Health"})";
  ASSERT_EQ(f->size(), 4 + payload.size());
  EXPECT_EQ(f->substr(0, 4), std::string("\0\0\0\x13", 4));
  EXPECT_EQ(f->substr(4), payload);
  auto len = ParseFrameHeader(f->substr(0, 4));
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(*len, payload.size());
  auto back = ParseFramePayload(f->substr(4));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)["Method"], "Health");
}

TEST(Frame, RefusesEmptyAndOversizedFrames) {
  EXPECT_EQ(ParseFrameHeader(std::string(4, '\0')).status().message(), "an empty frame");
  EXPECT_EQ(ParseFrameHeader(std::string("\x00\x01\x00\x01", 4)).status().message(),
            "a frame of 65537 bytes; at most 65536 are allowed");
  EXPECT_EQ(ParseFrameHeader(std::string("\xff\xff\xff\xff", 4)).status().message(),
            "a frame of 4294967295 bytes; at most 65536 are allowed");
  EXPECT_FALSE(ParseFrameHeader("abc").ok());
  EXPECT_TRUE(ParseFrameHeader(std::string("\x00\x01\x00\x00", 4)).ok());
  Json big = {{"x", std::string(kMaxFrame, 'a')}};
  EXPECT_FALSE(EncodeFrame(big).ok());
}

TEST(Frame, PayloadMustBeAJsonObject) {
  EXPECT_EQ(ParseFramePayload("[1]").status().message(), "the message is not a JSON object");
  EXPECT_EQ(ParseFramePayload("{").status().message(), "the message is not JSON");
  EXPECT_EQ(ParseFramePayload(std::string("\xff\xfe", 2)).status().message(), "the message is not JSON");
}

TEST(Identification, ExactLineOnly) {
  EXPECT_TRUE(CheckIdentification("MX-CLIENT 1.0", kClientIdentification).ok());
  EXPECT_EQ(CheckIdentification("MX-CLIENT 2.0", kClientIdentification).message(),
            "expected 'MX-CLIENT 1.0', got 'MX-CLIENT 2.0'");
  EXPECT_EQ(CheckIdentification(std::string("MX\x01\n", 4), kClientIdentification).message(),
            "expected 'MX-CLIENT 1.0', got 'MX?" "?'");
}

TEST(HttpWelcomePage, IsAnHttp10Response) {
  std::string page = HttpWelcomePage();
  EXPECT_EQ(page.rfind("HTTP/1.0 200 OK\r\n", 0), 0u);
  auto body_at = page.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  std::string body = page.substr(body_at + 4);
  EXPECT_NE(page.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
}

// --- Method dispatch --------------------------------------------------------

// Calls the table with `request` as from client "C" on a connection presenting "P".
Json Dispatch(const ChannelMethods& methods, const Json& request) {
  const std::string client = "C", presented = "P", peer = "127.0.0.1:1";
  return DispatchChannelRequest(methods, {request, client, presented, peer});
}

TEST(DispatchChannelRequest, AKnownMethodGoesToItsHandlerWithTheCall) {
  int echo_calls = 0;
  const ChannelMethods methods = {
      {"Echo",
       [&](const ChannelCall& call) {
         ++echo_calls;
         return Json{{"Got", call.request["Value"]}, {"Client", call.client_thumbprint},
                     {"Presented", call.presented_thumbprint}};
       }},
      {"Other", [](const ChannelCall&) { return Json{{"Other", true}}; }},
  };
  EXPECT_EQ(Dispatch(methods, Json{{"Method", "Echo"}, {"Value", 7}}),
            (Json{{"Got", 7}, {"Client", "C"}, {"Presented", "P"}}));
  EXPECT_EQ(Dispatch(methods, Json{{"Method", "Other"}}), (Json{{"Other", true}}));
  EXPECT_EQ(echo_calls, 1);
}

TEST(DispatchChannelRequest, AnUnknownOrMissingMethodIsAnErrorAnswer) {
  bool called = false;
  const ChannelMethods methods = {{"Health", [&](const ChannelCall&) {
                                     called = true;
                                     return Json::object();
                                   }}};
  EXPECT_EQ(Dispatch(methods, Json{{"Method", "Reboot"}}), (Json{{"Error", "unknown method 'Reboot'"}, {"Code", "NotFound"}}));
  EXPECT_EQ(Dispatch(methods, Json{{"Method", "health"}}), (Json{{"Error", "unknown method 'health'"}, {"Code", "NotFound"}}));
  EXPECT_EQ(Dispatch(methods, Json{{"Other", "x"}}), (Json{{"Error", "unknown method ''"}, {"Code", "NotFound"}}));
  EXPECT_EQ(Dispatch(ChannelMethods{}, Json{{"Method", "Health"}}), (Json{{"Error", "unknown method 'Health'"}, {"Code", "NotFound"}}));
  EXPECT_FALSE(called);
}

TEST(DispatchChannelRequest, ANonStringMethodIsAnErrorAnswer) {
  bool called = false;
  const ChannelMethods methods = {{"1", [&](const ChannelCall&) {
                                     called = true;
                                     return Json::object();
                                   }}};
  for (const Json& method : {Json(1), Json::array(), Json(nullptr), Json{{"Name", "Health"}}}) {
    EXPECT_EQ(Dispatch(methods, Json{{"Method", method}}), (Json{{"Error", "a request needs a \"Method\" string"}, {"Code", "InvalidArgument"}}))
        << method.dump();
  }
  EXPECT_FALSE(called);
}

// --- TLS contexts and streams (tls.h) ---------------------------------------

const Identity& TestIdentity() { return testing::SharedIdentity(kServerCommonName); }

// A plain OpenSSL context presenting `id` and judging nothing: the other end
// of the handshakes below, so that any refusal is ours.
SslCtxPtr PlainContext(TlsRole role, const Identity& id) {
  SslCtxPtr ctx(SSL_CTX_new(role == TlsRole::kServer ? TLS_server_method() : TLS_client_method()));
  SSL_CTX_use_certificate(ctx.get(), id.certificate.get());
  SSL_CTX_use_PrivateKey(ctx.get(), id.key.get());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

struct HandshakeResult {
  int server_rc = 0;
  int client_rc = 0;
};

// Both ends of one handshake in this thread, over a BIO pair.
HandshakeResult HandshakeOverBioPair(SSL* server, SSL* client) {
  BIO* bs = nullptr;
  BIO* bc = nullptr;
  BIO_new_bio_pair(&bs, 0, &bc, 0);
  SSL_set_bio(server, bs, bs);
  SSL_set_bio(client, bc, bc);
  SSL_set_accept_state(server);
  SSL_set_connect_state(client);
  HandshakeResult r;
  auto pending = [](SSL* ssl, int rc) {
    if (rc == 1) return false;
    const int e = SSL_get_error(ssl, rc);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
  };
  r.client_rc = SSL_do_handshake(client);
  r.server_rc = SSL_do_handshake(server);
  for (int i = 0; i < 20 && (pending(client, r.client_rc) || pending(server, r.server_rc)); ++i) {
    if (pending(client, r.client_rc)) r.client_rc = SSL_do_handshake(client);
    if (pending(server, r.server_rc)) r.server_rc = SSL_do_handshake(server);
  }
  // With TLS 1.3 the server judges the client's certificate after the
  // client is done; let the client read the verdict.
  if (r.client_rc == 1) {
    char byte;
    const int n = SSL_read(client, &byte, 1);
    if (n <= 0 && SSL_get_error(client, n) != SSL_ERROR_WANT_READ) r.client_rc = -1;
  }
  ERR_clear_error();
  return r;
}

TEST(TlsContext, BothRolesRefuseEverythingBelowTls12) {
  for (TlsRole role : {TlsRole::kServer, TlsRole::kClient}) {
    auto ctx = MakeTlsContext(role, TestIdentity());
    ASSERT_TRUE(ctx.ok()) << ctx.status().message();
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->get()), TLS1_2_VERSION);
    EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx->get()), 0);  // up to the newest, TLS 1.3
  }
}

// A connection made from our contexts without going through TlsStream has no
// peer check attached: it must refuse every certificate, not accept them all.
TEST(TlsContext, AClientWithNoPeerCheckAttachedRefusesTheServer) {
  auto ours = MakeTlsContext(TlsRole::kClient, TestIdentity());
  ASSERT_TRUE(ours.ok());
  SslCtxPtr theirs = PlainContext(TlsRole::kServer, TestIdentity());
  SslPtr client(SSL_new(ours->get()));
  SslPtr server(SSL_new(theirs.get()));
  const HandshakeResult r = HandshakeOverBioPair(server.get(), client.get());
  EXPECT_NE(r.client_rc, 1);
  EXPECT_EQ(SSL_get_verify_result(client.get()), X509_V_ERR_APPLICATION_VERIFICATION);
}

TEST(TlsContext, AServerWithNoPeerCheckAttachedRefusesEveryClientCertificate) {
  auto ours = MakeTlsContext(TlsRole::kServer, TestIdentity());
  ASSERT_TRUE(ours.ok());
  SslCtxPtr theirs = PlainContext(TlsRole::kClient, TestIdentity());
  SslPtr server(SSL_new(ours->get()));
  SslPtr client(SSL_new(theirs.get()));
  const HandshakeResult r = HandshakeOverBioPair(server.get(), client.get());
  EXPECT_NE(r.server_rc, 1);
  EXPECT_NE(r.client_rc, 1);
}

const Identity& TentacleIdentity() { return testing::SharedIdentity(kTentacleCommonName); }

// One handshake between TlsStream::Accept (the Tentacle's end) and
// TlsStream::Connect (the Server's end) over a socket pair.
struct StreamHandshake {
  Status server;            // Accept's outcome
  std::string refused;      // Accept's *refused
  std::string server_peer;  // the client thumbprint Accept ended with
  Status client;            // Connect's outcome
  PeerCertificate presented;
  std::string client_peer;
};

// `Pins`: one thumbprint (std::string) or a set (std::vector<std::string>).
template <typename Pins>
StreamHandshake HandshakeOverSocketPair(const PeerCheck& accept, const Pins& pinned) {
  StreamHandshake r;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    r.server = r.client = Internal("socketpair");
    return r;
  }
  auto server_ctx = MakeTlsContext(TlsRole::kServer, TentacleIdentity());
  auto client_ctx = MakeTlsContext(TlsRole::kClient, TestIdentity());
  std::thread tentacle([&] {
    auto s = TlsStream::Accept(Fd(sv[0]), server_ctx->get(), accept, DeadlineIn(std::chrono::seconds(5)), &r.refused);
    r.server = s.status();
    if (s.ok()) {
      r.server_peer = s->peer_thumbprint();
      s->Close(DeadlineIn(std::chrono::milliseconds(500)));
    }
  });
  {
    auto c = TlsStream::Connect(Fd(sv[1]), client_ctx->get(), pinned, DeadlineIn(std::chrono::seconds(5)),
                                &r.presented);
    r.client = c.status();
    if (c.ok()) {
      r.client_peer = c->peer_thumbprint();
      (void)c->Read(1, DeadlineIn(std::chrono::seconds(5)));  // until the Tentacle's verdict
    }
  }
  tentacle.join();
  return r;
}

TEST(TlsStream, EachEndLetsThroughOnlyWhatItsCheckAccepts) {
  const std::string server_tp = Thumbprint(TestIdentity().certificate.get());
  const std::string tentacle_tp = Thumbprint(TentacleIdentity().certificate.get());
  const auto trusts = [server_tp](const std::string& tp) { return tp == server_tp; };
  const auto refuses = [](const std::string&) { return false; };
  const auto any = [](const std::string&) { return true; };
  struct Case {
    const char* what;
    PeerCheck accept;
    std::string pinned;
    bool server_ok, client_ok;
    std::string refused;    // by the Tentacle
    std::string presented;  // to the Server, when it refused
  };
  const Case cases[] = {
      {"both trust", trusts, tentacle_tp, true, true, "", ""},
      {"the Tentacle refuses", refuses, tentacle_tp, false, true, server_tp, ""},
      {"an empty check refuses", PeerCheck(), tentacle_tp, false, true, server_tp, ""},
      {"the pin differs", any, std::string(40, 'A'), false, false, "", tentacle_tp},
      {"an empty pin", any, "", false, false, "", tentacle_tp},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const StreamHandshake r = HandshakeOverSocketPair(c.accept, c.pinned);
    EXPECT_EQ(r.server.ok(), c.server_ok) << r.server.message();
    EXPECT_EQ(r.refused, c.refused);
    if (!c.refused.empty()) {
      EXPECT_EQ(r.server.code(), StatusCode::kPermissionDenied);
    }
    if (c.client_ok) {
      // With TLS 1.3 our end is done before the Tentacle has judged us.
      EXPECT_TRUE(r.client.ok()) << r.client.message();
      EXPECT_EQ(r.client_peer, tentacle_tp);
    } else {
      EXPECT_EQ(r.client.code(), StatusCode::kPermissionDenied) << r.client.message();
      EXPECT_EQ(r.presented.thumbprint, c.presented);
      EXPECT_EQ(r.presented.subject, "CN=Octopus Tentacle");
      EXPECT_EQ(r.server_peer, "");  // the Tentacle never got our certificate
    }
    if (c.server_ok) {
      EXPECT_EQ(r.server_peer, server_tp);
    }
  }
}

// The Server pins a set during a rotation: the Tentacle gets through with
// any pin of it; with none (or an empty set) the handshake stops at the
// Tentacle's certificate, before ours is sent.
TEST(TlsStream, ConnectAcceptsAnyPinOfTheSet) {
  const std::string server_tp = Thumbprint(TestIdentity().certificate.get());
  const std::string tentacle_tp = Thumbprint(TentacleIdentity().certificate.get());
  const std::string other(40, 'A');
  const auto any = [](const std::string&) { return true; };
  struct Case {
    const char* what;
    std::vector<std::string> pinned;
    bool client_ok;
  };
  const Case cases[] = {
      {"the first of two", {tentacle_tp, other}, true},
      {"the second of two", {other, tentacle_tp}, true},
      {"none of two", {other, std::string(40, 'B')}, false},
      {"an empty set", {}, false},
      {"an empty pin", {""}, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const StreamHandshake r = HandshakeOverSocketPair(PeerCheck(any), c.pinned);
    if (c.client_ok) {
      EXPECT_TRUE(r.client.ok()) << r.client.message();
      EXPECT_EQ(r.client_peer, tentacle_tp);  // which pin matched
      EXPECT_TRUE(r.server.ok()) << r.server.message();
      EXPECT_EQ(r.server_peer, server_tp);
    } else {
      EXPECT_EQ(r.client.code(), StatusCode::kPermissionDenied) << r.client.message();
      EXPECT_EQ(r.presented.thumbprint, tentacle_tp);
      EXPECT_EQ(r.presented.subject, "CN=Octopus Tentacle");
      EXPECT_FALSE(r.server.ok());
      EXPECT_EQ(r.server_peer, "");  // the Tentacle never got our certificate
    }
  }
}

}  // namespace
}  // namespace octo
