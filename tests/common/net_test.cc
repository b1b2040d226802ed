// Sockets with deadlines (net.h) and the codes their failures carry: callers
// decide by code (a refused connection, a deadline), never by the text.
#include "common/base/net.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <csignal>
#include <cstring>
#include <thread>

#include "common/crypto/certificate.h"
#include "common/channel/control.h"
#include "common/crypto/tls.h"
#include "support/identities.h"
#include "support/temp_dir.h"

namespace octo {
namespace {

[[maybe_unused]] const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// A loopback port nothing listens on: bound once, then closed.
int ClosedPort() {
  auto fd = ListenTcp("127.0.0.1", 0);
  EXPECT_TRUE(fd.ok());
  return fd.ok() ? LocalPort(fd->get()) : 1;
}

struct SocketPair {
  SocketPair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    a = Fd(sv[0]);
    b = Fd(sv[1]);
  }
  Fd a, b;
};

TEST(ConnectTcp, NothingListeningIsUnavailable) {
  auto fd = ConnectTcp({"127.0.0.1", ClosedPort()}, DeadlineIn(std::chrono::seconds(5)));
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(fd.status().message(), "connect: Connection refused");
}

TEST(WaitFd, APassedDeadlineIsDeadlineExceeded) {
  SocketPair p;
  const Status st = WaitFd(p.a.get(), POLLIN, DeadlineIn(std::chrono::milliseconds(50)));
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(st.message(), "timed out");
}

TEST(ReadLineFd, AReadPastItsDeadlineIsDeadlineExceeded) {
  SocketPair p;
  ASSERT_TRUE(WriteAllFd(p.b.get(), "no newline yet", DeadlineIn(std::chrono::seconds(1))).ok());
  auto line = ReadLineFd(p.a.get(), 1024, DeadlineIn(std::chrono::milliseconds(100)));
  ASSERT_FALSE(line.ok());
  EXPECT_EQ(line.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(line.status().message(), "timed out");
  // A clean close is not a deadline.
  p.b.reset();
  auto closed = ReadLineFd(p.a.get(), 1024, DeadlineIn(std::chrono::seconds(1)));
  EXPECT_EQ(closed.status().code(), StatusCode::kFailedPrecondition);
}

const Identity& ServerId() { return testing::SharedIdentity(kServerCommonName); }
const Identity& TentacleId() { return testing::SharedIdentity(kTentacleCommonName); }

TEST(TlsStream, AHandshakeNobodyAnswersIsDeadlineExceeded) {
  SocketPair p;  // p.b never says a word
  auto ctx = MakeTlsContext(TlsRole::kClient, ServerId());
  ASSERT_TRUE(ctx.ok());
  auto s = TlsStream::Connect(std::move(p.a), ctx->get(), std::string(40, 'A'),
                              DeadlineIn(std::chrono::milliseconds(100)));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(s.status().message(), "timed out");
}

TEST(TlsStream, AReadPastItsDeadlineIsDeadlineExceeded) {
  SocketPair p;
  auto server_ctx = MakeTlsContext(TlsRole::kServer, TentacleId());
  auto client_ctx = MakeTlsContext(TlsRole::kClient, ServerId());
  ASSERT_TRUE(server_ctx.ok() && client_ctx.ok());
  const std::string server_tp = Thumbprint(ServerId().certificate.get());
  Status accepted;
  std::thread tentacle([&] {
    auto s = TlsStream::Accept(std::move(p.b), server_ctx->get(),
                               [&](const std::string& tp) { return tp == server_tp; },
                               DeadlineIn(std::chrono::seconds(5)));
    accepted = s.status();
    // Say nothing until the client has given up, then close.
    if (s.ok()) (void)s->Read(1, DeadlineIn(std::chrono::seconds(5)));
  });
  auto c = TlsStream::Connect(std::move(p.a), client_ctx->get(), Thumbprint(TentacleId().certificate.get()),
                              DeadlineIn(std::chrono::seconds(5)));
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto got = c->Read(1, DeadlineIn(std::chrono::milliseconds(200)));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(got.status().message(), "timed out");
  c->Close(DeadlineIn(std::chrono::milliseconds(200)));
  tentacle.join();
  EXPECT_TRUE(accepted.ok()) << accepted.message();
}

// A Unix socket path with a socket bound but not listening: connect is refused.
TEST(ConnectUnix, NoSocketOrNoListenerIsUnavailable) {
  octo::testing::TempDir dir;
  const std::string missing = dir.path() + "/missing.sock";
  auto none = ConnectUnix(missing, DeadlineIn(std::chrono::seconds(1)));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(none.status().message(), "cannot connect to " + missing + ": No such file or directory");

  const std::string bound = dir.path() + "/bound.sock";
  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, bound.c_str(), sizeof a.sun_path - 1);
  ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  auto refused = ConnectUnix(bound, DeadlineIn(std::chrono::seconds(1)));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(refused.status().message(), "cannot connect to " + bound + ": Connection refused");
}

TEST(SendControlRequest, NoServiceIsUnavailable) {
  octo::testing::TempDir dir;
  const std::string path = dir.path() + "/service.sock";
  auto reply = SendControlRequest(path, Json{{"Command", "status"}}, DeadlineIn(std::chrono::seconds(1)));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(reply.status().message(), "the service is not running (nothing listens on " + path + ")");
}

}  // namespace
}  // namespace octo
