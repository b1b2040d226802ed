// The sockets of net.h on POSIX (net_win.cc on Windows).
#include "common/base/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/base/file_util.h"

namespace octo {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

namespace {

// A failed connect: Unavailable when nothing listens there (refused, or for a
// Unix socket no socket file), else what PosixError makes of it. The message
// is PosixError's either way.
Status ConnectError(const std::string& what, int err, bool missing_is_unavailable = false) {
  if (err == ECONNREFUSED || (missing_is_unavailable && err == ENOENT)) {
    return Unavailable(what + ": " + std::strerror(err));
  }
  return PosixError(what, err);
}

}  // namespace

bool ReadableNow(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

int LastSocketError() { return errno; }

std::string SocketErrorText(int err) { return std::strerror(err); }

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

std::optional<Fd> AcceptSocket(int listener) {
  int c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (c < 0) return std::nullopt;
  return Fd(c);
}

void ShutdownSocket(int fd) { ::shutdown(fd, SHUT_RDWR); }

Result<Fd> ListenTcp(const std::string& ip, int port, int backlog) {
  const bool v6 = ip.find(':') != std::string::npos;
  Fd fd(::socket(v6 || ip.empty() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return PosixError("cannot create a socket", errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const std::string where = (ip.empty() ? std::string("*") : ip) + ":" + std::to_string(port);
  int rc;
  if (v6 || ip.empty()) {
    int zero = 0;
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    a.sin6_addr = in6addr_any;
    if (!ip.empty() && inet_pton(AF_INET6, ip.c_str(), &a.sin6_addr) != 1) {
      return InvalidArgument("'" + ip + "' is not an IP address");
    }
    rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) return InvalidArgument("'" + ip + "' is not an IP address");
    rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc != 0) return PosixError("cannot listen on " + where, errno);
  if (::listen(fd.get(), backlog) != 0) return PosixError("cannot listen on " + where, errno);
  SetNonBlocking(fd.get());
  return fd;
}

Status WaitFd(int fd, short events, Deadline deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return DeadlineExceeded("timed out");
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (n > 0) return Status::Ok();
    if (n < 0 && errno != EINTR) return PosixError("poll", errno);
  }
}

Result<Fd> ConnectTcp(const HostPort& target, Deadline deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int gai = ::getaddrinfo(target.host.c_str(), std::to_string(target.port).c_str(), &hints, &res);
  if (gai != 0) return NotFound("cannot resolve " + target.host + ": " + gai_strerror(gai));
  Status last = Internal("no address");
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) {
      last = PosixError("socket", errno);
      continue;
    }
    int rc = ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
      last = ConnectError("connect", errno);
      continue;
    }
    if (rc != 0) {
      Status w = WaitFd(fd.get(), POLLOUT, deadline);
      if (!w.ok()) {
        last = w;
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last = ConnectError("connect", err);
        continue;
      }
    }
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::freeaddrinfo(res);
    return fd;
  }
  ::freeaddrinfo(res);
  return last;
}

Result<Fd> ListenUnix(const std::string& path, mode_t mode) {
  sockaddr_un a{};
  if (path.size() >= sizeof a.sun_path) return InvalidArgument("the socket path " + path + " is too long");
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return PosixError("socket", errno);
  ::unlink(path.c_str());
  mode_t old = ::umask(0777 & ~mode);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::umask(old);
  // No chmod afterwards: it would follow a symlink put in the socket's place;
  // the umask above already gave the socket its mode.
  if (rc != 0) return PosixError("cannot listen on " + path, errno);
  if (::listen(fd.get(), 64) != 0) return PosixError("cannot listen on " + path, errno);
  SetNonBlocking(fd.get());
  return fd;
}

Result<Fd> ConnectUnix(const std::string& path, Deadline deadline) {
  sockaddr_un a{};
  if (path.size() >= sizeof a.sun_path) return InvalidArgument("the socket path " + path + " is too long");
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return PosixError("socket", errno);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) return ConnectError("cannot connect to " + path, errno, true);
    OCTO_RETURN_IF_ERROR(WaitFd(fd.get(), POLLOUT, deadline));
  }
  return fd;
}

Status WriteAllFd(int fd, const std::string& data, Deadline deadline) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      OCTO_RETURN_IF_ERROR(WaitFd(fd, POLLOUT, deadline));
    } else {
      return PosixError("write", errno);
    }
  }
  return Status::Ok();
}

Result<std::string> ReadLineFd(int fd, size_t max, Deadline deadline) {
  // Looks at what has arrived (MSG_PEEK) and takes it up to the newline
  // only: bytes after the line stay for the next reader. One call per
  // chunk, not per byte: a health-check reply over thousands of targets is
  // megabytes long.
  std::string line;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_PEEK);
    if (n > 0) {
      const char* nl = static_cast<const char*>(std::memchr(buf, '\n', static_cast<size_t>(n)));
      const size_t take = nl != nullptr ? static_cast<size_t>(nl - buf) + 1 : static_cast<size_t>(n);
      ssize_t got = ::recv(fd, buf, take, 0);
      if (got != static_cast<ssize_t>(take)) return PosixError("read", errno);
      const size_t content = nl != nullptr ? take - 1 : take;
      if (line.size() + content > max) return InvalidArgument("line too long");
      line.append(buf, content);
      if (nl != nullptr) return line;
    } else if (n == 0) {
      return FailedPrecondition("the connection was closed");
    } else if (errno == EAGAIN || errno == EINTR) {
      OCTO_RETURN_IF_ERROR(WaitFd(fd, POLLIN, deadline));
    } else {
      return PosixError("read", errno);
    }
  }
}

}  // namespace octo

namespace octo {

size_t RaiseDescriptorLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  return lim.rlim_cur == RLIM_INFINITY ? size_t{1} << 20 : static_cast<size_t>(lim.rlim_cur);
}

}  // namespace octo
