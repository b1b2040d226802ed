#include "common/pkcs12.h"

#include <gtest/gtest.h>

#include "common/encoding.h"

namespace octo {
namespace {

// One identity for the whole suite: RSA key generation is slow.
const Identity& TestIdentity() {
  static Identity* id = [] {
    auto r = GenerateIdentity(kTentacleCommonName);
    EXPECT_TRUE(r.ok());
    return new Identity(std::move(r).value());
  }();
  return *id;
}

std::string OuterAlgorithms(const std::string& der) {
  // Reads the key bag's encryption algorithm back through OpenSSL's parser.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())));
  if (!p12) return "not a PFX";
  const X509_ALGOR* mac_alg = nullptr;
  PKCS12_get0_mac(nullptr, &mac_alg, nullptr, nullptr, p12.get());
  const ASN1_OBJECT* obj = nullptr;
  if (mac_alg != nullptr) X509_ALGOR_get0(&obj, nullptr, nullptr, mac_alg);
  return obj != nullptr ? OBJ_nid2sn(OBJ_obj2nid(obj)) : "no MAC";
}

struct RoundTrip {
  PfxEncoding encoding;
  const char* password;
  const char* mac;
};

class PfxRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(PfxRoundTrip, ReadsBackTheSameIdentity) {
  const Identity& id = TestIdentity();
  auto pfx = WritePfx(id, Secret(GetParam().password), GetParam().encoding);
  ASSERT_TRUE(pfx.ok()) << pfx.status().message();
  EXPECT_EQ(OuterAlgorithms(pfx->value()), GetParam().mac);
  auto back = ReadPfx(pfx->value(), Secret(GetParam().password));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(Thumbprint(back->identity.certificate.get()), Thumbprint(id.certificate.get()));
  EXPECT_EQ(EVP_PKEY_eq(back->identity.key.get(), id.key.get()), 1);
  EXPECT_TRUE(back->identity.chain.empty());
  EXPECT_TRUE(back->warnings.empty());
  // Base64 text of the same file reads the same.
  auto from_text = ReadPfx(Base64Encode(pfx->value()) + "\n", Secret(GetParam().password));
  ASSERT_TRUE(from_text.ok()) << from_text.status().message();
  EXPECT_EQ(Thumbprint(from_text->identity.certificate.get()), Thumbprint(id.certificate.get()));
}

INSTANTIATE_TEST_SUITE_P(Encodings, PfxRoundTrip,
                         ::testing::Values(RoundTrip{PfxEncoding::kModern, "secret", "SHA256"},
                                           RoundTrip{PfxEncoding::kCompatible, "secret", "SHA1"},
                                           RoundTrip{PfxEncoding::kModern, "", "SHA256"},
                                           RoundTrip{PfxEncoding::kUnencryptedForSealing, "", "no MAC"}));

TEST(ReadPfx, WrongPasswordIsReportedAsSuch) {
  auto pfx = WritePfx(TestIdentity(), Secret("right"), PfxEncoding::kModern);
  ASSERT_TRUE(pfx.ok());
  auto r = ReadPfx(pfx->value(), Secret("wrong"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kWrongPassword);
  EXPECT_EQ(r.status().message(), "the password is not correct for this PFX");
  auto none = ReadPfx(pfx->value(), Secret());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kWrongPassword);
  EXPECT_EQ(none.status().message(), "the PFX is protected by a password, and none was given");
}

TEST(ReadPfx, RejectsWhatIsNotAPfx) {
  for (std::string junk : {std::string("hello world"), std::string("\x30\x03\x02\x01\x01", 5), std::string("\x30", 1)}) {
    auto r = ReadPfx(junk, Secret("x"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt) << r.status().message();
  }
}

TEST(ReadPfx, RejectsAPfxWithoutAPrivateKey) {
  const Identity& id = TestIdentity();
  Pkcs12Ptr p12(PKCS12_create("pw", nullptr, nullptr, id.certificate.get(), nullptr, 0, 0, 0, 0, 0));
  ASSERT_TRUE(p12);
  unsigned char* der = nullptr;
  int len = i2d_PKCS12(p12.get(), &der);
  std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  auto r = ReadPfx(bytes, Secret("pw"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "the PFX contains no private key");
}

TEST(ReadPfx, RejectsAKeyThatMatchesNoCertificate) {
  auto other = GenerateIdentity(kServerCommonName);
  ASSERT_TRUE(other.ok());
  Identity mixed;
  mixed.key.reset(other->key.release());
  X509_up_ref(TestIdentity().certificate.get());
  mixed.certificate.reset(TestIdentity().certificate.get());
  // PKCS12_create refuses a mismatched pair, so put the certificate in the chain only.
  Pkcs12Ptr p12(PKCS12_create("pw", nullptr, mixed.key.get(), nullptr, nullptr, 0, 0, 0, 0, 0));
  ASSERT_TRUE(p12) << "cannot build test PFX";
  STACK_OF(PKCS7)* safes = PKCS12_unpack_authsafes(p12.get());
  ASSERT_NE(safes, nullptr);
  STACK_OF(PKCS12_SAFEBAG)* bags = sk_PKCS12_SAFEBAG_new_null();
  PKCS12_add_cert(&bags, mixed.certificate.get());
  PKCS12_add_safe(&safes, bags, -1, 0, "pw");
  sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
  Pkcs12Ptr rebuilt(PKCS12_add_safes(safes, 0));
  sk_PKCS7_pop_free(safes, PKCS7_free);
  ASSERT_EQ(PKCS12_set_mac(rebuilt.get(), "pw", -1, nullptr, 0, 2048, nullptr), 1);
  unsigned char* der = nullptr;
  int len = i2d_PKCS12(rebuilt.get(), &der);
  std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  auto r = ReadPfx(bytes, Secret("pw"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "the private key in the PFX does not match its certificate");
}

TEST(ReadPfx, PicksTheCertificateThatMatchesTheKeyAndKeepsTheChain) {
  auto other = GenerateIdentity("Chain CA");
  ASSERT_TRUE(other.ok());
  Identity with_chain;
  with_chain.key.reset(EVP_PKEY_dup(TestIdentity().key.get()));
  X509_up_ref(TestIdentity().certificate.get());
  with_chain.certificate.reset(TestIdentity().certificate.get());
  with_chain.chain.push_back(std::move(other->certificate));
  auto pfx = WritePfx(with_chain, Secret("pw"), PfxEncoding::kModern);
  ASSERT_TRUE(pfx.ok());
  auto r = ReadPfx(pfx->value(), Secret("pw"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Thumbprint(r->identity.certificate.get()), Thumbprint(TestIdentity().certificate.get()));
  ASSERT_EQ(r->identity.chain.size(), 1u);
  EXPECT_EQ(Describe(r->identity.chain[0].get()).subject, "CN=Chain CA");
}

TEST(ReadPfx, WarnsAboutSha1SignaturesAndShortKeys) {
  Identity weak;
  weak.key.reset(EVP_RSA_gen(1024));
  ASSERT_TRUE(weak.key);
  auto id = GenerateIdentity(kServerCommonName);
  ASSERT_TRUE(id.ok());
  weak.certificate = std::move(id->certificate);
  ASSERT_EQ(X509_set_pubkey(weak.certificate.get(), weak.key.get()), 1);
  ASSERT_GT(X509_sign(weak.certificate.get(), weak.key.get(), EVP_sha1()), 0);
  auto pfx = WritePfx(weak, Secret("pw"), PfxEncoding::kModern);
  ASSERT_TRUE(pfx.ok());
  auto r = ReadPfx(pfx->value(), Secret("pw"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->warnings,
            (std::vector<std::string>{
                "the certificate's RSA key is only 1024 bits; we recommend regenerating the certificate",
                "the certificate is signed with sha1RSA; we recommend regenerating the certificate"}));
}

}  // namespace
}  // namespace octo

namespace octo {
namespace {

TEST(ReadPfx, ReadsAPasswordProtectedPfxWithoutAMac) {  // `openssl pkcs12 -nomac`
  const Identity& id = TestIdentity();
  Pkcs12Ptr p12(PKCS12_create("pw", nullptr, id.key.get(), id.certificate.get(), nullptr, NID_aes_256_cbc,
                              NID_aes_256_cbc, 2048, -1, 0));
  ASSERT_TRUE(p12);
  ASSERT_FALSE(PKCS12_mac_present(p12.get()));
  unsigned char* der = nullptr;
  int len = i2d_PKCS12(p12.get(), &der);
  std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  auto r = ReadPfx(bytes, Secret("pw"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Thumbprint(r->identity.certificate.get()), Thumbprint(id.certificate.get()));
  auto wrong = ReadPfx(bytes, Secret("wrong"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kWrongPassword);
}

}  // namespace
}  // namespace octo
