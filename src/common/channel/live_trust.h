// LiveTrust: keeps a running TentacleAgent's trusted set equal to the one
// stored in the instance configuration (its TrustStore).
//
// Three paths publish to the agent, one at a time so that the log reads in
// order and a later set is never replaced by an earlier one: Reload (a
// command asked over the control socket, or the file watch saw the file
// change), and Edit (a change made by the running agent itself, for a
// channel method: saved under the config's lock, then published). Each
// change is logged with who asked. Thread-safe.
#pragma once

#include <spdlog/logger.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/channel/tentacle_agent.h"
#include "common/config/trust_store.h"

namespace octo {

// The polling connections per endpoint: the environment variable
// TentaclePollingConnectionCount when it is a number, else the config's
// count; 1-512 (as the real Tentacle's HalibutInitializer).
int PollingConnections(const TrustSnapshot& trust);
std::string JoinSet(const std::set<std::string>& s);  // "A, B"

class LiveTrust {
 public:
  LiveTrust(TrustStore& store, TentacleAgent& agent, std::shared_ptr<spdlog::logger> log)
      : store_(store), agent_(agent), log_(std::move(log)) {}
  ~LiveTrust() { Stop(); }
  LiveTrust(const LiveTrust&) = delete;
  LiveTrust& operator=(const LiveTrust&) = delete;

  struct Applied {
    TrustChange change;
    size_t closed = 0;  // connections closed because their thumbprint is no longer trusted
  };

  // Re-reads the configuration and applies its set. `who` says who asked,
  // for the log. On error (a damaged file) the agent keeps its set.
  Result<Applied> Reload(const std::string& who);

  // Changes the stored trust through TrustStore::Edit (under the config's
  // lock; nothing is saved or published when `edit` fails), then applies
  // the set that was saved.
  Result<Applied> Edit(const std::function<Status(ConfigFile& config, bool* save)>& edit, const std::string& who);

  // Looks at the file twice a second until Stop(): the fallback when a
  // command could not reach the agent (or the file was edited by hand).
  void StartWatch();
  void Stop();

 private:
  Applied Apply(TrustChange change, const std::string& who);  // mu_ held

  TrustStore& store_;
  TentacleAgent& agent_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex mu_;  // one reload or edit at a time
  std::thread watcher_;
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;  // guarded by watch_mu_
};

}  // namespace octo
