#include "common/pkcs12.h"

#include <openssl/err.h>
#include <openssl/provider.h>

#include "common/encoding.h"

namespace octo {
namespace {

// Loads OpenSSL's legacy provider (RC2, RC4, DES-CBC...) next to the default
// one, once. Only needed for PFX files made with `openssl pkcs12 -legacy` or
// old Windows, so it is done on demand rather than at start-up.
bool LoadLegacyProvider() {
  // Unloaded when the process exits (before OpenSSL's own clean-up, which was
  // registered earlier): a provider still loaded then leaks its child
  // library context, which LeakSanitizer reports.
  struct Providers {
    OSSL_PROVIDER* legacy = OSSL_PROVIDER_load(nullptr, "legacy");
    OSSL_PROVIDER* deflt = OSSL_PROVIDER_load(nullptr, "default");
    ~Providers() {
      if (legacy != nullptr) OSSL_PROVIDER_unload(legacy);
      if (deflt != nullptr) OSSL_PROVIDER_unload(deflt);
    }
  };
  static const Providers providers;
  static const bool loaded = [] {
    ClearOpenSslErrors();
    return providers.legacy != nullptr && providers.deflt != nullptr;
  }();
  return loaded;
}

bool LooksLikeDer(const std::string& bytes) {
  return !bytes.empty() && static_cast<unsigned char>(bytes[0]) == 0x30;
}

std::vector<std::string> Warnings(X509* cert) {
  std::vector<std::string> out;
  CertificateInfo info = Describe(cert);
  if (info.key_algorithm == "RSA" && info.key_bits < 2048) {
    out.push_back("the certificate's RSA key is only " + std::to_string(info.key_bits) +
                  " bits; we recommend regenerating the certificate");
  }
  if (info.WeakSignature()) {
    out.push_back("the certificate is signed with " + info.signature_algorithm +
                  "; we recommend regenerating the certificate");
  }
  return out;
}

// PKCS12_parse refuses a password when the file has no MAC ("mac absent"),
// though such files exist (`openssl pkcs12 -nomac`, some Java tools). This
// walks the bags itself for that case, decrypting with the password.
int ParseWithoutMac(PKCS12* p12, const char* pass, EVP_PKEY** key, X509** cert, STACK_OF(X509)** ca) {
  STACK_OF(PKCS7)* safes = PKCS12_unpack_authsafes(p12);
  if (safes == nullptr) return 0;
  *ca = sk_X509_new_null();
  bool ok = true;
  for (int i = 0; ok && i < sk_PKCS7_num(safes); ++i) {
    PKCS7* p7 = sk_PKCS7_value(safes, i);
    STACK_OF(PKCS12_SAFEBAG)* bags = nullptr;
    switch (OBJ_obj2nid(p7->type)) {
      case NID_pkcs7_data: bags = PKCS12_unpack_p7data(p7); break;
      case NID_pkcs7_encrypted: bags = PKCS12_unpack_p7encdata(p7, pass, -1); break;
      default: continue;
    }
    if (bags == nullptr) {
      ok = false;
      break;
    }
    for (int j = 0; ok && j < sk_PKCS12_SAFEBAG_num(bags); ++j) {
      const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags, j);
      switch (PKCS12_SAFEBAG_get_nid(bag)) {
        case NID_keyBag:
          if (*key == nullptr) *key = EVP_PKCS82PKEY(PKCS12_SAFEBAG_get0_p8inf(bag));
          break;
        case NID_pkcs8ShroudedKeyBag:
          if (*key == nullptr) {
            PKCS8_PRIV_KEY_INFO* p8 = PKCS12_decrypt_skey(bag, pass, -1);
            if (p8 == nullptr) {
              ok = false;
            } else {
              *key = EVP_PKCS82PKEY(p8);
              PKCS8_PRIV_KEY_INFO_free(p8);
            }
          }
          break;
        case NID_certBag:
          if (X509* c = PKCS12_SAFEBAG_get1_cert(bag)) sk_X509_push(*ca, c);
          break;
        default:
          break;
      }
    }
    sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
  }
  sk_PKCS7_pop_free(safes, PKCS7_free);
  *cert = nullptr;
  return ok ? 1 : 0;
}

int Parse(PKCS12* p12, const char* pass, EVP_PKEY** key, X509** cert, STACK_OF(X509)** ca) {
  if (!PKCS12_mac_present(p12) && pass != nullptr && *pass != '\0') return ParseWithoutMac(p12, pass, key, cert, ca);
  return PKCS12_parse(p12, pass, key, cert, ca);
}

}  // namespace

const char* PfxEncodingName(PfxEncoding e) {
  switch (e) {
    case PfxEncoding::kModern: return "modern";
    case PfxEncoding::kCompatible: return "compatible";
    case PfxEncoding::kUnencryptedForSealing: return "unencrypted";
  }
  return "unknown";
}

