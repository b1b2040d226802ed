// Snapshot<T>: an immutable value published by one writer at a time and
// read by many threads (the trusted set, the certificate a service
// presents). A reader gets a shared_ptr to the current value and keeps
// using it however long it needs, whatever is published meanwhile.
//
// The pointer is guarded by a mutex held only to copy or swap it (never
// while the value is built, read or freed), so a read costs about what an
// uncontended lock costs. (libstdc++ 12's std::atomic<std::shared_ptr> is no
// cheaper: it spins on a lock bit of its own, which ThreadSanitizer cannot
// see and reports as a race.)
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace octo {

template <typename T>
class Snapshot {
 public:
  Snapshot() = default;
  explicit Snapshot(std::shared_ptr<const T> first) : current_(std::move(first)) {}
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  std::shared_ptr<const T> load() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }

  void store(std::shared_ptr<const T> next) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      current_.swap(next);
    }
    // `next` now holds the previous value: released here, outside the lock.
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const T> current_;
};

}  // namespace octo
