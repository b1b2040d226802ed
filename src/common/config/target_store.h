// TargetStore: the Server's deployment targets and their pins, read from its
// instance configuration and published as an immutable snapshot (a
// ConfigStore, see config_store.h).
//
// The running Server's health checks read Current() (re-read first when the
// file changed); add-target, update-target and remove-target change the
// list through this store, under the config's file lock. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/base/status.h"
#include "common/config/config_store.h"
#include "common/config/target.h"
#include "common/config/targets.h"

namespace octo {

struct TargetSnapshot {
  std::vector<Target> targets;  // in the order of the config
  uint64_t generation = 0;      // 1 for the first, +1 at each change
  // Where each name is in `targets`, when built with the list (ReadTargets
  // does): Find is then one look-up, not a scan (a check of every target
  // looks each one up again).
  std::unordered_map<std::string, size_t> by_name;
  // The target named `name` (names compare exactly), or null.
  const Target* Find(const std::string& name) const;
  bool SameContent(const TargetSnapshot& other) const { return targets == other.targets; }
};

class TargetStore {
 public:
  // Reads the targets from the configuration at `config_path`. Corrupt as
  // LoadTargets when the list or an entry is malformed.
  // `held_lock`: the config's lock when the caller holds it (see ConfigStore::Open).
  static Result<std::unique_ptr<TargetStore>> Open(const std::string& config_path, FileLock held_lock = nullptr);

  // The current snapshot; never null.
  std::shared_ptr<const TargetSnapshot> Current() const { return store_->Current(); }

  // Re-reads the file when it changed since it was last read or written
  // (another process's add-target, a hand edit), then returns the current
  // snapshot. A damaged file is an error; the snapshot before it stays.
  Result<std::shared_ptr<const TargetSnapshot>> Refresh();

  // The target commands, each under the config's file lock, reading the file
  // afresh (see targets.h for what each checks and reports). Nothing is
  // written when a change fails, or when it changes nothing.
  Status Add(const Target& target);
  Result<PinReport> Update(const std::string& name, const PinChanges& pins,
                           const std::optional<std::string>& address);
  Status Remove(const std::string& name);

  const std::string& config_path() const { return store_->config_path(); }

 private:
  explicit TargetStore(std::unique_ptr<ConfigStore<TargetSnapshot>> store) : store_(std::move(store)) {}
  std::unique_ptr<ConfigStore<TargetSnapshot>> store_;
};

}  // namespace octo
