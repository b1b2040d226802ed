// Library micro-benchmarks (Google Benchmark): thumbprints, a mutual-TLS
// handshake, PFX parse and write in both encodings, config load and save,
// and a Server's config with 10,000 targets (load, save, update one target).
//
// Every benchmark of ours has a baseline named "Baseline_..." that does the
// same job with the plain OpenSSL / nlohmann / POSIX calls and nothing else;
// bench/run reports each of ours as a ratio to its baseline, measured in the
// same run. The inputs are made once, at start-up: one RSA-2048 identity, its
// PFX in both encodings, and configs the size of real ones (a Tentacle's,
// a Server's with 200 deployment targets, and a Server's with 10,000 in the
// form add-target writes them).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/crypto/certificate.h"
#include "common/config/config_file.h"
#include "common/config/instance.h"
#include "common/config/target_store.h"
#include "common/base/encoding.h"
#include "common/base/file_util.h"
#include "common/crypto/key_store.h"
#include "common/crypto/pkcs12.h"
#include "common/base/secret.h"
#include "common/crypto/tls.h"

namespace octo {
namespace {

const Secret kPassword("BenchPassword1");

// Everything the benchmarks read, made once.
struct Inputs {
  Identity identity;
  Identity server_identity;  // the other side of a handshake
  std::string der;
  std::string pfx_modern;
  std::string pfx_compatible;
  std::string dir;
  std::string tentacle_config;
  std::string server_config;
  std::string fleet_config;  // 10,000 targets

  Inputs() {
    auto id = GenerateIdentity(kTentacleCommonName);
    if (!id.ok()) Die("GenerateIdentity", id.status());
    identity = std::move(id).value();
    auto sid = GenerateIdentity(kServerCommonName);
    if (!sid.ok()) Die("GenerateIdentity", sid.status());
    server_identity = std::move(sid).value();
    der = CertificateToDer(identity.certificate.get());
    pfx_modern = Pfx(PfxEncoding::kModern);
    pfx_compatible = Pfx(PfxEncoding::kCompatible);
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp != nullptr ? tmp : "/tmp") + "/octo-micro-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) Die("mkdtemp", Internal("cannot create a directory"));
    dir = templ;
    tentacle_config = MakeTentacleConfig();
    server_config = MakeServerConfig();
    fleet_config = MakeFleetConfig(kFleetTargets);
  }
  ~Inputs() {
    for (const auto& f : {tentacle_config, server_config, fleet_config, fleet_config + ".lock",
                          dir + "/baseline.json", dir + "/save.json", dir + "/fleet-baseline.json",
                          dir + "/fleet-save.json", dir + "/fleet-update.json"}) {
      ::unlink(f.c_str());
    }
    ::rmdir(dir.c_str());
  }

  static void Die(const char* what, const Status& st) {
    std::fprintf(stderr, "micro_bench: %s: %s\n", what, st.message().c_str());
    std::exit(1);
  }

  std::string Pfx(PfxEncoding e) const {
    auto p = WritePfx(identity, kPassword, e);
    if (!p.ok()) Die("WritePfx", p.status());
    return p->value();
  }

  // A Tentacle's config: sealed certificate, public certificate, trust.
  std::string MakeTentacleConfig() const {
    std::string path = dir + "/tentacle.config";
    ConfigFile c = ConfigFile::New(path);
    Secret key(std::string(kKeyBytes, '\x42'));
    auto plain = WritePfx(identity, Secret(), PfxEncoding::kUnencryptedForSealing);
    auto sealed = plain.ok() ? Seal(key, plain->value(), "Tentacle.Certificate") : Result<std::string>(plain.status());
    if (!sealed.ok()) Die("Seal", sealed.status());
    c.Set("Octopus.Home", dir);
    c.Set("Tentacle.Certificate", *sealed);
    c.Set("Tentacle.CertificateThumbprint", Thumbprint(identity.certificate.get()));
    c.Set("Tentacle.PublicCertificate", Base64Encode(der));
    c.Set("Tentacle.Communication.TrustedOctopusServers",
          Json::array({"0123456789ABCDEF0123456789ABCDEF01234567", "89ABCDEF0123456789ABCDEF0123456789ABCDEF"}));
    c.Set("Tentacle.Services.PortNumber", 10933);
    c.Set("Tentacle.Services.ListenIP", "127.0.0.1");
    if (Status st = c.Save(); !st.ok()) Die("Save", st);
    return path;
  }

