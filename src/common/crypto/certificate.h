// X.509 identities: generating the self-signed certificates Octopus uses and
// describing a certificate the way the Octopus UI and our commands show it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/crypto/ossl.h"
#include "common/base/status.h"

namespace octo {

inline constexpr char kServerCommonName[] = "Octopus Portal";
inline constexpr char kTentacleCommonName[] = "Octopus Tentacle";

// A certificate with its private key, and any further certificates that came
// with it (a chain from an imported PFX). Move-only: it owns OpenSSL handles.
struct Identity {
  X509Ptr certificate;
  PkeyPtr key;
  std::vector<X509Ptr> chain;
};

// What a user is shown about a certificate.
struct CertificateInfo {
  std::string thumbprint;           // SHA-1 of the DER, 40 upper-case hex
  std::string sha256_fingerprint;   // SHA-256 of the DER, 64 upper-case hex
  std::string subject;              // "CN=Octopus Portal"
  std::string issuer;
  std::string signature_algorithm;  // as .NET names it: "sha256RSA", "sha1RSA", ...
  std::string serial;               // upper-case hex
  std::string not_before;           // ISO 8601 UTC, "2026-11-25T00:00:00Z"
  std::string not_after;
  std::string key_algorithm;        // "RSA", "EC", ...
  int key_bits = 0;

  // True when the signature uses SHA-1 (or MD5): the user should regenerate.
  bool WeakSignature() const;
};

// Generates an RSA-2048, SHA256withRSA, self-signed certificate with subject
// and issuer CN=`common_name`, a random positive 128-bit serial, notBefore at
// 00:00 UTC yesterday, notAfter 100 years after today 00:00 UTC, and the
// extensions basicConstraints CA:FALSE, keyUsage digitalSignature +
// keyEncipherment, extKeyUsage serverAuth + clientAuth, subjectKeyIdentifier.
Result<Identity> GenerateIdentity(const std::string& common_name);

// Another handle on the same certificate, key and chain (reference counted,
// nothing is copied): for giving a service its own Identity.
Identity ShareIdentity(const Identity& identity);

CertificateInfo Describe(X509* cert);

// The two facts show-thumbprint prints, read from a certificate's DER
// without decoding it whole: OpenSSL 3.0 sets up its public-key decoders on
// every d2i_X509 (about 120 µs of CPU, and most of a short command's
// instructions after process start-up). Only the outer structure and the
// signature algorithm are parsed (docs/performance.md).
struct CertificateSummary {
  std::string thumbprint;           // as Thumbprint()
  std::string signature_algorithm;  // as CertificateInfo::signature_algorithm
};
// Corrupt if `der` does not hold a certificate's outer structure (the rest
// is not checked: use CertificateFromDer for that).
Result<CertificateSummary> SummarizeCertificateDer(std::string_view der);

// True for a signature algorithm name that uses SHA-1 or MD5.
bool IsWeakSignature(const std::string& signature_algorithm);

// The thumbprint alone (cheaper than Describe).
std::string Thumbprint(X509* cert);

// DER encoding of a certificate, and back.
std::string CertificateToDer(X509* cert);
Result<X509Ptr> CertificateFromDer(const std::string& der);

// PEM text of a certificate ("-----BEGIN CERTIFICATE-----...").
std::string CertificateToPem(X509* cert);

}  // namespace octo
