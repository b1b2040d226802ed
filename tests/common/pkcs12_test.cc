#include "common/crypto/pkcs12.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <string_view>

#include "common/base/encoding.h"
#include "support/identities.h"

namespace octo {
namespace {

using testing::DsaKey;
using testing::PfxDer;

// One identity for the whole suite: RSA key generation is slow.
const Identity& TestIdentity() { return testing::SharedIdentity(kTentacleCommonName); }

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
  const std::string bytes = PfxDer(p12.get());
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
  const std::string bytes = PfxDer(rebuilt.get());
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
  const std::string bytes = PfxDer(p12.get());
  auto r = ReadPfx(bytes, Secret("pw"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Thumbprint(r->identity.certificate.get()), Thumbprint(id.certificate.get()));
  auto wrong = ReadPfx(bytes, Secret("wrong"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kWrongPassword);
}

}  // namespace
}  // namespace octo

// ---- Crafted files: work bounds, key types, secrets left in memory ---------

namespace octo {
namespace {

using BnPtr = std::unique_ptr<BIGNUM, OsslDeleter<BN_clear_free>>;

// Sets the iteration count of a password-based algorithm (PKCS#12 PBE,
// PBES2 or PBMAC1 with PBKDF2) without deriving anything, so a test can ask
// for 2^31 iterations and not wait for them. `count` is decimal, any size.
void SetIterations(X509_ALGOR* alg, const char* count) {
  BIGNUM* raw = nullptr;
  ASSERT_GT(BN_dec2bn(&raw, count), 0);
  BnPtr n(raw);
  const int nid = OBJ_obj2nid(alg->algorithm);
  if (nid == NID_pbes2 || nid == NID_pbmac1) {  // both: SEQUENCE { kdf AlgorithmIdentifier, ... }
    auto* p2 = static_cast<PBE2PARAM*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter));
    ASSERT_NE(p2, nullptr);
    auto* kdf = static_cast<PBKDF2PARAM*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), p2->keyfunc->parameter));
    ASSERT_NE(kdf, nullptr);
    ASSERT_NE(BN_to_ASN1_INTEGER(n.get(), kdf->iter), nullptr);
    ASSERT_NE(ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), kdf, &p2->keyfunc->parameter), nullptr);
    ASSERT_NE(ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(PBE2PARAM), p2, &alg->parameter), nullptr);
    PBKDF2PARAM_free(kdf);
    PBE2PARAM_free(p2);
  } else {
    auto* pbe = static_cast<PBEPARAM*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter));
    ASSERT_NE(pbe, nullptr);
    ASSERT_NE(BN_to_ASN1_INTEGER(n.get(), pbe->iter), nullptr);
    ASSERT_NE(ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(PBEPARAM), pbe, &alg->parameter), nullptr);
    PBEPARAM_free(pbe);
  }
}

// A PFX built bag by bag with 2048 iterations everywhere, then any count
// changed afterwards (the contents no longer decrypt with the changed count:
// a reader must refuse it before trying).
struct Recipe {
  EVP_PKEY* key = nullptr;            // default: TestIdentity()'s
  std::vector<X509*> certs;           // default: TestIdentity()'s certificate
  int pbe = NID_aes_256_cbc;          // a cipher (PBES2 + PBKDF2) or a PKCS#12 PBE
  const char* mac_iter = nullptr;     // nullptr: leave 2048
  const char* cert_iter = nullptr;
  const char* key_iter = nullptr;
  const char* extra_safes_iter = nullptr;  // with extra_safes
  int extra_safes = 0;                // more encrypted copies of the certificates
  bool key_in_encrypted_safe = false;
  bool mac = true;
  bool pbmac1 = false;                // MAC algorithm PBMAC1 (RFC 9579) with PBKDF2
  bool scrypt = false;                // certificates under PBES2 with scrypt N=2^14, r=8, p=128
  const char* password = "pw";
};

