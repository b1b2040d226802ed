// Stored certificate summaries: what show-thumbprint prints about a
// certificate (its thumbprint and signature algorithm), kept in the instance
// config beside the certificate, so that printing it needs neither decoding
// the certificate nor starting OpenSSL (docs/performance.md).
//
// A certificate's keys are its sealed PFX KEY, KEYThumbprint-style thumbprint
// key and public certificate (see certificate_slots.h); its summary is
// KEY + "Summary":
//
//   "Tentacle.CertificateSummary": {"SignatureAlgorithm": "sha256RSA",
//                                   "Check": "0123456789abcdef"}
//
// "Check" is the FNV-1a (64 bits) of the thumbprint, the signature
// algorithm and the public certificate's base64 text, so that a summary is
// believed only beside the very thumbprint and certificate it was written
// for: one left behind by a hand edit, or by a version that kept no
// summaries, is not. FNV-1a catches mistakes, not an attacker; but whoever
// can write the config can change the thumbprint and the certificate alike.
// Not thread-safe (as ConfigFile).
#pragma once

#include <optional>
#include <string>

#include "common/config/config_file.h"
#include "common/crypto/certificate.h"

namespace octo {

// The config keys of one stored certificate.
struct SummaryKeys {
  std::string thumbprint;  // the thumbprint, 40 upper-case hex digits
  std::string public_der;  // the public certificate, base64 DER
  std::string summary;     // the summary
};

// The summary key of the certificate whose sealed PFX is under `certificate_key`.
std::string CertificateSummaryKey(const std::string& certificate_key);

// Records the summary of the certificate whose public certificate is
// `public_der_b64` (base64 of its DER), and sets its thumbprint and public
// certificate keys. The summary is read from the DER (with OpenSSL, see
// SummarizeCertificateDer); when `thumbprint` is not the DER's, or the DER
// cannot be read, the keys are set as given and no summary is kept (a
// reader then computes it). Never fails.
void StoreCertificate(ConfigFile& config, const SummaryKeys& keys, const std::string& thumbprint,
                      const std::string& public_der_b64);

// The stored summary, or nullopt when there is none, or when it was not
// written for the thumbprint and public certificate stored now. Reads only
// the config: no OpenSSL call.
std::optional<CertificateSummary> ReadCertificateSummary(const ConfigFile& config, const SummaryKeys& keys);

}  // namespace octo
