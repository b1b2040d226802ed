// ForEachBounded: runs fn(0) .. fn(count - 1) on at most `parallelism`
// threads at once and returns when all have finished. Each index is handed
// out exactly once; fn must be safe to call from several threads (write
// results into a slot per index). For fleet work: a health-check sweep, the
// calls of a rotation phase.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace octo {

template <typename Fn>
void ForEachBounded(size_t count, size_t parallelism, Fn&& fn) {
  if (count == 0) return;
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < count; i = next++) fn(i);
  };
  const size_t n = std::min(std::max<size_t>(parallelism, 1), count);
  if (n == 1) {
    worker();
    return;
  }
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (size_t i = 0; i < n; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
}

}  // namespace octo
