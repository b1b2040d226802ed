#include "common/config/trust_store.h"

#include <algorithm>
#include <iterator>

#include "common/config/instance.h"
#include "common/config/trust.h"

namespace octo {
namespace {

Result<TrustSnapshot> ReadTrust(const ConfigFile& config) {
  auto list = TrustedThumbprints(config);
  if (!list.ok()) return list.status();
  TrustSnapshot s;
  s.thumbprints = std::set<std::string>(list->begin(), list->end());
  auto polling = PollingEndpoints(config);
  if (!polling.ok()) return polling.status();
  s.polling = std::move(polling).value();
  auto count = config.GetInt(keys::kPollingConnectionCount, 1);
  if (!count.ok()) return count.status();
  s.polling_connections = std::clamp(*count, 1, 512);
  return s;
}

TrustChange Describe(const ConfigStore<TrustSnapshot>::Change& c) {
  TrustChange change;
  change.now = c.now;
  if (!c.changed()) return change;
  const auto& before = c.before->thumbprints;
  const auto& now = c.now->thumbprints;
  std::set_difference(now.begin(), now.end(), before.begin(), before.end(), std::back_inserter(change.added));
  std::set_difference(before.begin(), before.end(), now.begin(), now.end(), std::back_inserter(change.removed));
  change.polling_changed = c.before->polling != c.now->polling ||
                           c.before->polling_connections != c.now->polling_connections;
  return change;
}

}  // namespace

Result<std::unique_ptr<TrustStore>> TrustStore::Open(const std::string& config_path, FileLock held_lock) {
  auto store = ConfigStore<TrustSnapshot>::Open(config_path, ReadTrust, std::move(held_lock));
  if (!store.ok()) return store.status();
  return std::unique_ptr<TrustStore>(new TrustStore(std::move(store).value()));
}

Result<TrustChange> TrustStore::Reload() {
  auto c = store_->Reload();
  if (!c.ok()) return c.status();
  return Describe(*c);
}

Result<TrustChange> TrustStore::Edit(const std::function<Status(ConfigFile& config, bool* save)>& edit) {
  auto c = store_->Edit(edit);
  if (!c.ok()) return c.status();
  return Describe(*c);
}

}  // namespace octo
