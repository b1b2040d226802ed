// The audit's judgement of a certificate and of a Tentacle's answer, without
// a network: the expiry window's edges, which slot is judged, stale trust.
// The calls themselves are tested against real Tentacles in
// tests/e2e/audit_e2e_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/rotation/certificate_audit.h"

namespace octo {
namespace {

using ::testing::ElementsAre;
using std::chrono::hours;

const std::string kT(40, 'A');

AuditPolicy At(const std::string& now, int days = 30) {
  AuditPolicy p;
  p.now = *ParseIso8601Utc(now);
  p.expiring_within_days = days;
  return p;
}

std::vector<AuditFindingKind> KindsOf(const std::vector<AuditFinding>& findings) {
  std::vector<AuditFindingKind> out;
  for (const auto& f : findings) out.push_back(f.kind);
  return out;
}

TEST(ParseIso8601Utc, ReadsWhatDescribeWritesAndNothingElse) {
  auto t = ParseIso8601Utc("2026-11-27T00:13:08Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1795738388);
  for (const char* bad : {"", "2026-11-27", "2026-11-27T00:13:08", "2026-11-27T00:13:08+01:00",
                          "2026-11-27T00:13:08Zx", "x2026-11-27T00:13:08Z"}) {
    EXPECT_FALSE(ParseIso8601Utc(bad)) << bad;
  }
}

TEST(AuditCertificate, AGoodCertificateHasNoFindings) {
  EXPECT_TRUE(AuditCertificate({kT, "sha256RSA", 2048, "2126-01-01T00:00:00Z"}, At("2026-01-01T00:00:00Z")).empty());
  EXPECT_TRUE(AuditCertificate({kT, "sha384ECDSA", 4096, "2126-01-01T00:00:00Z"}, At("2026-01-01T00:00:00Z")).empty());
}

TEST(AuditCertificate, SignatureKeyAndExpiryInThatOrder) {
  const auto f = AuditCertificate({kT, "sha1RSA", 1024, "2026-01-11T00:00:00Z"}, At("2026-01-01T00:00:00Z"));
  EXPECT_THAT(KindsOf(f),
              ElementsAre(AuditFindingKind::kSha1Signature, AuditFindingKind::kWeakKey, AuditFindingKind::kExpiring));
  EXPECT_EQ(f[0].detail, "SHA-1 signature (sha1RSA) on certificate " + kT);
  EXPECT_EQ(f[1].detail, "1024-bit key on certificate " + kT + " (under 2048 bits)");
  EXPECT_EQ(f[2].detail, "certificate " + kT + " expires on 2026-01-11T00:00:00Z (in 10 days)");
  EXPECT_EQ(f[0].thumbprint, kT);
  EXPECT_EQ(AuditCertificate({kT, "md5RSA", 2048, "2126-01-01T00:00:00Z"}, At("2026-01-01T00:00:00Z"))[0].detail,
            "MD5 signature (md5RSA) on certificate " + kT);
}

TEST(AuditCertificate, AnEcKeyIsJudgedByItsCurveSize) {
  const AuditPolicy p = At("2026-01-01T00:00:00Z");
  EXPECT_TRUE(AuditCertificate({kT, "sha256ECDSA", 256, "2126-01-01T00:00:00Z"}, p).empty());
  const auto f = AuditCertificate({kT, "sha256ECDSA", 224, "2126-01-01T00:00:00Z"}, p);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].detail, "224-bit key on certificate " + kT + " (under 256 bits)");
  EXPECT_EQ(AuditCertificate({kT, "sha256RSA", 2047, "2126-01-01T00:00:00Z"}, p).size(), 1u);
}

TEST(AuditCertificate, TheExpiryWindowIncludesItsLastDayAndThePast) {
  struct Case {
    const char* not_after;
    int days;
    const char* expected;  // "" when no finding
  } cases[] = {
      {"2026-01-31T00:00:00Z", 30, "expires on 2026-01-31T00:00:00Z (in 30 days)"},
      {"2026-01-31T00:00:01Z", 30, ""},
      {"2026-01-01T12:00:00Z", 1, "expires on 2026-01-01T12:00:00Z (within a day)"},
      {"2026-01-01T12:00:00Z", 0, ""},
      {"2026-01-02T00:00:00Z", 0, ""},
      {"2026-01-02T00:00:00Z", 1, "expires on 2026-01-02T00:00:00Z (in 1 day)"},
      {"2025-12-31T12:00:00Z", 0, "expired on 2025-12-31T12:00:00Z (less than a day ago)"},
      {"2025-12-29T00:00:00Z", 0, "expired on 2025-12-29T00:00:00Z (3 days ago)"},
      {"2026-01-01T00:00:00Z", 0, "expired on 2026-01-01T00:00:00Z (less than a day ago)"},
      {"soon", 30, "has an expiry date that cannot be read ('soon')"},
  };
  for (const auto& c : cases) {
    const auto f = AuditCertificate({kT, "sha256RSA", 2048, c.not_after}, At("2026-01-01T00:00:00Z", c.days));
    if (std::string(c.expected).empty()) {
      EXPECT_TRUE(f.empty()) << c.not_after;
    } else {
      ASSERT_EQ(f.size(), 1u) << c.not_after;
      EXPECT_EQ(f[0].kind, AuditFindingKind::kExpiring);
      EXPECT_EQ(f[0].detail, "certificate " + kT + " " + c.expected);
    }
  }
}

TEST(AuditTentacleAnswer, JudgesThePresentedCertificateAndListsStaleTrust) {
  CertificateStatusAnswer answer;
  answer.current = {std::string(40, 'C'), "sha1RSA", 2048, "2126-01-01T00:00:00Z"};
  answer.previous = SlotCertificate{std::string(40, 'P'), "sha256RSA", 2048, "2126-01-01T00:00:00Z"};
  answer.presented = std::string(40, 'P');  // a rollback saved, the agent presenting the previous one
  answer.trusted = {std::string(40, '1'), std::string(40, '2'), std::string(40, '3')};
  const Target target("web", "https://127.0.0.1:1", std::string(40, 'P'));
  const std::set<std::string> ours = {std::string(40, '1'), std::string(40, '3')};
  const TargetAudit a = AuditTentacleAnswer(target, answer, ours, At("2026-01-01T00:00:00Z"));
  ASSERT_TRUE(a.certificate);
  EXPECT_EQ(a.certificate->thumbprint, std::string(40, 'P'));
  ASSERT_EQ(a.findings.size(), 1u);
  EXPECT_EQ(a.findings[0].kind, AuditFindingKind::kStaleTrust);
  EXPECT_EQ(a.findings[0].thumbprint, std::string(40, '2'));
  const Json j = a.ToJson();
  EXPECT_EQ(j["Findings"][0]["Kind"], "StaleTrust");
  EXPECT_EQ(j["Presented"], std::string(40, 'P'));
  EXPECT_EQ(j["SignatureAlgorithm"], "sha256RSA");

  answer.presented = answer.current.thumbprint;
  EXPECT_THAT(KindsOf(AuditTentacleAnswer(target, answer, ours, At("2026-01-01T00:00:00Z")).findings),
              ElementsAre(AuditFindingKind::kSha1Signature, AuditFindingKind::kStaleTrust));
}

TEST(AuditFindingKindName, NamesEveryKind) {
  EXPECT_STREQ(AuditFindingKindName(AuditFindingKind::kSha1Signature), "Sha1Signature");
  EXPECT_STREQ(AuditFindingKindName(AuditFindingKind::kWeakKey), "WeakKey");
  EXPECT_STREQ(AuditFindingKindName(AuditFindingKind::kExpiring), "Expiring");
  EXPECT_STREQ(AuditFindingKindName(AuditFindingKind::kPinMismatch), "PinMismatch");
  EXPECT_STREQ(AuditFindingKindName(AuditFindingKind::kStaleTrust), "StaleTrust");
  EXPECT_STREQ(AuditFindingKindName(AuditFindingKind::kNotTrusted), "NotTrusted");
  EXPECT_STREQ(AuditFindingKindName(AuditFindingKind::kUnreachable), "Unreachable");
}

}  // namespace
}  // namespace octo
