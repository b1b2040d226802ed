// A polling Tentacle's configuration: the entries of the trusted-server list
// with CommunicationStyle 2 ("TentacleActive"), which name the Server's comms
// address and the Tentacle's subscription id, and the polling connection
// count. These functions mirror the real Tentacle's server-comms, poll-server
// and set-polling-connection-count (OctopusTentacle Commands/*.cs); they edit a
// ConfigFile the caller holds under the config's lock (TrustStore::Edit) and
// never touch the network: nothing here opens a polling connection.
//
// Entries are unique by Thumbprint + Address (the address compared without
// regard to case; null equals null). Writing an entry removes the one it
// matches and appends the new one at the end, as the real
// AddOrUpdateTrustedOctopusServer does.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "common/config/config_file.h"

namespace octo {

inline constexpr int kDefaultServerCommsPort = 10943;

// "poll://" + 20 characters of ABCDEFGHJKLMNPQRSTUVWXYZ23456789, lower-cased,
// + "/", from OpenSSL's CSPRNG (rejection sampling, so every character is
// equally likely). Internal if the generator fails.
Result<std::string> GeneratePollingSubscriptionId();

// Whether `id` has the shape GeneratePollingSubscriptionId makes.
bool IsGeneratedSubscriptionId(std::string_view id);

// A --pollingConnectionCount value: an integer >= 1, with the real command's
// messages as InvalidArgument ("The polling connection count 'x' is not a
// valid whole number. ...", "... must be greater than 0, but was 0.").
Result<int> ParsePollingConnectionCount(std::string_view value);

// The address of a polling entry, "https://HOST:PORT", as the real command
// builds it from --host and --port. InvalidArgument for an empty host, one
// with characters a host name cannot hold, or a port outside 1-65535.
Result<std::string> PollingAddress(const std::string& host, int port);

// The address from poll-server's --server-comms-address URL (http or https;
// its port, else 443 / 80) and --server-comms-port (which wins when given):
// "https://HOST:PORT". InvalidArgument naming the problem otherwise.
Result<std::string> PollingAddressFromUrl(const std::string& url, std::optional<int> port);

// server-comms --style TentacleActive for trusted `thumbprint` (upper case):
// the entry with this address, else the first of this thumbprint with style
// 0, else a new one, becomes {style 2, Address}; when it has no
// SubscriptionId it takes the one of this thumbprint's polling entries, else
// `generate()`. Returns the entry's SubscriptionId. NotFound if `thumbprint`
// is not trusted; Corrupt if the list is malformed.
Result<std::string> SetPollingComms(ConfigFile& config, const std::string& thumbprint, const std::string& address,
                                    const std::function<Result<std::string>()>& generate);

// server-comms --style TentaclePassive: the thumbprint's entry with no
// address (a new one if there is none) gets style 1. Polling entries of the
// thumbprint stay, as in the real command. NotFound if not trusted.
Status SetListeningComms(ConfigFile& config, const std::string& thumbprint);

// poll-server: adds (or replaces) the entry {thumbprint, style 2, address,
// Squid null, SubscriptionId of the thumbprint's first polling entry}.
// Returns that SubscriptionId. NotFound if `thumbprint` is not trusted;
// FailedPrecondition if it has no polling entry with a SubscriptionId.
Result<std::string> AddPollingAddress(ConfigFile& config, const std::string& thumbprint, const std::string& address);

// "Tentacle.Communication.PollingConnectionCount" := count (>= 1). True when
// the value changed.
bool SetPollingConnectionCount(ConfigFile& config, int count);

}  // namespace octo
