#include "support/loopback.h"

#include <gtest/gtest.h>

#ifdef _WIN32
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <winsock2.h>
#else
#include <poll.h>
#include <sys/socket.h>
#endif

#include <chrono>

namespace octo::testing {

using namespace std::chrono_literals;

Fd AcceptOne(const Fd& listener) {
  if (!WaitFd(listener.get(), POLLIN, DeadlineIn(5s)).ok()) return Fd();
#ifdef _WIN32
  SOCKET s = ::accept(static_cast<SOCKET>(listener.get()), nullptr, nullptr);
  Fd fd(s == INVALID_SOCKET ? -1 : static_cast<int>(s));
#else
  Fd fd(::accept(listener.get(), nullptr, nullptr));
#endif
  if (fd.valid()) SetNonBlocking(fd.get());
  return fd;
}

Pair Connected() {
  Pair p;
  auto l = ListenTcp("127.0.0.1", 0);
  EXPECT_TRUE(l.ok()) << l.status().message();
  if (!l.ok()) return p;
  auto c = ConnectTcp({"127.0.0.1", LocalPort(l->get())}, DeadlineIn(5s));
  EXPECT_TRUE(c.ok()) << c.status().message();
  if (!c.ok()) return p;
  p.a = std::move(c).value();
  p.b = AcceptOne(*l);
  EXPECT_TRUE(p.b.valid());
  return p;
}

}  // namespace octo::testing
