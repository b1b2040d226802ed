// Stored certificate summaries (config/certificate_summary.h): believed only
// beside the thumbprint and certificate they were written for, and kept in
// step by everything that changes a certificate.
#include "common/config/certificate_summary.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <functional>

#include "common/base/encoding.h"
#include "common/config/certificate_slots.h"
#include "common/config/instance.h"
#include "support/identities.h"
#include "support/temp_dir.h"

namespace octo {
namespace {

using testing::TempDir;

const SummaryKeys kKeys{"T.Thumbprint", "T.Public", "T.CertificateSummary"};

std::string PublicB64(const Identity& id) { return Base64Encode(CertificateToDer(id.certificate.get())); }
std::string Tp(const Identity& id) { return Thumbprint(id.certificate.get()); }

TEST(CertificateSummary, KeyIsTheCertificateKeyWithSummary) {
  EXPECT_EQ(CertificateSummaryKey("Tentacle.Certificate"), "Tentacle.CertificateSummary");
  EXPECT_EQ(CertificateSlotKeys(Product::kServer, CertificateSlot::kCurrent).summary,
            "Octopus.Server.CertificateSummary");
  EXPECT_EQ(CertificateSlotKeys(Product::kTentacle, CertificateSlot::kStaged).summary,
            "Tentacle.StagedCertificateSummary");
  EXPECT_EQ(CertificateSlotKeys(Product::kServer, CertificateSlot::kPrevious).summary,
            "Octopus.Server.PreviousCertificateSummary");
}

TEST(CertificateSummary, WhatIsStoredIsReadBack) {
  const Identity& id = testing::SharedIdentity(kTentacleCommonName);
  ConfigFile c = ConfigFile::New("unused");
  StoreCertificate(c, kKeys, Tp(id), PublicB64(id));
  EXPECT_EQ(*c.GetString(kKeys.thumbprint), Tp(id));
  EXPECT_EQ(*c.GetString(kKeys.public_der), PublicB64(id));
  auto s = ReadCertificateSummary(c, kKeys);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->thumbprint, Tp(id));
  EXPECT_EQ(s->signature_algorithm, "sha256RSA");
}

// Each change a summary must not survive: it is then not believed.
TEST(CertificateSummary, IsNotBelievedBesideAnythingElse) {
  const Identity& id = testing::SharedIdentity(kTentacleCommonName);
  const Identity& other = testing::SharedIdentity(kServerCommonName);
  struct Case {
    const char* name;
    std::function<void(ConfigFile&)> change;
  };
  const Case cases[] = {
      {"another thumbprint", [&](ConfigFile& c) { c.Set(kKeys.thumbprint, Tp(other)); }},
      {"another certificate", [&](ConfigFile& c) { c.Set(kKeys.public_der, PublicB64(other)); }},
      {"another algorithm", [](ConfigFile& c) { c.doc()[kKeys.summary]["SignatureAlgorithm"] = "sha1RSA"; }},
      {"another check", [](ConfigFile& c) { c.doc()[kKeys.summary]["Check"] = "0000000000000000"; }},
      {"no check", [](ConfigFile& c) { c.doc()[kKeys.summary].erase("Check"); }},
      {"a check that is no string", [](ConfigFile& c) { c.doc()[kKeys.summary]["Check"] = 7; }},
      {"a summary that is no object", [](ConfigFile& c) { c.Set(kKeys.summary, "sha256RSA"); }},
      {"no summary", [](ConfigFile& c) { c.Erase(kKeys.summary); }},
      {"no thumbprint", [](ConfigFile& c) { c.Erase(kKeys.thumbprint); }},
      {"no certificate", [](ConfigFile& c) { c.Erase(kKeys.public_der); }},
  };
  for (const Case& k : cases) {
    ConfigFile c = ConfigFile::New("unused");
    StoreCertificate(c, kKeys, Tp(id), PublicB64(id));
    k.change(c);
    EXPECT_FALSE(ReadCertificateSummary(c, kKeys).has_value()) << k.name;
  }
}

TEST(CertificateSummary, NoneIsKeptForAThumbprintThatIsNotTheCertificates) {
  const Identity& id = testing::SharedIdentity(kTentacleCommonName);
  const Identity& other = testing::SharedIdentity(kServerCommonName);
  ConfigFile c = ConfigFile::New("unused");
  StoreCertificate(c, kKeys, Tp(id), PublicB64(id));
  StoreCertificate(c, kKeys, Tp(other), PublicB64(id));  // the old summary goes too
  EXPECT_EQ(*c.GetString(kKeys.thumbprint), Tp(other));
  EXPECT_FALSE(c.Has(kKeys.summary));
  StoreCertificate(c, kKeys, Tp(id), "not base64!");
  EXPECT_FALSE(c.Has(kKeys.summary));
  EXPECT_FALSE(ReadCertificateSummary(c, kKeys).has_value());
}

class InstanceSummaryTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::SetEnv("OCTOPUS_CONFIG_ROOT", root_.path()); }
  void TearDown() override { testing::UnsetEnv("OCTOPUS_CONFIG_ROOT"); }

  // What the stored summary says, and what the stored certificate says.
  static std::pair<std::string, std::string> StoredAndComputed(const Instance& inst) {
    auto stored = inst.StoredSummary();
    auto der = inst.CertificateDer();
    auto computed = der.ok() ? SummarizeCertificateDer(*der) : Result<CertificateSummary>(der.status());
    EXPECT_TRUE(computed.ok());
    return {stored ? stored->thumbprint + " " + stored->signature_algorithm : "none",
            computed.ok() ? computed->thumbprint + " " + computed->signature_algorithm : "unreadable"};
  }

  TempDir root_;
};

