// The sockets of net.h on Windows (Winsock 2; net_posix.cc on POSIX).
//
// An Fd holds a SOCKET as an int, as OpenSSL's SSL_set_fd does on Windows
// (socket handles fit in 32 bits). Waits use WSAPoll. The Unix-socket
// functions are for the control channel, which on Windows is to be a named
// pipe: they are not available yet.
#include "common/base/net.h"

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <winsock2.h>
#include <ws2tcpip.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>

#include "common/base/file_util.h"

namespace octo {

namespace {

// Winsock must be started once per process before any socket call.
void StartWinsock() {
  static std::once_flag once;
  std::call_once(once, [] {
    WSADATA data{};
    ::WSAStartup(MAKEWORD(2, 2), &data);
  });
}

SOCKET S(int fd) { return static_cast<SOCKET>(fd); }

int AsFd(SOCKET s) { return s == INVALID_SOCKET ? -1 : static_cast<int>(s); }

// A Winsock error as net_posix.cc reports the same POSIX error: refused is
// Unavailable, timed out DeadlineExceeded, the rest by Win32Error.
Status SocketError(const std::string& what, int err) {
  if (err == WSAECONNREFUSED) return Unavailable(what + ": Connection refused");
  if (err == WSAETIMEDOUT) return DeadlineExceeded("timed out");
  if (err == WSAEADDRINUSE) return Internal(what + ": Address already in use");
  return Win32Error(what, static_cast<unsigned long>(err));
}

// The sockets this process has shut down (ShutdownSocket) and not yet
// closed. A WSAPoll need not report a socket shut down on this side, where
// poll on Linux does at once (wine 8.0's never does; Windows documents no
// such event), so WaitFd looks here between its slices: a thread waiting to
// read a connection another thread ended sees the end within a slice.
std::mutex g_shut_mu;
std::set<SOCKET>& ShutHere() {
  static std::set<SOCKET> shut;  // guarded by g_shut_mu
  return shut;
}
bool WasShutHere(SOCKET s) {
  std::lock_guard<std::mutex> lock(g_shut_mu);
  return ShutHere().count(s) != 0;
}

}  // namespace

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

void Fd::reset(int fd) {
  if (fd_ >= 0) {
    {
      // Before closesocket: a new socket may get the same handle at once.
      std::lock_guard<std::mutex> lock(g_shut_mu);
      ShutHere().erase(S(fd_));
    }
    ::closesocket(S(fd_));
  }
  fd_ = fd;
}

bool ReadableNow(int fd) {
  WSAPOLLFD p{S(fd), POLLRDNORM, 0};
  return ::WSAPoll(&p, 1, 0) != 0;
}

int LastSocketError() { return ::WSAGetLastError(); }

std::string SocketErrorText(int err) {
  // Win32Error's message without its "what: " prefix.
  const std::string msg = Win32Error("", static_cast<unsigned long>(err)).message();
  return msg.size() > 2 ? msg.substr(2) : msg;
}

void SetNonBlocking(int fd) {
  u_long on = 1;
  ::ioctlsocket(S(fd), FIONBIO, &on);
}

std::optional<Fd> AcceptSocket(int listener) {
  SOCKET c = ::accept(S(listener), nullptr, nullptr);
  if (c == INVALID_SOCKET) return std::nullopt;
  Fd fd(AsFd(c));
  ::SetHandleInformation(reinterpret_cast<HANDLE>(c), HANDLE_FLAG_INHERIT, 0);
  SetNonBlocking(fd.get());
  return fd;
}

void ShutdownSocket(int fd) {
  {
    std::lock_guard<std::mutex> lock(g_shut_mu);
    ShutHere().insert(S(fd));
  }
  ::shutdown(S(fd), SD_BOTH);
}

Result<Fd> ListenTcp(const std::string& ip, int port, int backlog) {
  StartWinsock();
  const bool v6 = ip.find(':') != std::string::npos;
  Fd fd(AsFd(::WSASocketW(v6 || ip.empty() ? AF_INET6 : AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT)));
  if (!fd.valid()) return SocketError("cannot create a socket", ::WSAGetLastError());
  // Not SO_REUSEADDR: on Windows it lets another process take a port in use.
  // SO_EXCLUSIVEADDRUSE is what keeps our port ours.
  BOOL one = TRUE;
  ::setsockopt(S(fd.get()), SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&one), sizeof one);
  const std::string where = (ip.empty() ? std::string("*") : ip) + ":" + std::to_string(port);
  int rc;
  if (v6 || ip.empty()) {
    DWORD zero = 0;
    ::setsockopt(S(fd.get()), IPPROTO_IPV6, IPV6_V6ONLY, reinterpret_cast<const char*>(&zero), sizeof zero);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<u_short>(port));
    a.sin6_addr = in6addr_any;
    if (!ip.empty() && ::inet_pton(AF_INET6, ip.c_str(), &a.sin6_addr) != 1) {
      return InvalidArgument("'" + ip + "' is not an IP address");
    }
    rc = ::bind(S(fd.get()), reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<u_short>(port));
    if (::inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) return InvalidArgument("'" + ip + "' is not an IP address");
    rc = ::bind(S(fd.get()), reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc != 0) return SocketError("cannot listen on " + where, ::WSAGetLastError());
  if (::listen(S(fd.get()), backlog) != 0) return SocketError("cannot listen on " + where, ::WSAGetLastError());
  SetNonBlocking(fd.get());
  return fd;
}