  // A Server's config with 200 deployment targets.
  std::string MakeServerConfig() const {
    std::string path = dir + "/server.config";
    ConfigFile c = ConfigFile::New(path);
    c.Set("Octopus.Home", dir);
    c.Set("Octopus.Server.Certificate", std::string(4000, 'A'));
    c.Set("Octopus.Server.CertificateThumbprint", Thumbprint(identity.certificate.get()));
    Json targets = Json::array();
    for (int i = 0; i < 200; ++i) {
      targets.push_back({{"Name", "T" + std::to_string(i)},
                         {"Address", "https://127.0.0.1:" + std::to_string(20000 + i)},
                         {"Thumbprint", Thumbprint(identity.certificate.get())}});
    }
    c.Set("Octopus.Server.DeploymentTargets", targets);
    if (Status st = c.Save(); !st.ok()) Die("Save", st);
    return path;
  }

  static constexpr int kFleetTargets = 10000;

  // A Server's config with `n` deployment targets, each in the form
  // add-target writes ("Thumbprint" and "Thumbprints"), and its certificate.
  std::string MakeFleetConfig(int n) const {
    std::string path = dir + "/fleet.config";
    ConfigFile c = ConfigFile::New(path);
    c.Set("Octopus.Home", dir);
    c.Set("Octopus.Storage.MasterKeyFile", dir + "/fleet.masterkey");
    c.Set("Octopus.Server.Certificate", std::string(4000, 'A'));
    c.Set("Octopus.Server.CertificateThumbprint", Thumbprint(identity.certificate.get()));
    c.Set("Octopus.Server.PublicCertificate", Base64Encode(der));
    Json targets = Json::array();
    for (int i = 0; i < n; ++i) {
      targets.push_back({{"Name", FleetTargetName(i)},
                         {"Address", "https://10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
                                         ":10933"},
                         {"Thumbprint", FleetThumbprint(i)},
                         {"Thumbprints", Json::array({FleetThumbprint(i)})}});
    }
    c.Set("Octopus.Server.DeploymentTargets", targets);
    if (Status st = c.Save(); !st.ok()) Die("Save", st);
    return path;
  }
  static std::string FleetTargetName(int i) { return "web-" + std::to_string(i); }
  // 40 upper-case hex digits, different for each target (and each `round`).
  static std::string FleetThumbprint(int i, int round = 0) {
    char tp[41];
    std::snprintf(tp, sizeof tp, "%08X%032X", i, round);
    return tp;
  }
};

Inputs& In() {
  static Inputs inputs;
  return inputs;
}

const std::string& PfxFor(int64_t encoding) {
  return encoding == 0 ? In().pfx_modern : In().pfx_compatible;
}

// --- thumbprints ------------------------------------------------------------

void Thumbprint_X509(benchmark::State& state) {
  X509* cert = In().identity.certificate.get();
  for (auto _ : state) benchmark::DoNotOptimize(Thumbprint(cert));
}

void Baseline_X509_digest(benchmark::State& state) {
  X509* cert = In().identity.certificate.get();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  for (auto _ : state) {
    X509_digest(cert, EVP_sha1(), md, &len);
    benchmark::DoNotOptimize(md);
  }
}

// What show-thumbprint does with the stored certificate: decode the DER,
// then hash it. The baseline hashes the same bytes without decoding them.
void Thumbprint_FromDer(benchmark::State& state) {
  const std::string& der = In().der;
  for (auto _ : state) {
    auto cert = CertificateFromDer(der);
    benchmark::DoNotOptimize(Thumbprint(cert->get()));
  }
}

void Baseline_SHA1_of_DER(benchmark::State& state) {
  const std::string& der = In().der;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  for (auto _ : state) {
    EVP_Digest(der.data(), der.size(), md, &len, EVP_sha1(), nullptr);
    benchmark::DoNotOptimize(md);
  }
}

// --- TLS --------------------------------------------------------------------

// One mutual-TLS handshake with the contexts the services use (the Tentacle's
// kServer context, the Octopus Server's kClient one), both sides in this
// thread over a BIO pair: no sockets, no threads, only OpenSSL's work.
void TlsHandshake_Mutual(benchmark::State& state) {
  auto server = MakeTlsContext(TlsRole::kServer, In().identity);
  auto client = MakeTlsContext(TlsRole::kClient, In().server_identity);
  if (!server.ok() || !client.ok()) {
    state.SkipWithError("MakeTlsContext failed");
    return;
  }
  for (auto _ : state) {
    SSL* s = SSL_new(server->get());
    SSL* c = SSL_new(client->get());
    // Our contexts refuse every peer unless a check is attached (TLS fails
    // closed); this benchmark measures the handshake itself, so it accepts.
    SSL_set_verify(s, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    SSL_set_verify(c, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    BIO* bs = nullptr;
    BIO* bc = nullptr;
    BIO_new_bio_pair(&bs, 0, &bc, 0);
    SSL_set_bio(s, bs, bs);
    SSL_set_bio(c, bc, bc);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    int rc_c = 0, rc_s = 0;
    for (int i = 0; i < 20 && (rc_c != 1 || rc_s != 1); ++i) {
      if (rc_c != 1) rc_c = SSL_do_handshake(c);
      if (rc_s != 1) rc_s = SSL_do_handshake(s);
    }
    if (rc_c != 1 || rc_s != 1 || SSL_get0_peer_certificate(s) == nullptr) state.SkipWithError("handshake failed");
    SSL_free(s);
    SSL_free(c);
  }
}

// The two RSA-2048 signatures a mutual handshake needs (RSA-PSS, SHA-256,
// as TLS 1.3's CertificateVerify), one with each side's key.
void Baseline_TwoRsaSignatures(benchmark::State& state) {
  const std::string message(130, 'x');
  unsigned char sig[512];
  for (auto _ : state) {
    for (EVP_PKEY* key : {In().identity.key.get(), In().server_identity.key.get()}) {
      EVP_MD_CTX* md = EVP_MD_CTX_new();
      EVP_PKEY_CTX* pctx = nullptr;
      size_t len = sizeof sig;
      if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), nullptr, key) != 1 ||
          EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
          EVP_DigestSign(md, sig, &len, reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
        state.SkipWithError("EVP_DigestSign failed");
      }
      EVP_MD_CTX_free(md);
    }
  }
}

// --- PFX --------------------------------------------------------------------

void ReadPfx_(benchmark::State& state) {
  const std::string& pfx = PfxFor(state.range(0));
  for (auto _ : state) {
    auto r = ReadPfx(pfx, kPassword);
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    benchmark::DoNotOptimize(r);
  }
}

void Baseline_PKCS12_parse(benchmark::State& state) {
  const std::string& pfx = PfxFor(state.range(0));
  for (auto _ : state) {
    const auto* p = reinterpret_cast<const unsigned char*>(pfx.data());
    PKCS12* p12 = d2i_PKCS12(nullptr, &p, static_cast<long>(pfx.size()));
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    STACK_OF(X509)* ca = nullptr;
    if (p12 == nullptr || PKCS12_parse(p12, kPassword.value().c_str(), &key, &cert, &ca) != 1) {
      state.SkipWithError("PKCS12_parse failed");
    }
    EVP_PKEY_free(key);
    X509_free(cert);
    sk_X509_pop_free(ca, X509_free);
    PKCS12_free(p12);
  }
}

void WritePfx_(benchmark::State& state) {
  const auto encoding = state.range(0) == 0 ? PfxEncoding::kModern : PfxEncoding::kCompatible;
  for (auto _ : state) {
    auto r = WritePfx(In().identity, kPassword, encoding);
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    benchmark::DoNotOptimize(r);
  }
}

// PKCS12_create with the same algorithms and OpenSSL's default iteration
// count and MAC (SHA-256 for modern, SHA-1 for compatible), then DER.
void Baseline_PKCS12_create(benchmark::State& state) {
  const bool modern = state.range(0) == 0;
  const int nid = modern ? NID_aes_256_cbc : NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
  for (auto _ : state) {
    PKCS12* p12 = PKCS12_create(kPassword.value().c_str(), nullptr, In().identity.key.get(),
                                In().identity.certificate.get(), nullptr, nid, nid, 0, 0, 0);
    if (p12 != nullptr && !modern) {
      PKCS12_set_mac(p12, kPassword.value().c_str(), -1, nullptr, 0, 0, EVP_sha1());
    }
    unsigned char* der = nullptr;
    int len = p12 != nullptr ? i2d_PKCS12(p12, &der) : 0;
    if (len <= 0) state.SkipWithError("PKCS12_create failed");
    OPENSSL_free(der);
    PKCS12_free(p12);
  }
}

// --- config -----------------------------------------------------------------

const std::string& ConfigFor(int64_t which) {
  return which == 0 ? In().tentacle_config : In().server_config;
}

void ConfigLoad(benchmark::State& state) {
  const std::string& path = ConfigFor(state.range(0));
  for (auto _ : state) {
    auto c = ConfigFile::Load(path);
    if (!c.ok()) state.SkipWithError(c.status().message().c_str());
    benchmark::DoNotOptimize(c);
  }
}

// Read the file and parse it with nlohmann::json (std::map objects).
void Baseline_ReadAndParse(benchmark::State& state) {
  const std::string& path = ConfigFor(state.range(0));
  for (auto _ : state) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    benchmark::DoNotOptimize(nlohmann::json::parse(ss.str()));
  }
}

