#include "common/rotation/certificate_audit.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/base/parallel.h"
#include "common/base/time_util.h"
#include "common/channel/health_check.h"
#include "common/crypto/certificate.h"

namespace octo {
namespace {

struct KindName {
  AuditFindingKind kind;
  const char* name;
};
constexpr KindName kKindNames[] = {
    {AuditFindingKind::kSha1Signature, "Sha1Signature"}, {AuditFindingKind::kWeakKey, "WeakKey"},
    {AuditFindingKind::kExpiring, "Expiring"},           {AuditFindingKind::kPinMismatch, "PinMismatch"},
    {AuditFindingKind::kStaleTrust, "StaleTrust"},       {AuditFindingKind::kNotTrusted, "NotTrusted"},
    {AuditFindingKind::kUnreachable, "Unreachable"},
};

// "A, B".
std::string Joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

std::string Plural(long n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 || n == -1 ? one : many);
}

// "expires on X (in 10 days)", "expired on X (3 days ago)".
std::string ExpiryText(const std::string& not_after, std::chrono::system_clock::duration left) {
  using Days = std::chrono::duration<long, std::ratio<86400>>;
  if (left > std::chrono::system_clock::duration::zero()) {
    const long days = std::chrono::duration_cast<Days>(left).count();
    return "expires on " + not_after + (days == 0 ? " (within a day)" : " (in " + Plural(days, "day", "days") + ")");
  }
  const long days = std::chrono::duration_cast<Days>(-left).count();
  return "expired on " + not_after + (days == 0 ? " (less than a day ago)" : " (" + Plural(days, "day", "days") + " ago)");
}

}  // namespace

const char* AuditFindingKindName(AuditFindingKind kind) {
  for (const auto& k : kKindNames) {
    if (k.kind == kind) return k.name;
  }
  return "Unreachable";
}

int MinimumKeyBits(const std::string& signature_algorithm) {
  return signature_algorithm.find("ECDSA") != std::string::npos ? 256 : 2048;
}

Json AuditFinding::ToJson() const { return Json{{"Kind", AuditFindingKindName(kind)}, {"Detail", detail}}; }

std::optional<std::chrono::system_clock::time_point> ParseIso8601Utc(const std::string& text) {
  struct tm tm {};
  char z = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &z, &consumed) != 7 ||
      z != 'Z' || static_cast<size_t>(consumed) != text.size()) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t t = UtcTime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

std::vector<AuditFinding> AuditCertificate(const SlotCertificate& c, const AuditPolicy& policy) {
  std::vector<AuditFinding> out;
  const std::string on = " on certificate " + c.thumbprint;
  if (IsWeakSignature(c.signature_algorithm)) {
    const bool md5 = c.signature_algorithm.find("md5") != std::string::npos ||
                     c.signature_algorithm.find("MD5") != std::string::npos;
    out.push_back({AuditFindingKind::kSha1Signature,
                   std::string(md5 ? "MD5" : "SHA-1") + " signature (" + c.signature_algorithm + ")" + on,
                   c.thumbprint});
  }
  if (const int minimum = MinimumKeyBits(c.signature_algorithm); c.key_bits < minimum) {
    out.push_back({AuditFindingKind::kWeakKey,
                   std::to_string(c.key_bits) + "-bit key" + on + " (under " + std::to_string(minimum) + " bits)",
                   c.thumbprint});
  }
  const auto not_after = ParseIso8601Utc(c.not_after);
  if (!not_after) {
    out.push_back({AuditFindingKind::kExpiring,
                   "certificate " + c.thumbprint + " has an expiry date that cannot be read ('" + c.not_after + "')",
                   c.thumbprint});
  } else if (*not_after - policy.now <= std::chrono::hours(24) * policy.expiring_within_days) {
    out.push_back(
        {AuditFindingKind::kExpiring, "certificate " + c.thumbprint + " " + ExpiryText(c.not_after, *not_after - policy.now),
         c.thumbprint});
  }
  return out;
}