Status WaitFd(int fd, short events, Deadline deadline) {
  // POLLIN/POLLOUT as the POSIX callers pass them; WSAPoll wants the
  // normal-data bits only (POLLPRI is refused).
  const short want = static_cast<short>(((events & POLLIN) != 0 ? POLLRDNORM : 0) |
                                        ((events & POLLOUT) != 0 ? POLLWRNORM : 0));
  for (;;) {
    // Ended on this side: what the caller does next fails at once, saying so.
    if (WasShutHere(S(fd))) return Status::Ok();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return DeadlineExceeded("timed out");
    WSAPOLLFD p{S(fd), want, 0};
    int n = ::WSAPoll(&p, 1, static_cast<INT>(std::min<long long>(left, 100)));
    if (n > 0) return Status::Ok();
    if (n < 0) return SocketError("poll", ::WSAGetLastError());
  }
}

Result<Fd> ConnectTcp(const HostPort& target, Deadline deadline) {
  StartWinsock();
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int gai = ::getaddrinfo(target.host.c_str(), std::to_string(target.port).c_str(), &hints, &res);
  if (gai != 0) return NotFound("cannot resolve " + target.host + ": " + gai_strerrorA(gai));
  Status last = Internal("no address");
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    Fd fd(AsFd(::WSASocketW(ai->ai_family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT)));
    if (!fd.valid()) {
      last = SocketError("socket", ::WSAGetLastError());
      continue;
    }
    SetNonBlocking(fd.get());
    int rc = ::connect(S(fd.get()), ai->ai_addr, static_cast<int>(ai->ai_addrlen));
    if (rc != 0 && ::WSAGetLastError() != WSAEWOULDBLOCK) {
      last = SocketError("connect", ::WSAGetLastError());
      continue;
    }
    if (rc != 0) {
      // A refused connect shows as an error on the socket, which WSAPoll
      // reports (POLLERR/POLLHUP) on Windows 10 2004 and later and wine.
      Status w = WaitFd(fd.get(), POLLOUT, deadline);
      if (!w.ok()) {
        last = w;
        continue;
      }
      int err = 0;
      int len = sizeof err;
      ::getsockopt(S(fd.get()), SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&err), &len);
      if (err != 0) {
        last = SocketError("connect", err);
        continue;
      }
    }
    BOOL one = TRUE;
    ::setsockopt(S(fd.get()), IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one), sizeof one);
    ::freeaddrinfo(res);
    return fd;
  }
  ::freeaddrinfo(res);
  return last;
}

Result<Fd> ListenUnix(const std::string& path, mode_t /*mode*/) {
  return FailedPrecondition("cannot listen on " + path +
                            ": the control channel is not available on Windows yet (a named pipe is planned)");
}

Result<Fd> ConnectUnix(const std::string& path, Deadline /*deadline*/) {
  return Unavailable("cannot connect to " + path + ": the control channel is not available on Windows yet");
}

Status WriteAllFd(int fd, const std::string& data, Deadline deadline) {
  size_t off = 0;
  while (off < data.size()) {
    const int chunk = static_cast<int>(std::min<size_t>(data.size() - off, 1 << 30));
    int n = ::send(S(fd), data.data() + off, chunk, 0);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n == SOCKET_ERROR && ::WSAGetLastError() == WSAEWOULDBLOCK) {
      OCTO_RETURN_IF_ERROR(WaitFd(fd, POLLOUT, deadline));
    } else {
      return SocketError("write", ::WSAGetLastError());
    }
  }
  return Status::Ok();
}

Result<std::string> ReadLineFd(int fd, size_t max, Deadline deadline) {
  // As on POSIX: peek, then take up to the newline only.
  std::string line;
  char buf[64 * 1024];
  for (;;) {
    int n = ::recv(S(fd), buf, sizeof buf, MSG_PEEK);
    if (n > 0) {
      const char* nl = static_cast<const char*>(std::memchr(buf, '\n', static_cast<size_t>(n)));
      const int take = nl != nullptr ? static_cast<int>(nl - buf) + 1 : n;
      int got = ::recv(S(fd), buf, take, 0);
      if (got != take) return SocketError("read", ::WSAGetLastError());
      const size_t content = static_cast<size_t>(nl != nullptr ? take - 1 : take);
      if (line.size() + content > max) return InvalidArgument("line too long");
      line.append(buf, content);
      if (nl != nullptr) return line;
    } else if (n == 0) {
      return FailedPrecondition("the connection was closed");
    } else if (::WSAGetLastError() == WSAEWOULDBLOCK) {
      OCTO_RETURN_IF_ERROR(WaitFd(fd, POLLIN, deadline));
    } else {
      return SocketError("read", ::WSAGetLastError());
    }
  }
}

// Windows has no per-process limit on sockets like RLIMIT_NOFILE: what
// bounds them is memory. The figure is what the Server then plans for.
size_t RaiseDescriptorLimit() { return size_t{1} << 20; }

}  // namespace octo
