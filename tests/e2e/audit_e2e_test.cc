// Octopus.Server audit-certificates against real Tentacle services (issue
// 11, point 4): a fleet of Tentacles on loopback ports, each with one thing
// wrong (a SHA-1 or 1024-bit certificate, a wrong pin, a stale or missing
// trust, nothing listening), audited with the Server's service stopped.
// What a user sees: the lines, the JSON and the exit code.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/crypto/certificate.h"
#include "common/crypto/pkcs12.h"
#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const char kPassword[] = "MySecretPassword";
const char kRotateTarget[] = "rotate it with: Octopus.Server rotate-target-certificate --name ";

// What GenerateIdentity never makes: a certificate with the given key size,
// signature digest and lifetime, written as a PFX file for import-certificate.
struct MadeCertificate {
  std::string thumbprint;
  std::string not_after;  // ISO 8601, as Describe says it
};
MadeCertificate MakePfxFile(const std::string& path, const char* common_name, int bits, const EVP_MD* md,
                            long valid_seconds) {
  auto id = GenerateIdentity(common_name);
  EXPECT_TRUE(id.ok());
  if (!id.ok()) return {};
  id->key.reset(EVP_RSA_gen(static_cast<unsigned>(bits)));
  EXPECT_TRUE(id->key);
  EXPECT_EQ(X509_set_pubkey(id->certificate.get(), id->key.get()), 1);
  EXPECT_NE(X509_gmtime_adj(X509_getm_notAfter(id->certificate.get()), valid_seconds), nullptr);
  EXPECT_GT(X509_sign(id->certificate.get(), id->key.get(), md), 0);
  auto pfx = WritePfx(*id, Secret(kPassword), PfxEncoding::kModern);
  EXPECT_TRUE(pfx.ok());
  if (!pfx.ok()) return {};
  WriteTestFile(path, pfx->value());
  const CertificateInfo info = Describe(id->certificate.get());
  return {info.thumbprint, info.not_after};
}

constexpr long kDay = 86400;

class AuditE2e : public SupervisedServiceTest {
 protected:
  void SetUp() override {
    MustServer({"create-instance", "--instance", "OctopusServer"}, Env());
    server_tp_ = ServerThumbprint();
  }

  void TearDown() override {
    for (const auto& name : started_) T({"service", "--instance", name, "--stop"});
  }

  // A Tentacle instance `name` serving on a free loopback port, trusting
  // `trust`, with a new certificate or the one in `pfx`. Returns its
  // address; `*tp` gets its thumbprint.
  std::string StartTentacle(const std::string& name, const std::vector<std::string>& trust, std::string* tp,
                            const std::string& pfx = "") {
    MustTentacle({"create-instance", "--instance", name}, Env());
    if (pfx.empty()) {
      MustTentacle({"new-certificate", "--instance", name}, Env());
    } else {
      MustTentacle({"import-certificate", "--instance", name, "--from-file", pfx, "--pfx-password", kPassword}, Env());
    }
    *tp = TentacleThumbprint(name);
    ProcessResult start;
    int port = 0;
    for (int attempt = 0; attempt < 5; ++attempt) {
      port = FreeLoopbackPort();
      EXPECT_GT(port, 0);
      std::vector<std::string> args = {"configure", "--instance", name, "--port", std::to_string(port),
                                       "--listenIpAddress", "127.0.0.1"};
      if (attempt == 0) {
        for (const auto& t : trust) args.insert(args.end(), {"--trust", t});
      }
      MustTentacle(args, Env());
      start = T({"service", "--instance", name, "--start"});
      if (start.exit_code == 0 || start.err.find("cannot listen") == std::string::npos) break;
    }
    EXPECT_EQ(start.exit_code, 0) << start.out << start.err;
    if (start.exit_code == 0) started_.push_back(name);
    return "https://127.0.0.1:" + std::to_string(port);
  }

  void AddTarget(const std::string& name, const std::string& address, const std::string& tp) {
    MustServer({"add-target", "--name", name, "--address", address, "--thumbprint", tp}, Env());
  }

  // The findings' kinds of each target in `audit`, by name. (The parsed
  // output is never const in these tests: a missing element then reads as
  // null and fails an expectation, where a const operator[] would crash the
  // test binary before TearDown stops the Tentacles.)
  static std::map<std::string, std::vector<std::string>> FindingKinds(nlohmann::json audit) {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& t : audit["Targets"]) {
      auto& kinds = out[t["Name"].get<std::string>()];
      for (const auto& f : t["Findings"]) kinds.push_back(f["Kind"]);
    }
    return out;
  }

  std::string server_tp_;
  std::vector<std::string> started_;
};

