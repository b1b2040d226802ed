// RAII handles for OpenSSL objects and the one place where OpenSSL's error
// queue becomes a Status.
#pragma once

#include <openssl/bio.h>
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

// Drains OpenSSL's error queue into a Status with code `code` and message
// "what: <first OpenSSL reason>".
Status OpenSslError(const std::string& what, StatusCode code = StatusCode::kInternal);

// Clears OpenSSL's error queue (after an expected, handled failure).
void ClearOpenSslErrors();

}  // namespace octo
