#include "common/crypto/pkcs12.h"

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/provider.h>

#include "common/base/encoding.h"

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

// ---- Plaintext held by OpenSSL structures we own -------------------------
//
// A PKCS#12 object keeps its contents as DER inside a PKCS#7 "data"
// ContentInfo (the authSafe), and each unencrypted safe the same way: the
// sealed copy of an instance's identity and any unencrypted user file hold
// the private key there in the clear. OpenSSL frees these without wiping
// them, so we wipe them first. (Key bags wipe themselves: OpenSSL cleanses a
// PKCS8_PRIV_KEY_INFO when it is freed, and every buffer it decrypts into.)

void WipeData(PKCS7* p7) {
  if (p7 == nullptr || OBJ_obj2nid(p7->type) != NID_pkcs7_data || p7->d.data == nullptr) return;
  if (p7->d.data->data != nullptr) OPENSSL_cleanse(p7->d.data->data, static_cast<size_t>(p7->d.data->length));
}

// PKCS12 is opaque, but its ASN.1 description (public, <openssl/asn1t.h>)
// records where each field lives; the authSafe is its one PKCS7 field.
// nullptr if a future OpenSSL describes it otherwise (the unit test
// PfxSecrets notices).
PKCS7* AuthSafe(PKCS12* p12) {
  const ASN1_ITEM* it = ASN1_ITEM_rptr(PKCS12);
  if (p12 == nullptr || it->itype != ASN1_ITYPE_SEQUENCE) return nullptr;
  for (long i = 0; i < it->tcount; ++i) {
    const ASN1_TEMPLATE& t = it->templates[i];
    if ((t.flags & (ASN1_TFLG_SK_MASK | ASN1_TFLG_EMBED)) == 0 && ASN1_ITEM_ptr(t.item) == ASN1_ITEM_rptr(PKCS7)) {
      return *reinterpret_cast<PKCS7**>(reinterpret_cast<char*>(p12) + t.offset);
    }
  }
  return nullptr;
}

void FreeWipedPkcs12(PKCS12* p12) {
  WipeData(AuthSafe(p12));
  PKCS12_free(p12);
}

void FreeWipedSafes(STACK_OF(PKCS7) * safes) {
  for (int i = 0; i < sk_PKCS7_num(safes); ++i) WipeData(sk_PKCS7_value(safes, i));
  sk_PKCS7_pop_free(safes, PKCS7_free);
}

void FreeBags(STACK_OF(PKCS12_SAFEBAG) * bags) { sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free); }

using WipedPkcs12Ptr = std::unique_ptr<PKCS12, OsslDeleter<FreeWipedPkcs12>>;
using SafesPtr = std::unique_ptr<STACK_OF(PKCS7), OsslDeleter<FreeWipedSafes>>;
using BagsPtr = std::unique_ptr<STACK_OF(PKCS12_SAFEBAG), OsslDeleter<FreeBags>>;
using BagPtr = std::unique_ptr<PKCS12_SAFEBAG, OsslDeleter<PKCS12_SAFEBAG_free>>;
using Pbe2ParamPtr = std::unique_ptr<PBE2PARAM, OsslDeleter<PBE2PARAM_free>>;
using PbeParamPtr = std::unique_ptr<PBEPARAM, OsslDeleter<PBEPARAM_free>>;
using Pbkdf2ParamPtr = std::unique_ptr<PBKDF2PARAM, OsslDeleter<PBKDF2PARAM_free>>;
using ScryptParamsPtr = std::unique_ptr<SCRYPT_PARAMS, OsslDeleter<SCRYPT_PARAMS_free>>;

// ---- Work bounds -----------------------------------------------------------

std::string Decimal(const BIGNUM* n) {
  OsslCharsPtr s(BN_bn2dec(n));
  return s ? std::string(s.get()) : std::string("?");
}

BnPtr ToBn(const ASN1_INTEGER* i) { return BnPtr(i != nullptr ? ASN1_INTEGER_to_BN(i, nullptr) : nullptr); }

