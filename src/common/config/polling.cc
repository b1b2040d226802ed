#include "common/config/polling.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/config/instance.h"
#include "common/config/trust.h"
#include "common/crypto/ossl.h"

namespace octo {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";  // Util/RandomStringGenerator.cs
constexpr size_t kSubscriptionChars = 20;
constexpr std::string_view kPollPrefix = "poll://";

std::string Lower(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

bool SameAddress(const Json& entry, const std::optional<std::string>& address) {
  const bool has = entry.contains("Address") && entry["Address"].is_string();
  if (!has || !address) return has == address.has_value();
  return Lower(entry["Address"].get<std::string>()) == Lower(*address);
}

int Style(const Json& entry) {
  if (entry.contains("CommunicationStyle") && entry["CommunicationStyle"].is_number_integer()) {
    return entry["CommunicationStyle"].get<int>();
  }
  return 0;
}

std::optional<std::string> SubscriptionId(const Json& entry) {
  if (entry.contains("SubscriptionId") && entry["SubscriptionId"].is_string()) {
    return entry["SubscriptionId"].get<std::string>();
  }
  return std::nullopt;
}

// The SubscriptionId of the thumbprint's first polling entry that has one.
std::optional<std::string> ExistingSubscription(const Json& list, const std::string& thumbprint) {
  for (const auto& e : list) {
    if (e["Thumbprint"] != thumbprint || Style(e) != kCommunicationStylePolling) continue;
    if (auto id = SubscriptionId(e)) return id;
  }
  return std::nullopt;
}

Json NewEntry(const std::string& thumbprint) {
  Json e = Json::object();
  e["Thumbprint"] = thumbprint;
  e["CommunicationStyle"] = 0;
  e["Address"] = nullptr;
  e["Squid"] = nullptr;
  e["SubscriptionId"] = nullptr;
  return e;
}

// AddOrUpdateTrustedOctopusServer: drop the entry with the same thumbprint
// and address, append `entry`.
void AddOrUpdate(Json& list, Json entry) {
  std::optional<std::string> address;
  if (entry["Address"].is_string()) address = entry["Address"].get<std::string>();
  const Json thumbprint = entry["Thumbprint"];
  for (auto it = list.begin(); it != list.end();) {
    if ((*it)["Thumbprint"] == thumbprint && SameAddress(*it, address)) {
      it = list.erase(it);
    } else {
      ++it;
    }
  }
  list.push_back(std::move(entry));
}

Result<Json> ListTrusting(const ConfigFile& config, const std::string& thumbprint) {
  auto list = TrustedServerList(config);
  if (!list.ok()) return list.status();
  const bool trusted = std::any_of(list->begin(), list->end(), [&](const Json& e) { return e["Thumbprint"] == thumbprint; });
  if (!trusted) return NotFound("the Octopus Server with thumbprint " + thumbprint + " is not trusted");
  return list;
}

bool ValidHost(const std::string& host) {
  if (host.empty() || host.size() > 253) return false;
  if (host.front() == '[') {  // an IPv6 literal, as a URL writes it
    return host.size() > 2 && host.back() == ']' &&
           std::all_of(host.begin() + 1, host.end() - 1,
                       [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; });
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

}  // namespace

Result<std::string> GeneratePollingSubscriptionId() {
  // Bytes at or above `limit` are drawn again, so that `byte % n` is uniform.
  constexpr unsigned kN = kAlphabet.size();
  constexpr unsigned kLimit = 256 - 256 % kN;
  std::string chars;
  while (chars.size() < kSubscriptionChars) {
    unsigned char buf[32];
    if (RAND_bytes(buf, sizeof buf) != 1) return OpenSslError("cannot make a subscription id");
    for (const unsigned b : buf) {
      if (b >= kLimit) continue;
      chars.push_back(kAlphabet[b % kN]);
      if (chars.size() == kSubscriptionChars) break;
    }
  }
  return std::string(kPollPrefix) + Lower(chars) + "/";
}

bool IsGeneratedSubscriptionId(std::string_view id) {
  if (id.size() != kPollPrefix.size() + kSubscriptionChars + 1) return false;
  if (id.substr(0, kPollPrefix.size()) != kPollPrefix || id.back() != '/') return false;
  const std::string lower = Lower(kAlphabet);
  const std::string_view body = id.substr(kPollPrefix.size(), kSubscriptionChars);
  return std::all_of(body.begin(), body.end(), [&](char c) { return lower.find(c) != std::string::npos; });
}

Result<int> ParsePollingConnectionCount(std::string_view value) {
  // As .NET's int.TryParse: surrounding white space and a sign are allowed.
  std::string_view v = value;
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  int count = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), count);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
    return InvalidArgument("The polling connection count '" + std::string(value) +
                           "' is not a valid whole number. Specify a positive integer, e.g. --pollingConnectionCount=5");
  }
  if (count < 1) {
    return InvalidArgument("The polling connection count must be greater than 0, but was " + std::to_string(count) +
                           ".");
  }
  return count;
}