void LastSafeIterations(STACK_OF(PKCS7)* safes, const char* count) {
  PKCS7* p7 = sk_PKCS7_value(safes, sk_PKCS7_num(safes) - 1);
  ASSERT_EQ(OBJ_obj2nid(p7->type), NID_pkcs7_encrypted);
  SetIterations(p7->d.encrypted->enc_data->algorithm, count);
}

std::string Build(Recipe r) {
  if (r.key == nullptr) r.key = TestIdentity().key.get();
  if (r.certs.empty()) r.certs.push_back(TestIdentity().certificate.get());
  STACK_OF(PKCS7)* safes = nullptr;
  for (int i = 0; i <= r.extra_safes; ++i) {
    STACK_OF(PKCS12_SAFEBAG)* bags = nullptr;
    for (X509* c : r.certs) EXPECT_NE(PKCS12_add_cert(&bags, c), nullptr);
    EXPECT_EQ(PKCS12_add_safe(&safes, bags, r.pbe, 2048, r.password), 1);
    sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    const char* count = i == 0 ? r.cert_iter : r.extra_safes_iter;
    if (count != nullptr) LastSafeIterations(safes, count);
  }
  if (r.scrypt) {
    PKCS7* p7 = sk_PKCS7_value(safes, 0);
    X509_ALGOR* scrypt = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), nullptr, 0, nullptr, 1 << 14, 8, 128);
    EXPECT_NE(scrypt, nullptr);
    X509_ALGOR_free(p7->d.encrypted->enc_data->algorithm);
    p7->d.encrypted->enc_data->algorithm = scrypt;
  }
  STACK_OF(PKCS12_SAFEBAG)* bags = nullptr;
  PKCS12_SAFEBAG* key_bag = PKCS12_add_key(&bags, r.key, 0, 2048, r.pbe, r.password);
  EXPECT_NE(key_bag, nullptr);
  if (r.key_iter != nullptr) {
    const X509_ALGOR* alg = nullptr;
    X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(key_bag), &alg, nullptr);
    SetIterations(const_cast<X509_ALGOR*>(alg), r.key_iter);
  }
  EXPECT_EQ(PKCS12_add_safe(&safes, bags, r.key_in_encrypted_safe ? r.pbe : -1, 2048, r.password), 1);
  sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
  Pkcs12Ptr p12(PKCS12_add_safes(safes, 0));
  sk_PKCS7_pop_free(safes, PKCS7_free);
  EXPECT_TRUE(p12);
  if (!p12) return "";
  if (r.mac) {
    EXPECT_EQ(PKCS12_set_mac(p12.get(), r.password, -1, nullptr, 0, 2048, EVP_sha256()), 1);
    const X509_ALGOR* mac_alg = nullptr;
    const ASN1_INTEGER* iter = nullptr;
    PKCS12_get0_mac(nullptr, &mac_alg, nullptr, &iter, p12.get());
    if (r.pbmac1) {
      auto* alg = const_cast<X509_ALGOR*>(mac_alg);
      PBE2PARAM* params = PBE2PARAM_new();
      X509_ALGOR_free(params->keyfunc);
      params->keyfunc = PKCS5_pbkdf2_set(2048, nullptr, 0, NID_hmacWithSHA256, 32);
      X509_ALGOR_set0(params->encryption, OBJ_nid2obj(NID_hmacWithSHA256), V_ASN1_NULL, nullptr);
      ASN1_TYPE* t = nullptr;
      EXPECT_NE(ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(PBE2PARAM), params, &t), nullptr);
      PBE2PARAM_free(params);
      ASN1_TYPE_free(alg->parameter);
      alg->parameter = t;
      ASN1_OBJECT_free(alg->algorithm);
      alg->algorithm = OBJ_nid2obj(NID_pbmac1);
      if (r.mac_iter != nullptr) SetIterations(alg, r.mac_iter);
    } else if (r.mac_iter != nullptr) {
      BIGNUM* n = nullptr;
      EXPECT_GT(BN_dec2bn(&n, r.mac_iter), 0);
      EXPECT_NE(BN_to_ASN1_INTEGER(n, const_cast<ASN1_INTEGER*>(iter)), nullptr);
      BN_free(n);
    }
  }
  return PfxDer(p12.get());
}

