// Interoperability: the PFX files our executables write, read by tools we did
// not write (OpenSSL, GnuTLS certtool, Python's cryptography), and theirs
// imported by our executables. Every thumbprint is checked against the one
// the other tool computes.
//
// The tools are required: a missing one fails the tests (CI installs them).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support/cli_fixture.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace octo::testing {
namespace {

constexpr char kPassword[] = "Interop-Pa55word";
// Debian's Python, which has the python3-cryptography package (the python3
// on PATH may be another build without it).
constexpr char kPython[] = "/usr/bin/python3";

// ---- Text helpers ----------------------------------------------------------

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The lines of `text` that start with `prefix` once leading blanks are
// removed (trimmed).
std::vector<std::string> LinesStartingWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& line : SplitLines(text)) {
    if (Trim(line).rfind(prefix, 0) == 0) out.push_back(Trim(line));
  }
  return out;
}

// The rest of the first line starting with `prefix` after a line `heading`
// (both trimmed), e.g. ("Fingerprint:", "sha1:") in certtool's output.
std::string ValueAfterHeading(const std::string& text, const std::string& heading,
                              const std::string& prefix) {
  bool in_section = false;
  for (const auto& raw : SplitLines(text)) {
    std::string line = Trim(raw);
    if (line == heading) {
      in_section = true;
    } else if (in_section && line.rfind(prefix, 0) == 0) {
      return line.substr(prefix.size());
    }
  }
  ADD_FAILURE() << "no \"" << prefix << "\" after \"" << heading << "\" in:\n" << text;
  return "";
}

// The first "-----BEGIN label-----" ... "-----END label-----" block of
// `text`, with a final newline; "" if there is none.
std::string PemBlock(const std::string& text, const std::string& label) {
  const std::string begin = "-----BEGIN " + label + "-----";
  const std::string end = "-----END " + label + "-----";
  size_t b = text.find(begin);
  if (b == std::string::npos) return "";
  size_t e = text.find(end, b);
  if (e == std::string::npos) return "";
  return text.substr(b, e + end.size() - b) + "\n";
}

int CountOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// "AB:cd:01 ..." -> "ABCD01...": hex digits only, upper-case.
std::string HexUpper(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

// A SHA-1 thumbprint: 40 upper-case hex digits.
::testing::AssertionResult IsThumbprint(const std::string& s) {
  if (s.size() == 40 && HexUpper(s) == s) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << s << "\" is not a SHA-1 thumbprint";
}

// ---- Running third-party tools ---------------------------------------------

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// Runs a tool that must exit 0; a test failure with its output otherwise.
ProcessResult MustRun(const std::vector<std::string>& argv, const ProcessOptions& options = {}) {
  ProcessResult r = RunProcess(argv, options);
  EXPECT_TRUE(!r.timed_out && r.exit_code == 0)
      << "`" << CommandLine(argv) << "` "
      << (r.timed_out ? "timed out" : "exited with " + std::to_string(r.exit_code)) << ":\n"
      << r.out << r.err;
  return r;
}

// Why the tools these tests need cannot be run, or "" if they all can.
std::string MissingTools() {
  static const std::string missing = [] {
    std::string why;
    const std::pair<const char*, const char*> programs[] = {
        {"openssl", "openssl"}, {"certtool", "gnutls-bin"}, {"base64", "coreutils"}};
    for (const auto& [program, package] : programs) {
      if (!HaveProgram(program)) {
        why += std::string(program) + " is not on PATH (Debian package " + package + ")\n";
      }
    }
    if (::access(kPython, X_OK) != 0) {
      why += std::string(kPython) + " does not exist (Debian package python3)\n";
    } else {
      ProcessResult r = RunProcess({kPython, "-c", "import cryptography"});
      if (r.exit_code != 0) {
        why += std::string(kPython) +
               " cannot import cryptography (Debian package python3-cryptography): " + r.err;
      }
    }
    return why;
  }();
  return missing;
}

// ---- Certificates and fingerprints with OpenSSL ----------------------------

// The SHA-1 fingerprint `openssl x509 -fingerprint -sha1` prints
// ("sha1 Fingerprint=AB:CD:..."), as upper-case hex without colons.
std::string OpenSslFingerprint(const ProcessResult& r) {
  size_t eq = r.out.find('=');
  if (eq == std::string::npos) {
    ADD_FAILURE() << "no fingerprint in openssl's output:\n" << r.out << r.err;
    return "";
  }
  std::string tp = HexUpper(r.out.substr(eq + 1));
  EXPECT_TRUE(IsThumbprint(tp));
  return tp;
}

// SHA-1 fingerprint of a PEM certificate file, as OpenSSL computes it.
std::string CertFileFingerprint(const std::string& pem_file) {
  return OpenSslFingerprint(
      MustRun({"openssl", "x509", "-in", pem_file, "-noout", "-fingerprint", "-sha1"}));
}

// SHA-1 fingerprint of the (first) PEM certificate in `pem`.
std::string PemFingerprint(const std::string& pem) {
  ProcessOptions in;
  in.stdin_data = pem;
  return OpenSslFingerprint(MustRun({"openssl", "x509", "-noout", "-fingerprint", "-sha1"}, in));
}

// The public key (PEM) of a private key / of a certificate, both in PEM.
std::string PublicKeyOfPrivateKey(const std::string& key_pem) {
  ProcessOptions in;
  in.stdin_data = key_pem;
  return PemBlock(MustRun({"openssl", "pkey", "-pubout"}, in).out, "PUBLIC KEY");
}
std::string PublicKeyOfCertificate(const std::string& cert_pem) {
  ProcessOptions in;
  in.stdin_data = cert_pem;
  return PemBlock(MustRun({"openssl", "x509", "-noout", "-pubkey"}, in).out, "PUBLIC KEY");
}

// Makes an RSA key (unencrypted PEM) and a self-signed certificate for it.
void MakeSelfSigned(const std::string& key_file, const std::string& cert_file,
                    const std::string& cn) {
  MustRun({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
           "-days", "30", "-keyout", key_file, "-out", cert_file});
}

// ---- Our executables -------------------------------------------------------

enum class Executable { kServer, kTentacle };

std::string NameOf(Executable e) { return e == Executable::kServer ? "Server" : "Tentacle"; }

// The subject of the certificate the executable generates.
std::string OwnSubject(Executable e) {
  return e == Executable::kServer ? "CN=Octopus Portal" : "CN=Octopus Tentacle";
}

void PrintTo(Executable e, std::ostream* os) { *os << NameOf(e); }

Executable Other(Executable e) {
  return e == Executable::kServer ? Executable::kTentacle : Executable::kServer;
}

// What `--pfx-encoding` writes, as the other tools describe it.
struct Encoding {
  const char* name;  // the --pfx-encoding value
  // `openssl pkcs12 -info`: the start of the key and certificate bags'
  // algorithm, and of the MAC line.
  const char* openssl_pbe;
  const char* openssl_mac;
  // `certtool --p12-info`: the bags' "Cipher:" and the "MAC:" lines.
  const char* certtool_cipher;
  const char* certtool_mac;
};

void PrintTo(const Encoding& e, std::ostream* os) { *os << e.name; }

constexpr Encoding kModern{"modern", "PBES2, PBKDF2, AES-256-CBC", "MAC: sha256,",
                           "Cipher: AES-256-CBC", "MAC: SHA256 ("};
constexpr Encoding kCompatible{"compatible", "pbeWithSHA1And3-KeyTripleDES-CBC", "MAC: sha1,",
                               "Cipher: 3DES-CBC", "MAC: SHA1 ("};

// ---- The fixture -----------------------------------------------------------

class InteropTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ASSERT_EQ(MissingTools(), "") << "the interoperability tests need these tools";
  }

  ProcessResult MustExe(Executable e, std::vector<std::string> args) {
    return e == Executable::kServer ? MustServer(std::move(args)) : MustTentacle(std::move(args));
  }

  std::string ThumbprintOf(Executable e) {
    return e == Executable::kServer ? ServerThumbprint() : TentacleThumbprint();
  }

  // Creates the default instance. The Server's has a certificate of its own;
  // the Tentacle's has none yet.
  void CreateInstance(Executable e) {
    ProcessResult r = MustExe(e, {"create-instance"});
    if (e == Executable::kServer) {
      std::vector<std::string> lines = r.OutLines();
      ASSERT_FALSE(lines.empty());
      EXPECT_EQ(lines.back(),
                "A new certificate has been generated with thumbprint: " + ServerThumbprint());
    }
  }

  // Creates the default instance with a certificate it generated, and
  // returns the thumbprint `show-thumbprint --format json` reports.
  std::string CreateInstanceWithCertificate(Executable e) {
    CreateInstance(e);
    if (e == Executable::kTentacle) {
      ProcessResult r = MustTentacle({"new-certificate"});
      std::string tp = TentacleThumbprint();
      EXPECT_EQ(r.OutLines(), (std::vector<std::string>{
                                  "A new certificate has been generated and installed. Thumbprint:",
                                  tp, "These changes require a restart of the Tentacle."}));
    }
    std::string tp = ThumbprintOf(e);
    EXPECT_TRUE(IsThumbprint(tp));
    return tp;
  }

  // Exports the instance's certificate to `pfx` protected by kPassword.
  void Export(Executable e, const std::string& pfx, const Encoding& encoding) {
    ProcessResult r = MustExe(e, {"export-certificate", "--export-pfx", pfx, "--pfx-password",
                                  kPassword, "--pfx-encoding", encoding.name});
    std::vector<std::string> expected = {"Exporting certificate...",
                                         "The certificate has been written to " + pfx + "."};
    if (e == Executable::kServer) {
      expected.insert(expected.begin(), "Checking the Octopus Master Key has been configured.");
    }
    EXPECT_EQ(r.OutLines(), expected);
    EXPECT_FALSE(ReadTestFile(pfx).empty());
  }

  // Imports `pfx` (with `password`, or with no password option if it is
  // empty) into the instance, which must then have the certificate with
  // thumbprint `tp` and subject `subject`.
  void Import(Executable e, const std::string& pfx, const std::string& password,
              const std::string& tp, const std::string& subject) {
    ASSERT_TRUE(IsThumbprint(tp));
    std::vector<std::string> args = {"import-certificate", "--from-file", pfx};
    if (!password.empty()) args.insert(args.end(), {"--pfx-password", password});
    if (e == Executable::kTentacle) {
      ProcessResult r = MustTentacle(args);
      EXPECT_EQ(r.OutLines(), (std::vector<std::string>{
                                  "Certificate with thumbprint " + tp + " imported successfully.",
                                  "These changes require a restart of the Tentacle."}));
      EXPECT_EQ(r.err, "");
      EXPECT_EQ(MustTentacle({"show-thumbprint"}).out, tp + "\n");
    } else {
      const std::string old_tp = ServerThumbprint();
      EXPECT_NE(old_tp, tp);
      ProcessResult r = MustServer(args);
      EXPECT_EQ(
          r.OutLines(),
          (std::vector<std::string>{
              "Importing the certificate stored in PFX file in " + pfx +
                  (password.empty() ? " without a password..." : " using the provided password..."),
              "Checking the Octopus Master Key has been configured.",
              "The certificate " + subject + " was updated; old thumbprint = " + old_tp +
                  ", new thumbprint = " + tp,
              "Certificate imported successfully.",
              "These changes require a restart of the Octopus Server."}));
      EXPECT_EQ(r.err, "");
      std::vector<std::string> shown = MustServer({"show-thumbprint"}).OutLines();
      ASSERT_FALSE(shown.empty());
      EXPECT_EQ(shown[0], "The thumbprint of this Octopus Server is: " + tp);
    }
    ProcessResult json = MustExe(e, {"show-thumbprint", "--format", "json"});
    EXPECT_EQ(JsonField(json.out, "Thumbprint"), tp);
    EXPECT_EQ(JsonField(json.out, "Subject"), subject);
  }

  // A configuration file that loads OpenSSL's default provider only (not the
  // legacy one, whatever the system's openssl.cnf says).
  ProcessOptions DefaultProviderOnly() {
    std::string conf = Path("default-provider-only.cnf");
    WriteTestFile(conf, "");
    ProcessOptions options;
    options.env["OPENSSL_CONF"] = conf;
    return options;
  }
};

