#include "common/config/targets.h"

#include <algorithm>

#include "common/base/net.h"
#include "common/crypto/thumbprint.h"

namespace octo {
namespace {

bool Contains(const std::vector<std::string>& set, const std::string& tp) {
  return std::find(set.begin(), set.end(), tp) != set.end();
}

std::string Joined(const std::vector<std::string>& pins) {
  std::string out;
  for (const auto& tp : pins) out += (out.empty() ? "" : ", ") + tp;
  return out;
}

// Parses thumbprints into a set: upper case, repeats dropped, order kept.
Result<std::vector<std::string>> PinSet(const std::vector<std::string>& thumbprints) {
  std::vector<std::string> out;
  for (const auto& t : thumbprints) {
    auto tp = ParseThumbprint(t);
    if (!tp.ok()) return tp.status();
    if (!Contains(out, *tp)) out.push_back(*tp);
  }
  return out;
}

// One entry of the list, in either form.
Result<Target> ParseEntry(const ConfigFile& config, const Json& e) {
  const bool has_one = e.is_object() && e.contains("Thumbprint") && !e["Thumbprint"].is_null();
  const bool has_set = e.is_object() && e.contains("Thumbprints") && !e["Thumbprints"].is_null();
  if (!e.is_object() || !e.contains("Name") || !e["Name"].is_string() || !e.contains("Address") ||
      !e["Address"].is_string() || (has_one && !e["Thumbprint"].is_string()) || (!has_one && !has_set)) {
    return Corrupt(config.path() + ": every entry of \"" + kTargetsKey +
                   "\" must have \"Name\", \"Address\" and \"Thumbprint\" strings");
  }
  Target t;
  t.name = e["Name"].get<std::string>();
  t.address = e["Address"].get<std::string>();
  const std::string where = config.path() + ": deployment target '" + t.name + "'";
  std::vector<std::string> given;
  if (has_set) {
    const Json& set = e["Thumbprints"];
    if (!set.is_array() || !std::all_of(set.begin(), set.end(), [](const Json& v) { return v.is_string(); })) {
      return Corrupt(where + ": \"Thumbprints\" must be an array of thumbprint strings");
    }
    if (set.empty()) return Corrupt(where + " pins no thumbprint (its \"Thumbprints\" is empty)");
    for (const auto& v : set) given.push_back(v.get<std::string>());
  } else {
    given.push_back(e["Thumbprint"].get<std::string>());
  }
  auto pins = PinSet(given);
  if (!pins.ok()) return Corrupt(where + ": " + pins.status().message());
  t.thumbprints = std::move(pins).value();
  if (has_set && has_one) {
    // "Thumbprint" is written as the first pin. When it is not, a version
    // before pin sets changed it: neither value can be trusted on its own.
    auto one = ParseThumbprint(e["Thumbprint"].get<std::string>());
    if (!one.ok()) return Corrupt(where + ": " + one.status().message());
    if (*one != t.thumbprints.front()) {
      return Corrupt(where + ": its \"Thumbprint\" " + *one + " is not the first of its \"Thumbprints\" (" +
                     Joined(t.thumbprints) +
                     "), as when a version before pin sets changed it; edit the entry so that they agree");
    }
  }
  return t;
}

// The targets of the list, entry for entry (an absent list: none). The list
// is read where it is, not copied: a Server may have 10,000 targets.
Result<std::vector<Target>> Load(const ConfigFile& config) {
  std::vector<Target> targets;
  if (!config.Has(kTargetsKey)) return targets;
  const Json& list = config.doc()[kTargetsKey];
  if (!list.is_array()) return config.GetArray(kTargetsKey).status();
  targets.reserve(list.size());
  for (const auto& e : list) {
    auto t = ParseEntry(config, e);
    if (!t.ok()) return t.status();
    targets.push_back(std::move(t).value());
  }
  return targets;
}

// The list in the config, for changing it in place (made if absent).
Json& List(ConfigFile& config) {
  if (!config.Has(kTargetsKey)) config.Set(kTargetsKey, Json::array());
  return config.doc()[kTargetsKey];
}

// Whether entry `e` is already written as Store writes `t`.
bool Written(const Json& e, const Target& t) {
  auto is = [&](const char* key, const std::string& value) {
    auto it = e.find(key);
    return it != e.end() && it->is_string() && it->get_ref<const std::string&>() == value;
  };
  if (!is("Name", t.name) || !is("Address", t.address) || !is("Thumbprint", t.thumbprints.front())) return false;
  auto set = e.find("Thumbprints");
  if (set == e.end() || !set->is_array() || set->size() != t.thumbprints.size()) return false;
  for (size_t i = 0; i < t.thumbprints.size(); ++i) {
    const Json& v = (*set)[i];
    if (!v.is_string() || v.get_ref<const std::string&>() != t.thumbprints[i]) return false;
  }
  return true;
}

// Writes every entry in the current form, keeping the keys we do not know;
// entries already so are left as they are.
void Store(Json& list, const std::vector<Target>& targets) {
  for (size_t i = 0; i < targets.size(); ++i) {
    Json& e = list[i];
    if (Written(e, targets[i])) continue;
    e["Name"] = targets[i].name;
    e["Address"] = targets[i].address;
    e["Thumbprint"] = targets[i].thumbprints.front();
    e["Thumbprints"] = targets[i].thumbprints;
  }
}

Status NoSuchTarget(const std::string& name) { return NotFound("there is no deployment target named '" + name + "'"); }

}  // namespace

Status ValidateTargetName(const std::string& name) {
  if (name.empty()) return InvalidArgument("the target name is empty");
  if (name.size() > 200) return InvalidArgument("the target name is longer than 200 characters");
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return InvalidArgument("the target name contains a control character");
    }
  }
  return Status::Ok();
}

