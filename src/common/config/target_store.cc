#include "common/config/target_store.h"

#include <algorithm>

namespace octo {
namespace {

Result<TargetSnapshot> ReadTargets(const ConfigFile& config) {
  auto targets = LoadTargets(config);
  if (!targets.ok()) return targets.status();
  TargetSnapshot s;
  s.targets = std::move(targets).value();
  s.by_name.reserve(s.targets.size());
  for (size_t i = 0; i < s.targets.size(); ++i) s.by_name.emplace(s.targets[i].name, i);
  return s;
}

}  // namespace

const Target* TargetSnapshot::Find(const std::string& name) const {
  if (by_name.size() == targets.size()) {
    auto at = by_name.find(name);
    return at == by_name.end() ? nullptr : &targets[at->second];
  }
  auto it = std::find_if(targets.begin(), targets.end(), [&](const Target& t) { return t.name == name; });
  return it == targets.end() ? nullptr : &*it;
}

Result<std::unique_ptr<TargetStore>> TargetStore::Open(const std::string& config_path, FileLock held_lock) {
  auto store = ConfigStore<TargetSnapshot>::Open(config_path, ReadTargets, std::move(held_lock));
  if (!store.ok()) return store.status();
  return std::unique_ptr<TargetStore>(new TargetStore(std::move(store).value()));
}

Result<std::shared_ptr<const TargetSnapshot>> TargetStore::Refresh() {
  if (store_->FileChanged()) {
    auto c = store_->Reload();
    if (!c.ok()) return c.status();
  }
  return store_->Current();
}

Status TargetStore::Add(const Target& target) {
  return store_
      ->Edit([&](ConfigFile& config, bool* save) {
        OCTO_RETURN_IF_ERROR(AddTarget(config, target));
        *save = true;
        return Status::Ok();
      })
      .status();
}

Result<PinReport> TargetStore::Update(const std::string& name, const PinChanges& pins,
                                      const std::optional<std::string>& address) {
  PinReport report;
  auto c = store_->Edit([&](ConfigFile& config, bool* save) {
    auto r = UpdateTarget(config, name, pins, address);
    if (!r.ok()) return r.status();
    report = std::move(r).value();
    // Asking for what is already so changes nothing, and writes nothing.
    *save = pins.replace.has_value() || address.has_value() || report.Changed();
    return Status::Ok();
  });
  if (!c.ok()) return c.status();
  return report;
}

Status TargetStore::Remove(const std::string& name) {
  return store_
      ->Edit([&](ConfigFile& config, bool* save) {
        OCTO_RETURN_IF_ERROR(RemoveTarget(config, name));
        *save = true;
        return Status::Ok();
      })
      .status();
}

}  // namespace octo
