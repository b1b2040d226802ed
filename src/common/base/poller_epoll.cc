// The Poller on Linux: epoll, with a pipe to wake it.
#include "common/base/poller.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace octo {

struct Poller::Impl {
  int epoll = -1;
  int wake[2] = {-1, -1};
  std::vector<epoll_event> events = std::vector<epoll_event>(256);
};

Poller::Poller() : impl_(std::make_unique<Impl>()) {}

Poller::~Poller() {
  if (impl_->epoll >= 0) ::close(impl_->epoll);
  if (impl_->wake[0] >= 0) ::close(impl_->wake[0]);
  if (impl_->wake[1] >= 0) ::close(impl_->wake[1]);
}

Status Poller::Open() {
  impl_->epoll = ::epoll_create1(EPOLL_CLOEXEC);
  if (impl_->epoll < 0) return Internal("cannot create an epoll instance");
  if (::pipe2(impl_->wake, O_CLOEXEC | O_NONBLOCK) != 0) return Internal("cannot create a pipe");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // the wake-up pipe
  if (::epoll_ctl(impl_->epoll, EPOLL_CTL_ADD, impl_->wake[0], &ev) != 0) {
    return Internal("cannot watch the wake-up pipe");
  }
  return Status::Ok();
}

bool Poller::is_open() const { return impl_->epoll >= 0; }

bool Poller::Add(int fd, uint64_t token, bool once) {
  epoll_event ev{};
  ev.events = once ? (EPOLLIN | EPOLLRDHUP | EPOLLONESHOT) : EPOLLIN;
  ev.data.u64 = token;
  return impl_->epoll >= 0 && ::epoll_ctl(impl_->epoll, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void Poller::Remove(int fd) { ::epoll_ctl(impl_->epoll, EPOLL_CTL_DEL, fd, nullptr); }

void Poller::Wait(int timeout_ms, std::vector<uint64_t>* ready) {
  auto& events = impl_->events;
  const int n = ::epoll_wait(impl_->epoll, events.data(), static_cast<int>(events.size()), timeout_ms);
  for (int i = 0; i < n; ++i) {
    if (events[i].data.u64 == 0) {
      char buf[64];
      while (::read(impl_->wake[0], buf, sizeof buf) > 0) {
      }
      continue;
    }
    ready->push_back(events[i].data.u64);
  }
  if (n == static_cast<int>(events.size())) events.resize(events.size() * 2);
}

void Poller::Wake() {
  if (impl_->wake[1] >= 0) (void)!::write(impl_->wake[1], "x", 1);
}

}  // namespace octo
