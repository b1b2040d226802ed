// PFX files against both executables: files that must be refused (too much
// key derivation work, a key that cannot serve the channel, a key that
// matches no certificate) and the mode of every PFX the executables write.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <sys/stat.h>

#include "common/crypto/pkcs12.h"
#include "support/cli_fixture.h"
#include "support/identities.h"

namespace octo::testing {
namespace {

using ::testing::ElementsAre;

mode_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// A PFX with `key` and `cert` that PKCS12_create does not check against each
// other: the certificate goes in as a chain certificate.
std::string Unchecked(EVP_PKEY* key, X509* cert) {
  X509StackPtr ca(sk_X509_new_null());
  X509_up_ref(cert);
  sk_X509_push(ca.get(), cert);
  Pkcs12Ptr p12(PKCS12_create("pw", nullptr, key, nullptr, ca.get(), 0, 0, 0, 0, 0));
  EXPECT_TRUE(p12);
  return p12 ? PfxDer(p12.get()) : "";
}

// A modern PFX whose MAC asks for `count` iterations. Only the count in the
// file changes; nothing is derived with it here.
std::string MacIterations(const Identity& id, const char* count) {
  auto pfx = WritePfx(id, Secret("pw"), PfxEncoding::kModern);
  EXPECT_TRUE(pfx.ok());
  const auto* p = reinterpret_cast<const unsigned char*>(pfx->value().data());
  Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(pfx->value().size())));
  const ASN1_INTEGER* iter = nullptr;
  PKCS12_get0_mac(nullptr, nullptr, nullptr, &iter, p12.get());
  EXPECT_NE(iter, nullptr);
  BIGNUM* n = nullptr;
  EXPECT_GT(BN_dec2bn(&n, count), 0);
  EXPECT_NE(BN_to_ASN1_INTEGER(n, const_cast<ASN1_INTEGER*>(iter)), nullptr);
  BN_free(n);
  return PfxDer(p12.get());
}

// A DSA key and a self-signed certificate whose SubjectPublicKeyInfo leaves
// the DSA parameters out (they are inherited from the issuer, RFC 3279
// 2.3.2), like NIST PKITS' ValidDSAParameterInheritanceTest5EE.p12.
std::string DsaInheritingParameters(const Identity& template_id) {
  PkeyPtr key = DsaKey();
  EXPECT_TRUE(key);
  if (!key) return "";
  X509Ptr cert = RekeyedCertificate(template_id.certificate.get(), key.get(), /*inherit_dsa_parameters=*/true);
  EXPECT_TRUE(cert);
  if (!cert) return "";
  return Unchecked(key.get(), cert.get());
}

// ---- Import: refused files leave the instance as it was --------------------

class PfxImportRefusal : public CliTest, public ::testing::WithParamInterface<bool> {
 protected:
  bool server() const { return GetParam(); }

  void SetUp() override {
    if (server()) {
      MustServer({"create-instance"});
    } else {
      MustTentacle({"create-instance"});
      MustTentacle({"new-certificate"});
    }
  }

  // Imports `pfx` (written to a file) and checks the one error line, the exit
  // code and that the configuration did not change.
  void ExpectRefused(const std::string& pfx, const std::string& message) {
    const std::string file = Path("refused.pfx");
    WriteTestFile(file, pfx);
    const std::string config = server() ? ServerConfig() : TentacleConfig();
    const std::string before = HashFile(config);
    ProcessOptions options;
    options.timeout_seconds = 30;  // a refusal is immediate; deriving 2^31 - 1 iterations takes hours
    std::vector<std::string> args = {"import-certificate", "--from-file", file, "--pfx-password", "pw"};
    auto r = server() ? Server(args, options) : Tentacle(args, options);
    EXPECT_FALSE(r.timed_out) << "still deriving keys after " << options.timeout_seconds << " seconds";
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_THAT(r.ErrLines(), ElementsAre("Error: cannot import " + Shown(file) + ": " + message));
    EXPECT_EQ(HashFile(config), before);
  }

  static const Identity& Other() { return SharedIdentity("Other"); }
};

