#include "common/crypto/certificate.h"

#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <ctime>

#include "common/base/time_util.h"
#include "common/crypto/thumbprint.h"

namespace octo {
namespace {

std::string Digest(X509* cert, const EVP_MD* md) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, md, buf, &len);
  return HexUpper(std::string_view(reinterpret_cast<char*>(buf), len));
}

std::string NameToString(X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // RFC 2253 order reversed to match .NET ("CN=..., O=..."), no escaping of UTF-8.
  X509_NAME_print_ex(bio.get(), name, 0, (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | XN_FLAG_DN_REV);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  std::string s(data, static_cast<size_t>(n));
  // XN_FLAG_DN_REV with RFC2253 gives "CN=a,O=b"; .NET separates with ", ".
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    out.push_back(s[i]);
    if (s[i] == ',' && (i == 0 || s[i - 1] != '\\')) out.push_back(' ');
  }
  return out;
}

std::string TimeToIso(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// .NET's friendly name for a signature algorithm: "sha256RSA", "sha1RSA", ...
std::string DotNetSignatureName(int nid) {
  switch (nid) {
    case NID_sha1WithRSAEncryption: return "sha1RSA";
    case NID_sha224WithRSAEncryption: return "sha224RSA";
    case NID_sha256WithRSAEncryption: return "sha256RSA";
    case NID_sha384WithRSAEncryption: return "sha384RSA";
    case NID_sha512WithRSAEncryption: return "sha512RSA";
    case NID_md5WithRSAEncryption: return "md5RSA";
    case NID_rsassaPss: return "RSASSA-PSS";
    case NID_ecdsa_with_SHA1: return "sha1ECDSA";
    case NID_ecdsa_with_SHA256: return "sha256ECDSA";
    case NID_ecdsa_with_SHA384: return "sha384ECDSA";
    case NID_ecdsa_with_SHA512: return "sha512ECDSA";
    default: {
      const char* sn = OBJ_nid2sn(nid);
      return sn != nullptr ? sn : "unknown";
    }
  }
}

// "YYYYMMDDHHMMSSZ" for 00:00 UTC of the day `days` after today.
std::string DayString(int year_offset, int day_offset) {
  std::time_t now = std::time(nullptr);
  struct tm tm {};
  UtcFields(now, &tm);
  tm.tm_year += year_offset;
  tm.tm_mday += day_offset;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  std::time_t t = UtcTime(&tm);  // normalises day overflow and Feb 29
  UtcFields(t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%SZ", &tm);
  return buf;
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext) return OpenSslError("cannot build certificate extension");
  if (X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslError("cannot add certificate extension");
  return Status::Ok();
}

}  // namespace

bool IsWeakSignature(const std::string& signature_algorithm) {
  std::string lower;
  for (char c : signature_algorithm) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return lower.find("sha1") != std::string::npos || lower.find("md5") != std::string::npos;
}

bool CertificateInfo::WeakSignature() const { return IsWeakSignature(signature_algorithm); }

Result<Identity> GenerateIdentity(const std::string& common_name) {
  Identity id;
  id.key.reset(EVP_RSA_gen(2048));
  if (!id.key) return OpenSslError("cannot generate an RSA key");

  id.certificate.reset(X509_new());
  X509* cert = id.certificate.get();
  if (cert == nullptr || X509_set_version(cert, X509_VERSION_3) != 1) {
    return OpenSslError("cannot create a certificate");
  }

  // Random positive 128-bit serial: clear the top bit, never zero.
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return OpenSslError("cannot make a serial number");
  serial_bytes[0] = static_cast<unsigned char>((serial_bytes[0] & 0x7F) | 0x01);
  BnPtr bn(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  Asn1IntegerPtr serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!serial || X509_set_serialNumber(cert, serial.get()) != 1) {
    return OpenSslError("cannot set the serial number");
  }

  X509_NAME* name = X509_get_subject_name(cert);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert, name) != 1) {
    return OpenSslError("cannot set the certificate's subject");
  }

  if (ASN1_TIME_set_string_X509(X509_getm_notBefore(cert), DayString(0, -1).c_str()) != 1 ||
      ASN1_TIME_set_string_X509(X509_getm_notAfter(cert), DayString(100, 0).c_str()) != 1) {
    return OpenSslError("cannot set the certificate's validity");
  }
  if (X509_set_pubkey(cert, id.key.get()) != 1) return OpenSslError("cannot set the public key");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  OCTO_RETURN_IF_ERROR(AddExtension(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  OCTO_RETURN_IF_ERROR(AddExtension(cert, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment"));
  OCTO_RETURN_IF_ERROR(AddExtension(cert, &ctx, NID_ext_key_usage, "serverAuth,clientAuth"));
  OCTO_RETURN_IF_ERROR(AddExtension(cert, &ctx, NID_subject_key_identifier, "hash"));

  if (X509_sign(cert, id.key.get(), EVP_sha256()) <= 0) return OpenSslError("cannot sign the certificate");
  return id;
}

std::string Thumbprint(X509* cert) { return Digest(cert, EVP_sha1()); }

Identity ShareIdentity(const Identity& identity) {
  Identity out;
  if (identity.certificate) {
    X509_up_ref(identity.certificate.get());
    out.certificate.reset(identity.certificate.get());
  }
  if (identity.key) {
    EVP_PKEY_up_ref(identity.key.get());
    out.key.reset(identity.key.get());
  }
  for (const auto& c : identity.chain) {
    X509_up_ref(c.get());
    out.chain.emplace_back(c.get());
  }
  return out;
}

CertificateInfo Describe(X509* cert) {
  CertificateInfo info;
  info.thumbprint = Thumbprint(cert);
  info.sha256_fingerprint = Digest(cert, EVP_sha256());
  info.subject = NameToString(X509_get_subject_name(cert));
  info.issuer = NameToString(X509_get_issuer_name(cert));
  info.signature_algorithm = DotNetSignatureName(X509_get_signature_nid(cert));
  if (BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)); bn) {
    OsslCharsPtr hex(BN_bn2hex(bn.get()));
    info.serial = hex ? hex.get() : "";
  }
  info.not_before = TimeToIso(X509_get0_notBefore(cert));
  info.not_after = TimeToIso(X509_get0_notAfter(cert));
  if (EVP_PKEY* pub = X509_get0_pubkey(cert)) {
    info.key_bits = EVP_PKEY_get_bits(pub);
    switch (EVP_PKEY_get_base_id(pub)) {
      case EVP_PKEY_RSA: info.key_algorithm = "RSA"; break;
      case EVP_PKEY_RSA_PSS: info.key_algorithm = "RSA-PSS"; break;
      case EVP_PKEY_EC: info.key_algorithm = "EC"; break;
      case EVP_PKEY_ED25519: info.key_algorithm = "Ed25519"; break;
      default: info.key_algorithm = "unknown"; break;
    }
  }
  ClearOpenSslErrors();
  return info;
}

Result<CertificateSummary> SummarizeCertificateDer(std::string_view der) {
  // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm
  // AlgorithmIdentifier, signatureValue BIT STRING }
  auto corrupt = [] {
    ClearOpenSslErrors();
    return Status(StatusCode::kCorrupt, "the stored certificate is not valid DER");
  };
  const auto* start = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* p = start;
  long len = 0;
  int tag = 0, cls = 0;
  int rc = ASN1_get_object(&p, &len, &tag, &cls, static_cast<long>(der.size()));
  if (rc != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE) return corrupt();  // also rejects indefinite lengths
  const unsigned char* end = p + len;
  long tbs_len = 0;
  rc = ASN1_get_object(&p, &tbs_len, &tag, &cls, end - p);
  if (rc != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE) return corrupt();
  p += tbs_len;
  X509AlgorPtr alg(d2i_X509_ALGOR(nullptr, &p, end - p));
  if (!alg) return corrupt();
  CertificateSummary s;
  s.signature_algorithm = DotNetSignatureName(OBJ_obj2nid(alg->algorithm));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(start, static_cast<size_t>(end - start), md, &md_len, EVP_sha1(), nullptr) != 1) {
    return OpenSslError("cannot compute the thumbprint");
  }
  s.thumbprint = HexUpper(std::string_view(reinterpret_cast<char*>(md), md_len));
  return s;
}

std::string CertificateToDer(X509* cert) {
  unsigned char* buf = nullptr;
  int len = i2d_X509(cert, &buf);
  OsslBytesPtr owned(buf);
  if (len <= 0) return "";
  return std::string(reinterpret_cast<char*>(owned.get()), static_cast<size_t>(len));
}

Result<X509Ptr> CertificateFromDer(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return OpenSslError("the stored certificate is not valid DER", StatusCode::kCorrupt);
  return cert;
}

std::string CertificateToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace octo