// ---- 1. PFX files we export, read by other tools ---------------------------

class InteropExportTest : public InteropTest,
                          public ::testing::WithParamInterface<std::tuple<Executable, Encoding>> {};

TEST_P(InteropExportTest, OpenSslReadsItWithoutTheLegacyProvider) {
  const auto& [exe, encoding] = GetParam();
  const std::string tp = CreateInstanceWithCertificate(exe);
  const std::string pfx = Path("ours.pfx");
  ASSERT_NO_FATAL_FAILURE(Export(exe, pfx, encoding));
  const ProcessOptions no_legacy = DefaultProviderOnly();
  const std::vector<std::string> read = {"openssl", "pkcs12",  "-in",
                                         pfx,       "-passin", std::string("pass:") + kPassword};

  std::vector<std::string> argv = read;
  argv.push_back("-nokeys");
  const std::string certs = MustRun(argv, no_legacy).out;
  EXPECT_EQ(CountOf(certs, "-----BEGIN CERTIFICATE-----"), 1) << certs;
  EXPECT_EQ(PemFingerprint(certs), tp);

  argv = read;
  argv.insert(argv.end(), {"-nocerts", "-nodes"});
  const std::string key = PemBlock(MustRun(argv, no_legacy).out, "PRIVATE KEY");
  ASSERT_NE(key, "") << "openssl found no private key";
  const std::string public_key = PublicKeyOfPrivateKey(key);
  EXPECT_NE(public_key, "");
  EXPECT_EQ(public_key, PublicKeyOfCertificate(PemBlock(certs, "CERTIFICATE")))
      << "the private key does not match the certificate";

  argv = read;
  argv.insert(argv.end(), {"-info", "-noout"});
  ProcessResult info = MustRun(argv, no_legacy);
  const std::string text = info.out + info.err;  // -info writes to standard error
  const std::string pbe = encoding.openssl_pbe;
  EXPECT_EQ(LinesStartingWith(text, "Shrouded Keybag: " + pbe + ",").size(), 1u) << text;
  EXPECT_EQ(LinesStartingWith(text, "PKCS7 Encrypted data: " + pbe + ",").size(), 1u) << text;
  EXPECT_EQ(LinesStartingWith(text, encoding.openssl_mac).size(), 1u) << text;
  if (std::string(encoding.name) == "modern") {
    EXPECT_EQ(CountOf(text, ", PRF hmacWithSHA256"), 2) << text;
  }

  argv = read;
  argv.back() = "pass:not-the-password";
  argv.push_back("-noout");
  EXPECT_NE(RunProcess(argv, no_legacy).exit_code, 0) << "openssl read it with a wrong password";
}

