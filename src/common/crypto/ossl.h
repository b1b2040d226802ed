// RAII handles for OpenSSL objects and the one place where OpenSSL's error
// queue becomes a Status.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "common/base/status.h"

namespace octo {

template <auto Fn>
struct OsslDeleter {
  template <typename T>
  void operator()(T* p) const { Fn(p); }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, OsslDeleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OsslDeleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, OsslDeleter<BIO_free_all>>;
using Pkcs12Ptr = std::unique_ptr<PKCS12, OsslDeleter<PKCS12_free>>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OsslDeleter<EVP_CIPHER_CTX_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslDeleter<EVP_PKEY_CTX_free>>;

inline void FreeX509Stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using X509StackPtr = std::unique_ptr<STACK_OF(X509), OsslDeleter<FreeX509Stack>>;

using BnPtr = std::unique_ptr<BIGNUM, OsslDeleter<BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OsslDeleter<ASN1_INTEGER_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OsslDeleter<X509_EXTENSION_free>>;
using X509AlgorPtr = std::unique_ptr<X509_ALGOR, OsslDeleter<X509_ALGOR_free>>;
using Pkcs8Ptr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, OsslDeleter<PKCS8_PRIV_KEY_INFO_free>>;

// Memory OpenSSL allocated for us (BN_bn2hex, i2d_*, ASN1_STRING_to_UTF8):
// OPENSSL_free is a macro, so it is wrapped in functions.
inline void FreeOsslChars(char* p) { OPENSSL_free(p); }
inline void FreeOsslBytes(unsigned char* p) { OPENSSL_free(p); }
using OsslCharsPtr = std::unique_ptr<char, OsslDeleter<FreeOsslChars>>;
using OsslBytesPtr = std::unique_ptr<unsigned char, OsslDeleter<FreeOsslBytes>>;

// Bytes that held a secret (an encoded PFX, a key's DER): wiped, then freed.
class WipedOsslBytes {
 public:
  WipedOsslBytes(unsigned char* p, size_t size) : p_(p), size_(size) {}
  ~WipedOsslBytes() { OPENSSL_clear_free(p_, size_); }
  WipedOsslBytes(const WipedOsslBytes&) = delete;
  WipedOsslBytes& operator=(const WipedOsslBytes&) = delete;
  const unsigned char* get() const { return p_; }

 private:
  unsigned char* p_;
  size_t size_;
};

// Drains OpenSSL's error queue into a Status with code `code` and message
// "what: <first OpenSSL reason>".
Status OpenSslError(const std::string& what, StatusCode code = StatusCode::kInternal);

// Clears OpenSSL's error queue (after an expected, handled failure).
void ClearOpenSslErrors();

}  // namespace octo
