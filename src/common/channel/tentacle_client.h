// The Octopus Server's side of the trust and certificate methods: one typed
// call per method, for the rotation commands. Each is one CallTentacle
// (health_check.h): a fresh connection pinning the target's thumbprints,
// one request, its answer. A failure is the call's Status (see
// TentacleCall::status for its codes); an answer without the expected
// fields is Corrupt. The Server never writes a Tentacle's files: it asks.
// Thread-safe (each call has its own connection).
#pragma once

#include <string>

#include "common/channel/admin_messages.h"
#include "common/channel/health_check.h"

namespace octo {

// Who asks and how: our client context (kClient, with our identity), its
// thumbprint, and the bound on each call.
struct TentacleClient {
  SSL_CTX* ctx = nullptr;
  std::string our_thumbprint;
  HealthCheckOptions options;
};

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