TEST_P(InteropExportTest, CertToolReadsIt) {
  const auto& [exe, encoding] = GetParam();
  const std::string tp = CreateInstanceWithCertificate(exe);
  const std::string pfx = Path("ours.pfx");
  ASSERT_NO_FATAL_FAILURE(Export(exe, pfx, encoding));

  const std::string info =
      MustRun({"certtool", "--p12-info", "--inder", "--infile", pfx, "--password", kPassword}).out;
  EXPECT_EQ(LinesStartingWith(info, encoding.certtool_mac).size(), 1u) << info;
  // One for the certificate bag, one for the PKCS #8 key.
  EXPECT_EQ(LinesStartingWith(info, "Cipher:"),
            std::vector<std::string>(2, encoding.certtool_cipher))
      << info;
  EXPECT_EQ(LinesStartingWith(info, "Type: PKCS #8 Encrypted key").size(), 1u) << info;

  // The certificate certtool decrypted: its own SHA-1 fingerprint and subject.
  const std::string cert_file = Path("certtool-cert.pem");
  WriteTestFile(cert_file, PemBlock(info, "CERTIFICATE"));
  const std::string cert_info =
      MustRun({"certtool", "--certificate-info", "--infile", cert_file}).out;
  EXPECT_EQ(HexUpper(ValueAfterHeading(cert_info, "Fingerprint:", "sha1:")), tp);
  EXPECT_EQ(LinesStartingWith(cert_info, "Subject: "),
            std::vector<std::string>{"Subject: " + OwnSubject(exe)});

  // The key decrypts with the password and belongs to the certificate.
  const std::string key_file = Path("certtool-key.pem");
  WriteTestFile(key_file, PemBlock(info, "ENCRYPTED PRIVATE KEY"));
  const std::string key_info =
      MustRun({"certtool", "--key-info", "--infile", key_file, "--password", kPassword}).out;
  const std::string key_id = ValueAfterHeading(key_info, "Public Key ID:", "sha1:");
  EXPECT_NE(key_id, "");
  EXPECT_EQ(key_id, ValueAfterHeading(cert_info, "Public Key ID:", "sha1:"));
}

