// ConnectionPool: the Octopus Server's authenticated connections to
// listening Tentacles, kept after a request and reused for the next one to
// the same target, as Halibut's pool does (docs/protocol.md, "Connection
// reuse").
//
// A connection is kept under its target's address together with what it was
// made with: the thumbprints the target pinned and the certificate we
// presented. It is reused only for a request made with exactly the same
// pins and certificate, and only while it is idle and open (nothing
// received, no close seen); anything else closes it:
//   - the target's pins changed (update-target, a rotation): Take with other
//     pins, or Retain with the new target list, closes it;
//   - our certificate changed (reload, a rotation switch): Clear;
//   - the Tentacle stopped trusting us, or switched its own certificate:
//     it closes the connection, which Take then finds closed;
//   - it was idle longer than `idle_timeout`: Take and CloseExpired.
// Idle connections hold a descriptor and about 10 KiB each, no thread.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/config/target.h"
#include "common/crypto/tls.h"

namespace octo {

struct ConnectionPoolOptions {
  // Longest a connection stays idle; below the Tentacle's own idle limit
  // (AgentOptions::idle_timeout), so that the Server closes first. Halibut:
  // 9 minutes against the Tentacle's 10.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(9)};
  size_t max_idle_per_target = 5;  // Halibut's
  size_t max_idle = 10000;         // over all targets; 0 turns pooling off
};

class ConnectionPool {
 public:
  explicit ConnectionPool(ConnectionPoolOptions options = {});
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // An idle, open connection to `address` made with the pins `pins` (in any
  // order) while presenting the certificate `ours`; nullopt when there is
  // none. Connections there made with other pins or another certificate,
  // expired or closed ones, are closed on the way.
  std::optional<TlsStream> Take(const std::string& address, const std::vector<std::string>& pins,
                                const std::string& ours);
  // Keeps `stream` (which has just answered a request and is idle) for the
  // next Take; closes it instead when the target's or the pool's bound is
  // reached, or when connections there were made with other pins or
  // another certificate since it was taken.
  void Put(const std::string& address, const std::vector<std::string>& pins, const std::string& ours,
           TlsStream stream);

  // Closes the connections of every address that `targets` does not list
  // with the same pins (a target removed, its pins or address changed).
  size_t Retain(const std::vector<Target>& targets);
  // Closes every idle connection (our certificate changed).
  size_t Clear();
  // Closes the connections idle for longer than the idle timeout.
  size_t CloseExpired();

  struct Stats {
    size_t idle = 0;         // connections kept now
    uint64_t reused = 0;     // requests that went over a kept connection
    uint64_t kept = 0;       // connections put back
    uint64_t discarded = 0;  // closed by the rules above, or found closed
  };
  Stats stats() const;
  const ConnectionPoolOptions& options() const { return options_; }

 private:
  struct Idle {
    TlsStream stream;
    Clock::time_point since;
  };
  struct Entry {
    std::vector<std::string> pins;  // sorted
    std::string ours;
    std::deque<Idle> idle;  // the most recently used last
  };
  // Moves the streams of `e` to `*out` (closed by the caller, outside the lock).
  void DrainLocked(Entry& e, std::vector<TlsStream>* out);
  static void CloseAll(std::vector<TlsStream>& streams);

  const ConnectionPoolOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // by address; guarded by mu_
  Stats stats_;                                     // guarded by mu_
};

}  // namespace octo