Result<PfxReadResult> ReadPfx(const std::string& input, const Secret& password) {
  std::string decoded;
  const std::string* bytes = &input;
  if (!LooksLikeDer(input)) {
    auto b64 = Base64Decode(input);
    if (!b64.ok() || !LooksLikeDer(*b64)) {
      return Corrupt("it is not a PFX (PKCS#12) file, nor base64 text of one");
    }
    decoded = std::move(b64).value();
    bytes = &decoded;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(bytes->data());
  Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(bytes->size())));
  if (!p12) {
    ClearOpenSslErrors();
    return Corrupt("it is not a PFX (PKCS#12) file");
  }

  // Check the password against the MAC first, so a wrong password is told
  // apart from an unreadable file.
  const char* pass = password.value().c_str();
  if (PKCS12_mac_present(p12.get())) {
    bool verified = false;
    if (password.empty()) {
      if (PKCS12_verify_mac(p12.get(), nullptr, 0) == 1) {
        pass = nullptr;
        verified = true;
      } else if (PKCS12_verify_mac(p12.get(), "", 0) == 1) {
        verified = true;
      }
    } else {
      verified = PKCS12_verify_mac(p12.get(), pass, static_cast<int>(password.size())) == 1;
    }
    if (!verified) {
      ClearOpenSslErrors();
      return WrongPassword(password.empty() ? "the PFX is protected by a password, and none was given"
                                            : "the password is not correct for this PFX");
    }
  }

  EVP_PKEY* raw_key = nullptr;
  X509* raw_cert = nullptr;
  STACK_OF(X509)* raw_ca = nullptr;
  int parsed = Parse(p12.get(), pass, &raw_key, &raw_cert, &raw_ca);
  if (parsed != 1) {
    // RC2-40 and friends live in the legacy provider: load it and try again.
    ClearOpenSslErrors();
    EVP_PKEY_free(raw_key);
    X509_free(raw_cert);
    sk_X509_pop_free(raw_ca, X509_free);
    raw_key = nullptr;
    raw_cert = nullptr;
    raw_ca = nullptr;
    if (LoadLegacyProvider()) parsed = Parse(p12.get(), pass, &raw_key, &raw_cert, &raw_ca);
  }
  if (parsed != 1) {
    EVP_PKEY_free(raw_key);
    X509_free(raw_cert);
    sk_X509_pop_free(raw_ca, X509_free);
  }
  if (parsed != 1) {
    return OpenSslError(PKCS12_mac_present(p12.get()) ? "cannot decrypt the PFX"
                                                      : "cannot decrypt the PFX (is the password correct?)",
                        PKCS12_mac_present(p12.get()) ? StatusCode::kCorrupt : StatusCode::kWrongPassword);
  }
  PkeyPtr key(raw_key);
  X509Ptr cert(raw_cert);
  X509StackPtr ca(raw_ca);

  std::vector<X509Ptr> all;
  if (cert) all.push_back(std::move(cert));
  while (ca && sk_X509_num(ca.get()) > 0) all.emplace_back(sk_X509_shift(ca.get()));
  if (!key) return InvalidArgument("the PFX contains no private key");
  if (all.empty()) return InvalidArgument("the PFX contains no certificate");

  PfxReadResult out;
  for (auto& c : all) {
    if (!out.identity.certificate && X509_check_private_key(c.get(), key.get()) == 1) {
      out.identity.certificate = std::move(c);
    } else {
      out.identity.chain.push_back(std::move(c));
    }
  }
  ClearOpenSslErrors();
  if (!out.identity.certificate) {
    return InvalidArgument("the private key in the PFX does not match its certificate");
  }
  std::erase_if(out.identity.chain, [](const X509Ptr& c) { return !c; });
  out.identity.key = std::move(key);
  out.warnings = Warnings(out.identity.certificate.get());
  return out;
}

Result<Secret> WritePfx(const Identity& identity, const Secret& password, PfxEncoding encoding) {
  if (!identity.certificate || !identity.key) return InvalidArgument("no certificate with a private key to export");
  X509StackPtr ca(sk_X509_new_null());
  for (const auto& c : identity.chain) {
    X509_up_ref(c.get());
    sk_X509_push(ca.get(), c.get());
  }
  const bool modern = encoding == PfxEncoding::kModern;
  const bool plain = encoding == PfxEncoding::kUnencryptedForSealing;
  const int nid = plain ? -1 : modern ? NID_aes_256_cbc : NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
  const char* pass = plain ? nullptr : password.value().c_str();
  Pkcs12Ptr p12(PKCS12_create(pass, nullptr, identity.key.get(), identity.certificate.get(), ca.get(), nid, nid,
                              PKCS12_DEFAULT_ITER, -1, 0));
  if (!p12) return OpenSslError("cannot build the PFX");
  if (!plain && PKCS12_set_mac(p12.get(), pass, -1, nullptr, 0, PKCS12_DEFAULT_ITER,
                               modern ? EVP_sha256() : EVP_sha1()) != 1) {
    return OpenSslError("cannot add the PFX's integrity check");
  }
  unsigned char* der = nullptr;
  int len = i2d_PKCS12(p12.get(), &der);
  if (len <= 0) return OpenSslError("cannot encode the PFX");
  Secret out(std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len)));
  OPENSSL_clear_free(der, static_cast<size_t>(len));
  return out;
}

}  // namespace octo
