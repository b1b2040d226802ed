// Reading and writing PKCS#12 (PFX) files.
//
// Reading accepts what users bring: OpenSSL 3's default (AES-256/PBKDF2),
// `openssl pkcs12 -legacy` (RC2-40; OpenSSL's legacy provider is loaded on
// demand), 3DES, GnuTLS certtool, Windows, an empty or absent password,
// several certificates (the one matching the key is chosen, the rest are the
// chain) and base64 text of any of these.
#pragma once

#include <string>
#include <vector>

#include "common/certificate.h"
#include "common/secret.h"
#include "common/status.h"

namespace octo {

enum class PfxEncoding {
  // AES-256-CBC with PBKDF2-HMAC-SHA256 for key and certificates, SHA-256
  // MAC. What OpenSSL 3 and Windows Server 2019+ write.
  kModern,
  // pbeWithSHA1And3-KeyTripleDES-CBC for key and certificates, SHA-1 MAC.
  // Windows Server 2016 and older can import it; OpenSSL 3 reads it without
  // the legacy provider.
  kCompatible,
  // No password-based encryption and no MAC. Only for the copy sealed inside
  // an instance config (key_store.h encrypts it); never for a user's file.
  kUnencryptedForSealing,
};

const char* PfxEncodingName(PfxEncoding e);  // "modern" / "compatible"

struct PfxReadResult {
  Identity identity;
  std::vector<std::string> warnings;  // weak key, SHA-1 signature: import anyway
};

// Parses PFX bytes (DER, or base64 of the DER). `password` may be empty: an
// empty and an absent password are both tried.
// Errors: Corrupt "not a PFX file", WrongPassword, InvalidArgument "contains
// no private key" / "contains no certificate" / "the private key in the
// PFX does not match its certificate".
Result<PfxReadResult> ReadPfx(const std::string& bytes, const Secret& password);

// Encodes `identity` (key, certificate and chain) as DER PFX.
Result<Secret> WritePfx(const Identity& identity, const Secret& password, PfxEncoding encoding);

}  // namespace octo
