// TrustStore: the Tentacle's trusted Octopus Servers, read from its instance
// configuration and published as an immutable snapshot (a ConfigStore, see
// config_store.h).
//
// The running agent reads Current() in every handshake and calls Reload()
// when a command asks it to (control socket) or when the file changed (the
// watch). The commands that change trust (configure, update-trust) go
// through Edit(), under the config's file lock. Thread-safe.
#pragma once

#include "common/config/trust.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/config/config_store.h"

namespace octo {

struct TrustSnapshot {
  std::set<std::string> thumbprints;  // upper case
  std::vector<PollingEndpoint> polling;  // where the agent polls (trust.h)
  int polling_connections = 1;           // per polling address, 1-512
  uint64_t generation = 0;            // 1 for the first, +1 at each change
  bool Trusts(const std::string& thumbprint) const { return thumbprints.count(thumbprint) > 0; }
  bool SameContent(const TrustSnapshot& other) const {
    return thumbprints == other.thumbprints && polling == other.polling &&
           polling_connections == other.polling_connections;
  }
};

// What one Reload() or Edit() changed in the trusted set.
struct TrustChange {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::shared_ptr<const TrustSnapshot> now;
  bool polling_changed = false;  // the polling endpoints or their connection count
  bool changed() const { return !added.empty() || !removed.empty() || polling_changed; }
};

class TrustStore {
 public:
  // Reads the trusted set from the configuration at `config_path`.
  // `held_lock`: the config's lock when the caller holds it (see ConfigStore::Open).
  static Result<std::unique_ptr<TrustStore>> Open(const std::string& config_path, FileLock held_lock = nullptr);

  // The current snapshot; never null.
  std::shared_ptr<const TrustSnapshot> Current() const { return store_->Current(); }

  // Re-reads the configuration and publishes the new set when it differs.
  // On error (a damaged file) the current snapshot stays.
  Result<TrustChange> Reload();

  // Changes the configuration under its file lock (see ConfigStore::Edit):
  // `edit` applies trust changes (ApplyTrustChanges, UpdateTrust) and any
  // other setting of the same command, and sets *save when there is
  // something to write.
  Result<TrustChange> Edit(const std::function<Status(ConfigFile& config, bool* save)>& edit);

  // Whether the file differs from the one last read or written: cheap, for the watch.
  bool FileChanged() const { return store_->FileChanged(); }

  const std::string& config_path() const { return store_->config_path(); }

 private:
  explicit TrustStore(std::unique_ptr<ConfigStore<TrustSnapshot>> store) : store_(std::move(store)) {}
  std::unique_ptr<ConfigStore<TrustSnapshot>> store_;
};

}  // namespace octo
