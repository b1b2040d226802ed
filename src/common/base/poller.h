// Poller: the readiness wait under Reactor (reactor.h), one file per
// platform behind this header: epoll on Linux (poller_epoll.cc), WSAPoll on
// Windows (poller_win.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/base/status.h"

namespace octo {

class Poller {
 public:
  Poller();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Sets up the wait and its wake-up; Internal when the OS refuses.
  Status Open();
  bool is_open() const;
  // Watches `fd` for readability (a hang-up or an error counts) under
  // `token` (never 0). `once`: reported once, then no more until it is
  // removed and added again. False when it cannot be watched.
  bool Add(int fd, uint64_t token, bool once);
  // Stops watching `fd`.
  void Remove(int fd);
  // Waits up to `timeout_ms` (or until Wake) and appends the tokens of the
  // descriptors found readable to `ready`. Only one thread waits.
  void Wait(int timeout_ms, std::vector<uint64_t>* ready);
  // Makes the current or next Wait return at once. Thread-safe.
  void Wake();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace octo