// Saves atomically (temporary file, fsync, rename, fsync of the directory).
void ConfigSave(benchmark::State& state) {
  auto c = ConfigFile::Load(ConfigFor(state.range(0)));
  std::string path = In().dir + "/save.json";
  Json doc = c->doc();
  ConfigFile out = ConfigFile::New(path);
  out.doc() = doc;
  for (auto _ : state) {
    if (Status st = out.Save(); !st.ok()) state.SkipWithError(st.message().c_str());
  }
}

// Serialise and write in place with one fsync: durable, but not atomic.
void Baseline_WriteFsync(benchmark::State& state) {
  auto c = ConfigFile::Load(ConfigFor(state.range(0)));
  std::string path = In().dir + "/baseline.json";
  for (auto _ : state) {
    std::string text = c->doc().dump(2) + "\n";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) || ::fsync(fd) != 0) {
      state.SkipWithError("write failed");
    }
    if (fd >= 0) ::close(fd);
  }
}

// --- config at 10,000 targets ------------------------------------------------
//
// Ours: what the Server's commands and service do with the config. Baseline:
// the same job on the same file with nlohmann::json and POSIX calls alone.

// The whole file, read with POSIX calls.
std::string ReadPosix(const std::string& path) {
  std::string text;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  struct stat st {};
  if (::fstat(fd, &st) == 0) text.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(done);
  return text;
}

