// The Poller on Windows: WSAPoll over the watched sockets, and a UDP socket
// on loopback that is sent a byte to wake it.
//
// Unlike epoll, WSAPoll has no kernel-side set: each Wait passes the whole
// list, so a Wait costs time in proportion to the sockets watched, and a
// socket added or removed during a Wait is seen at the next one (Add and
// Remove wake the current Wait for that).
#include "common/base/poller.h"

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <winsock2.h>
#include <ws2tcpip.h>

#include <map>
#include <mutex>

namespace octo {

namespace {

struct Entry {
  uint64_t token;
  bool once;
  bool fired;  // a one-shot that was reported: not watched until re-added
};

}  // namespace

struct Poller::Impl {
  SOCKET wake = INVALID_SOCKET;
  sockaddr_in wake_addr{};
  std::mutex mu;
  std::map<SOCKET, Entry> watched;  // guarded by mu
  std::vector<WSAPOLLFD> fds;       // the Wait thread's own
};

Poller::Poller() : impl_(std::make_unique<Impl>()) {}

Poller::~Poller() {
  if (impl_->wake != INVALID_SOCKET) ::closesocket(impl_->wake);
}

Status Poller::Open() {
  WSADATA data{};
  if (::WSAStartup(MAKEWORD(2, 2), &data) != 0) return Internal("cannot start Winsock");
  impl_->wake = ::WSASocketW(AF_INET, SOCK_DGRAM, IPPROTO_UDP, nullptr, 0, WSA_FLAG_NO_HANDLE_INHERIT);
  if (impl_->wake == INVALID_SOCKET) return Internal("cannot create the wake-up socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  int len = sizeof a;
  if (::bind(impl_->wake, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(impl_->wake, reinterpret_cast<sockaddr*>(&impl_->wake_addr), &len) != 0) {
    return Internal("cannot bind the wake-up socket");
  }
  u_long on = 1;
  ::ioctlsocket(impl_->wake, FIONBIO, &on);
  return Status::Ok();
}

bool Poller::is_open() const { return impl_->wake != INVALID_SOCKET; }

bool Poller::Add(int fd, uint64_t token, bool once) {
  if (!is_open()) return false;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->watched.emplace(static_cast<SOCKET>(fd), Entry{token, once, false}).second) return false;
  }
  Wake();
  return true;
}

void Poller::Remove(int fd) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->watched.erase(static_cast<SOCKET>(fd));
  }
  Wake();
}

void Poller::Wait(int timeout_ms, std::vector<uint64_t>* ready) {
  auto& fds = impl_->fds;
  fds.clear();
  fds.push_back(WSAPOLLFD{impl_->wake, POLLRDNORM, 0});
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (const auto& [s, e] : impl_->watched) {
      if (!e.fired) fds.push_back(WSAPOLLFD{s, POLLRDNORM, 0});
    }
  }
  const int n = ::WSAPoll(fds.data(), static_cast<ULONG>(fds.size()), timeout_ms);
  if (n <= 0) return;
  if (fds[0].revents != 0) {
    char buf[64];
    while (::recv(impl_->wake, buf, sizeof buf, 0) > 0) {
    }
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (size_t i = 1; i < fds.size(); ++i) {
    if ((fds[i].revents & (POLLRDNORM | POLLHUP | POLLERR | POLLNVAL)) == 0) continue;
    auto it = impl_->watched.find(fds[i].fd);
    if (it == impl_->watched.end() || it->second.fired) continue;  // removed meanwhile
    if (it->second.once) it->second.fired = true;
    ready->push_back(it->second.token);
  }
}

void Poller::Wake() {
  if (impl_->wake == INVALID_SOCKET) return;
  ::sendto(impl_->wake, "x", 1, 0, reinterpret_cast<const sockaddr*>(&impl_->wake_addr), sizeof impl_->wake_addr);
}

}  // namespace octo
