// The Windows socket seam (src/common/base/net_win.cc): what the channel
// relies on, checked on loopback under wine64.
#include <gtest/gtest.h>

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <winsock2.h>

#include <chrono>
#include <thread>

#include "common/base/net.h"
#include "common/crypto/thumbprint.h"
#include "common/crypto/tls.h"
#include "support/identities.h"
#include "support/loopback.h"

namespace octo {
namespace {

using testing::AcceptOne;

TEST(WindowsNet, NothingListeningIsUnavailable) {
  // A port that was free a moment ago: listen, note it, close.
  int port = 0;
  {
    auto l = ListenTcp("127.0.0.1", 0);
    ASSERT_TRUE(l.ok()) << l.status().message();
    port = LocalPort(l->get());
  }
  auto c = ConnectTcp({"127.0.0.1", port}, DeadlineIn(std::chrono::seconds(5)));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable) << c.status().message();
  EXPECT_EQ(c.status().message(), "connect: Connection refused");
}

TEST(WindowsNet, LinesGoBothWaysAndBytesAfterALineStay) {
  auto l = ListenTcp("127.0.0.1", 0);
  ASSERT_TRUE(l.ok()) << l.status().message();
  const int port = LocalPort(l->get());
  ASSERT_GT(port, 0);
  auto c = ConnectTcp({"127.0.0.1", port}, DeadlineIn(std::chrono::seconds(5)));
  ASSERT_TRUE(c.ok()) << c.status().message();
  Fd server = AcceptOne(*l);
  ASSERT_TRUE(server.valid());
  EXPECT_EQ(PeerAddress(server.get()).rfind("127.0.0.1:", 0), 0u) << PeerAddress(server.get());
  EXPECT_EQ(PeerAddress(c->get()), "127.0.0.1:" + std::to_string(port));

  const auto deadline = DeadlineIn(std::chrono::seconds(5));
  ASSERT_TRUE(WriteAllFd(c->get(), "{\"Request\":\"ping\"}\nsecond line\n", deadline).ok());
  auto first = ReadLineFd(server.get(), 1024, deadline);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(*first, "{\"Request\":\"ping\"}");
  auto second = ReadLineFd(server.get(), 1024, deadline);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(*second, "second line");

  // A big reply (a health check of thousands of targets is megabytes).
  const std::string big(3 * 1024 * 1024, 'x');
  std::thread writer([&] { EXPECT_TRUE(WriteAllFd(server.get(), big + "\n", deadline).ok()); });
  auto back = ReadLineFd(c->get(), 8 * 1024 * 1024, deadline);
  writer.join();
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->size(), big.size());

  // The other side closing is seen as such.
  server.reset();
  auto closed = ReadLineFd(c->get(), 1024, DeadlineIn(std::chrono::seconds(5)));
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.status().message(), "the connection was closed");
}

TEST(WindowsNet, AReadPastItsDeadlineIsDeadlineExceeded) {
  auto l = ListenTcp("127.0.0.1", 0);
  ASSERT_TRUE(l.ok());
  auto c = ConnectTcp({"127.0.0.1", LocalPort(l->get())}, DeadlineIn(std::chrono::seconds(5)));
  ASSERT_TRUE(c.ok()) << c.status().message();
  Fd server = AcceptOne(*l);
  ASSERT_TRUE(server.valid());
  auto r = ReadLineFd(c->get(), 1024, DeadlineIn(std::chrono::milliseconds(100)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "timed out");
}

TEST(WindowsNet, AnAddressInUseIsRefusedWithTheReason) {
  auto first = ListenTcp("127.0.0.1", 0);
  ASSERT_TRUE(first.ok());
  const int port = LocalPort(first->get());
  auto second = ListenTcp("127.0.0.1", port);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(), "cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
}

TEST(WindowsNet, AddressesParseAsOnLinux) {
  EXPECT_EQ(NormalizeIp("10.0.0.1").value_or(""), "10.0.0.1");
  EXPECT_EQ(NormalizeIp("0:0:0:0:0:0:0:1").value_or(""), "::1");
  EXPECT_FALSE(NormalizeIp("tentacle.example").has_value());
  auto hp = ParseHttpsUrl("https://[::1]:10943/");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 10943);
}