TEST_F(AuditE2e, ACleanFleetNeedsNothingAndExitsZeroWithoutTheServerService) {
  std::string tp1, tp2;
  const std::string a1 = StartTentacle("T1", {server_tp_}, &tp1);
  const std::string a2 = StartTentacle("T2", {server_tp_}, &tp2);
  AddTarget("web-01", a1, tp1);
  AddTarget("web-02", a2, tp2);
  // The Server's service was never started: the command makes its own calls.
  EXPECT_NE(S({"service", "--status"}).exit_code, 0);

  const ProcessResult text = S({"audit-certificates"});
  EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
  EXPECT_THAT(text.OutLines(), ElementsAre("Audited 2 targets and the Octopus Server's certificate: nothing needs action."));
  EXPECT_EQ(text.err, "");

  const ProcessResult json = S({"audit-certificates", "--format", "json"});
  EXPECT_EQ(json.exit_code, 0) << json.out << json.err;
  nlohmann::json audit = nlohmann::json::parse(json.out);
  EXPECT_EQ(audit["FindingCount"], 0);
  EXPECT_EQ(audit["Server"]["Thumbprint"], server_tp_);
  EXPECT_EQ(audit["Server"]["SignatureAlgorithm"], "sha256RSA");
  EXPECT_EQ(audit["Server"]["KeyBits"], 2048);
  EXPECT_EQ(audit["Server"]["Findings"], nlohmann::json::array());
  ASSERT_EQ(audit["Targets"].size(), 2u);
  nlohmann::json& t = audit["Targets"][1];
  EXPECT_EQ(t["Name"], "web-02");
  EXPECT_EQ(t["Address"], a2);
  EXPECT_EQ(t["Presented"], tp2);
  EXPECT_EQ(t["Pinned"], nlohmann::json::array({tp2}));
  EXPECT_EQ(t["Trusted"], nlohmann::json::array({server_tp_}));
  EXPECT_EQ(t["SignatureAlgorithm"], "sha256RSA");
  EXPECT_EQ(t["KeyBits"], 2048);
  EXPECT_TRUE(t["NotAfter"].is_string());
  EXPECT_EQ(t["Findings"], nlohmann::json::array());
}

