#include "common/channel/connection_pool.h"

#include <algorithm>

namespace octo {
namespace {

std::vector<std::string> Sorted(std::vector<std::string> pins) {
  std::sort(pins.begin(), pins.end());
  return pins;
}

}  // namespace

ConnectionPool::ConnectionPool(ConnectionPoolOptions options) : options_(options) {}

ConnectionPool::~ConnectionPool() { Clear(); }

void ConnectionPool::DrainLocked(Entry& e, std::vector<TlsStream>* out) {
  for (auto& idle : e.idle) out->push_back(std::move(idle.stream));
  stats_.idle -= e.idle.size();
  stats_.discarded += e.idle.size();
  e.idle.clear();
}

void ConnectionPool::CloseAll(std::vector<TlsStream>& streams) {
  // close_notify on an idle socket does not block: its send buffer is empty.
  for (auto& s : streams) s.Close(DeadlineIn(std::chrono::milliseconds(50)));
  streams.clear();
}

std::optional<TlsStream> ConnectionPool::Take(const std::string& address, const std::vector<std::string>& pins,
                                              const std::string& ours) {
  std::vector<TlsStream> closing;
  std::optional<TlsStream> found;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(address);
    if (it == entries_.end()) return std::nullopt;
    Entry& e = it->second;
    if (e.pins != Sorted(pins) || e.ours != ours) {
      DrainLocked(e, &closing);
      entries_.erase(it);
    } else {
      const auto oldest_allowed = Clock::now() - options_.idle_timeout;
      while (!e.idle.empty()) {
        Idle idle = std::move(e.idle.back());
        e.idle.pop_back();
        --stats_.idle;
        if (idle.since >= oldest_allowed && idle.stream.IdleAndOpen()) {
          ++stats_.reused;
          found.emplace(std::move(idle.stream));
          break;
        }
        ++stats_.discarded;
        closing.push_back(std::move(idle.stream));
      }
    }
  }
  CloseAll(closing);
  return found;
}

void ConnectionPool::Put(const std::string& address, const std::vector<std::string>& pins, const std::string& ours,
                         TlsStream stream) {
  std::vector<TlsStream> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> sorted = Sorted(pins);
    auto it = entries_.find(address);
    if (it != entries_.end() && (it->second.pins != sorted || it->second.ours != ours)) {
      // Made for pins or a certificate that are no longer what requests use:
      // the newer one wins only if it was taken after the change.
      DrainLocked(it->second, &closing);
      entries_.erase(it);
      it = entries_.end();
    }
    if (stats_.idle >= options_.max_idle ||
        (it != entries_.end() && it->second.idle.size() >= options_.max_idle_per_target)) {
      ++stats_.discarded;
      closing.push_back(std::move(stream));
    } else {
      if (it == entries_.end()) it = entries_.emplace(address, Entry{std::move(sorted), ours, {}}).first;
      it->second.idle.push_back(Idle{std::move(stream), Clock::now()});
      ++stats_.idle;
      ++stats_.kept;
    }
  }
  CloseAll(closing);
}

size_t ConnectionPool::Retain(const std::vector<Target>& targets) {
  std::unordered_map<std::string, std::vector<std::vector<std::string>>> wanted;
  for (const auto& t : targets) wanted[t.address].push_back(Sorted(t.thumbprints));
  std::vector<TlsStream> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      auto w = wanted.find(it->first);
      const bool keep =
          w != wanted.end() && std::find(w->second.begin(), w->second.end(), it->second.pins) != w->second.end();
      if (keep) {
        ++it;
        continue;
      }
      DrainLocked(it->second, &closing);
      it = entries_.erase(it);
    }
  }
  const size_t n = closing.size();
  CloseAll(closing);
  return n;
}

size_t ConnectionPool::Clear() {
  std::vector<TlsStream> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [address, e] : entries_) DrainLocked(e, &closing);
    entries_.clear();
  }
  const size_t n = closing.size();
  CloseAll(closing);
  return n;
}

size_t ConnectionPool::CloseExpired() {
  std::vector<TlsStream> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto oldest_allowed = Clock::now() - options_.idle_timeout;
    for (auto it = entries_.begin(); it != entries_.end();) {
      auto& idle = it->second.idle;
      while (!idle.empty() && idle.front().since < oldest_allowed) {
        closing.push_back(std::move(idle.front().stream));
        idle.pop_front();
        --stats_.idle;
        ++stats_.discarded;
      }
      it = idle.empty() ? entries_.erase(it) : std::next(it);
    }
  }
  const size_t n = closing.size();
  CloseAll(closing);
  return n;
}

ConnectionPool::Stats ConnectionPool::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace octo
