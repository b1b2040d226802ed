#include "support/cli_fixture.h"

#include <nlohmann/json.hpp>

namespace octo::testing {

std::string JsonField(const std::string& json, const std::string& key) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) {
    ADD_FAILURE() << "no string \"" << key << "\" in " << json;
    return "";
  }
  return j[key].get<std::string>();
}

std::string CliTest::ServerThumbprint(const std::string& instance) {
  auto r = MustServer({"show-thumbprint", "--instance", instance, "--format", "json"});
  return JsonField(r.out, "Thumbprint");
}

std::string CliTest::TentacleThumbprint(const std::string& instance) {
  auto r = MustTentacle({"show-thumbprint", "--instance", instance, "--format", "json"});
  return JsonField(r.out, "Thumbprint");
}

}  // namespace octo::testing