// The key derivations a PFX asks for, added up before any of them runs.
// Counts come from the file as ASN.1 INTEGERs of any size.
class WorkBudget {
 public:
  // An iteration count (PKCS#12 KDF, PBKDF2). Absent means 1.
  Status Iterations(const ASN1_INTEGER* count) {
    if (count == nullptr) return Status::Ok();
    BnPtr n = ToBn(count);
    if (!n) return Corrupt("the PFX has an unreadable iteration count");
    if (OverTheLimit(n.get())) {
      return InvalidArgument("the PFX asks for " + Decimal(n.get()) + " iterations of its key derivation, more than the " +
                             std::to_string(kMaxPfxIterations) + " accepted");
    }
    return Add(n.get());
  }

  // The derivation behind a password-based algorithm: PKCS#5 v1 and PKCS#12
  // PBEs, PBES2 and PBMAC1 (PBKDF2 or scrypt). Other algorithms derive
  // nothing here: OpenSSL refuses them before deriving.
  Status Algorithm(const X509_ALGOR* alg) {
    if (alg == nullptr) return Status::Ok();
    const int nid = OBJ_obj2nid(alg->algorithm);
    if (nid == NID_pbes2 || nid == NID_pbmac1) {
      // PBMAC1-params has the shape of PBES2-params: SEQUENCE { keyDerivationFunc, scheme }.
      Pbe2ParamPtr p2(
          static_cast<PBE2PARAM*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter)));
      if (!p2) return Corrupt("the PFX has unreadable encryption parameters");
      return Kdf(p2->keyfunc);
    }
    if (EVP_PBE_find(EVP_PBE_TYPE_OUTER, nid, nullptr, nullptr, nullptr) != 1) return Status::Ok();
    PbeParamPtr pbe(static_cast<PBEPARAM*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter)));
    if (!pbe) return Corrupt("the PFX has unreadable encryption parameters");
    return Iterations(pbe->iter);
  }

 private:
  static bool OverTheLimit(const BIGNUM* n) {
    return !BN_is_negative(n) && (BN_num_bits(n) > 63 || BN_get_word(n) > kMaxPfxIterations);
  }

  Status Kdf(const X509_ALGOR* kdf) {
    switch (OBJ_obj2nid(kdf->algorithm)) {
      case NID_id_pbkdf2: {
        Pbkdf2ParamPtr p(
            static_cast<PBKDF2PARAM*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), kdf->parameter)));
        if (!p) return Corrupt("the PFX has unreadable key derivation parameters");
        return Iterations(p->iter);
      }
      case NID_id_scrypt: {
        ScryptParamsPtr p(
            static_cast<SCRYPT_PARAMS*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS), kdf->parameter)));
        if (!p) return Corrupt("the PFX has unreadable key derivation parameters");
        return Scrypt(p.get());
      }
      default:
        return Status::Ok();
    }
  }

  // scrypt's work grows with N * r * p, counted here as iterations.
  Status Scrypt(const SCRYPT_PARAMS* p) {
    BnPtr n = ToBn(p->costParameter), r = ToBn(p->blockSize), par = ToBn(p->parallelizationParameter);
    BnPtr work(BN_new());
    std::unique_ptr<BN_CTX, OsslDeleter<BN_CTX_free>> ctx(BN_CTX_new());
    if (!n || !r || !par || !work || !ctx || BN_mul(work.get(), n.get(), r.get(), ctx.get()) != 1 ||
        BN_mul(work.get(), work.get(), par.get(), ctx.get()) != 1) {
      return Corrupt("the PFX has unreadable key derivation parameters");
    }
    if (OverTheLimit(work.get())) {
      return InvalidArgument("the PFX asks for " + Decimal(work.get()) + " rounds of its scrypt key derivation (N=" +
                             Decimal(n.get()) + ", r=" + Decimal(r.get()) + ", p=" + Decimal(par.get()) +
                             "), more than the " + std::to_string(kMaxPfxIterations) + " accepted");
    }
    return Add(work.get());
  }

  // `n` is at most kMaxPfxIterations; a negative count derives nothing.
  Status Add(const BIGNUM* n) {
    total_ += BN_is_negative(n) ? 0 : BN_get_word(n);
    if (total_ > kMaxPfxTotalIterations) {
      return InvalidArgument("the PFX asks for more than " + std::to_string(kMaxPfxTotalIterations) +
                             " iterations of key derivation in all");
    }
    return Status::Ok();
  }

  uint64_t total_ = 0;
};

