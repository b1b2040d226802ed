#include "common/crypto/key_store.h"

#include <openssl/rand.h>

#include "common/base/encoding.h"
#include "common/base/file_util.h"
#include "common/crypto/ossl.h"
#ifdef _WIN32
#include "common/crypto/dpapi_win.h"
#endif

namespace octo {
namespace {

constexpr char kPrefix[] = "v1:";
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

// On Windows the key file holds the key protected by DPAPI in the machine
// scope, as the real products protect their Master Key and machine key:
// "dpapi:" + base64(CryptProtectData(key)). Only this machine can read it.
constexpr char kDpapiPrefix[] = "dpapi:";


}  // namespace

Result<Secret> CreateKeyFile(const std::string& path) {
  if (FileExists(path)) return AlreadyExists("the key file " + path + " already exists");
  Secret key(std::string(kKeyBytes, '\0'));
  if (RAND_priv_bytes(reinterpret_cast<unsigned char*>(key.mutable_value().data()), kKeyBytes) != 1) {
    return OpenSslError("cannot generate a key");
  }
#ifdef _WIN32
  auto blob = DpapiProtect(key);
  if (!blob.ok()) return blob.status();
  Secret text(std::string(kDpapiPrefix) + Base64Encode(blob->value()) + "\n");
#else
  Secret text(Base64Encode(key.value()) + "\n");
#endif
  // Published with no-replace semantics: of two concurrent creators exactly
  // one key survives, and nobody's config ends up sealed under a lost key.
  Status st = WriteFileExclusive(path, text.value(), 0600);
  if (st.code() == StatusCode::kAlreadyExists) return AlreadyExists("the key file " + path + " already exists");
  OCTO_RETURN_IF_ERROR(st);
  return key;
}

Result<Secret> LoadKeyFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  Secret owned(std::move(text).value());
  if (owned.value().rfind(kDpapiPrefix, 0) == 0) {
#ifdef _WIN32
    auto blob = Base64Decode(owned.value().substr(sizeof kDpapiPrefix - 1));
    if (!blob.ok()) return Corrupt("the key file " + path + " does not hold a DPAPI-protected key");
    auto key = DpapiUnprotect(*blob);
    if (!key.ok()) {
      return FailedPrecondition("the key file " + path +
                                " was protected by DPAPI on another machine (or for another user) and cannot be "
                                "read here; restore the instance's certificate from an exported PFX instead");
    }
    if (key->size() != kKeyBytes) {
      return Corrupt("the key file " + path + " does not hold a " + std::to_string(kKeyBytes) + "-byte key");
    }
    return key;
#else
    return FailedPrecondition("the key file " + path +
                              " was protected by Windows DPAPI and can be read only on the Windows machine that "
                              "wrote it; restore the instance's certificate from an exported PFX instead");
#endif
  }
  auto raw = Base64Decode(owned.value());
  if (!raw.ok() || raw->size() != kKeyBytes) {
    return Corrupt("the key file " + path + " does not hold a " + std::to_string(kKeyBytes) + "-byte key");
  }
  return Secret(std::move(raw).value());
}

Result<std::string> Seal(const Secret& key, const std::string& plaintext, const std::string& context) {
  if (key.size() != kKeyBytes) return InvalidArgument("the key must be 32 bytes");
  unsigned char nonce[kNonceBytes];
  if (RAND_bytes(nonce, sizeof nonce) != 1) return OpenSslError("cannot make a nonce");
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  std::copy(nonce, nonce + kNonceBytes, o);
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.value().data()), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(context.data()),
                        static_cast<int>(context.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o + kNonceBytes, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + kNonceBytes + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, o + kNonceBytes + plaintext.size()) != 1) {
    return OpenSslError("cannot encrypt");
  }
  return std::string(kPrefix) + Base64Encode(out);
}

Result<Secret> Unseal(const Secret& key, const std::string& sealed, const std::string& context) {
  if (key.size() != kKeyBytes) return InvalidArgument("the key must be 32 bytes");
  if (sealed.rfind(kPrefix, 0) != 0) {
    auto colon = sealed.find(':');
    if (colon != std::string::npos && colon < 8) {
      return Corrupt("the stored value uses encryption scheme '" + sealed.substr(0, colon) +
                     "', which this version does not know");
    }
    return Corrupt("the stored value is not encrypted in a known format");
  }
  auto raw = Base64Decode(std::string_view(sealed).substr(sizeof kPrefix - 1));
  if (!raw.ok() || raw->size() < kNonceBytes + kTagBytes) return Corrupt("the stored value is damaged");
  const auto* r = reinterpret_cast<const unsigned char*>(raw->data());
  const size_t n = raw->size() - kNonceBytes - kTagBytes;
  Secret plain(std::string(n, '\0'));
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  auto* p = reinterpret_cast<unsigned char*>(plain.mutable_value().data());
  unsigned char tag[kTagBytes];
  std::copy(r + kNonceBytes + n, r + raw->size(), tag);
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.value().data()), r) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(context.data()),
                        static_cast<int>(context.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), p, &len, r + kNonceBytes, static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) != 1) {
    return OpenSslError("cannot decrypt");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), p + len, &len) != 1) {
    ClearOpenSslErrors();
    return FailedPrecondition("the stored value cannot be decrypted with this key (wrong key, or the value was altered)");
  }
  return plain;
}

}  // namespace octo
