#include "common/config/trust.h"

#include <algorithm>
#include <cctype>

#include "common/base/encoding.h"
#include "common/config/instance.h"
#include "common/crypto/thumbprint.h"

namespace octo {
namespace {

Result<Json> LoadList(const ConfigFile& config) {
  auto list = config.GetArray(keys::kTrustedServers);
  if (!list.ok()) return list.status();
  for (auto& entry : *list) {
    if (!entry.is_object() || !entry.contains("Thumbprint") || !entry["Thumbprint"].is_string()) {
      return Corrupt(config.path() + ": every entry of \"" + keys::kTrustedServers +
                     "\" must be an object with a \"Thumbprint\" string");
    }
    auto tp = ParseThumbprint(entry["Thumbprint"].get<std::string>());
    if (!tp.ok()) return Corrupt(config.path() + ": " + tp.status().message());
    entry["Thumbprint"] = *tp;
  }
  return list;
}

// A polling entry that can be polled: style 2 with an address and a subscription.
bool IsPollingEntry(const Json& e) {
  return e.contains("CommunicationStyle") && e["CommunicationStyle"] == kCommunicationStylePolling &&
         e.contains("Address") && e["Address"].is_string() && e.contains("SubscriptionId") &&
         e["SubscriptionId"].is_string() && !e["SubscriptionId"].get<std::string>().empty();
}

// A trusted-server entry as the real Tentacle writes it (Squid null).
Json Entry(const std::string& thumbprint, int style, Json address, Json subscription) {
  Json e = Json::object();
  e["Thumbprint"] = thumbprint;
  e["CommunicationStyle"] = style;
  e["Address"] = std::move(address);
  e["Squid"] = nullptr;
  e["SubscriptionId"] = std::move(subscription);
  return e;
}

bool Contains(const Json& list, const std::string& tp) {
  return std::any_of(list.begin(), list.end(), [&](const Json& e) { return e["Thumbprint"] == tp; });
}

}  // namespace

Result<Json> TrustedServerList(const ConfigFile& config) { return LoadList(config); }

Result<std::vector<std::string>> TrustedThumbprints(const ConfigFile& config) {
  auto list = LoadList(config);
  if (!list.ok()) return list.status();
  std::vector<std::string> out;
  for (const auto& e : *list) out.push_back(e["Thumbprint"].get<std::string>());
  return out;
}

Result<std::vector<PollingEndpoint>> PollingEndpoints(const ConfigFile& config) {
  auto list = LoadList(config);
  if (!list.ok()) return list.status();
  std::vector<PollingEndpoint> out;
  for (const auto& e : *list) {
    if (!IsPollingEntry(e)) continue;
    const std::string address = e["Address"].get<std::string>();
    auto at = std::find_if(out.begin(), out.end(), [&](const PollingEndpoint& p) { return EqualsIgnoreCase(p.address, address); });
    if (at == out.end()) {
      out.push_back(PollingEndpoint{address, e["SubscriptionId"].get<std::string>(), {}});
      at = out.end() - 1;
    }
    at->thumbprints.insert(e["Thumbprint"].get<std::string>());
  }
  return out;
}

Result<std::vector<TrustedServer>> TrustedServers(const ConfigFile& config) {
  auto list = LoadList(config);
  if (!list.ok()) return list.status();
  std::vector<TrustedServer> out;
  for (const auto& e : *list) {
    TrustedServer s;
    s.thumbprint = e["Thumbprint"].get<std::string>();
    if (e.contains("CommunicationStyle") && e["CommunicationStyle"].is_number_integer()) {
      s.communication_style = e["CommunicationStyle"].get<int>();
    }
    if (e.contains("Address") && e["Address"].is_string()) s.address = e["Address"].get<std::string>();
    if (e.contains("SubscriptionId") && e["SubscriptionId"].is_string()) {
      s.subscription_id = e["SubscriptionId"].get<std::string>();
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<TrustReport> ApplyTrustChanges(ConfigFile& config, const TrustChanges& changes) {
  auto loaded = LoadList(config);
  if (!loaded.ok()) return loaded.status();
  Json list = std::move(loaded).value();
  TrustReport report;
  const Json before = list;
  if (changes.reset) {
    report.reset = true;
    report.reset_count = list.size();
    list = Json::array();
  }
  for (const auto& tp : changes.remove) {
    auto it = std::find_if(list.begin(), list.end(), [&](const Json& e) { return e["Thumbprint"] == tp; });
    if (it == list.end()) {
      const bool gone_with_reset = changes.reset && Contains(before, tp);
      if (!gone_with_reset && std::find(report.removed.begin(), report.removed.end(), tp) == report.removed.end()) {
        report.not_trusted.push_back(tp);
      }
      continue;
    }
    list.erase(std::remove_if(it, list.end(), [&](const Json& e) { return e["Thumbprint"] == tp; }), list.end());
    report.removed.push_back(tp);
  }
  for (const auto& tp : changes.add) {
    if (Contains(list, tp)) {
      if (std::find(report.added.begin(), report.added.end(), tp) == report.added.end()) {
        report.already_trusted.push_back(tp);
      }
      continue;
    }
    list.push_back(Entry(tp, kCommunicationStyleListening, nullptr, nullptr));
    // A Server trusted now is also accepted at every address this Tentacle
    // polls, under the same subscription: so that the seed procedure
    // (trust the new thumbprint, switch the Server, remove the old one)
    // works for a polling Tentacle as it does for a listening one. The real
    // Tentacle keeps one thumbprint per polling address, which is why its
    // users need update-trust there (OctopusDeploy/Issues#5152).
    std::vector<std::pair<std::string, std::string>> polled;  // (Address, SubscriptionId), first seen order
    for (const auto& e : list) {
      if (!IsPollingEntry(e)) continue;
      std::pair<std::string, std::string> at{e["Address"].get<std::string>(), e["SubscriptionId"].get<std::string>()};
      const bool seen = std::any_of(polled.begin(), polled.end(), [&](const auto& p) { return EqualsIgnoreCase(p.first, at.first); });
      if (!seen) polled.push_back(std::move(at));
    }
    for (const auto& [address, subscription] : polled) {
      list.push_back(Entry(tp, kCommunicationStylePolling, address, subscription));
    }
    report.added.push_back(tp);
  }
  config.Set(keys::kTrustedServers, std::move(list));
  return report;
}

Status UpdateTrust(ConfigFile& config, const std::string& old_thumbprint, const std::string& new_thumbprint) {
  auto loaded = LoadList(config);
  if (!loaded.ok()) return loaded.status();
  Json list = std::move(loaded).value();
  if (!Contains(list, old_thumbprint)) return NotFound("the Octopus Server with thumbprint " + old_thumbprint + " is not trusted");
  if (Contains(list, new_thumbprint)) {
    return AlreadyExists("the Octopus Server with thumbprint " + new_thumbprint + " is already trusted");
  }
  for (auto& e : list) {
    if (e["Thumbprint"] == old_thumbprint) e["Thumbprint"] = new_thumbprint;
  }
  config.Set(keys::kTrustedServers, std::move(list));
  return Status::Ok();
}

}  // namespace octo