std::string TooMany(const std::string& count) {
  return "the PFX asks for " + count + " iterations of its key derivation, more than the 10000000 accepted";
}

struct BoundCase {
  const char* name;
  Recipe recipe;
  std::string message;
};

void PrintTo(const BoundCase& c, std::ostream* os) { *os << c.name; }

class PfxWorkBound : public ::testing::TestWithParam<BoundCase> {};

// Every count is refused before anything is derived: at 2^31 - 1 iterations
// (the most OpenSSL takes as it is, in an int), deriving first would keep the
// test busy for hours.
TEST_P(PfxWorkBound, IsRefusedBeforeAnyDerivation) {
  const std::string pfx = Build(GetParam().recipe);
  auto r = ReadPfx(pfx, Secret(GetParam().recipe.password));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), GetParam().message);
}

Recipe With(void (*edit)(Recipe&)) {
  Recipe r;
  edit(r);
  return r;
}

INSTANTIATE_TEST_SUITE_P(
    CraftedFiles, PfxWorkBound,
    ::testing::Values(
        BoundCase{"MacJustOver", With([](Recipe& r) { r.mac_iter = "10000001"; }), TooMany("10000001")},
        BoundCase{"MacIntMax", With([](Recipe& r) { r.mac_iter = "2147483647"; }), TooMany("2147483647")},
        BoundCase{"MacBeyond64Bits", With([](Recipe& r) { r.mac_iter = "100000000000000000000000"; }),
                  TooMany("100000000000000000000000")},
        BoundCase{"Pbmac1JustOver", With([](Recipe& r) { r.pbmac1 = true; r.mac_iter = "10000001"; }),
                  TooMany("10000001")},
        BoundCase{"CertificatesPbkdf2JustOver", With([](Recipe& r) { r.cert_iter = "10000001"; }),
                  TooMany("10000001")},
        BoundCase{"CertificatesPkcs12PbeIntMax",
                  With([](Recipe& r) { r.pbe = NID_pbe_WithSHA1And3_Key_TripleDES_CBC; r.cert_iter = "2147483647"; }),
                  TooMany("2147483647")},
        BoundCase{"KeyPbkdf2JustOver", With([](Recipe& r) { r.key_iter = "10000001"; }), TooMany("10000001")},
        BoundCase{"KeyPkcs12PbeJustOver",
                  With([](Recipe& r) { r.pbe = NID_pbe_WithSHA1And3_Key_TripleDES_CBC; r.key_iter = "10000001"; }),
                  TooMany("10000001")},
        BoundCase{"KeyInsideEncryptedSafeIntMax",
                  With([](Recipe& r) { r.key_in_encrypted_safe = true; r.key_iter = "2147483647"; }),
                  TooMany("2147483647")},
        BoundCase{"NoMacCertificatesJustOver", With([](Recipe& r) { r.mac = false; r.cert_iter = "10000001"; }),
                  TooMany("10000001")},
        BoundCase{"ScryptOverTheLimit", With([](Recipe& r) { r.scrypt = true; }),
                  "the PFX asks for 16777216 rounds of its scrypt key derivation (N=16384, r=8, p=128), more than "
                  "the 10000000 accepted"},
        BoundCase{"ManySafesEachUnderTheLimit",
                  With([](Recipe& r) { r.extra_safes = 5; r.extra_safes_iter = "9000000"; }),
                  "the PFX asks for more than 40000000 iterations of key derivation in all"}),
    [](const ::testing::TestParamInfo<BoundCase>& info) { return std::string(info.param.name); });