// 2^31 - 1: the most OpenSSL takes as it is (more wraps around in an int).
TEST_P(PfxImportRefusal, AMacAskingForIntMaxIterations) {
  ExpectRefused(MacIterations(Other(), "2147483647"),
                "the PFX asks for 2147483647 iterations of its key derivation, more than the 10000000 accepted");
}

TEST_P(PfxImportRefusal, AKeyThatMatchesNoCertificate) {
  auto mine = GenerateIdentity("Mine");
  ASSERT_TRUE(mine.ok());
  ExpectRefused(Unchecked(mine->key.get(), Other().certificate.get()),
                "the private key in the PFX does not match its certificate");
}

TEST_P(PfxImportRefusal, ADsaKeyWhoseCertificateInheritsItsParameters) {
  ExpectRefused(DsaInheritingParameters(Other()),
                "the private key in the PFX is a DSA key; only RSA and EC keys can serve the channel");
}

INSTANTIATE_TEST_SUITE_P(BothProducts, PfxImportRefusal, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Server" : "Tentacle");
                         });

// ---- Export: every PFX written is private, whatever the umask --------------

struct Writer {
  const char* name;
  bool server;
  std::vector<std::string> args;  // "@" stands for the output file
};

void PrintTo(const Writer& w, std::ostream* os) { *os << w.name; }

class PfxWrittenMode : public CliTest, public ::testing::WithParamInterface<std::tuple<Writer, bool>> {
 protected:
  void SetUp() override {
    MustServer({"create-instance"});
    MustTentacle({"create-instance"});
    MustTentacle({"new-certificate"});
  }
};

// Runs the command under `umask 000`; a control file the same shell creates
// shows the umask was in force. With `existing`, the output file is there
// already, readable and writable by everyone.
TEST_P(PfxWrittenMode, IsPrivateUnderUmask000) {
  const auto& [writer, existing] = GetParam();
  const std::string out = Path("written.pfx");
  const std::string control = Path("control");
  std::vector<std::string> args = {
      "sh", "-c", "umask 000 && : > \"$0\" && { [ -z \"$PRE\" ] || : > \"$PRE\"; } && exec \"$@\"", control};
  // Under wine the wrapper runs the .exe; wine's Unix mode follows the umask.
  if (UnderWine()) args.push_back(ProgramWrapper());
  args.push_back(writer.server ? ServerBin() : TentacleBin());
  for (const auto& a : writer.args) args.push_back(a == "@" ? out : a);
  ProcessOptions options;
  options.env["OCTOPUS_CONFIG_ROOT"] = root();
  if (existing) options.env["PRE"] = out;
  auto r = RunProcess(args, options);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Mode(control), 0666u) << "the umask was not 000";
  EXPECT_TRUE(IsPrivateFileMode(Mode(out))) << std::oct << Mode(out);
}

INSTANTIATE_TEST_SUITE_P(
    EveryWriter, PfxWrittenMode,
    ::testing::Combine(
        ::testing::Values(
            Writer{"ServerExportCertificate", true, {"export-certificate", "--export-pfx", "@", "--pfx-password", "pw"}},
            Writer{"ServerNewCertificateExportPfx", true, {"new-certificate", "--export-pfx", "@", "--pfx-password", "pw"}},
            Writer{"ServerNewCertificateExportFile", true, {"new-certificate", "--export-file", "@"}},
            Writer{"TentacleNewCertificateExportPfx", false,
                   {"new-certificate", "--export-pfx", "@", "--pfx-password", "pw"}},
            Writer{"TentacleNewCertificateE", false, {"new-certificate", "-e", "@"}},
            Writer{"TentacleExportCertificate", false,
                   {"export-certificate", "--export-pfx", "@", "--pfx-password", "pw"}}),
        ::testing::Bool()),
    [](const ::testing::TestParamInfo<std::tuple<Writer, bool>>& info) {
      return std::string(std::get<0>(info.param).name) + (std::get<1>(info.param) ? "OverAnOpenFile" : "");
    });

}  // namespace
}  // namespace octo::testing
