#include "support/identities.h"

#include <gtest/gtest.h>
#include <openssl/dsa.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <map>
#include <memory>
#include <mutex>

namespace octo::testing {

const Identity& SharedIdentity(const std::string& common_name) {
  static std::mutex mu;
  static auto* made = new std::map<std::string, std::unique_ptr<Identity>>;
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<Identity>& slot = (*made)[common_name];
  if (!slot) {
    auto r = GenerateIdentity(common_name);
    EXPECT_TRUE(r.ok()) << common_name << ": " << (r.ok() ? "" : r.status().message());
    slot = std::make_unique<Identity>(std::move(r).value());
  }
  return *slot;
}

PkeyPtr DsaKey() {
  PkeyCtxPtr pctx(EVP_PKEY_CTX_new_from_name(nullptr, "DSA", nullptr));
  EVP_PKEY* params = nullptr;
  if (!pctx || EVP_PKEY_paramgen_init(pctx.get()) != 1 ||
      EVP_PKEY_CTX_set_dsa_paramgen_bits(pctx.get(), 1024) != 1 ||
      EVP_PKEY_CTX_set_dsa_paramgen_q_bits(pctx.get(), 160) != 1 ||
      EVP_PKEY_paramgen(pctx.get(), &params) != 1) {
    return nullptr;
  }
  PkeyPtr owned_params(params);
  PkeyCtxPtr kctx(EVP_PKEY_CTX_new_from_pkey(nullptr, params, nullptr));
  EVP_PKEY* key = nullptr;
  if (!kctx || EVP_PKEY_keygen_init(kctx.get()) != 1 || EVP_PKEY_keygen(kctx.get(), &key) != 1) {
    return nullptr;
  }
  return PkeyPtr(key);
}

X509Ptr RekeyedCertificate(const X509* model, EVP_PKEY* key, bool inherit_dsa_parameters) {
  X509Ptr cert(X509_dup(model));
  if (!cert || X509_set_pubkey(cert.get(), key) != 1) return nullptr;
  if (inherit_dsa_parameters) {
    X509_PUBKEY* spki = X509_get_X509_PUBKEY(cert.get());
    const unsigned char* bits = nullptr;
    int len = 0;
    if (X509_PUBKEY_get0_param(nullptr, &bits, &len, nullptr, spki) != 1) return nullptr;
    auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(bits, static_cast<size_t>(len)));
    if (X509_PUBKEY_set0_param(spki, OBJ_nid2obj(NID_dsa), V_ASN1_UNDEF, nullptr, copy, len) != 1) {
      return nullptr;
    }
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) return nullptr;
  return cert;
}

std::string PfxDer(PKCS12* p12) {
  unsigned char* der = nullptr;
  int len = i2d_PKCS12(p12, &der);
  EXPECT_GT(len, 0);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len > 0 ? len : 0));
  OPENSSL_free(der);
  return out;
}

}  // namespace octo::testing