// The derivation the MAC asks for: its iteration count, or for PBMAC1 the
// PBKDF2 in its algorithm's parameters.
Status ChargeMac(PKCS12* p12, WorkBudget* budget) {
  const X509_ALGOR* alg = nullptr;
  const ASN1_INTEGER* iter = nullptr;
  PKCS12_get0_mac(nullptr, &alg, nullptr, &iter, p12);
  OCTO_RETURN_IF_ERROR(budget->Iterations(iter));
  if (alg != nullptr && OBJ_obj2nid(alg->algorithm) == NID_pbmac1) return budget->Algorithm(alg);
  return Status::Ok();
}

const X509_ALGOR* ShroudAlgorithm(const PKCS12_SAFEBAG* bag) {
  const X509_ALGOR* alg = nullptr;
  X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, nullptr);
  return alg;
}

const X509_ALGOR* SafeAlgorithm(const PKCS7* p7) {
  if (p7->d.encrypted == nullptr || p7->d.encrypted->enc_data == nullptr) return nullptr;
  return p7->d.encrypted->enc_data->algorithm;
}

// Charges every shrouded key bag in `bags`, nested safe contents included.
Status ChargeKeyBags(const STACK_OF(PKCS12_SAFEBAG) * bags, WorkBudget* budget) {
  for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); ++i) {
    const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags, i);
    switch (PKCS12_SAFEBAG_get_nid(bag)) {
      case NID_pkcs8ShroudedKeyBag: OCTO_RETURN_IF_ERROR(budget->Algorithm(ShroudAlgorithm(bag))); break;
      case NID_safeContentsBag: OCTO_RETURN_IF_ERROR(ChargeKeyBags(PKCS12_SAFEBAG_get0_safes(bag), budget)); break;
      default: break;
    }
  }
  return Status::Ok();
}

// Everything that can be seen without a password: the MAC, each encrypted
// safe, and the shrouded keys in unencrypted safes. (Keys inside encrypted
// safes are charged when they are reached.)
Status ChargeVisible(PKCS12* p12, STACK_OF(PKCS7) * safes, WorkBudget* budget) {
  if (PKCS12_mac_present(p12)) OCTO_RETURN_IF_ERROR(ChargeMac(p12, budget));
  for (int i = 0; i < sk_PKCS7_num(safes); ++i) {
    PKCS7* p7 = sk_PKCS7_value(safes, i);
    switch (OBJ_obj2nid(p7->type)) {
      case NID_pkcs7_encrypted: OCTO_RETURN_IF_ERROR(budget->Algorithm(SafeAlgorithm(p7))); break;
      case NID_pkcs7_data: {
        BagsPtr bags(PKCS12_unpack_p7data(p7));
        if (bags) OCTO_RETURN_IF_ERROR(ChargeKeyBags(bags.get(), budget));
        break;
      }
      default: break;
    }
  }
  ClearOpenSslErrors();  // a safe that does not unpack fails again, and is reported, when it is read
  return Status::Ok();
}

// ---- Reading the bags ------------------------------------------------------

// What the bags hold: the first private key, and every X.509 certificate in
// the order of the file.
struct Contents {
  PkeyPtr key;
  std::vector<X509Ptr> certs;
};

// OpenSSL could not decrypt or decode something; its error queue says why.
// Told apart from refusals by its code.
Status Unreadable() { return Internal("OpenSSL cannot read the PFX"); }
bool IsUnreadable(const Status& s) { return s.code() == StatusCode::kInternal; }