Result<std::string> PollingAddress(const std::string& host, int port) {
  if (!ValidHost(host)) return InvalidArgument("--host: '" + host + "' is not a host name or IP address");
  if (port < 1 || port > 65535) {
    return InvalidArgument("--port: " + std::to_string(port) + " is not a port number (1-65535)");
  }
  return "https://" + host + ":" + std::to_string(port);
}

Result<std::string> PollingAddressFromUrl(const std::string& url, std::optional<int> port) {
  auto bad = [&] {
    return InvalidArgument("--server-comms-address: '" + url + "' is not an http or https URL, e.g. https://octopus:10943");
  };
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return bad();
  const std::string scheme = Lower(url.substr(0, scheme_end));
  if (scheme != "https" && scheme != "http") return bad();
  std::string authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (authority.find('@') != std::string::npos) return bad();
  std::string host = authority;
  int url_port = scheme == "https" ? 443 : 80;  // System.Uri's default ports
  const size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    host = authority.substr(0, colon);
    const std::string p = authority.substr(colon + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), url_port);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || url_port < 1 || url_port > 65535) return bad();
  }
  if (!ValidHost(host)) return bad();
  const int chosen = port.value_or(url_port);
  if (chosen < 1 || chosen > 65535) {
    return InvalidArgument("--server-comms-port: " + std::to_string(chosen) + " is not a port number (1-65535)");
  }
  return "https://" + host + ":" + std::to_string(chosen);
}

Result<std::string> SetPollingComms(ConfigFile& config, const std::string& thumbprint, const std::string& address,
                                    const std::function<Result<std::string>()>& generate) {
  OCTO_ASSIGN_OR_RETURN(Json list, ListTrusting(config, thumbprint));
  auto mine = [&](const Json& e) { return e["Thumbprint"] == thumbprint; };
  auto it = std::find_if(list.begin(), list.end(), [&](const Json& e) { return mine(e) && SameAddress(e, address); });
  if (it == list.end()) it = std::find_if(list.begin(), list.end(), [&](const Json& e) { return mine(e) && Style(e) == 0; });
  Json entry = it != list.end() ? *it : NewEntry(thumbprint);
  entry["Address"] = address;
  entry["CommunicationStyle"] = kCommunicationStylePolling;
  std::optional<std::string> id = SubscriptionId(entry);
  if (!id) id = ExistingSubscription(list, thumbprint);
  if (!id) {
    OCTO_ASSIGN_OR_RETURN(std::string fresh, generate());
    id = std::move(fresh);
  }
  entry["SubscriptionId"] = *id;
  // A style-0 entry it was copied from stays, as in the real command.
  AddOrUpdate(list, std::move(entry));
  config.Set(keys::kTrustedServers, std::move(list));
  return *id;
}

Status SetListeningComms(ConfigFile& config, const std::string& thumbprint) {
  OCTO_ASSIGN_OR_RETURN(Json list, ListTrusting(config, thumbprint));
  auto it = std::find_if(list.begin(), list.end(), [&](const Json& e) {
    return e["Thumbprint"] == thumbprint && SameAddress(e, std::nullopt);
  });
  Json entry = it != list.end() ? *it : NewEntry(thumbprint);
  entry["CommunicationStyle"] = kCommunicationStyleListening;
  AddOrUpdate(list, std::move(entry));
  config.Set(keys::kTrustedServers, std::move(list));
  return Status::Ok();
}

Result<std::string> AddPollingAddress(ConfigFile& config, const std::string& thumbprint, const std::string& address) {
  OCTO_ASSIGN_OR_RETURN(Json list, ListTrusting(config, thumbprint));
  auto id = ExistingSubscription(list, thumbprint);
  if (!id) {
    return FailedPrecondition("the Octopus Server with thumbprint " + thumbprint +
                              " has no polling entry (server-comms --style TentacleActive makes one)");
  }
  Json entry = NewEntry(thumbprint);
  entry["CommunicationStyle"] = kCommunicationStylePolling;
  entry["Address"] = address;
  entry["SubscriptionId"] = *id;
  AddOrUpdate(list, std::move(entry));
  config.Set(keys::kTrustedServers, std::move(list));
  return *id;
}

bool SetPollingConnectionCount(ConfigFile& config, int count) {
  const Json& doc = config.doc();
  if (doc.contains(keys::kPollingConnectionCount) && doc[keys::kPollingConnectionCount] == count) return false;
  config.Set(keys::kPollingConnectionCount, count);
  return true;
}

}  // namespace octo
