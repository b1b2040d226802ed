#include "common/targets.h"

#include <algorithm>

#include "common/net.h"
#include "common/thumbprint.h"

namespace octo {

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

Result<std::vector<Target>> LoadTargets(const ConfigFile& config) {
  auto list = config.GetArray(kTargetsKey);
  if (!list.ok()) return list.status();
  std::vector<Target> out;
  for (const auto& e : *list) {
    if (!e.is_object() || !e.contains("Name") || !e["Name"].is_string() || !e.contains("Address") ||
        !e["Address"].is_string() || !e.contains("Thumbprint") || !e["Thumbprint"].is_string()) {
      return Corrupt(config.path() + ": every entry of \"" + kTargetsKey +
                     "\" must have \"Name\", \"Address\" and \"Thumbprint\" strings");
    }
    out.push_back({e["Name"].get<std::string>(), e["Address"].get<std::string>(), e["Thumbprint"].get<std::string>()});
  }
  return out;
}

static Json ToJson(const Target& t) { return Json{{"Name", t.name}, {"Address", t.address}, {"Thumbprint", t.thumbprint}}; }

Status AddTarget(ConfigFile& config, const Target& target) {
  auto list = config.GetArray(kTargetsKey);
  if (!list.ok()) return list.status();
  OCTO_RETURN_IF_ERROR(LoadTargets(config).status());
  for (const auto& e : *list) {
    if (e["Name"] == target.name) return AlreadyExists("a deployment target named '" + target.name + "' already exists");
  }
  list->push_back(ToJson(target));
  config.Set(kTargetsKey, *list);
  return Status::Ok();
}

Status UpdateTarget(ConfigFile& config, const std::string& name, const std::optional<std::string>& thumbprint,
                    const std::optional<std::string>& address) {
  OCTO_RETURN_IF_ERROR(LoadTargets(config).status());
  auto list = config.GetArray(kTargetsKey);
  for (auto& e : *list) {
    if (e["Name"] != name) continue;
    if (thumbprint) e["Thumbprint"] = *thumbprint;
    if (address) e["Address"] = *address;
    config.Set(kTargetsKey, *list);
    return Status::Ok();
  }
  return NotFound("there is no deployment target named '" + name + "'");
}

Status RemoveTarget(ConfigFile& config, const std::string& name) {
  OCTO_RETURN_IF_ERROR(LoadTargets(config).status());
  auto list = config.GetArray(kTargetsKey);
  auto it = std::find_if(list->begin(), list->end(), [&](const Json& e) { return e["Name"] == name; });
  if (it == list->end()) return NotFound("there is no deployment target named '" + name + "'");
  list->erase(it);
  config.Set(kTargetsKey, *list);
  return Status::Ok();
}

}  // namespace octo
