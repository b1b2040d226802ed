// Health checks: the Octopus Server's side of the channel.
//
// A check is a full mutual-TLS connection to the target made with the
// Server's certificate, pinning the target's thumbprint inside the handshake
// (a server with another certificate is refused before it is sent ours),
// followed by a health request. Unhealthy results carry the real products'
// texts.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/config_file.h"
#include "common/tls.h"

namespace octo {

// A deployment target: a listening Tentacle the Server checks.
struct Target {
  std::string name;
  std::string address;     // https://HOST:PORT
  std::string thumbprint;  // the one thumbprint pinned for it
};

struct HealthResult {
  std::string name;
  std::string address;
  bool healthy = false;
  std::string reason;       // empty when healthy
  std::string version;      // the Tentacle's version, when healthy
  double elapsed_ms = 0;
  std::string checked_at;   // ISO 8601 UTC

  Json ToJson() const;
  static HealthResult FromJson(const Json& j);
};

struct HealthCheckOptions {
  std::chrono::milliseconds timeout{10000};  // for the whole check
  size_t parallelism = 32;                   // checks running at once
};

// Checks one target. `client_ctx` is a kClient context with our identity;
// `our_thumbprint` is its thumbprint (for the "refused our certificate" text).
HealthResult CheckTarget(SSL_CTX* client_ctx, const std::string& our_thumbprint, const Target& target,
                         const HealthCheckOptions& options);

// Checks every target, `options.parallelism` at a time; results in the same order.
std::vector<HealthResult> CheckTargets(SSL_CTX* client_ctx, const std::string& our_thumbprint,
                                       const std::vector<Target>& targets, const HealthCheckOptions& options);

// The mirrored Halibut texts.
std::string UnexpectedCertificateText(const std::string& url, const std::string& expected,
                                      const std::string& actual, const std::string& subject);
std::string RefusedOurCertificateText(const std::string& url, const std::string& ours);

}  // namespace octo