// A certificate's friendlyName and localKeyID, kept as PKCS12_parse keeps
// them (later exports write them again).
void KeepAttributes(const PKCS12_SAFEBAG* bag, X509* cert) {
  const ASN1_TYPE* name = PKCS12_SAFEBAG_get0_attr(bag, NID_friendlyName);
  if (name != nullptr && name->type == V_ASN1_BMPSTRING) {
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, name->value.bmpstring);
    OsslBytesPtr owned(utf8);
    if (len >= 0) X509_alias_set1(cert, owned.get(), len);
  }
  const ASN1_TYPE* id = PKCS12_SAFEBAG_get0_attr(bag, NID_localKeyID);
  if (id != nullptr && id->type == V_ASN1_OCTET_STRING) {
    X509_keyid_set1(cert, id->value.octet_string->data, id->value.octet_string->length);
  }
}

Status ReadBags(const STACK_OF(PKCS12_SAFEBAG) * bags, const char* pass, bool in_encrypted_safe, WorkBudget* budget,
                Contents* out) {
  for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); ++i) {
    const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags, i);
    switch (PKCS12_SAFEBAG_get_nid(bag)) {
      case NID_keyBag:
        if (!out->key) {
          out->key.reset(EVP_PKCS82PKEY(PKCS12_SAFEBAG_get0_p8inf(bag)));
          if (!out->key) return Unreadable();
        }
        break;
      case NID_pkcs8ShroudedKeyBag: {
        if (in_encrypted_safe) OCTO_RETURN_IF_ERROR(budget->Algorithm(ShroudAlgorithm(bag)));
        if (out->key) break;
        Pkcs8Ptr p8(PKCS12_decrypt_skey(bag, pass, -1));  // its free wipes the key's DER
        if (!p8) return Unreadable();
        out->key.reset(EVP_PKCS82PKEY(p8.get()));
        if (!out->key) return Unreadable();
        break;
      }
      case NID_certBag:
        if (PKCS12_SAFEBAG_get_bag_nid(bag) == NID_x509Certificate) {
          X509Ptr cert(PKCS12_SAFEBAG_get1_cert(bag));
          if (!cert) return Unreadable();
          KeepAttributes(bag, cert.get());
          out->certs.push_back(std::move(cert));
        }
        break;
      case NID_safeContentsBag:
        OCTO_RETURN_IF_ERROR(ReadBags(PKCS12_SAFEBAG_get0_safes(bag), pass, in_encrypted_safe, budget, out));
        break;
      default:  // CRLs, secrets: not ours
        break;
    }
  }
  return Status::Ok();
}

// Decrypts and reads every safe, as PKCS12_parse does, but charging each
// key derivation to `budget` before it runs and wiping what it unpacks.
Status ReadSafes(const STACK_OF(PKCS7) * safes, const char* pass, WorkBudget budget, Contents* out) {
  for (int i = 0; i < sk_PKCS7_num(safes); ++i) {
    PKCS7* p7 = sk_PKCS7_value(safes, i);
    BagsPtr bags;
    bool encrypted = false;
    switch (OBJ_obj2nid(p7->type)) {
      case NID_pkcs7_data: bags.reset(PKCS12_unpack_p7data(p7)); break;
      case NID_pkcs7_encrypted:
        encrypted = true;
        bags.reset(PKCS12_unpack_p7encdata(p7, pass, -1));  // charged by ChargeVisible
        break;
      default: continue;  // enveloped data and the like: not read, as PKCS12_parse does
    }
    if (!bags) return Unreadable();
    OCTO_RETURN_IF_ERROR(ReadBags(bags.get(), pass, encrypted, &budget, out));
  }
  return Status::Ok();
}

// Runs `add` (PKCS12_add_cert, PKCS12_add_key: they append to a stack they
// create if need be) on `bags`; returns the bag added, or nullptr.
template <typename Add>
PKCS12_SAFEBAG* AddBag(BagsPtr* bags, Add add) {
  STACK_OF(PKCS12_SAFEBAG)* raw = bags->release();
  PKCS12_SAFEBAG* bag = add(&raw);
  bags->reset(raw);
  return bag;
}