TEST_F(AuditE2e, ReportsEachProblemOnItsOwnLineAndExitsOne) {
  const MadeCertificate sha1 =
      MakePfxFile(Path("sha1.pfx"), kTentacleCommonName, 2048, EVP_sha1(), 3650 * kDay);
  // Ten days and an hour: "in 10 days" whenever the audit runs within the hour.
  // (A key under 2048 bits cannot be tried here: our Tentacle will not serve
  // with one, "ee key too small". The Server's own is, below.)
  const MadeCertificate expiring =
      MakePfxFile(Path("expiring.pfx"), kTentacleCommonName, 2048, EVP_sha256(), 10 * kDay + 3600);
  const std::string stale(40, 'B'), other_server(40, 'C'), wrong_pin(40, 'A');
  std::string tp_sha1, tp_expiring, tp_mispin, tp_stale, tp_untrusting;
  const std::string a_sha1 = StartTentacle("Sha1", {server_tp_}, &tp_sha1, Path("sha1.pfx"));
  const std::string a_expiring = StartTentacle("Expiring", {server_tp_}, &tp_expiring, Path("expiring.pfx"));
  const std::string a_mispin = StartTentacle("Mispin", {server_tp_}, &tp_mispin);
  const std::string a_stale = StartTentacle("Stale", {server_tp_, stale}, &tp_stale);
  const std::string a_untrusting = StartTentacle("Untrusting", {other_server}, &tp_untrusting);
  const std::string a_down = "https://127.0.0.1:" + std::to_string(FreeLoopbackPort());
  ASSERT_EQ(tp_sha1, sha1.thumbprint);
  ASSERT_EQ(tp_expiring, expiring.thumbprint);
  AddTarget("sha1", a_sha1, tp_sha1);
  AddTarget("expiring", a_expiring, tp_expiring);
  AddTarget("mispin", a_mispin, wrong_pin);
  AddTarget("stale", a_stale, tp_stale);
  AddTarget("untrusting", a_untrusting, tp_untrusting);
  AddTarget("down", a_down, std::string(40, 'D'));

  const ProcessResult text = S({"audit-certificates"});
  EXPECT_EQ(text.exit_code, 1) << text.out << text.err;
  EXPECT_EQ(text.err, "");
  EXPECT_THAT(
      text.OutLines(),
      ElementsAre(
          "sha1 (" + a_sha1 + "): SHA-1 signature (sha1RSA) on certificate " + tp_sha1 + "; " + kRotateTarget + "sha1",
          "expiring (" + a_expiring + "): certificate " + tp_expiring + " expires on " + expiring.not_after +
              " (in 10 days); " + kRotateTarget + "expiring",
          "mispin (" + a_mispin + "): presents certificate " + tp_mispin + ", not the pinned thumbprint " + wrong_pin +
              "; if it is the Tentacle's own certificate (Tentacle show-thumbprint on that machine), pin it with: "
              "Octopus.Server update-target --name mispin --add-thumbprint " +
              tp_mispin,
          "stale (" + a_stale + "): trusts thumbprint " + stale +
              ", which is not a certificate of this Octopus Server (current, staged or previous); unless another "
              "Octopus Server uses it, remove it on the Tentacle with: Tentacle configure --remove-trust " +
              stale,
          "untrusting (" + a_untrusting + "): does not trust this Octopus Server's certificate " + server_tp_ +
              " (it ended the connection in the handshake); trust it on the Tentacle with: Tentacle configure "
              "--trust " +
              server_tp_,
          "down (" + a_down + "): could not be audited: The Tentacle at " + a_down +
              " refused the connection (No connection could be made because the target machine actively refused "
              "it): is the Tentacle running and listening on that port?",
          "Audited 6 targets and the Octopus Server's certificate: 6 findings on 6 targets."));

  const ProcessResult json = S({"audit-certificates", "--format", "json", "--parallel", "2"});
  EXPECT_EQ(json.exit_code, 1) << json.out << json.err;
  nlohmann::json audit = nlohmann::json::parse(json.out);
  EXPECT_EQ(audit["FindingCount"], 6);
  EXPECT_EQ(audit["Server"]["Findings"], nlohmann::json::array());
  using Kinds = std::vector<std::string>;
  EXPECT_EQ(FindingKinds(audit), (std::map<std::string, Kinds>{{"sha1", {"Sha1Signature"}},
                                                          {"expiring", {"Expiring"}},
                                                          {"mispin", {"PinMismatch"}},
                                                          {"stale", {"StaleTrust"}},
                                                          {"untrusting", {"NotTrusted"}},
                                                          {"down", {"Unreachable"}}}));
  nlohmann::json& targets = audit["Targets"];
  ASSERT_EQ(targets.size(), 6u);
  EXPECT_EQ(targets[0]["SignatureAlgorithm"], "sha1RSA");
  EXPECT_EQ(targets[0]["Findings"][0]["Detail"], "SHA-1 signature (sha1RSA) on certificate " + tp_sha1);
  EXPECT_EQ(targets[1]["KeyBits"], 2048);
  EXPECT_EQ(targets[1]["NotAfter"], expiring.not_after);
  EXPECT_EQ(targets[2]["Presented"], tp_mispin);
  EXPECT_EQ(targets[2]["Pinned"], nlohmann::json::array({wrong_pin}));
  EXPECT_EQ(targets[2]["Trusted"], nlohmann::json::array());  // nothing was asked of it
  EXPECT_TRUE(targets[2]["SignatureAlgorithm"].is_null());
  std::vector<std::string> trusted = {stale, server_tp_};
  std::sort(trusted.begin(), trusted.end());
  EXPECT_EQ(targets[3]["Trusted"], nlohmann::json(trusted));
  EXPECT_THAT(targets[4]["Findings"][0]["Detail"].get<std::string>(), HasSubstr(server_tp_));
  EXPECT_EQ(targets[5]["Presented"], "");
  EXPECT_TRUE(targets[5]["KeyBits"].is_null());
  EXPECT_THAT(targets[5]["Findings"][0]["Detail"].get<std::string>(), HasSubstr("refused the connection"));

  // A narrower expiry window drops the expiry finding only.
  const ProcessResult narrow = S({"audit-certificates", "--format", "json", "--expiring-within-days", "5"});
  EXPECT_EQ(narrow.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(narrow.out)["FindingCount"], 5);
  EXPECT_EQ(FindingKinds(nlohmann::json::parse(narrow.out))["expiring"], Kinds{});
}