Json TargetAudit::ToJson() const {
  Json j{{"Name", name}, {"Address", address}, {"Presented", presented}, {"Pinned", pinned}, {"Trusted", trusted}};
  if (certificate) {
    j["SignatureAlgorithm"] = certificate->signature_algorithm;
    j["KeyBits"] = certificate->key_bits;
    j["NotAfter"] = certificate->not_after;
  } else {
    j["SignatureAlgorithm"] = nullptr;
    j["KeyBits"] = nullptr;
    j["NotAfter"] = nullptr;
  }
  Json findings_json = Json::array();
  for (const auto& f : findings) findings_json.push_back(f.ToJson());
  j["Findings"] = std::move(findings_json);
  return j;
}

TargetAudit AuditTentacleAnswer(const Target& target, const CertificateStatusAnswer& answer,
                                const std::set<std::string>& ours, const AuditPolicy& policy) {
  TargetAudit a;
  a.name = target.name;
  a.address = target.address;
  a.pinned = target.thumbprints;
  a.presented = answer.presented;
  a.trusted = answer.trusted;
  // What new connections get: the current certificate, unless the agent
  // presents another slot's (a switch saved but not yet seen, a rollback).
  a.certificate = answer.current;
  for (const auto* slot : {&answer.staged, &answer.previous}) {
    if (*slot && (*slot)->thumbprint == answer.presented && answer.current.thumbprint != answer.presented) {
      a.certificate = **slot;
    }
  }
  a.findings = AuditCertificate(*a.certificate, policy);
  for (const auto& tp : answer.trusted) {
    if (ours.count(tp) == 0) {
      a.findings.push_back({AuditFindingKind::kStaleTrust,
                            "trusts thumbprint " + tp +
                                ", which is not a certificate of this Octopus Server (current, staged or previous)",
                            tp});
    }
  }
  return a;
}

TargetAudit NotAuditedTarget(const Target& target, const std::string& reason) {
  TargetAudit a;
  a.name = target.name;
  a.address = target.address;
  a.pinned = target.thumbprints;
  a.findings.push_back({AuditFindingKind::kUnreachable, "could not be audited: " + reason, ""});
  return a;
}

TargetAudit AuditTarget(const TentacleClient& client, const Target& target, const std::set<std::string>& ours,
                        const AuditPolicy& policy) {
  TentacleCall call = CallTarget(client, target, Json{{"Method", "GetCertificateStatus"}});
  if (call.status.ok()) {
    auto answer = CertificateStatusAnswer::FromJson(call.answer);
    if (answer.ok()) return AuditTentacleAnswer(target, *answer, ours, policy);
    call.status = answer.status().WithContext("The Tentacle at " + target.address +
                                              " answered the GetCertificateStatus request unexpectedly");
  }
  TargetAudit a;
  a.name = target.name;
  a.address = target.address;
  a.pinned = target.thumbprints;
  a.presented = call.thumbprint;
  switch (call.outcome) {
    case HealthOutcome::kUnexpectedCertificate: {
      const std::string pins = target.thumbprints.size() == 1 ? "not the pinned thumbprint " + target.thumbprints[0]
                                                              : "none of the pinned thumbprints " + Joined(target.thumbprints);
      a.findings.push_back({AuditFindingKind::kPinMismatch, "presents certificate " + call.thumbprint + ", " + pins,
                            call.thumbprint});
      break;
    }
    case HealthOutcome::kAborted:
      a.findings.push_back({AuditFindingKind::kNotTrusted,
                            "does not trust this Octopus Server's certificate " + client.our_thumbprint +
                                " (it ended the connection in the handshake)",
                            client.our_thumbprint});
      break;
    default:
      a.findings.push_back({AuditFindingKind::kUnreachable, "could not be audited: " + call.status.message(), ""});
      break;
  }
  return a;
}

std::vector<TargetAudit> AuditTargets(const TentacleClient& client, const std::vector<Target>& targets,
                                      const std::set<std::string>& ours, const AuditPolicy& policy,
                                      size_t parallelism) {
  std::vector<TargetAudit> out(targets.size());
  ForEachBounded(targets.size(), parallelism, [&](size_t i) { out[i] = AuditTarget(client, targets[i], ours, policy); });
  return out;
}

}  // namespace octo
