// A certificate audit of an Octopus Server and its deployment targets
// (Octopus.Server audit-certificates): what needs a rotation, a pin or a
// trust change, from each Tentacle's own answer (GetCertificateStatus,
// docs/protocol.md) and the Server's stored certificates.
//
// The checks of one certificate (AuditCertificate) and of one Tentacle's
// answer (AuditTentacleAnswer) are pure functions of their inputs and a
// clock reading, so they are tested without a network. AuditTargets makes
// one call per target, `parallelism` at a time. Findings carry a `detail`
// sentence for people; callers branch on `kind`, never on the text.
// Thread-safe (no shared state).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/base/json.h"
#include "common/channel/admin_messages.h"
#include "common/channel/tentacle_client.h"
#include "common/config/certificate_slots.h"
#include "common/config/target.h"

namespace octo {

enum class AuditFindingKind {
  kSha1Signature,  // the certificate is signed with SHA-1 (or MD5)
  kWeakKey,        // its key is shorter than MinimumKeyBits allows
  kExpiring,       // it expires within the policy's window, or has expired
  kPinMismatch,    // the Tentacle presents none of the target's pins
  kStaleTrust,     // the Tentacle trusts a thumbprint no certificate of this Server holds
  kNotTrusted,     // the Tentacle refused this Server's certificate
  kUnreachable,    // no answer: refused, timed out, or any other failure
};

// "Sha1Signature", "WeakKey", "Expiring", "PinMismatch", "StaleTrust",
// "NotTrusted", "Unreachable" (the JSON "Kind").
const char* AuditFindingKindName(AuditFindingKind kind);

struct AuditFinding {
  AuditFindingKind kind = AuditFindingKind::kUnreachable;
  std::string detail;      // one sentence, no target name: "SHA-1 signature (sha1RSA) on certificate T"
  std::string thumbprint;  // what it is about: the certificate's, the presented one, the stale one, or
                           // ours (kNotTrusted); "" for kUnreachable

  Json ToJson() const;  // {"Kind", "Detail"}
  bool operator==(const AuditFinding&) const = default;
};

// The shortest key not reported: 256 bits for an EC key (which the
// certificate's ECDSA signature shows: a self-signed certificate is signed
// by its own key), else 2048 (RSA).
int MinimumKeyBits(const std::string& signature_algorithm);

struct AuditPolicy {
  int expiring_within_days = 30;  // kExpiring when not_after - now <= this many days
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

// SHA-1, key size and expiry of one certificate, in that order. A
// not_after that does not parse counts as expiring (its detail says so).
std::vector<AuditFinding> AuditCertificate(const SlotCertificate& certificate, const AuditPolicy& policy);

// "2026-11-27T00:13:08Z" as a time, or nullopt.
std::optional<std::chrono::system_clock::time_point> ParseIso8601Utc(const std::string& text);

// What the audit learnt about one target.
struct TargetAudit {
  std::string name;
  std::string address;
  std::vector<std::string> pinned;
  std::string presented;             // what the Tentacle presented ("" when no certificate was seen)
  std::vector<std::string> trusted;  // its trusted set (empty without an answer)
  std::optional<SlotCertificate> certificate;  // the presented one's facts, when it answered
  std::vector<AuditFinding> findings;

  // {"Name","Address","Presented","Pinned","Trusted","SignatureAlgorithm",
  // "KeyBits","NotAfter","Findings"}; the certificate's fields are null
  // without an answer.
  Json ToJson() const;
};

// The findings of one answer: the presented certificate (the slot whose
// thumbprint is the presented one, else the current one) audited as
// AuditCertificate does, then one kStaleTrust per trusted thumbprint that is
// not in `ours` (the Server's current, staged and previous thumbprints),
// in the answer's order.
TargetAudit AuditTentacleAnswer(const Target& target, const CertificateStatusAnswer& answer,
                                const std::set<std::string>& ours, const AuditPolicy& policy);

// A target that was not asked, and why (kUnreachable with `reason`): for
// when this Server cannot make a connection at all.
TargetAudit NotAuditedTarget(const Target& target, const std::string& reason);

// Asks one target for its certificate status (CallTentacle, the target's
// pins judged in the handshake) and audits the answer. Without an answer
// the one finding says why: kPinMismatch (it presented an unexpected
// certificate; nothing is sent to it then), kNotTrusted (it refused ours),
// else kUnreachable with the call's reason.
TargetAudit AuditTarget(const TentacleClient& client, const Target& target, const std::set<std::string>& ours,
                        const AuditPolicy& policy);

// AuditTarget for every target, `parallelism` at a time; results in the
// targets' order.
std::vector<TargetAudit> AuditTargets(const TentacleClient& client, const std::vector<Target>& targets,
                                      const std::set<std::string>& ours, const AuditPolicy& policy,
                                      size_t parallelism);

}  // namespace octo
