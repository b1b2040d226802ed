// TrustStore: the running Tentacle's trusted Octopus Servers, read from its
// instance configuration and published as an immutable snapshot.
//
// The snapshot is swapped whole and read by copying a pointer (Snapshot<T>),
// so the TLS callbacks can consult it on every handshake. Reload() re-reads the
// configuration (the commands that change trust write it, then ask the
// running agent to reload over its control socket; a watch on the file is
// the fallback) and reports what changed. Reloads are serialised: the one
// that read the file last publishes last. Thread-safe.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/base/snapshot.h"

namespace octo {

struct TrustSnapshot {
  std::set<std::string> thumbprints;  // upper case
  uint64_t generation = 0;            // 1 for the first, +1 at each change
  bool Trusts(const std::string& thumbprint) const { return thumbprints.count(thumbprint) > 0; }
};

// What one Reload() found.
struct TrustChange {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::shared_ptr<const TrustSnapshot> now;
  bool changed() const { return !added.empty() || !removed.empty(); }
};

class TrustStore {
 public:
  // Reads the trusted set from the configuration at `config_path`.
  static Result<std::unique_ptr<TrustStore>> Open(const std::string& config_path);

  // The current snapshot; never null.
  std::shared_ptr<const TrustSnapshot> Current() const { return current_.load(); }

  // Re-reads the configuration and publishes the new set when it differs.
  // On error (a damaged file) the current snapshot stays.
  Result<TrustChange> Reload();

  // Whether the file differs (inode, size, modification time) from the one
  // the last Open()/Reload() read: cheap, for the watch.
  bool FileChanged() const;

  const std::string& config_path() const { return path_; }

 private:
  struct Stamp {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = -1;
    int64_t mtime_ns = -1;
    bool operator==(const Stamp&) const = default;
  };
  explicit TrustStore(std::string config_path) : path_(std::move(config_path)) {}
  Stamp StampNow() const;
  Result<std::set<std::string>> Read() const;

  const std::string path_;
  std::mutex reload_mu_;
  Snapshot<TrustSnapshot> current_;
  mutable std::mutex stamp_mu_;
  Stamp stamp_;  // guarded by stamp_mu_
};

}  // namespace octo
