// ConfigStore<S>: one part of an instance's configuration (the Tentacle's
// trusted Servers, the Server's deployment targets) read from the config
// file and published as an immutable snapshot of type S.
//
// It is the one owner of that part: readers (the TLS callbacks, the health
// checks) take Current(), a pointer copied under a short lock, on every
// handshake; writers (the commands) call Edit(), which takes the config's
// file lock, reads the file afresh, applies the change through the existing
// change/report functions, saves, and publishes what it saved; the running
// service calls Reload() when told (control socket) or when FileChanged()
// says another process wrote the file. Reloads and edits are serialised:
// the one that read the file last publishes last. Thread-safe.
//
// S is a value type with a `uint64_t generation` member (1 for the first
// snapshot, +1 at each change) and `bool SameContent(const S&) const`.
#pragma once


#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "common/base/snapshot.h"
#include "common/base/status.h"
#include "common/config/config_file.h"
#include "common/config/instance.h"

namespace octo {

template <typename S>
class ConfigStore {
 public:
  // Reads S (without its generation) from a loaded config.
  using Reader = std::function<Result<S>(const ConfigFile&)>;

  // What one Reload() or Edit() did: the snapshot before and after (the same
  // pointer when nothing changed).
  struct Change {
    std::shared_ptr<const S> before;
    std::shared_ptr<const S> now;
    bool changed() const { return before != now; }
  };

  // Reads the part from the configuration at `config_path`. `held_lock`: the
  // config's file lock (LockFile), when the caller already holds it for the
  // store's whole life (a command that opened its instance for update, so
  // that everything it checks is read under the lock); Edit then uses it
  // instead of taking its own.
  static Result<std::unique_ptr<ConfigStore>> Open(const std::string& config_path, Reader read,
                                                   FileLock held_lock = nullptr) {
    std::unique_ptr<ConfigStore> store(new ConfigStore(config_path, std::move(read), std::move(held_lock)));
    const Stamp stamp = store->StampNow();
    auto config = ConfigFile::Load(config_path);
    if (!config.ok()) return config.status();
    auto first = store->read_(*config);
    if (!first.ok()) return first.status();
    first->generation = 1;
    store->current_.store(std::make_shared<const S>(std::move(first).value()));
    store->stamp_ = stamp;
    store->KeepHeld(std::move(config).value(), stamp);
    return store;
  }

  // The current snapshot; never null.
  std::shared_ptr<const S> Current() const { return current_.load(); }

  // Re-reads the configuration and publishes the part when it differs. On
  // error (a damaged file) the current snapshot stays.
  Result<Change> Reload() {
    std::lock_guard<std::mutex> lock(publish_mu_);
    // The stamp is taken before reading: a write during the read shows as a
    // change at the next look, never as none.
    const Stamp stamp = StampNow();
    auto config = ConfigFile::Load(path_);
    SetStamp(stamp);  // a damaged file is reported once, not at every look of a watch
    if (!config.ok()) return config.status();
    return PublishFrom(*config);
  }

  // Under the config's file lock (waiting up to `lock_timeout` for another
  // command's): reads the file, calls `edit`, and when it succeeded and set
  // `*save`, saves the file and publishes what was saved. `edit` may change
  // any key of the document (a command's other settings go into the same
  // write). On any error nothing is saved and the snapshot stays.
  Result<Change> Edit(const std::function<Status(ConfigFile& config, bool* save)>& edit,
                      std::chrono::milliseconds lock_timeout = std::chrono::seconds(30)) {
    auto file_lock = held_lock_ ? Result<FileLock>(held_lock_) : LockFile(path_, lock_timeout);
    if (!file_lock.ok()) return file_lock.status();
    std::optional<ConfigFile> held = TakeHeld();
    auto config = held ? Result<ConfigFile>(std::move(*held)) : ConfigFile::Load(path_);
    if (!config.ok()) return config.status();
    bool save = false;
    OCTO_RETURN_IF_ERROR(edit(*config, &save));
    if (!save) return Change{Current(), Current()};  // `config` may differ from the file: not kept
    // Checked before saving: an edit must never write a part it cannot read back.
    auto next = read_(*config);
    if (!next.ok()) return next.status();
    OCTO_RETURN_IF_ERROR(config->Save());
    std::lock_guard<std::mutex> lock(publish_mu_);
    const Stamp saved = StampNow();
    SetStamp(saved);
    KeepHeld(std::move(config).value(), saved);
    return Publish(std::move(next).value());
  }

  // Whether the file differs (inode, size, modification time) from the one
  // the last Open(), Reload() or Edit() read or wrote: cheap, for a watch.
  bool FileChanged() const {
    const Stamp now = StampNow();
    std::lock_guard<std::mutex> lock(stamp_mu_);
    return !(now == stamp_);
  }

  const std::string& config_path() const { return path_; }

 private:
  using Stamp = FileStamp;

  ConfigStore(std::string path, Reader read, FileLock held_lock)
      : path_(std::move(path)), read_(std::move(read)), held_lock_(std::move(held_lock)) {}

  Stamp StampNow() const {
    auto stamp = StampFile(path_);
    return stamp.ok() ? *stamp : Stamp{};
  }

  void SetStamp(const Stamp& stamp) {
    std::lock_guard<std::mutex> lock(stamp_mu_);
    stamp_ = stamp;
  }

  // With a held lock no other command writes the file: the config as this
  // store last read or wrote it is kept, and the next Edit uses it instead
  // of reading the file again (for a Server with 10,000 targets, parsing the
  // file is most of an edit), unless the file changed since (a hand edit).
  // Without one (a service's store) nothing is kept.
  void KeepHeld(ConfigFile config, const Stamp& stamp) {
    if (!held_lock_) return;
    std::lock_guard<std::mutex> lock(held_mu_);
    held_config_.emplace(std::move(config));
    held_stamp_ = stamp;
  }
  std::optional<ConfigFile> TakeHeld() {
    std::lock_guard<std::mutex> lock(held_mu_);
    std::optional<ConfigFile> out;
    if (held_config_ && StampNow() == held_stamp_) out = std::move(held_config_);
    held_config_.reset();
    return out;
  }

  // Both below: publish_mu_ held.
  Result<Change> PublishFrom(const ConfigFile& config) {
    auto next = read_(config);
    if (!next.ok()) return next.status();
    return Publish(std::move(next).value());
  }
  Change Publish(S next) {
    auto before = current_.load();
    if (next.SameContent(*before)) return Change{before, before};
    next.generation = before->generation + 1;
    auto now = std::make_shared<const S>(std::move(next));
    current_.store(now);
    return Change{std::move(before), std::move(now)};
  }

  const std::string path_;
  const Reader read_;
  const FileLock held_lock_;  // null: Edit takes the lock itself
  std::mutex publish_mu_;  // serialises Reload and the publishing half of Edit
  Snapshot<S> current_;
  mutable std::mutex stamp_mu_;
  Stamp stamp_;  // guarded by stamp_mu_
  std::mutex held_mu_;
  std::optional<ConfigFile> held_config_;  // guarded by held_mu_; see KeepHeld
  Stamp held_stamp_;                       // guarded by held_mu_
};

}  // namespace octo