// Appends to `safes` a safe holding `bags`, encrypted with `nid` (-1: not).
bool AddSafe(SafesPtr* safes, STACK_OF(PKCS12_SAFEBAG) * bags, int nid, const char* pass) {
  STACK_OF(PKCS7)* raw = safes->release();
  const bool ok = PKCS12_add_safe(&raw, bags, nid, PKCS12_DEFAULT_ITER, pass) == 1;
  safes->reset(raw);
  return ok;
}

// "the private key in the PFX is a DSA key": the key's type as OpenSSL
// names it, with its article.
std::string KeyTypePhrase(const EVP_PKEY* key) {
  const char* name = EVP_PKEY_get0_type_name(key);
  if (name == nullptr) name = OBJ_nid2sn(EVP_PKEY_get_base_id(key));
  const std::string type = name != nullptr ? name : "unknown";
  const bool an = !type.empty() && std::string("AEFHILMNORSX").find(type[0]) != std::string::npos;
  return (an ? "an " : "a ") + type + " key";
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
  Secret decoded;  // base64 of an unencrypted PFX decodes to a key in the clear
  const std::string* bytes = &input;
  if (!LooksLikeDer(input)) {
    auto b64 = Base64Decode(input);
    if (b64.ok()) decoded = Secret(std::move(b64).value());
    if (!b64.ok() || !LooksLikeDer(decoded.value())) {
      return Corrupt("it is not a PFX (PKCS#12) file, nor base64 text of one");
    }
    bytes = &decoded.value();
  }
  const auto* p = reinterpret_cast<const unsigned char*>(bytes->data());
  WipedPkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(bytes->size())));
  if (!p12) {
    ClearOpenSslErrors();
    return Corrupt("it is not a PFX (PKCS#12) file");
  }
  const bool has_mac = PKCS12_mac_present(p12.get()) == 1;
  SafesPtr safes(PKCS12_unpack_authsafes(p12.get()));
  if (!safes) return OpenSslError("cannot read the PFX's contents", StatusCode::kCorrupt);

  // Refuse a file that asks for too much work before doing any of it.
  WorkBudget budget;
  OCTO_RETURN_IF_ERROR(ChargeVisible(p12.get(), safes.get(), &budget));

  // Check the password against the MAC first, so a wrong password is told
  // apart from an unreadable file.
  const char* pass = password.value().c_str();
  if (has_mac) {
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
  } else if (password.empty()) {
    pass = nullptr;  // as PKCS12_parse: no MAC to tell "" from none
  }

  Contents contents;
  Status read = ReadSafes(safes.get(), pass, budget, &contents);
  if (IsUnreadable(read)) {
    // RC2-40 and friends live in the legacy provider: load it and try again.
    ClearOpenSslErrors();
    if (LoadLegacyProvider()) {
      contents = Contents();
      read = ReadSafes(safes.get(), pass, budget, &contents);
    }
  }
  if (IsUnreadable(read)) {
    return OpenSslError(has_mac ? "cannot decrypt the PFX" : "cannot decrypt the PFX (is the password correct?)",
                        has_mac ? StatusCode::kCorrupt : StatusCode::kWrongPassword);
  }
  OCTO_RETURN_IF_ERROR(read);
  if (!contents.key) return InvalidArgument("the PFX contains no private key");
  // The channel is TLS with ECDHE-RSA / ECDHE-ECDSA (and TLS 1.3): say so
  // before matching, whatever else is wrong with a key of another type.
  const int type = EVP_PKEY_get_base_id(contents.key.get());
  if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
    return InvalidArgument("the private key in the PFX is " + KeyTypePhrase(contents.key.get()) +
                           "; only RSA and EC keys can serve the channel");
  }
  if (contents.certs.empty()) return InvalidArgument("the PFX contains no certificate");

  PfxReadResult out;
  for (auto& c : contents.certs) {
    if (!out.identity.certificate && X509_check_private_key(c.get(), contents.key.get()) == 1) {
      out.identity.certificate = std::move(c);
    } else {
      out.identity.chain.push_back(std::move(c));
    }
  }
  ClearOpenSslErrors();
  if (!out.identity.certificate) {
    return InvalidArgument("the private key in the PFX does not match its certificate");
  }
  out.identity.key = std::move(contents.key);
  out.warnings = Warnings(out.identity.certificate.get());
  return out;
}

