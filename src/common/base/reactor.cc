#include "common/base/reactor.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <vector>

namespace octo {

Reactor::Reactor() = default;

Reactor::~Reactor() {
  stopping_.store(true);
  poller_.Wake();
  if (thread_.joinable()) thread_.join();
}

Status Reactor::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (poller_.is_open()) return Status::Ok();
  OCTO_RETURN_IF_ERROR(poller_.Open());
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

uint64_t Reactor::WatchOnce(int fd, Deadline deadline, Callback fn) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t token = ++next_token_;
  if (!poller_.Add(fd, token, true)) return 0;
  watches_.emplace(token, Watch{fd, true, deadline, std::move(fn)});
  deadlines_.emplace(deadline, token);
  // The loop sleeps until the earliest deadline it knew, and 1 s at most:
  // wake it only for a deadline before that (an idle connection's is
  // minutes away, so parking one costs no wake-up).
  if (deadline < sleeping_until_) poller_.Wake();
  return token;
}

uint64_t Reactor::WatchAlways(int fd, Callback fn) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t token = ++next_token_;
  if (!poller_.Add(fd, token, false)) return 0;
  watches_.emplace(token, Watch{fd, false, Deadline::max(), std::move(fn)});
  return token;
}

bool Reactor::Cancel(uint64_t token) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = watches_.find(token);
  bool removed = false;
  if (it != watches_.end()) {
    poller_.Remove(it->second.fd);
    if (it->second.once) deadlines_.erase({it->second.deadline, token});
    watches_.erase(it);
    removed = true;
  }
  if (std::this_thread::get_id() != thread_.get_id()) {
    cv_.wait(lock, [&] { return running_ != token; });
  }
  return removed;
}

size_t Reactor::watching() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watches_.size();
}

void Reactor::Loop() {
  std::vector<uint64_t> ready;
  while (!stopping_.load()) {
    int timeout_ms = 1000;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto now = Clock::now();
      sleeping_until_ = now + std::chrono::milliseconds(timeout_ms);
      if (!deadlines_.empty() && deadlines_.begin()->first < sleeping_until_) {
        sleeping_until_ = deadlines_.begin()->first;
        timeout_ms = static_cast<int>(std::clamp<long long>(
            std::chrono::ceil<std::chrono::milliseconds>(sleeping_until_ - now).count(), 0, 1000));
      }
    }
    ready.clear();
    poller_.Wait(timeout_ms, &ready);
    {
      // Awake: deadlines added from now on are seen at the top of the loop.
      std::lock_guard<std::mutex> lock(mu_);
      sleeping_until_ = Deadline::min();
    }
    // What is due: readable watches, then those whose deadline passed. Each
    // is taken out (a one-shot) under the lock and run outside it, marked as
    // running so that Cancel can wait for it.
    std::vector<std::pair<uint64_t, bool>> due;
    for (const uint64_t token : ready) due.emplace_back(token, true);
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto now = Clock::now();
      while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
        due.emplace_back(deadlines_.begin()->second, false);
        deadlines_.erase(deadlines_.begin());
      }
    }
    for (const auto& [token, readable] : due) {
      Callback fn;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = watches_.find(token);
        if (it == watches_.end()) continue;  // cancelled, or fired already
        if (it->second.once) {
          poller_.Remove(it->second.fd);
          deadlines_.erase({it->second.deadline, token});
          fn = std::move(it->second.fn);
          watches_.erase(it);
        } else {
          fn = it->second.fn;
        }
        running_ = token;
      }
      fn(readable);
      {
        std::lock_guard<std::mutex> lock(mu_);
        running_ = 0;
      }
      cv_.notify_all();
    }
  }
  OPENSSL_thread_stop();
}

WorkerPool::WorkerPool(size_t keep, size_t max, std::chrono::milliseconds idle_exit)
    : keep_(keep), max_(std::max<size_t>(max, 1)), idle_exit_(idle_exit) {}

WorkerPool::~WorkerPool() {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
  done_cv_.wait(lock, [this] { return threads_ == 0; });
}

void WorkerPool::Run(std::function<void()> job) {
  std::lock_guard<std::mutex> lock(mu_);
  jobs_.push_back(std::move(job));
  if (idle_ >= jobs_.size() || threads_ >= max_) {
    cv_.notify_one();
    return;
  }
  ++threads_;
  std::thread([this] { Work(); }).detach();
}

size_t WorkerPool::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_;
}

void WorkerPool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!jobs_.empty()) {
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      job = nullptr;  // what the job holds goes before the next wait
      lock.lock();
      continue;
    }
    if (stopping_) break;
    ++idle_;
    const bool woken = cv_.wait_for(lock, idle_exit_, [this] { return stopping_ || !jobs_.empty(); });
    --idle_;
    if (!woken && jobs_.empty() && threads_ > keep_) break;
  }
  lock.unlock();
  // This thread's OpenSSL state (random generators, error queue) goes now,
  // before it is counted out: once the last thread is, the process may
  // exit, and OpenSSL's clean-up would race a thread's exit handler.
  OPENSSL_thread_stop();
  lock.lock();
  --threads_;
  done_cv_.notify_all();
}

}  // namespace octo
