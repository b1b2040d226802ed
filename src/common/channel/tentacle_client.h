// The Octopus Server's side of the trust and certificate methods: one typed
// call per method, for the rotation commands. Each is one CallTentacle
// (health_check.h): a fresh connection pinning the target's thumbprints,
// one request, its answer. A failure is the call's Status (see
// TentacleCall::status for its codes); an answer without the expected
// fields is Corrupt. The Server never writes a Tentacle's files: it asks.
// Thread-safe (each call has its own connection).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/channel/admin_messages.h"
#include "common/channel/health_check.h"

namespace octo {

// How a request reaches a polling target (address "poll://ID/"): through
// the running Octopus Server, which queues it for the Tentacle's polling
// connection. Answers as CallTentacle does; `target.name` names it to the
// Server.
using PollingRelay =
    std::function<TentacleCall(const Target& target, const Json& request, std::chrono::milliseconds timeout)>;

// Who asks and how: our client context (kClient, with our identity), its
// thumbprint, and the bound on each call; `relay` for polling targets
// (without one they answer FailedPrecondition).
//
// With `relay_listening`, a listening target's request goes through the
// relay too: the running Server sends it over the connection it keeps to
// that Tentacle, so a command asking 1,000 Tentacles makes no handshake of
// its own where the Server already holds a connection. It is used only
// when the Server presents our certificate (the same one the command would
// present); when the Server does not run, presents another certificate, or
// does not know the target, the request is made directly.
struct TentacleClient {
  SSL_CTX* ctx = nullptr;
  std::string our_thumbprint;
  HealthCheckOptions options;
  PollingRelay relay;
  bool relay_listening = false;
};

// One request to `target`: CallTentacle for a listening one, the relay for a
// polling one. Either way the Tentacle must have presented one of
// `target.thumbprints`: a polling answer from a connection authenticated by
// another certificate is PermissionDenied with Halibut's text.
TentacleCall CallTarget(const TentacleClient& c, const Target& target, const Json& request);
// A health check of `target` made the same way (CheckTarget for a listening one).
HealthResult CheckTargetWith(const TentacleClient& c, const Target& target);
// The relay through the running Server's control socket ("call", see
// server_service.h), pinning the target's thumbprints. Unavailable when the
// Server does not run.
PollingRelay ControlSocketRelay(const std::string& socket_path);

Result<TrustAnswer> AskTrustThumbprint(const TentacleClient& c, const Target& target, const std::string& thumbprint);
Result<TrustAnswer> AskRemoveTrust(const TentacleClient& c, const Target& target, const std::string& thumbprint);
Result<CertificateStatusAnswer> AskCertificateStatus(const TentacleClient& c, const Target& target);
Result<CertificateChangeAnswer> AskStageCertificate(const TentacleClient& c, const Target& target);
Result<CertificateChangeAnswer> AskSwitchCertificate(const TentacleClient& c, const Target& target,
                                                     const std::string& thumbprint);
// `slot`: kStaged or kPrevious; `thumbprint`: "" or the one expected there.
Result<CertificateChangeAnswer> AskDiscardCertificate(const TentacleClient& c, const Target& target,
                                                      CertificateSlot slot, const std::string& thumbprint = "");

}  // namespace octo
