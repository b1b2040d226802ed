// Reactor and WorkerPool: the event-driven part of the Tentacle agent.
//
// A Reactor is one thread waiting (poller.h: epoll on Linux, WSAPoll on
// Windows) on any number of descriptors:
// listening sockets, and connections that are idle between requests. An
// idle connection costs a descriptor and an entry here, no thread. When a
// descriptor becomes readable (or its deadline passes) the reactor calls
// the watch's callback on its own thread; callbacks must be quick and hand
// real work (a TLS handshake, a request) to a WorkerPool.
//
// A WorkerPool runs jobs on threads it keeps: an idle thread takes the next
// job, and a job that finds none idle gets a new thread at once, up to
// `max` (a slow client does not delay another's job); threads idle for
// `idle_exit` end, down to `keep`. Its size follows the work under way, not the number of
// open connections.
//
// Both are thread-safe, and may be shared by many agents (an in-process
// fleet shares one of each).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "common/base/net.h"
#include "common/base/poller.h"
#include "common/base/status.h"

namespace octo {

class Reactor {
 public:
  // `readable`: true when the descriptor became readable, hung up or
  // failed; false when the deadline passed first.
  using Callback = std::function<void(bool readable)>;

  Reactor();
  ~Reactor();  // stops the thread; callbacks not run are dropped
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Starts the thread (once; later calls do nothing). Internal when the
  // poller cannot be set up.
  Status Start();

  // Calls `fn` once, when `fd` becomes readable or at `deadline`, whichever
  // comes first; then the watch is gone. Returns its token (never 0), or 0
  // when the descriptor cannot be watched (fn is then never called).
  uint64_t WatchOnce(int fd, Deadline deadline, Callback fn);
  // Calls `fn(true)` each time `fd` is readable, until Cancel (a listening
  // socket). Returns its token, or 0.
  uint64_t WatchAlways(int fd, Callback fn);
  // Removes the watch `token`. True when it was still waiting: its callback
  // will not run. False when it has fired (a one-shot watch) or was never
  // there. Waits for a callback of `token` that is running on the reactor
  // thread to return (unless called from that thread). The descriptor must
  // still be open.
  bool Cancel(uint64_t token);

  size_t watching() const;  // watches in place now (tests)

 private:
  struct Watch {
    int fd;
    bool once;
    Deadline deadline;
    Callback fn;
  };
  void Loop();

  Poller poller_;  // epoll on Linux, WSAPoll on Windows (poller.h)
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Watch> watches_;                  // guarded by mu_
  std::set<std::pair<Deadline, uint64_t>> deadlines_;  // one-shot watches; guarded by mu_
  uint64_t next_token_ = 0;                            // guarded by mu_
  uint64_t running_ = 0;  // the token whose callback runs now, 0 when none; guarded by mu_
  // When the loop's epoll_wait returns at the latest (it sleeps at most 1 s):
  // a new watch with a later deadline need not wake it. Guarded by mu_.
  Deadline sleeping_until_ = Deadline::min();
};

class WorkerPool {
 public:
  // At most `max` threads: jobs beyond wait for one (a burst, such as a
  // Server closing thousands of kept connections at once, does not start a
  // thread each).
  explicit WorkerPool(size_t keep = 2, size_t max = 256,
                      std::chrono::milliseconds idle_exit = std::chrono::seconds(10));
  ~WorkerPool();  // waits for the jobs under way and every thread to end
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `job` on an idle thread, or on a new one when none is idle. Never
  // blocks on other jobs. Jobs must not throw.
  void Run(std::function<void()> job);

  size_t threads() const;  // threads now (tests, benchmarks)

 private:
  void Work();

  const size_t keep_;
  const size_t max_;
  const std::chrono::milliseconds idle_exit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // jobs for idle threads
  std::condition_variable done_cv_;  // a thread ended
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  size_t threads_ = 0;                      // guarded by mu_
  size_t idle_ = 0;                         // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
};

}  // namespace octo