TEST(PfxWorkBound, UpToTheLimitIsAccepted) {
  // The limit itself, in the cheapest place (one PKCS#12 KDF run for the
  // MAC when it is made, one when it is checked).
  Recipe r;
  std::string pfx = Build(r);
  const auto* p = reinterpret_cast<const unsigned char*>(pfx.data());
  Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(pfx.size())));
  ASSERT_TRUE(p12);
  ASSERT_EQ(PKCS12_set_mac(p12.get(), "pw", -1, nullptr, 0, 10000000, EVP_sha256()), 1);
  pfx = PfxDer(p12.get());
  ASSERT_FALSE(pfx.empty());
  auto read = ReadPfx(pfx, Secret("pw"));
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(Thumbprint(read->identity.certificate.get()), Thumbprint(TestIdentity().certificate.get()));
}

// A file's friendlyName and localKeyID come back in our exports, as with
// PKCS12_parse and PKCS12_create (and the localKeyID is not written twice).
TEST(ReadPfx, KeepsTheFriendlyNameThroughAnExport) {
  const Identity& id = TestIdentity();
  Pkcs12Ptr p12(PKCS12_create("pw", "My Portal", id.key.get(), id.certificate.get(), nullptr, 0, 0, 0, 0, 0));
  ASSERT_TRUE(p12);
  const std::string bytes = PfxDer(p12.get());
  auto read = ReadPfx(bytes, Secret("pw"));
  ASSERT_TRUE(read.ok()) << read.status().message();
  for (PfxEncoding e : {PfxEncoding::kModern, PfxEncoding::kCompatible, PfxEncoding::kUnencryptedForSealing}) {
    auto again = WritePfx(read->identity, Secret("pw"), e);
    ASSERT_TRUE(again.ok()) << PfxEncodingName(e) << ": " << again.status().message();
    auto back = ReadPfx(again->value(), Secret(e == PfxEncoding::kUnencryptedForSealing ? "" : "pw"));
    ASSERT_TRUE(back.ok()) << back.status().message();
    const unsigned char* alias = X509_alias_get0(back->identity.certificate.get(), nullptr);
    EXPECT_STREQ(reinterpret_cast<const char*>(alias), "My Portal") << PfxEncodingName(e);
  }
}

// ---- Key types ---------------------------------------------------------------

// TestIdentity()'s certificate re-keyed with `key` and self-signed by it.
X509Ptr CertificateFor(EVP_PKEY* key, bool inherit_parameters = false) {
  return testing::RekeyedCertificate(TestIdentity().certificate.get(), key, inherit_parameters);
}

struct KeyTypeCase {
  const char* name;
  bool inherit_parameters;
};

class PfxKeyType : public ::testing::TestWithParam<KeyTypeCase> {};

TEST_P(PfxKeyType, DsaIsRefusedForWhatItIs) {
  static PkeyPtr* dsa = new PkeyPtr(DsaKey());  // parameter generation is slow: once
  ASSERT_TRUE(*dsa);
  X509Ptr cert = CertificateFor(dsa->get(), GetParam().inherit_parameters);
  ASSERT_TRUE(cert);
  Recipe r;
  r.key = dsa->get();
  r.certs = {cert.get()};
  auto read = ReadPfx(Build(r), Secret("pw"));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(read.status().message(), "the private key in the PFX is a DSA key; only RSA and EC keys can serve the channel");
}

INSTANTIATE_TEST_SUITE_P(Certificates, PfxKeyType,
                         ::testing::Values(KeyTypeCase{"ParametersInTheCertificate", false},
                                           KeyTypeCase{"ParametersInherited", true}),
                         [](const ::testing::TestParamInfo<KeyTypeCase>& info) { return std::string(info.param.name); });

TEST(PfxKeyType, EcIsAccepted) {
  PkeyPtr ec(EVP_EC_gen("P-256"));
  ASSERT_TRUE(ec);
  X509Ptr cert = CertificateFor(ec.get());
  ASSERT_TRUE(cert);
  Recipe r;
  r.key = ec.get();
  r.certs = {cert.get()};
  auto read = ReadPfx(Build(r), Secret("pw"));
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(Thumbprint(read->identity.certificate.get()), Thumbprint(cert.get()));
}

