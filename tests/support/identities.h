// Test identities and PFX files shared by the unit and CLI tests: identities
// made once per test process, keys that GenerateIdentity never makes (DSA),
// certificates re-keyed for them, and a PFX's DER bytes. Everything fails
// the calling test (gtest) on error rather than aborting.
#pragma once

#include <string>

#include "common/crypto/certificate.h"
#include "common/crypto/ossl.h"

namespace octo::testing {

// One identity per common name for the whole test process, generated on
// first use (RSA key generation is slow) and never freed. Thread-safe. If
// generation fails the test fails and the call throws.
const Identity& SharedIdentity(const std::string& common_name);

// A fresh DSA key (1024-bit p, 160-bit q), which no channel can use; nullptr
// if OpenSSL cannot make one. Parameter generation takes a while: callers
// that need several keep one.
PkeyPtr DsaKey();

// A copy of `model` with `key`'s public key, self-signed by `key` with
// SHA-256. `inherit_dsa_parameters`: the DSA parameters are left out of the
// SubjectPublicKeyInfo, to be inherited from the issuer (RFC 3279 2.3.2, as
// in NIST PKITS' ValidDSAParameterInheritanceTest5EE). nullptr on failure.
X509Ptr RekeyedCertificate(const X509* model, EVP_PKEY* key, bool inherit_dsa_parameters = false);

// The DER bytes of `p12`, as a PFX file holds them; "" (and a test failure)
// if it cannot be encoded.
std::string PfxDer(PKCS12* p12);

}  // namespace octo::testing
