// Health checks: the Octopus Server's side of the channel.
//
// A check is a full mutual-TLS connection to the target made with the
// Server's certificate, pinning the target's thumbprints inside the handshake
// (a server presenting none of them is refused before it is sent ours),
// followed by a health request. Unhealthy results carry the real products'
// texts.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/json.h"
#include "common/channel/connection_pool.h"
#include "common/config/target.h"
#include "common/crypto/tls.h"

namespace octo {

// What a check found: callers branch on this, never on the reason's text.
enum class HealthOutcome {
  kHealthy,                // the pinned Tentacle answered the health request
  kUnexpectedCertificate,  // the server presented none of the pinned thumbprints
  kRefused,                // nothing listens there (connection refused)
  kTimedOut,               // connecting, the handshake or an answer passed the deadline
  kAborted,                // the Tentacle ended the connection: it rejected our certificate
  kNotRunning,             // the Server's service does not run, so nothing was checked;
                           // never made by CheckTarget
  kError,                  // anything else (bad address, no such host, not a Tentacle, an error answer)
};

// The outcome's name in JSON ("Outcome"): "Healthy", "UnexpectedCertificate",
// "Refused", "TimedOut", "Aborted", "NotRunning", "Error".
const char* HealthOutcomeName(HealthOutcome outcome);
// The outcome named `name`, or nullopt.
std::optional<HealthOutcome> HealthOutcomeFromName(const std::string& name);

struct HealthResult {
  std::string name;
  std::string address;
  HealthOutcome outcome = HealthOutcome::kError;
  bool healthy = false;     // outcome == kHealthy
  std::string reason;       // empty when healthy; else the mirrored text for the outcome
  std::string version;      // the Tentacle's version, when healthy
  double elapsed_ms = 0;
  std::string checked_at;   // ISO 8601 UTC
  // The thumbprint the Tentacle presented: when healthy, the pin that
  // matched; when it presented an unexpected one, that one; "" when no
  // certificate was seen (nothing listening, a failed handshake).
  std::string thumbprint;
  std::vector<std::string> pinned;  // the target's pins at the time of the check
  // A polling target's connection as the Server knew it at the check:
  // "Connected", "Refused", "Disconnected" or "NeverConnected"; "" for a
  // listening target.
  std::string polling;

  Json ToJson() const;
  static HealthResult FromJson(const Json& j);
};

struct HealthCheckOptions {
  std::chrono::milliseconds timeout{10000};  // for the whole check
  size_t parallelism = 32;                   // checks running at once
  // Where connections are kept after a request and taken from before one
  // (connection_pool.h); null: a new connection for every request, closed
  // after its answer. A kept connection that turns out closed or broken is
  // replaced by a new one once, within the same timeout, so a request never
  // fails because of the pool.
  std::shared_ptr<ConnectionPool> pool;
};

// Checks one target. `client_ctx` is a kClient context with our identity;
// `our_thumbprint` is its thumbprint (for the "refused our certificate" text).
HealthResult CheckTarget(SSL_CTX* client_ctx, const std::string& our_thumbprint, const Target& target,
                         const HealthCheckOptions& options);

// One request to a Tentacle (docs/protocol.md, "Trust and certificate
// methods"), on a connection made exactly as CheckTarget makes it (the
// target's pins judged in the handshake, our certificate presented, the
// identification lines), then closed. Never throws.
struct TentacleCall {
  // How far it got, as a health check would say: kHealthy when the Tentacle
  // answered (even with an error answer); else why there is no answer.
  // Branch on this, never on the status's text.
  HealthOutcome outcome = HealthOutcome::kError;
  std::string thumbprint;  // what the Tentacle presented ("" when no certificate was seen)
  // OK with an answer. Without one: the reason CheckTarget would give, with
  // the code Unavailable (refused), DeadlineExceeded (timed out),
  // PermissionDenied (an unexpected certificate, or ours refused) or
  // FailedPrecondition (anything else). With an error answer: its "Code"
  // and text ("The Tentacle at URL refused the M request: ...").
  Status status;
  Json answer;  // the Tentacle's answer, error answers included
  // The certificate the running Octopus Server presented, when the call was
  // relayed through it (tentacle_client.h); "" for a call made directly.
  std::string presented;
};
// `options.timeout` bounds the whole call; `options.parallelism` is unused.
TentacleCall CallTentacle(SSL_CTX* client_ctx, const std::string& our_thumbprint, const Target& target,
                          const Json& request, const HealthCheckOptions& options);

// The result of a health request to `target` that did not go through
// CheckTarget (a polling target's, answered through the Server's queue):
// `outcome`, `thumbprint` and `status` as TentacleCall has them, `answer`
// the Tentacle's, `start` when the check began.
HealthResult HealthFromCall(const Target& target, HealthOutcome outcome, const std::string& thumbprint,
                            const Status& status, const Json& answer, Clock::time_point start);

// Checks every target, `options.parallelism` at a time; results in the same order.
std::vector<HealthResult> CheckTargets(SSL_CTX* client_ctx, const std::string& our_thumbprint,
                                       const std::vector<Target>& targets, const HealthCheckOptions& options);

// The mirrored Halibut texts. With several pins the expected part lists
// them all ("... with one of the thumbprints 'A', 'B'. Instead, ...");
// with one it is Halibut's text exactly.
std::string UnexpectedCertificateText(const std::string& url, const std::string& expected,
                                      const std::string& actual, const std::string& subject);
std::string UnexpectedCertificateText(const std::string& url, const std::vector<std::string>& expected,
                                      const std::string& actual, const std::string& subject);
std::string RefusedOurCertificateText(const std::string& url, const std::string& ours);

}  // namespace octo