// ---- Secrets in freed memory ------------------------------------------------

// OpenSSL's allocator, replaced before its first allocation by malloc and
// free with a header that records each block's size, so that what OpenSSL
// frees can be searched for secrets while a test asks for it.
namespace freed {

// A secret found in a block OpenSSL freed, and where OpenSSL freed it.
struct Find {
  std::string what;
  std::string file;
  int line;
};

constexpr size_t kHeader = 16;
std::atomic<bool> watching{false};
std::mutex mu;
std::vector<std::pair<std::string, std::string>> needles;  // name, bytes; under mu
std::vector<Find> found;                                    // under mu

void Look(const void* p, size_t n, const char* file, int line) {
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& [name, bytes] : needles) {
    const std::string_view block(static_cast<const char*>(p), n);  // memmem is not in Windows' C library
    if (block.find(bytes) != std::string_view::npos) found.push_back({name, file != nullptr ? file : "", line});
  }
}

void* Malloc(size_t n, const char*, int) {
  // Zeroed, so that what is found when a block is freed was put there in
  // its lifetime and not left over from an earlier one.
  auto* block = static_cast<unsigned char*>(std::calloc(1, n + kHeader));
  if (block == nullptr) return nullptr;
  std::memcpy(block, &n, sizeof n);
  return block + kHeader;
}

void Free(void* p, const char* file, int line) {
  if (p == nullptr) return;
  unsigned char* block = static_cast<unsigned char*>(p) - kHeader;
  size_t n = 0;
  std::memcpy(&n, block, sizeof n);
  if (watching.load()) Look(p, n, file, line);
  std::free(block);
}

void* Realloc(void* p, size_t n, const char* file, int line) {
  if (p == nullptr) return Malloc(n, file, line);
  if (n == 0) {
    Free(p, file, line);
    return nullptr;
  }
  size_t old = 0;
  std::memcpy(&old, static_cast<unsigned char*>(p) - kHeader, sizeof old);
  void* q = Malloc(n, file, line);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, std::min(old, n));
  Free(p, file, line);  // the old block is freed memory like any other
  return q;
}

const bool installed = CRYPTO_set_mem_functions(Malloc, Realloc, Free) == 1;

// Runs `f` and returns the secrets it left in memory OpenSSL freed meanwhile.
std::vector<Find> Watch(std::vector<std::pair<std::string, std::string>> secrets, const std::function<void()>& f) {
  {
    std::lock_guard<std::mutex> lock(mu);
    needles = std::move(secrets);
    found.clear();
  }
  watching = true;
  f();
  watching = false;
  std::lock_guard<std::mutex> lock(mu);
  needles.clear();
  return std::move(found);
}

// Temporaries inside OpenSSL 3.0 that it frees unwiped and no caller can
// reach: the DER a key is encoded to (EVP_PKEY2PKCS8, and ASN1_item_i2d_bio
// under the provider encoder) or decoded from (the provider decoders), and
// the PKCS#12 KDF's buffer of salt and password. A find anywhere else is in
// something of ours.
bool InsideOpenSsl(const Find& f) {
  for (const char* file : {"crypto/asn1/a_i2d_fp.c", "crypto/evp/evp_pkey.c", "encode_decode/decode_der2key.c",
                           "encode_decode/decode_spki2typespki.c", "kdfs/pkcs12kdf.c"}) {
    if (f.file.ends_with(file)) return true;
  }
  return false;
}

}  // namespace freed