Result<std::vector<Target>> LoadTargets(const ConfigFile& config) { return Load(config); }

Status AddTarget(ConfigFile& config, const Target& target) {
  auto targets = Load(config);
  if (!targets.ok()) return targets.status();
  for (const auto& t : *targets) {
    if (t.name == target.name) return AlreadyExists("a deployment target named '" + target.name + "' already exists");
  }
  auto pins = PinSet(target.thumbprints);
  if (!pins.ok()) return pins.status();
  if (pins->empty()) return InvalidArgument("deployment target '" + target.name + "' must pin a thumbprint");
  targets->emplace_back(target.name, target.address, std::move(pins).value());
  Json& list = List(config);
  list.push_back(Json::object());
  Store(list, *targets);
  return Status::Ok();
}

Result<PinReport> UpdateTarget(ConfigFile& config, const std::string& name, const PinChanges& changes,
                               const std::optional<std::string>& address) {
  auto targets = Load(config);
  if (!targets.ok()) return targets.status();
  auto it = std::find_if(targets->begin(), targets->end(), [&](const Target& t) { return t.name == name; });
  if (it == targets->end()) return NoSuchTarget(name);
  std::vector<std::string> pins = it->thumbprints;
  PinReport report;
  if (changes.replace) {
    auto set = PinSet(*changes.replace);
    if (!set.ok()) return set.status();
    pins = std::move(set).value();
  }
  for (const auto& tp : changes.remove) {
    auto at = std::find(pins.begin(), pins.end(), tp);
    if (at != pins.end()) {
      pins.erase(at);
      report.removed.push_back(tp);
    } else if (!Contains(report.removed, tp) && !Contains(report.not_pinned, tp)) {
      report.not_pinned.push_back(tp);
    }
  }
  for (const auto& tp : changes.add) {
    if (!Contains(pins, tp)) {
      pins.push_back(tp);
      report.added.push_back(tp);
    } else if (!Contains(report.added, tp) && !Contains(report.already_pinned, tp)) {
      report.already_pinned.push_back(tp);
    }
  }
  if (pins.empty()) {
    return FailedPrecondition("deployment target '" + name + "' must keep at least one pinned thumbprint: " +
                              (changes.replace ? std::string("the new set is empty")
                                               : "removing " + Joined(report.removed) + " would leave it none"));
  }
  it->thumbprints = pins;
  if (address) it->address = *address;
  report.pins = std::move(pins);
  Store(List(config), *targets);
  return report;
}

Status RemoveTarget(ConfigFile& config, const std::string& name) {
  auto targets = Load(config);
  if (!targets.ok()) return targets.status();
  auto it = std::find_if(targets->begin(), targets->end(), [&](const Target& t) { return t.name == name; });
  if (it == targets->end()) return NoSuchTarget(name);
  const auto at = it - targets->begin();
  targets->erase(it);
  Json& list = List(config);
  list.erase(list.begin() + at);
  Store(list, *targets);
  return Status::Ok();
}

}  // namespace octo
