#include "common/config/certificate_summary.h"

#include <cstdint>
#include <string_view>

#include "common/base/encoding.h"

namespace octo {
namespace {

constexpr char kSignatureAlgorithm[] = "SignatureAlgorithm";
constexpr char kCheck[] = "Check";

// FNV-1a, 64 bits, of the three values, each followed by a NUL (none holds one).
std::string Check(const std::string& thumbprint, const std::string& signature_algorithm,
                  const std::string& public_der_b64) {
  uint64_t h = 14695981039346656037ULL;
  for (std::string_view part : {std::string_view(thumbprint), std::string_view(signature_algorithm),
                                std::string_view(public_der_b64)}) {
    for (char c : part) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
    h *= 1099511628211ULL;  // the NUL after each part: XOR with 0, then multiply
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<size_t>(i)] = kHex[h & 0xF];
  return out;
}

}  // namespace

std::string CertificateSummaryKey(const std::string& certificate_key) { return certificate_key + "Summary"; }

void StoreCertificate(ConfigFile& config, const SummaryKeys& keys, const std::string& thumbprint,
                      const std::string& public_der_b64) {
  config.Set(keys.thumbprint, thumbprint);
  config.Set(keys.public_der, public_der_b64);
  config.Erase(keys.summary);
  auto der = Base64Decode(public_der_b64);
  if (!der.ok()) return;
  auto summary = SummarizeCertificateDer(*der);
  if (!summary.ok() || summary->thumbprint != thumbprint) return;
  Json record = Json::object();
  record[kSignatureAlgorithm] = summary->signature_algorithm;
  record[kCheck] = Check(thumbprint, summary->signature_algorithm, public_der_b64);
  config.Set(keys.summary, std::move(record));
}

std::optional<CertificateSummary> ReadCertificateSummary(const ConfigFile& config, const SummaryKeys& keys) {
  const Json& doc = config.doc();
  auto string_at = [&](const std::string& key) -> const std::string* {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const std::string* thumbprint = string_at(keys.thumbprint);
  const std::string* public_der = string_at(keys.public_der);
  auto record = doc.find(keys.summary);
  if (thumbprint == nullptr || public_der == nullptr || record == doc.end() || !record->is_object()) {
    return std::nullopt;
  }
  auto algorithm = record->find(kSignatureAlgorithm);
  auto check = record->find(kCheck);
  if (algorithm == record->end() || !algorithm->is_string() || check == record->end() || !check->is_string()) {
    return std::nullopt;
  }
  const auto& name = algorithm->get_ref<const std::string&>();
  if (check->get_ref<const std::string&>() != Check(*thumbprint, name, *public_der)) return std::nullopt;
  return CertificateSummary{*thumbprint, name};
}

}  // namespace octo