std::string BigEndian(const EVP_PKEY* key, const char* param) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &raw) != 1) return "";
  BnPtr bn(raw);
  std::string out(static_cast<size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

constexpr char kPassword[] = "Pfx-Pass-8c41e0a7";

// The password as typed and as the PKCS#12 KDF sees it (BMPString), and 24
// bytes from the middle of each private RSA number, big-endian as in DER and
// little-endian as in OpenSSL's BIGNUM words.
std::vector<std::pair<std::string, std::string>> Needles() {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("the password", kPassword);
  std::string bmp;
  for (char c : std::string(kPassword)) bmp += std::string(1, '\0') + c;
  out.emplace_back("the password as BMPString", bmp);
  for (const char* param : {OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2}) {
    std::string be = BigEndian(TestIdentity().key.get(), param);
    EXPECT_GT(be.size(), 64u) << param;
    std::string middle = be.substr(be.size() / 2, 24);
    out.emplace_back(std::string("the private key's ") + param, middle);
    out.emplace_back(std::string("the private key's ") + param + " (little-endian)",
                     std::string(middle.rbegin(), middle.rend()));
  }
  return out;
}

struct SecretsCase {
  const char* name;
  std::function<std::string()> prepare;          // not watched
  std::function<void(const std::string&)> run;  // watched
};

void PrintTo(const SecretsCase& c, std::ostream* os) { *os << c.name; }

std::string Written(PfxEncoding e, const char* password) {
  auto pfx = WritePfx(TestIdentity(), Secret(password), e);
  EXPECT_TRUE(pfx.ok()) << pfx.status().message();
  return pfx.ok() ? pfx->value() : "";
}

std::function<std::string()> Prepared(PfxEncoding e, const char* password) {
  return [=] { return Written(e, password); };
}

std::function<void(const std::string&)> Reads(const char* password) {
  return [=](const std::string& pfx) {
    auto r = ReadPfx(pfx, Secret(password));
    EXPECT_TRUE(r.ok()) << r.status().message();
  };
}

std::function<void(const std::string&)> Writes(PfxEncoding e, const char* password) {
  return [=](const std::string&) { (void)Written(e, password); };
}

class PfxSecrets : public ::testing::TestWithParam<SecretsCase> {};

TEST_P(PfxSecrets, NothingFreedHoldsThePasswordOrTheKey) {
  ASSERT_TRUE(freed::installed) << "OpenSSL allocated memory before this test binary could watch it";
  const std::string input = GetParam().prepare ? GetParam().prepare() : "";
  auto needles = Needles();
  std::vector<std::string> ours;
  for (const auto& f : freed::Watch(std::move(needles), [&] { GetParam().run(input); })) {
    if (!freed::InsideOpenSsl(f)) ours.push_back(f.what + " in a block freed at " + f.file + ":" + std::to_string(f.line));
  }
  EXPECT_TRUE(ours.empty()) << ::testing::PrintToString(ours);
}

INSTANTIATE_TEST_SUITE_P(
    ReadAndWrite, PfxSecrets,
    ::testing::Values(
        SecretsCase{"WriteModern", nullptr, Writes(PfxEncoding::kModern, kPassword)},
        SecretsCase{"WriteCompatible", nullptr, Writes(PfxEncoding::kCompatible, kPassword)},
        SecretsCase{"WriteForSealing", nullptr, Writes(PfxEncoding::kUnencryptedForSealing, "")},
        SecretsCase{"ReadModern", Prepared(PfxEncoding::kModern, kPassword), Reads(kPassword)},
        SecretsCase{"ReadCompatible", Prepared(PfxEncoding::kCompatible, kPassword), Reads(kPassword)},
        SecretsCase{"ReadSealed", Prepared(PfxEncoding::kUnencryptedForSealing, ""), Reads("")},
        SecretsCase{"ReadSealedAsBase64",
                    [] { return Base64Encode(Written(PfxEncoding::kUnencryptedForSealing, "")); }, Reads("")},
        SecretsCase{"ReadWithoutMac",
                    [] {
                      Recipe r;
                      r.mac = false;
                      r.password = kPassword;
                      return Build(r);
                    },
                    Reads(kPassword)},
        SecretsCase{"ReadWithAWrongPassword", Prepared(PfxEncoding::kModern, "another password"),
                    [](const std::string& pfx) { EXPECT_FALSE(ReadPfx(pfx, Secret(kPassword)).ok()); }}),
    [](const ::testing::TestParamInfo<SecretsCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace octo