TEST_F(AuditE2e, TrustInTheServersPreviousCertificateIsNotStale) {
  // The Server's certificate before a replacement, kept as its previous one
  // (what a rotation leaves until it is discarded).
  nlohmann::json before = nlohmann::json::parse(ReadTestFile(ServerConfig()));
  const std::string old_tp = server_tp_;
  MustServer({"new-certificate", "--replace"}, Env());
  server_tp_ = ServerThumbprint();
  ASSERT_NE(server_tp_, old_tp);
  nlohmann::json config = nlohmann::json::parse(ReadTestFile(ServerConfig()));
  config["Octopus.Server.PreviousCertificate"] = before["Octopus.Server.Certificate"];
  config["Octopus.Server.PreviousCertificateThumbprint"] = before["Octopus.Server.CertificateThumbprint"];
  config["Octopus.Server.PreviousPublicCertificate"] = before["Octopus.Server.PublicCertificate"];
  WriteTestFile(ServerConfig(), config.dump(2));

  std::string tp;
  const std::string address = StartTentacle("T1", {old_tp, server_tp_}, &tp);
  AddTarget("web-01", address, tp);
  const ProcessResult r = S({"audit-certificates"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAre("Audited 1 target and the Octopus Server's certificate: nothing needs action."));

  // Once the previous one is gone from the Server, trusting it is stale.
  config = nlohmann::json::parse(ReadTestFile(ServerConfig()));  // with the target now
  config.erase("Octopus.Server.PreviousCertificate");
  config.erase("Octopus.Server.PreviousCertificateThumbprint");
  config.erase("Octopus.Server.PreviousPublicCertificate");
  WriteTestFile(ServerConfig(), config.dump(2));
  const ProcessResult after = S({"audit-certificates", "--format", "json"});
  EXPECT_EQ(after.exit_code, 1) << after.out;
  nlohmann::json audit = nlohmann::json::parse(after.out);
  EXPECT_EQ(audit["FindingCount"], 1);
  EXPECT_EQ(audit["Targets"][0]["Findings"][0]["Kind"], "StaleTrust");
  EXPECT_THAT(audit["Targets"][0]["Findings"][0]["Detail"].get<std::string>(), HasSubstr(old_tp));
}

TEST_F(AuditE2e, ReportsTheServersOwnWeakCertificate) {
  const MadeCertificate weak = MakePfxFile(Path("server.pfx"), kServerCommonName, 1024, EVP_sha1(), 3 * kDay + 3600);
  MustServer({"import-certificate", "--from-file", Path("server.pfx"), "--pfx-password", kPassword}, Env());
  // TLS here will not use a key under 2048 bits: the Server's own findings
  // are still made, and the targets say why they were not asked.
  const std::string address = "https://127.0.0.1:" + std::to_string(FreeLoopbackPort());
  AddTarget("web-01", address, std::string(40, 'D'));
  const std::string rotate = "; rotate it with: Octopus.Server rotate-certificate";
  const std::string who = "Octopus Server (instance OctopusServer): ";
  const ProcessResult r = S({"audit-certificates"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.OutLines(),
              ElementsAre(who + "SHA-1 signature (sha1RSA) on certificate " + weak.thumbprint + rotate,
                          who + "1024-bit key on certificate " + weak.thumbprint + " (under 2048 bits)" + rotate,
                          who + "certificate " + weak.thumbprint + " expires on " + weak.not_after + " (in 3 days)" +
                              rotate,
                          ::testing::StartsWith("web-01 (" + address +
                                                "): could not be audited: the Octopus Server's certificate cannot be "
                                                "used: cannot use the certificate for TLS: "),
                          "Audited 1 target and the Octopus Server's certificate: 4 findings on 1 target and the "
                          "Octopus Server's certificate."));
  nlohmann::json audit = nlohmann::json::parse(S({"audit-certificates", "--format", "json"}).out);
  EXPECT_EQ(audit["Server"]["Thumbprint"], weak.thumbprint);
  EXPECT_EQ(audit["Server"]["SignatureAlgorithm"], "sha1RSA");
  EXPECT_EQ(audit["Server"]["KeyBits"], 1024);
  EXPECT_EQ(audit["Server"]["NotAfter"], weak.not_after);
  EXPECT_EQ(audit["Server"]["Findings"][0], (nlohmann::json{{"Kind", "Sha1Signature"},
                                                            {"Detail", "SHA-1 signature (sha1RSA) on certificate " +
                                                                           weak.thumbprint}}));
  ASSERT_EQ(audit["Targets"].size(), 1u);
  EXPECT_EQ(audit["Targets"][0]["Findings"][0]["Kind"], "Unreachable");
  EXPECT_EQ(audit["FindingCount"], 4);
}

TEST_F(AuditE2e, BadOptionsAreOneLineUsageErrorsAndHelpSaysNoServiceIsNeeded) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"audit-certificates", "--expiring-within-days", "-1"},
        std::vector<std::string>{"audit-certificates", "--parallel", "0"},
        std::vector<std::string>{"audit-certificates", "--timeout", "x"},
        std::vector<std::string>{"audit-certificates", "--format", "xml"}}) {
    const ProcessResult r = S(args);
    EXPECT_EQ(r.exit_code, 1) << args.back();
    ASSERT_FALSE(r.ErrLines().empty()) << args.back();
    EXPECT_THAT(r.ErrLines()[0], ::testing::StartsWith("Error: ")) << args.back();
    EXPECT_EQ(r.out, "") << args.back();
  }
  const ProcessResult missing = S({"audit-certificates", "--instance", "Nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.ErrLines().size(), 1u) << missing.err;
  const ProcessResult help = S({"audit-certificates", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("need not be running"));
  EXPECT_THAT(help.out, HasSubstr("--expiring-within-days"));
}

}  // namespace
}  // namespace octo::testing