TEST(WindowsNet, TheControlChannelIsNotThereYetAndSaysSo) {
  auto l = ListenUnix("C:\\Octopus\\Tentacle\\control.sock", 0600);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message(),
            "cannot listen on C:\\Octopus\\Tentacle\\control.sock: the control channel is not available on Windows yet "
            "(a named pipe is planned)");
}

}  // namespace
}  // namespace octo

namespace octo {
namespace {

// One mutual-TLS handshake over loopback, as the Server (client) and the
// Tentacle (server) make it, under wine: the pins decide, lines go both ways.
struct Handshake {
  Status server_status = Status::Ok();
  Status client_status = Status::Ok();
  std::string server_saw;  // the client's thumbprint, as the server's check saw it
  std::string line;        // what the server read
};

Handshake RunHandshake(const Identity& server_id, const Identity& client_id, const std::string& client_pins) {
  Handshake h;
  auto server_ctx = MakeTlsContext(TlsRole::kServer, server_id);
  auto client_ctx = MakeTlsContext(TlsRole::kClient, client_id);
  EXPECT_TRUE(server_ctx.ok() && client_ctx.ok());
  auto l = ListenTcp("127.0.0.1", 0);
  EXPECT_TRUE(l.ok());
  if (!server_ctx.ok() || !client_ctx.ok() || !l.ok()) return h;
  const int port = LocalPort(l->get());
  std::thread server([&] {
    Fd fd = testing::AcceptOne(*l);
    if (!fd.valid()) return;
    auto st = TlsStream::Accept(std::move(fd), server_ctx->get(),
                                [&](const std::string& tp) {
                                  h.server_saw = tp;
                                  return true;
                                },
                                DeadlineIn(std::chrono::seconds(10)));
    h.server_status = st.status();
    if (!st.ok()) return;
    auto line = st->ReadLine(1024, DeadlineIn(std::chrono::seconds(10)));
    if (line.ok()) h.line = *line;
    (void)st->Write("pong\n", DeadlineIn(std::chrono::seconds(10)));
  });
  auto fd = ConnectTcp({"127.0.0.1", port}, DeadlineIn(std::chrono::seconds(10)));
  EXPECT_TRUE(fd.ok()) << fd.status().message();
  if (fd.ok()) {
    auto c = TlsStream::Connect(std::move(fd).value(), client_ctx->get(), client_pins,
                                DeadlineIn(std::chrono::seconds(10)));
    h.client_status = c.status();
    if (c.ok()) {
      EXPECT_TRUE(c->Write("ping\n", DeadlineIn(std::chrono::seconds(10))).ok());
      auto back = c->ReadLine(1024, DeadlineIn(std::chrono::seconds(10)));
      EXPECT_TRUE(back.ok() && *back == "pong") << (back.ok() ? *back : back.status().message());
      EXPECT_EQ(c->protocol(), "TLSv1.3");
    }
  }
  server.join();
  return h;
}

TEST(WindowsTls, AMutualHandshakeWithTheRightPinCarriesLines) {
  const Identity& tentacle = testing::SharedIdentity(kTentacleCommonName);
  const Identity& server = testing::SharedIdentity(kServerCommonName);
  Handshake h = RunHandshake(tentacle, server, Thumbprint(tentacle.certificate.get()));
  EXPECT_TRUE(h.client_status.ok()) << h.client_status.message();
  EXPECT_TRUE(h.server_status.ok()) << h.server_status.message();
  EXPECT_EQ(h.server_saw, Thumbprint(server.certificate.get()));
  EXPECT_EQ(h.line, "ping");
}

TEST(WindowsTls, AnotherCertificateThanThePinIsRefused) {
  const Identity& tentacle = testing::SharedIdentity(kTentacleCommonName);
  const Identity& server = testing::SharedIdentity(kServerCommonName);
  Handshake h = RunHandshake(tentacle, server, std::string(40, 'A'));
  EXPECT_EQ(h.client_status.code(), StatusCode::kPermissionDenied) << h.client_status.message();
  EXPECT_FALSE(h.server_status.ok());
  EXPECT_EQ(h.server_saw, "");  // refused before the client sent its certificate
}

}  // namespace
}  // namespace octo
