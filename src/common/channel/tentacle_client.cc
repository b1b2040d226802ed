#include "common/channel/tentacle_client.h"

#include "common/channel/channel.h"

namespace octo {
namespace {

template <typename Answer>
Result<Answer> Ask(const TentacleClient& c, const Target& target, const Json& request) {
  TentacleCall call = CallTentacle(c.ctx, c.our_thumbprint, target, request, c.options);
  if (!call.status.ok()) return call.status;
  auto answer = Answer::FromJson(call.answer);
  if (!answer.ok()) {
    return answer.status().WithContext("The Tentacle at " + target.address + " answered the " +
                                       StringField(request, "Method") + " request unexpectedly");
  }
  return answer;
}

}  // namespace

Result<TrustAnswer> AskTrustThumbprint(const TentacleClient& c, const Target& target, const std::string& thumbprint) {
  return Ask<TrustAnswer>(c, target, Json{{"Method", "TrustThumbprint"}, {"Thumbprint", thumbprint}});
}

Result<TrustAnswer> AskRemoveTrust(const TentacleClient& c, const Target& target, const std::string& thumbprint) {
  return Ask<TrustAnswer>(c, target, Json{{"Method", "RemoveTrust"}, {"Thumbprint", thumbprint}});
}

Result<CertificateStatusAnswer> AskCertificateStatus(const TentacleClient& c, const Target& target) {
  return Ask<CertificateStatusAnswer>(c, target, Json{{"Method", "GetCertificateStatus"}});
}

Result<CertificateChangeAnswer> AskStageCertificate(const TentacleClient& c, const Target& target) {
  return Ask<CertificateChangeAnswer>(c, target, Json{{"Method", "StageCertificate"}});
}

Result<CertificateChangeAnswer> AskSwitchCertificate(const TentacleClient& c, const Target& target,
                                                     const std::string& thumbprint) {
  return Ask<CertificateChangeAnswer>(c, target, Json{{"Method", "SwitchCertificate"}, {"Thumbprint", thumbprint}});
}

Result<CertificateChangeAnswer> AskDiscardCertificate(const TentacleClient& c, const Target& target,
                                                      CertificateSlot slot, const std::string& thumbprint) {
  Json request{{"Method", "DiscardCertificate"}, {"Which", CertificateSlotName(slot)}};
  if (!thumbprint.empty()) request["Thumbprint"] = thumbprint;
  return Ask<CertificateChangeAnswer>(c, target, request);
}

}  // namespace octo
