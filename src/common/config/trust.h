// The Tentacle's trusted Octopus Servers: the list under
// "Tentacle.Communication.TrustedOctopusServers", each entry
// {Thumbprint, CommunicationStyle, Address, Squid, SubscriptionId}.
// Entries keep any other keys they carry.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/config/config_file.h"
#include "common/base/status.h"

namespace octo {

inline constexpr int kCommunicationStyleListening = 1;  // "TentaclePassive"
inline constexpr int kCommunicationStylePolling = 2;    // "TentacleActive"

// The list itself, each Thumbprint normalised to upper case (an empty array
// if absent). Corrupt if the list or an entry is malformed.
Result<Json> TrustedServerList(const ConfigFile& config);

// Thumbprints (upper case) of the trusted servers, one per entry (a Server
// polled at several addresses has several entries). Corrupt if the list or an
// entry is malformed.
Result<std::vector<std::string>> TrustedThumbprints(const ConfigFile& config);

// One trusted server entry, as update-trust reports it.
struct TrustedServer {
  std::string thumbprint;
  int communication_style = kCommunicationStyleListening;
  std::string address;  // empty for a listening Tentacle's entry
  std::string subscription_id;  // "poll://.../" for a polling entry, else empty
};
Result<std::vector<TrustedServer>> TrustedServers(const ConfigFile& config);

// Where a polling Tentacle connects: one per address (compared without
// regard to case), with the subscription id of the address's first entry and
// the thumbprints of every entry at that address: the Server there may
// present any of them (two during a Server certificate rotation).
struct PollingEndpoint {
  std::string address;          // https://HOST:PORT
  std::string subscription_id;  // poll://.../
  std::set<std::string> thumbprints;
  bool operator==(const PollingEndpoint&) const = default;
};
// The entries with CommunicationStyle 2, an Address and a SubscriptionId,
// grouped by address, in the order of their first entries. Corrupt as above.
Result<std::vector<PollingEndpoint>> PollingEndpoints(const ConfigFile& config);

// One `configure` call's trust changes, applied in the documented order:
// reset, then remove (every entry of the thumbprint, polling ones too), then add. Thumbprints must already be parsed.
struct TrustChanges {
  bool reset = false;
  std::vector<std::string> remove;
  std::vector<std::string> add;
};

// What ApplyTrustChanges did, for the console.
struct TrustReport {
  bool reset = false;
  size_t reset_count = 0;                   // entries the reset removed
  std::vector<std::string> removed;         // in the order asked
  std::vector<std::string> not_trusted;     // asked to remove, but were not there
  std::vector<std::string> added;
  std::vector<std::string> already_trusted; // asked to add, but were there
  bool Changed() const { return reset_count > 0 || !removed.empty() || !added.empty(); }
};

Result<TrustReport> ApplyTrustChanges(ConfigFile& config, const TrustChanges& changes);

// Replaces `old_thumbprint` with `new_thumbprint` in every entry that has it
// (a polling Server may have several), keeping address, style and
// subscription. NotFound if `old_thumbprint` is not trusted;
// AlreadyExists if `new_thumbprint` already is (nothing changes then).
Status UpdateTrust(ConfigFile& config, const std::string& old_thumbprint, const std::string& new_thumbprint);

}  // namespace octo