TEST_P(InteropExportTest, PythonCryptographyReadsIt) {
  const auto& [exe, encoding] = GetParam();
  const std::string tp = CreateInstanceWithCertificate(exe);
  const std::string pfx = Path("ours.pfx");
  ASSERT_NO_FATAL_FAILURE(Export(exe, pfx, encoding));
  constexpr char kScript[] = R"(
import sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
with open(sys.argv[1], "rb") as f:
    key, cert, extra = pkcs12.load_key_and_certificates(f.read(), sys.argv[2].encode())
print("fingerprint=" + cert.fingerprint(hashes.SHA1()).hex().upper())
if isinstance(key, rsa.RSAPrivateKey):
    print("key=RSA %d" % key.key_size)
else:
    print("key=%r" % key)
print("matches=%s" % (key.public_key().public_numbers() == cert.public_key().public_numbers()))
print("extra=%d" % len(extra))
)";
  ProcessResult r = MustRun({kPython, "-c", kScript, pfx, kPassword});
  EXPECT_EQ(r.OutLines(), (std::vector<std::string>{"fingerprint=" + tp, "key=RSA 2048",
                                                    "matches=True", "extra=0"}));
}

std::string ExportName(const ::testing::TestParamInfo<std::tuple<Executable, Encoding>>& info) {
  std::string encoding = std::get<1>(info.param).name;
  encoding[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(encoding[0])));
  return NameOf(std::get<0>(info.param)) + encoding;
}

INSTANTIATE_TEST_SUITE_P(BothProductsBothEncodings, InteropExportTest,
                         ::testing::Combine(::testing::Values(Executable::kServer,
                                                              Executable::kTentacle),
                                            ::testing::Values(kModern, kCompatible)),
                         ExportName);

// ---- 2. PFX files other tools make, imported by us -------------------------

// The key and self-signed certificate a foreign PFX is made from.
struct Material {
  std::string key;   // PEM, unencrypted
  std::string cert;  // PEM
};

void OpenSslExport(const Material& m, const std::string& out, const std::string& password,
                   std::vector<std::string> extra) {
  std::vector<std::string> argv = {"openssl",         "pkcs12", "-export", "-in", m.cert,
                                   "-inkey",          m.key,    "-out",    out,   "-passout",
                                   "pass:" + password};
  argv.insert(argv.end(), extra.begin(), extra.end());
  MustRun(argv);
}

void CertToolExport(const Material& m, const std::string& out, std::vector<std::string> password) {
  std::vector<std::string> argv = {
      "certtool", "--to-p12", "--load-privkey", m.key, "--load-certificate", m.cert, "--p12-name",
      "x",        "--outder", "--outfile",      out};
  argv.insert(argv.end(), password.begin(), password.end());
  MustRun(argv);
}

void PythonExport(const Material& m, const std::string& out, const std::string& password) {
  constexpr char kScript[] = R"(
import sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
key_file, cert_file, out_file, password = sys.argv[1:5]
with open(key_file, "rb") as f:
    key = serialization.load_pem_private_key(f.read(), None)
with open(cert_file, "rb") as f:
    cert = x509.load_pem_x509_certificate(f.read())
if password:
    encryption = serialization.BestAvailableEncryption(password.encode())
else:
    encryption = serialization.NoEncryption()
with open(out_file, "wb") as f:
    f.write(pkcs12.serialize_key_and_certificates(b"x", key, cert, None, encryption))
)";
  MustRun({kPython, "-c", kScript, m.key, m.cert, out, password});
}

