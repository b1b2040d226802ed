// The library's seam to TCP and Unix sockets (POSIX), with deadlines on
// every wait. Sockets are non-blocking; waits use poll().
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/base/status.h"

namespace octo {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline DeadlineIn(std::chrono::milliseconds d) { return Clock::now() + d; }

// The current time, UTC, ISO 8601 to the second: "2026-11-27T00:13:08Z".
std::string UtcNowIso8601();

// An owned file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// "host:port" split; IPv6 in brackets ("[::1]:10933"). InvalidArgument otherwise.
struct HostPort {
  std::string host;
  int port = 0;
};
Result<HostPort> ParseHostPort(const std::string& text);

// An IPv4 or IPv6 address in its canonical text ("::1", "10.0.0.1"), or
// nullopt when `text` is not one.
std::optional<std::string> NormalizeIp(const std::string& text);

// A listen address as the configure commands take it: "any" (any case) or
// "" is every address (""), else an IP address in its canonical text.
// InvalidArgument "'X' is not an IPv4 or IPv6 address, or 'any'" otherwise.
Result<std::string> ParseListenAddress(const std::string& text);

// Parses "https://HOST:PORT" (a trailing "/" is allowed). InvalidArgument
// naming the value otherwise.
Result<HostPort> ParseHttpsUrl(const std::string& url);

// Listens on `ip` ("" for every address) and `port` (0 picks a free one).
// Fails with the OS's reason, e.g. "Address already in use".
Result<Fd> ListenTcp(const std::string& ip, int port, int backlog = 512);
// The local port a bound socket listens on.
int LocalPort(int fd);

// Connects within the deadline. Unavailable ("connect: Connection refused")
// when nothing listens there, DeadlineExceeded ("timed out") when no answer
// came in time, NotFound when the host does not resolve; with several
// addresses, the last one's error.
Result<Fd> ConnectTcp(const HostPort& target, Deadline deadline);

// Waits until `fd` is readable (events = POLLIN) or writable (POLLOUT).
// DeadlineExceeded "timed out" when the deadline passes. Every wait in the
// library goes through here, so every timeout has that code.
Status WaitFd(int fd, short events, Deadline deadline);

// The peer's address as "IP:PORT".
std::string PeerAddress(int fd);

// Unix domain sockets for the local control channel. ConnectUnix gives
// Unavailable when nobody listens on `path` (refused, or no socket there),
// DeadlineExceeded when the listener does not accept in time.
Result<Fd> ListenUnix(const std::string& path, mode_t mode);
Result<Fd> ConnectUnix(const std::string& path, Deadline deadline);

// Reads/writes plain bytes on a non-blocking fd within the deadline.
Status WriteAllFd(int fd, const std::string& data, Deadline deadline);
// Reads one '\n'-terminated line (without it) of at most `max` bytes.
Result<std::string> ReadLineFd(int fd, size_t max, Deadline deadline);

void SetNonBlocking(int fd);

// Takes one waiting connection from a listening socket, non-blocking and
// not inherited by child processes; nullopt when none is waiting.
std::optional<Fd> AcceptSocket(int listener);

// Shuts both directions of a connected socket, so that whoever waits on it
// sees the end (close() alone does not wake a thread blocked on it).
void ShutdownSocket(int fd);

// True when `fd` is readable, hung up or failed right now (a poll that
// does not wait).
bool ReadableNow(int fd);

// The calling thread's last socket error (errno on POSIX, WSAGetLastError()
// on Windows), and its text ("Connection reset by peer").
int LastSocketError();
std::string SocketErrorText(int err);

// Raises this process's soft limit on open descriptors to its hard limit
// (a service holding thousands of connections needs more than the usual
// 1,024); returns the soft limit in force afterwards.
size_t RaiseDescriptorLimit();

}  // namespace octo