Result<Secret> WritePfx(const Identity& identity, const Secret& password, PfxEncoding encoding) {
  if (!identity.certificate || !identity.key) return InvalidArgument("no certificate with a private key to export");
  const bool modern = encoding == PfxEncoding::kModern;
  const bool plain = encoding == PfxEncoding::kUnencryptedForSealing;
  const int nid = plain ? -1 : modern ? NID_aes_256_cbc : NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
  const char* pass = plain ? nullptr : password.value().c_str();
  X509* cert = identity.certificate.get();

  // What PKCS12_create does, with the safes in our hands so that they are
  // wiped: the certificates in one safe (encrypted unless `plain`), the key
  // in another. The certificate's bag and the key's carry the certificate's
  // friendlyName (kept from an import) and its SHA-1 as localKeyID; chain
  // certificates carry their own.
  unsigned char key_id[EVP_MAX_MD_SIZE];
  unsigned int key_id_len = 0;
  bool ok = X509_check_private_key(cert, identity.key.get()) == 1 &&
            X509_digest(cert, EVP_sha1(), key_id, &key_id_len) == 1;
  const char* name = reinterpret_cast<const char*>(X509_alias_get0(cert, nullptr));
  auto tag = [&](PKCS12_SAFEBAG* bag) {
    return bag != nullptr && (name == nullptr || PKCS12_add_friendlyname(bag, name, -1) == 1) &&
           PKCS12_add_localkeyid(bag, key_id, static_cast<int>(key_id_len)) == 1;
  };
  BagsPtr cert_bags(sk_PKCS12_SAFEBAG_new_null()), key_bags;
  BagPtr cert_bag(ok ? PKCS12_SAFEBAG_create_cert(cert) : nullptr);
  ok = cert_bags && tag(cert_bag.get()) && sk_PKCS12_SAFEBAG_push(cert_bags.get(), cert_bag.get()) > 0;
  if (ok) cert_bag.release();
  for (const auto& c : identity.chain) {
    ok = ok && AddBag(&cert_bags, [&](auto** bags) { return PKCS12_add_cert(bags, c.get()); }) != nullptr;
  }
  ok = ok && tag(AddBag(&key_bags, [&](auto** bags) {
         return PKCS12_add_key(bags, identity.key.get(), 0, PKCS12_DEFAULT_ITER, nid, pass);
       }));
  SafesPtr safes;
  ok = ok && AddSafe(&safes, cert_bags.get(), nid, pass) && AddSafe(&safes, key_bags.get(), -1, nullptr);
  WipedPkcs12Ptr p12(ok ? PKCS12_add_safes(safes.get(), 0) : nullptr);
  if (!p12) return OpenSslError("cannot build the PFX");
  if (!plain && PKCS12_set_mac(p12.get(), pass, -1, nullptr, 0, PKCS12_DEFAULT_ITER,
                               modern ? EVP_sha256() : EVP_sha1()) != 1) {
    return OpenSslError("cannot add the PFX's integrity check");
  }
  unsigned char* der = nullptr;
  int len = i2d_PKCS12(p12.get(), &der);
  if (len <= 0) return OpenSslError("cannot encode the PFX");  // nothing was allocated
  WipedOsslBytes owned(der, static_cast<size_t>(len));
  return Secret(std::string(reinterpret_cast<const char*>(owned.get()), static_cast<size_t>(len)));
}

}  // namespace octo