struct ForeignPfx {
  const char* name;
  // The password it is protected by; "" for none (imported with no
  // password option).
  const char* password;
  // Writes the PFX to `out`.
  void (*make)(const Material& m, const std::string& out);
  // What `openssl pkcs12 -info` says about it (checks the file is the kind
  // the case is named after); nullptr when it is not a binary PFX.
  const char* openssl_info;
};

void PrintTo(const ForeignPfx& f, std::ostream* os) { *os << f.name; }

const ForeignPfx kForeignPfxs[] = {
    {"OpenSslDefault", kPassword,
     [](const Material& m, const std::string& out) { OpenSslExport(m, out, kPassword, {}); },
     "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"},
    {"OpenSslLegacyRc2", kPassword,
     [](const Material& m, const std::string& out) {
       OpenSslExport(m, out, kPassword, {"-legacy"});
     },
     "PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC"},
    {"OpenSsl3Des", kPassword,
     [](const Material& m, const std::string& out) {
       OpenSslExport(m, out, kPassword,
                     {"-keypbe", "DES-EDE3-CBC", "-certpbe", "DES-EDE3-CBC", "-macalg", "sha1"});
     },
     "Shrouded Keybag: PBES2, PBKDF2, DES-EDE3-CBC"},
    {"OpenSslEmptyPassword", "",
     [](const Material& m, const std::string& out) { OpenSslExport(m, out, "", {}); },
     "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"},
    {"OpenSslNoPasswordNoMac", "",
     [](const Material& m, const std::string& out) {
       OpenSslExport(m, out, "", {"-keypbe", "NONE", "-certpbe", "NONE", "-nomac"});
     },
     "Warning: MAC is absent!"},
    {"OpenSslWithChain", kPassword,
     [](const Material& m, const std::string& out) {
       const std::string other_key = out + ".other.key";
       const std::string other_cert = out + ".other.pem";
       MakeSelfSigned(other_key, other_cert, "Interop Other");
       OpenSslExport(m, out, kPassword, {"-certfile", other_cert});
       EXPECT_NE(CertFileFingerprint(other_cert), CertFileFingerprint(m.cert));
       const std::string certs = MustRun({"openssl", "pkcs12", "-in", out, "-passin",
                                          std::string("pass:") + kPassword, "-nokeys"})
                                     .out;
       EXPECT_EQ(CountOf(certs, "-----BEGIN CERTIFICATE-----"), 2) << certs;
     },
     "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"},
    {"OpenSslBase64Text", kPassword,
     [](const Material& m, const std::string& out) {
       const std::string der = out + ".der";
       OpenSslExport(m, der, kPassword, {});
       const std::string text = MustRun({"base64", der}).out;
       EXPECT_EQ(text.rfind("MII", 0), 0u) << text;
       EXPECT_GT(CountOf(text, "\n"), 1) << "expected base64 wrapped over several lines";
       WriteTestFile(out, text);
     },
     nullptr},
    {"CertTool", kPassword,
     [](const Material& m, const std::string& out) {
       CertToolExport(m, out, {"--password", kPassword});
     },
     "Shrouded Keybag: PBES2, PBKDF2, AES-128-CBC"},
    {"CertToolEmptyPassword", "",
     [](const Material& m, const std::string& out) {
       CertToolExport(m, out, {"--empty-password"});
     },
     "Shrouded Keybag: PBES2, PBKDF2, AES-128-CBC"},
    {"CertToolNullPassword", "",
     [](const Material& m, const std::string& out) { CertToolExport(m, out, {"--null-password"}); },
     "Shrouded Keybag: PBES2, PBKDF2, AES-128-CBC"},
    {"PythonBestAvailable", kPassword,
     [](const Material& m, const std::string& out) { PythonExport(m, out, kPassword); },
     "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"},
    {"PythonNoEncryption", "",
     [](const Material& m, const std::string& out) { PythonExport(m, out, ""); }, "Key bag"},
};

class InteropImportTest : public InteropTest,
                          public ::testing::WithParamInterface<std::tuple<ForeignPfx, Executable>> {
};