// Write a temporary file, fsync, rename over `path`, fsync the directory.
bool WriteAtomicPosix(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0;
  const std::string dir = path.substr(0, path.rfind('/'));
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ok = ok && dfd >= 0 && ::fsync(dfd) == 0;
  if (dfd >= 0) ::close(dfd);
  return ok;
}

// Load: the targets ready to use (TargetStore::Open, as the Server service
// and list-targets read them: the config, then every target's pins).
void FleetConfig_Load(benchmark::State& state) {
  for (auto _ : state) {
    auto store = TargetStore::Open(In().fleet_config);
    if (!store.ok()) state.SkipWithError(store.status().message().c_str());
    benchmark::DoNotOptimize(store);
  }
}

void Baseline_FleetParse(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(nlohmann::json::parse(ReadPosix(In().fleet_config)));
}

// Save: ConfigFile::Save (temporary file, fsync, rename, fsync of the directory).
void FleetConfig_Save(benchmark::State& state) {
  auto c = ConfigFile::Load(In().fleet_config);
  if (!c.ok()) {
    state.SkipWithError(c.status().message().c_str());
    return;
  }
  ConfigFile out = ConfigFile::New(In().dir + "/fleet-save.json");
  out.doc() = c->doc();
  for (auto _ : state) {
    if (Status st = out.Save(); !st.ok()) state.SkipWithError(st.message().c_str());
  }
}

void Baseline_FleetWriteAtomic(benchmark::State& state) {
  const nlohmann::json doc = nlohmann::json::parse(ReadPosix(In().fleet_config));
  const std::string path = In().dir + "/fleet-baseline.json";
  for (auto _ : state) {
    if (!WriteAtomicPosix(path, doc.dump(2) + "\n")) state.SkipWithError("write failed");
  }
}

// Update one target: what update-target --thumbprint does (the instance
// opened for update, its TargetStore, Update, which saves), on the config
// itself; each round pins a new thumbprint on the middle target.
void FleetConfig_UpdateOneTarget(benchmark::State& state) {
  const std::string name = Inputs::FleetTargetName(Inputs::kFleetTargets / 2);
  int round = 0;
  for (auto _ : state) {
    auto inst = Instance::Open(Product::kServer, "Fleet", In().fleet_config, Instance::Access::kUpdate);
    if (!inst.ok()) {
      state.SkipWithError(inst.status().message().c_str());
      break;
    }
    auto store = TargetStore::Open(inst->config_path(), inst->file_lock());
    if (!store.ok()) {
      state.SkipWithError(store.status().message().c_str());
      break;
    }
    PinChanges changes;
    changes.replace = std::vector<std::string>{Inputs::FleetThumbprint(Inputs::kFleetTargets / 2, ++round)};
    auto report = (*store)->Update(name, changes, std::nullopt);
    if (!report.ok()) state.SkipWithError(report.status().message().c_str());
  }
}

