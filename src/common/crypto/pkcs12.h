// Reading and writing PKCS#12 (PFX) files.
//
// Reading accepts what users bring: OpenSSL 3's default (AES-256/PBKDF2),
// `openssl pkcs12 -legacy` (RC2-40; OpenSSL's legacy provider is loaded on
// demand), 3DES, GnuTLS certtool, Windows, an empty or absent password,
// several certificates (the one matching the key is chosen, the rest are the
// chain) and base64 text of any of these.
//
// Reading bounds the work a file can ask for: its key derivations (the MAC's,
// each encrypted safe's, each shrouded key's) are added up from the file's
// parameters and refused before any of them runs when one asks for more than
// kMaxPfxIterations or all together for more than kMaxPfxTotalIterations.
// A file asking for 2^31 - 1 iterations is refused at once instead of
// keeping an import busy for hours.
//
// The PFX contents in the clear that reading and writing hold (the decoded
// base64, the PKCS#12 object's authSafe, each unencrypted safe; key bags
// and decryption buffers are cleansed by OpenSSL) are wiped before they are
// freed. Temporaries inside OpenSSL 3.0 itself (its key encoder and
// decoders, the PKCS#12 KDF's password buffer) are out of our reach.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/crypto/certificate.h"
#include "common/base/secret.h"
#include "common/base/status.h"

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

// Most iterations one key derivation in a PFX may ask for (PKCS#12 KDF or
// PBKDF2; for scrypt, N * r * p). Windows writes 2000, OpenSSL and we 2048.
// 10 million takes seconds (4 to 20 on a loaded two-core machine); 2^31 - 1,
// the most OpenSSL accepts, takes hours.
inline constexpr uint64_t kMaxPfxIterations = 10'000'000;
// Most iterations all of a PFX's key derivations may ask for together: four
// at the limit (MAC, certificates, key and one more). Bounds the work of a
// file with many encrypted safes.
inline constexpr uint64_t kMaxPfxTotalIterations = 4 * kMaxPfxIterations;

struct PfxReadResult {
  Identity identity;
  std::vector<std::string> warnings;  // weak key, SHA-1 signature: import anyway
};

// Parses PFX bytes (DER, or base64 of the DER). `password` may be empty: an
// empty and an absent password are both tried.
// Errors, in the order they are checked:
// - Corrupt "it is not a PFX (PKCS#12) file..." / "cannot read the PFX's
//   contents: REASON" (e.g. public-key integrity mode)
// - InvalidArgument "the PFX asks for N iterations of its key derivation,
//   more than the 10000000 accepted" (or "... rounds of its scrypt key
//   derivation (N=, r=, p=)..." or "...more than 40000000 iterations of key
//   derivation in all"), before any derivation and before the password
// - WrongPassword (the MAC does not verify); Corrupt/WrongPassword "cannot
//   decrypt the PFX..." with OpenSSL's reason
// - InvalidArgument "the PFX contains no private key"; "the private key in
//   the PFX is a DSA key; only RSA and EC keys can serve the channel" (any
//   type but RSA and EC, whether or not it matches a certificate); "the PFX
//   contains no certificate"; "the private key in the PFX does not match
//   its certificate".
Result<PfxReadResult> ReadPfx(const std::string& bytes, const Secret& password);

// Encodes `identity` (key, certificate and chain) as DER PFX.
Result<Secret> WritePfx(const Identity& identity, const Secret& password, PfxEncoding encoding);

}  // namespace octo