TEST_F(InstanceSummaryTest, FollowsTheCertificateThroughSetIdentityAndEverySwitch) {
  auto made = Instance::Create(Product::kServer, {"S", {}, {}, {}});
  ASSERT_TRUE(made.ok()) << made.status().message();
  auto inst = Instance::Open(Product::kServer, "S", std::nullopt, Instance::Access::kUpdate);
  ASSERT_TRUE(inst.ok());
  auto [stored, computed] = StoredAndComputed(*inst);
  EXPECT_EQ(stored, computed);
  const std::string first = inst->StoredThumbprint();

  ASSERT_TRUE(inst->SetIdentity(testing::SharedIdentity(kServerCommonName)).ok());
  std::tie(stored, computed) = StoredAndComputed(*inst);
  EXPECT_EQ(stored, Tp(testing::SharedIdentity(kServerCommonName)) + " sha256RSA");
  EXPECT_EQ(stored, computed);
  const std::string second = inst->StoredThumbprint();

  auto staged = StageCertificate(*inst);
  ASSERT_TRUE(staged.ok()) << staged.status().message();
  auto staged_summary = ReadCertificateSummary(
      inst->config(), {"Octopus.Server.StagedCertificateThumbprint", "Octopus.Server.StagedPublicCertificate",
                       "Octopus.Server.StagedCertificateSummary"});
  ASSERT_TRUE(staged_summary.has_value());
  EXPECT_EQ(staged_summary->thumbprint, staged->thumbprint);
  ASSERT_TRUE(SwitchCertificate(*inst, staged->thumbprint).ok());
  std::tie(stored, computed) = StoredAndComputed(*inst);
  EXPECT_EQ(stored, staged->thumbprint + " sha256RSA");
  EXPECT_EQ(stored, computed);
  ASSERT_TRUE(SwitchCertificate(*inst, second).ok());  // rollback: the previous one again
  std::tie(stored, computed) = StoredAndComputed(*inst);
  EXPECT_EQ(stored, second + " sha256RSA");
  ASSERT_TRUE(DiscardCertificate(*inst, CertificateSlot::kPrevious).ok());
  EXPECT_FALSE(inst->config().Has("Octopus.Server.PreviousCertificateSummary"));
  ASSERT_TRUE(inst->Save().ok());

  // Read back from the file, as show-thumbprint does.
  auto again = Instance::Open(Product::kServer, "S", std::nullopt);
  ASSERT_TRUE(again.ok());
  std::tie(stored, computed) = StoredAndComputed(*again);
  EXPECT_EQ(stored, second + " sha256RSA");
  EXPECT_NE(first, second);
}

TEST_F(InstanceSummaryTest, NoneWithoutACertificate) {
  auto made = Instance::Create(Product::kTentacle, {"T", {}, {}, {}});
  ASSERT_TRUE(made.ok());
  EXPECT_FALSE(made->StoredSummary().has_value());
}

}  // namespace
}  // namespace octo