// Read and parse a copy of the same file, find the target by name, replace
// its pins, write the file atomically.
void Baseline_FleetUpdateOneTarget(benchmark::State& state) {
  const std::string path = In().dir + "/fleet-update.json";
  if (!WriteAtomicPosix(path, ReadPosix(In().fleet_config))) {
    state.SkipWithError("copy failed");
    return;
  }
  const std::string name = Inputs::FleetTargetName(Inputs::kFleetTargets / 2);
  int round = 0;
  for (auto _ : state) {
    nlohmann::json doc = nlohmann::json::parse(ReadPosix(path));
    for (auto& t : doc["Octopus.Server.DeploymentTargets"]) {
      if (t["Name"] == name) {
        const std::string tp = Inputs::FleetThumbprint(Inputs::kFleetTargets / 2, ++round);
        t["Thumbprint"] = tp;
        t["Thumbprints"] = nlohmann::json::array({tp});
        break;
      }
    }
    if (!WriteAtomicPosix(path, doc.dump(2) + "\n")) state.SkipWithError("write failed");
  }
}

double Min(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
double Max(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

benchmark::internal::Benchmark* WithStats(benchmark::internal::Benchmark* b) {
  return b->ComputeStatistics("min", Min)->ComputeStatistics("max", Max)->Unit(benchmark::kMicrosecond);
}

void Register() {
  WithStats(benchmark::RegisterBenchmark("Thumbprint/X509", Thumbprint_X509));
  WithStats(benchmark::RegisterBenchmark("Baseline_X509_digest", Baseline_X509_digest));
  WithStats(benchmark::RegisterBenchmark("Thumbprint/FromDer", Thumbprint_FromDer));
  WithStats(benchmark::RegisterBenchmark("Baseline_SHA1_of_DER", Baseline_SHA1_of_DER));
  WithStats(benchmark::RegisterBenchmark("TlsHandshake/Mutual", TlsHandshake_Mutual));
  WithStats(benchmark::RegisterBenchmark("Baseline_TwoRsaSignatures", Baseline_TwoRsaSignatures));
  WithStats(benchmark::RegisterBenchmark("ReadPfx", ReadPfx_)->ArgName("compatible")->Arg(0)->Arg(1));
  WithStats(benchmark::RegisterBenchmark("Baseline_PKCS12_parse", Baseline_PKCS12_parse)
                ->ArgName("compatible")->Arg(0)->Arg(1));
  WithStats(benchmark::RegisterBenchmark("WritePfx", WritePfx_)->ArgName("compatible")->Arg(0)->Arg(1));
  WithStats(benchmark::RegisterBenchmark("Baseline_PKCS12_create", Baseline_PKCS12_create)
                ->ArgName("compatible")->Arg(0)->Arg(1));
  WithStats(benchmark::RegisterBenchmark("ConfigLoad", ConfigLoad)->ArgName("server200")->Arg(0)->Arg(1));
  WithStats(benchmark::RegisterBenchmark("Baseline_ReadAndParse", Baseline_ReadAndParse)
                ->ArgName("server200")->Arg(0)->Arg(1));
  WithStats(benchmark::RegisterBenchmark("ConfigSave", ConfigSave)->ArgName("server200")->Arg(0)->Arg(1));
  WithStats(benchmark::RegisterBenchmark("Baseline_WriteFsync", Baseline_WriteFsync)
                ->ArgName("server200")->Arg(0)->Arg(1));
  WithStats(benchmark::RegisterBenchmark("FleetConfig/Load", FleetConfig_Load));
  WithStats(benchmark::RegisterBenchmark("Baseline_FleetParse", Baseline_FleetParse));
  WithStats(benchmark::RegisterBenchmark("FleetConfig/Save", FleetConfig_Save));
  WithStats(benchmark::RegisterBenchmark("Baseline_FleetWriteAtomic", Baseline_FleetWriteAtomic));
  WithStats(benchmark::RegisterBenchmark("FleetConfig/UpdateOneTarget", FleetConfig_UpdateOneTarget));
  WithStats(benchmark::RegisterBenchmark("Baseline_FleetUpdateOneTarget", Baseline_FleetUpdateOneTarget));
}

}  // namespace
}  // namespace octo

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  octo::In();  // make the inputs before anything is timed
  octo::Register();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
