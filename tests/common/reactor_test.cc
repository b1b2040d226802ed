// The Reactor (src/common/base/reactor.h) on its own, over loopback
// sockets: the same test on Linux (epoll) and Windows (WSAPoll, under wine).
#include "common/base/reactor.h"

#include <gtest/gtest.h>


#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "common/base/net.h"
#include "support/loopback.h"

namespace octo {
namespace {

using namespace std::chrono_literals;

using testing::AcceptOne;
using testing::Connected;
using testing::Pair;

// What callbacks reported, waited for with a bound.
class Calls {
 public:
  Reactor::Callback Record(int id) {
    return [this, id](bool readable) {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back({id, readable});
      cv_.notify_all();
    };
  }
  // The calls seen once there are `n` of them, or after 5 s.
  std::vector<std::pair<int, bool>> WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, 5s, [&] { return seen_.size() >= n; });
    return seen_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<int, bool>> seen_;
};

TEST(Reactor, AWatchFiresOnceWhenDataArrivesThenIsGone) {
  Reactor reactor;
  ASSERT_TRUE(reactor.Start().ok());
  Pair p = Connected();
  ASSERT_TRUE(p.b.valid());
  Calls calls;
  ASSERT_NE(reactor.WatchOnce(p.b.get(), DeadlineIn(10s), calls.Record(1)), 0u);
  EXPECT_EQ(reactor.watching(), 1u);
  ASSERT_TRUE(WriteAllFd(p.a.get(), "x\n", DeadlineIn(5s)).ok());
  auto seen = calls.WaitFor(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], std::make_pair(1, true));
  EXPECT_EQ(reactor.watching(), 0u);
  // More data, no watch: nothing more is called.
  ASSERT_TRUE(WriteAllFd(p.a.get(), "y\n", DeadlineIn(5s)).ok());
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(calls.WaitFor(1).size(), 1u);
}

TEST(Reactor, AWatchWhoseDeadlinePassesIsCalledNotReadable) {
  Reactor reactor;
  ASSERT_TRUE(reactor.Start().ok());
  Pair p = Connected();
  ASSERT_TRUE(p.b.valid());
  Calls calls;
  ASSERT_NE(reactor.WatchOnce(p.b.get(), DeadlineIn(50ms), calls.Record(7)), 0u);
  auto seen = calls.WaitFor(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], std::make_pair(7, false));
  EXPECT_EQ(reactor.watching(), 0u);
}

TEST(Reactor, APeerHangingUpCountsAsReadable) {
  Reactor reactor;
  ASSERT_TRUE(reactor.Start().ok());
  Pair p = Connected();
  ASSERT_TRUE(p.b.valid());
  Calls calls;
  ASSERT_NE(reactor.WatchOnce(p.b.get(), DeadlineIn(10s), calls.Record(2)), 0u);
  p.a.reset();
  auto seen = calls.WaitFor(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], std::make_pair(2, true));
}

TEST(Reactor, ACancelledWatchIsNeverCalled) {
  Reactor reactor;
  ASSERT_TRUE(reactor.Start().ok());
  Pair p = Connected();
  ASSERT_TRUE(p.b.valid());
  Calls calls;
  const uint64_t token = reactor.WatchOnce(p.b.get(), DeadlineIn(10s), calls.Record(3));
  ASSERT_NE(token, 0u);
  EXPECT_TRUE(reactor.Cancel(token));
  EXPECT_FALSE(reactor.Cancel(token));
  ASSERT_TRUE(WriteAllFd(p.a.get(), "x\n", DeadlineIn(5s)).ok());
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(calls.WaitFor(0).empty());
  EXPECT_EQ(reactor.watching(), 0u);
}

TEST(Reactor, AListenerWatchedAlwaysFiresForEachConnection) {
  Reactor reactor;
  ASSERT_TRUE(reactor.Start().ok());
  auto l = ListenTcp("127.0.0.1", 0);
  ASSERT_TRUE(l.ok());
  std::mutex mu;
  std::vector<Fd> accepted;
  std::condition_variable cv;
  const uint64_t token = reactor.WatchAlways(l->get(), [&](bool readable) {
    if (!readable) return;
    Fd fd = AcceptOne(*l);
    std::lock_guard<std::mutex> lock(mu);
    if (fd.valid()) accepted.push_back(std::move(fd));
    cv.notify_all();
  });
  ASSERT_NE(token, 0u);
  std::vector<Fd> clients;
  for (int i = 0; i < 3; ++i) {
    auto c = ConnectTcp({"127.0.0.1", LocalPort(l->get())}, DeadlineIn(5s));
    ASSERT_TRUE(c.ok()) << c.status().message();
    clients.push_back(std::move(c).value());
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, 5s, [&] { return accepted.size() >= 3; });
    EXPECT_EQ(accepted.size(), 3u);
  }
  EXPECT_TRUE(reactor.Cancel(token));
}

TEST(Reactor, TwoHundredIdleConnectionsEachFireWhenTheirDataComes) {
  Reactor reactor;
  ASSERT_TRUE(reactor.Start().ok());
  constexpr int kPairs = 200;
  std::vector<Pair> pairs;
  Calls calls;
  for (int i = 0; i < kPairs; ++i) {
    pairs.push_back(Connected());
    ASSERT_TRUE(pairs.back().b.valid());
    ASSERT_NE(reactor.WatchOnce(pairs.back().b.get(), DeadlineIn(30s), calls.Record(i)), 0u);
  }
  EXPECT_EQ(reactor.watching(), static_cast<size_t>(kPairs));
  for (int i = kPairs - 1; i >= 0; --i) ASSERT_TRUE(WriteAllFd(pairs[i].a.get(), "x\n", DeadlineIn(5s)).ok());
  auto seen = calls.WaitFor(kPairs);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kPairs));
  std::vector<bool> fired(kPairs, false);
  for (const auto& [id, readable] : seen) {
    EXPECT_TRUE(readable) << id;
    fired[static_cast<size_t>(id)] = true;
  }
  for (int i = 0; i < kPairs; ++i) EXPECT_TRUE(fired[static_cast<size_t>(i)]) << i;
  EXPECT_EQ(reactor.watching(), 0u);
}

}  // namespace
}  // namespace octo

namespace octo {
namespace {

using namespace std::chrono_literals;

TEST(WorkerPool, EveryJobRunsAndIdleThreadsEnd) {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  {
    WorkerPool pool(/*keep=*/1, /*max=*/8, /*idle_exit=*/50ms);
    for (int round = 0; round < 20; ++round) {
      for (int i = 0; i < 50; ++i) {
        pool.Run([&] {
          std::this_thread::sleep_for(1ms);
          std::lock_guard<std::mutex> lock(mu);
          ++done;
          cv.notify_all();
        });
      }
      std::unique_lock<std::mutex> lock(mu);
      ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return done == (round + 1) * 50; })) << done;
    }
    EXPECT_LE(pool.threads(), 8u);
    // Idle: down to `keep` (bounded wait).
    for (int i = 0; i < 200 && pool.threads() > 1; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(pool.threads(), 1u);
  }  // the destructor waits for every thread
  EXPECT_EQ(done, 1000);
}

}  // namespace
}  // namespace octo
