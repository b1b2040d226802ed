#include "common/crypto/certificate.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "common/base/time_util.h"

namespace octo {
namespace {

// Reads a certificate field back with OpenSSL's own accessors.
std::string ExtensionText(X509* cert, int nid) {
  int idx = X509_get_ext_by_NID(cert, nid, -1);
  if (idx < 0) return "";
  X509_EXTENSION* ext = X509_get_ext(cert, idx);
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509V3_EXT_print(bio.get(), ext, 0, 0);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n)) + (X509_EXTENSION_get_critical(ext) ? " (critical)" : "");
}

std::string UtcDay(int year_offset, int day_offset) {
  std::time_t now = std::time(nullptr);
  struct tm tm {};
  UtcFields(now, &tm);
  tm.tm_year += year_offset;
  tm.tm_mday += day_offset;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  std::time_t t = UtcTime(&tm);
  UtcFields(t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT00:00:00Z", &tm);
  return buf;
}

class CertificateProfile : public ::testing::TestWithParam<const char*> {};

TEST_P(CertificateProfile, MatchesTheOctopusProfile) {
  auto id = GenerateIdentity(GetParam());
  ASSERT_TRUE(id.ok()) << id.status().message();
  X509* cert = id->certificate.get();
  CertificateInfo info = Describe(cert);
  const std::string cn = std::string("CN=") + GetParam();
  EXPECT_EQ(info.subject, cn);
  EXPECT_EQ(info.issuer, cn);
  EXPECT_EQ(X509_get_signature_nid(cert), NID_sha256WithRSAEncryption);
  EXPECT_EQ(info.signature_algorithm, "sha256RSA");
  EXPECT_FALSE(info.WeakSignature());
  EXPECT_EQ(info.key_algorithm, "RSA");
  EXPECT_EQ(info.key_bits, 2048);
  EXPECT_EQ(X509_get_version(cert), X509_VERSION_3);
  EXPECT_EQ(X509_check_private_key(cert, id->key.get()), 1);
  // Self-signed: verifies with its own key.
  EXPECT_EQ(X509_verify(cert, X509_get0_pubkey(cert)), 1);
  // Serial: positive, non-zero.
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  EXPECT_NE(ASN1_STRING_type(serial), V_ASN1_NEG_INTEGER);
  EXPECT_FALSE(info.serial.empty());
  EXPECT_NE(info.serial, "0");
  EXPECT_EQ(info.not_before, UtcDay(0, -1));
  EXPECT_EQ(info.not_after, UtcDay(100, 0));
  EXPECT_EQ(ExtensionText(cert, NID_basic_constraints), "CA:FALSE (critical)");
  EXPECT_EQ(ExtensionText(cert, NID_key_usage), "Digital Signature, Key Encipherment (critical)");
  EXPECT_EQ(ExtensionText(cert, NID_ext_key_usage), "TLS Web Server Authentication, TLS Web Client Authentication");
  EXPECT_NE(ExtensionText(cert, NID_subject_key_identifier), "");
}

INSTANTIATE_TEST_SUITE_P(Products, CertificateProfile, ::testing::Values(kServerCommonName, kTentacleCommonName));

TEST(GenerateIdentity, GivesDifferentSerialsAndThumbprints) {
  auto a = GenerateIdentity(kServerCommonName);
  auto b = GenerateIdentity(kServerCommonName);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(Describe(a->certificate.get()).serial, Describe(b->certificate.get()).serial);
  EXPECT_NE(Thumbprint(a->certificate.get()), Thumbprint(b->certificate.get()));
}

TEST(Thumbprint, IsTheSha1OfTheDerInUpperCaseHex) {
  auto id = GenerateIdentity(kTentacleCommonName);
  ASSERT_TRUE(id.ok());
  std::string der = CertificateToDer(id->certificate.get());
  unsigned char md[20];
  unsigned int len = 0;
  EVP_Digest(der.data(), der.size(), md, &len, EVP_sha1(), nullptr);
  std::string expected;
  char hex[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, "%02X", md[i]);
    expected += hex;
  }
  EXPECT_EQ(Thumbprint(id->certificate.get()), expected);
  EXPECT_EQ(expected.size(), 40u);
  CertificateInfo info = Describe(id->certificate.get());
  EXPECT_EQ(info.thumbprint, expected);
  EXPECT_EQ(info.sha256_fingerprint.size(), 64u);
}

TEST(CertificateDer, RoundTrips) {
  auto id = GenerateIdentity(kTentacleCommonName);
  ASSERT_TRUE(id.ok());
  auto back = CertificateFromDer(CertificateToDer(id->certificate.get()));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(Thumbprint(back->get()), Thumbprint(id->certificate.get()));
  auto bad = CertificateFromDer("not der");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorrupt);
}

TEST(SummarizeCertificateDer, AgreesWithDescribe) {
  auto id = GenerateIdentity(kServerCommonName);
  ASSERT_TRUE(id.ok());
  for (const EVP_MD* md : {EVP_sha256(), EVP_sha1()}) {
    ASSERT_GT(X509_sign(id->certificate.get(), id->key.get(), md), 0);
    CertificateInfo info = Describe(id->certificate.get());
    auto s = SummarizeCertificateDer(CertificateToDer(id->certificate.get()));
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ(s->thumbprint, info.thumbprint);
    EXPECT_EQ(s->signature_algorithm, info.signature_algorithm);
    EXPECT_EQ(IsWeakSignature(s->signature_algorithm), info.WeakSignature());
  }
}

TEST(SummarizeCertificateDer, RejectsWhatIsNotACertificate) {
  auto id = GenerateIdentity(kTentacleCommonName);
  ASSERT_TRUE(id.ok());
  const std::string der = CertificateToDer(id->certificate.get());
  const std::string cases[] = {"", "not der", der.substr(0, der.size() / 2), der.substr(4),
                               std::string("\x30\x80", 2) + der.substr(4)};
  for (const std::string& bad : cases) {
    auto s = SummarizeCertificateDer(bad);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kCorrupt);
  }
}

TEST(Describe, NamesSha1SignaturesWeak) {
  auto id = GenerateIdentity(kServerCommonName);
  ASSERT_TRUE(id.ok());
  ASSERT_GT(X509_sign(id->certificate.get(), id->key.get(), EVP_sha1()), 0);
  CertificateInfo info = Describe(id->certificate.get());
  EXPECT_EQ(info.signature_algorithm, "sha1RSA");
  EXPECT_TRUE(info.WeakSignature());
}

}  // namespace
}  // namespace octo