TEST_P(InteropImportTest, ImportsWithTheThumbprintOpenSslReports) {
  const auto& [foreign, exe] = GetParam();
  const Material m{Path("k.pem"), Path("c.pem")};
  ASSERT_NO_FATAL_FAILURE(MakeSelfSigned(m.key, m.cert, "Interop"));
  const std::string tp = CertFileFingerprint(m.cert);
  const std::string pfx = Path("foreign.pfx");
  ASSERT_NO_FATAL_FAILURE(foreign.make(m, pfx));
  if (foreign.openssl_info != nullptr) {
    ProcessResult info = MustRun({"openssl", "pkcs12", "-info", "-noout", "-legacy", "-in", pfx,
                                  "-passin", std::string("pass:") + foreign.password});
    EXPECT_TRUE(Contains(info.out + info.err, foreign.openssl_info)) << info.out << info.err;
  }

  ASSERT_NO_FATAL_FAILURE(CreateInstance(exe));
  Import(exe, pfx, foreign.password, tp, "CN=Interop");
}

std::string ImportName(const ::testing::TestParamInfo<std::tuple<ForeignPfx, Executable>>& info) {
  return std::string(std::get<0>(info.param).name) + "Into" + NameOf(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(OpenSslCertToolPython, InteropImportTest,
                         ::testing::Combine(::testing::ValuesIn(kForeignPfxs),
                                            ::testing::Values(Executable::kServer,
                                                              Executable::kTentacle)),
                         ImportName);

// `Tentacle import-certificate --from-base64`: base64 on one line, or
// wrapped as `base64` writes it.
class InteropBase64Test : public InteropTest, public ::testing::WithParamInterface<bool> {};

TEST_P(InteropBase64Test, TentacleImportsFromBase64Text) {
  const bool wrapped = GetParam();
  const Material m{Path("k.pem"), Path("c.pem")};
  ASSERT_NO_FATAL_FAILURE(MakeSelfSigned(m.key, m.cert, "Interop"));
  const std::string tp = CertFileFingerprint(m.cert);
  const std::string pfx = Path("foreign.pfx");
  ASSERT_NO_FATAL_FAILURE(OpenSslExport(m, pfx, kPassword, {}));
  std::vector<std::string> argv = {"base64", pfx};
  if (!wrapped) argv.insert(argv.begin() + 1, "-w0");
  const std::string text = MustRun(argv).out;
  ASSERT_EQ(CountOf(text, "\n") > 1, wrapped) << text;

  ASSERT_NO_FATAL_FAILURE(CreateInstance(Executable::kTentacle));
  ProcessResult r =
      MustTentacle({"import-certificate", "--from-base64", text, "--pfx-password", kPassword});
  EXPECT_EQ(r.OutLines(), (std::vector<std::string>{
                              "Certificate with thumbprint " + tp + " imported successfully.",
                              "These changes require a restart of the Tentacle."}));
  EXPECT_EQ(MustTentacle({"show-thumbprint"}).out, tp + "\n");
}

INSTANTIATE_TEST_SUITE_P(OneLineAndWrapped, InteropBase64Test, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Wrapped" : "OneLine");
                         });

// ---- 3. Round trip: one product's export imported by the other ------------

class InteropRoundTripTest
    : public InteropTest,
      public ::testing::WithParamInterface<std::tuple<Executable, Encoding>> {};

TEST_P(InteropRoundTripTest, TheOtherProductImportsOurExport) {
  const auto& [source, encoding] = GetParam();
  const std::string tp = CreateInstanceWithCertificate(source);
  const std::string pfx = Path("ours.pfx");
  ASSERT_NO_FATAL_FAILURE(Export(source, pfx, encoding));

  const Executable target = Other(source);
  ASSERT_NO_FATAL_FAILURE(CreateInstance(target));
  Import(target, pfx, kPassword, tp, OwnSubject(source));
}

INSTANTIATE_TEST_SUITE_P(BothProductsBothEncodings, InteropRoundTripTest,
                         ::testing::Combine(::testing::Values(Executable::kServer,
                                                              Executable::kTentacle),
                                            ::testing::Values(kModern, kCompatible)),
                         [](const auto& info) { return "From" + ExportName(info); });

}  // namespace
}  // namespace octo::testing
