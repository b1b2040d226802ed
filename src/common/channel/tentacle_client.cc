#include "common/channel/tentacle_client.h"

#include "common/channel/channel.h"
#include "common/channel/control.h"

#include <algorithm>

namespace octo {
namespace {

template <typename Answer>
Result<Answer> Ask(const TentacleClient& c, const Target& target, const Json& request) {
  TentacleCall call = CallTarget(c, target, request);
  if (!call.status.ok()) return call.status;
  auto answer = Answer::FromJson(call.answer);
  if (!answer.ok()) {
    return answer.status().WithContext("The Tentacle at " + target.address + " answered the " +
                                       StringField(request, "Method") + " request unexpectedly");
  }
  return answer;
}

}  // namespace

TentacleCall CallTarget(const TentacleClient& c, const Target& target, const Json& request) {
  if (!IsPollingAddress(target.address)) {
    if (c.relay_listening && c.relay) {
      // Through the running Server's kept connection, when it asks as we
      // would; it reached the Tentacle (or tried) only when it says what it
      // presented.
      TentacleCall call = c.relay(target, request, c.options.timeout);
      if (!call.presented.empty() && call.presented == c.our_thumbprint) return call;
    }
    return CallTentacle(c.ctx, c.our_thumbprint, target, request, c.options);
  }
  TentacleCall call;
  if (!c.relay) {
    call.status = FailedPrecondition("The Tentacle at " + target.address +
                                     " polls the Octopus Server: it can be reached only through the running Server");
    return call;
  }
  call = c.relay(target, request, c.options.timeout);
  if (call.outcome == HealthOutcome::kHealthy && !call.thumbprint.empty() &&
      std::find(target.thumbprints.begin(), target.thumbprints.end(), call.thumbprint) == target.thumbprints.end()) {
    // Answered by a connection the Server accepted, but with a certificate
    // this call does not expect (a rotation's check of the new one only).
    call.outcome = HealthOutcome::kUnexpectedCertificate;
    call.status = PermissionDenied(UnexpectedCertificateText(target.address, target.thumbprints, call.thumbprint, ""));
    call.answer = Json();
  }
  return call;
}

HealthResult CheckTargetWith(const TentacleClient& c, const Target& target) {
  if (!IsPollingAddress(target.address)) return CheckTarget(c.ctx, c.our_thumbprint, target, c.options);
  const auto start = Clock::now();
  TentacleCall call = CallTarget(c, target, Json{{"Method", "Health"}});
  return HealthFromCall(target, call.outcome, call.thumbprint, call.status, call.answer, start);
}

PollingRelay ControlSocketRelay(const std::string& socket_path) {
  return [socket_path](const Target& target, const Json& request, std::chrono::milliseconds timeout) {
    TentacleCall call;
    Json ask{{"Command", "call"}, {"Target", target.name}, {"Request", request}, {"TimeoutMs", timeout.count()},
             {"Thumbprints", target.thumbprints}};
    auto reply = SendControlRequest(socket_path, ask, DeadlineIn(timeout + std::chrono::seconds(5)));
    if (!reply.ok()) {
      call.status = reply.status().code() == StatusCode::kUnavailable
                        ? Unavailable("The Tentacle at " + target.address +
                                      " polls the Octopus Server, which is not running: it can be reached only "
                                      "through the running Server")
                        : reply.status();
      call.outcome = HealthOutcome::kNotRunning;
      return call;
    }
    const auto outcome = HealthOutcomeFromName(StringField(*reply, "Outcome"));
    call.outcome = outcome ? *outcome : HealthOutcome::kError;
    call.thumbprint = StringField(*reply, "Thumbprint");
    call.presented = StringField(*reply, "Presented");
    if (reply->contains("Answer") && (*reply)["Answer"].is_object()) call.answer = (*reply)["Answer"];
    if (reply->contains("Error")) {
      call.status = AnswerStatus(*reply);
      if (call.outcome == HealthOutcome::kHealthy && call.answer.is_object() && !call.answer.contains("Error")) {
        call.outcome = HealthOutcome::kError;
      }
    }
    return call;
  };
}

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
