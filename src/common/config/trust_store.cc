#include "common/config/trust_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <iterator>

#include "common/config/config_file.h"
#include "common/config/trust.h"

namespace octo {

Result<std::unique_ptr<TrustStore>> TrustStore::Open(const std::string& config_path) {
  std::unique_ptr<TrustStore> store(new TrustStore(config_path));
  const Stamp stamp = store->StampNow();
  auto set = store->Read();
  if (!set.ok()) return set.status();
  auto first = std::make_shared<TrustSnapshot>();
  first->thumbprints = std::move(set).value();
  first->generation = 1;
  store->current_.store(std::move(first));
  store->stamp_ = stamp;
  return store;
}

TrustStore::Stamp TrustStore::StampNow() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return Stamp{};
  return Stamp{st.st_dev, st.st_ino, st.st_size,
               static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

bool TrustStore::FileChanged() const {
  const Stamp now = StampNow();
  std::lock_guard<std::mutex> lock(stamp_mu_);
  return !(now == stamp_);
}

Result<std::set<std::string>> TrustStore::Read() const {
  auto config = ConfigFile::Load(path_);
  if (!config.ok()) return config.status();
  auto list = TrustedThumbprints(*config);
  if (!list.ok()) return list.status();
  return std::set<std::string>(list->begin(), list->end());
}

Result<TrustChange> TrustStore::Reload() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  // The stamp is taken before reading: a write during the read shows as a
  // change at the next look, never as none.
  const Stamp stamp = StampNow();
  auto set = Read();
  {  // a damaged file is reported once, not at every look of the watch
    std::lock_guard<std::mutex> stamp_lock(stamp_mu_);
    stamp_ = stamp;
  }
  if (!set.ok()) return set.status();
  auto before = current_.load();
  TrustChange change;
  std::set_difference(set->begin(), set->end(), before->thumbprints.begin(), before->thumbprints.end(),
                      std::back_inserter(change.added));
  std::set_difference(before->thumbprints.begin(), before->thumbprints.end(), set->begin(), set->end(),
                      std::back_inserter(change.removed));
  if (!change.changed()) {
    change.now = before;
    return change;
  }
  auto next = std::make_shared<TrustSnapshot>();
  next->thumbprints = std::move(set).value();
  next->generation = before->generation + 1;
  current_.store(next);
  change.now = std::move(next);
  return change;
}

}  // namespace octo
