#include "common/channel/admin_messages.h"

#include "common/channel/channel.h"

namespace octo {
namespace {

Json SlotJson(const SlotCertificate& c) {
  return Json{{"Thumbprint", c.thumbprint},
              {"SignatureAlgorithm", c.signature_algorithm},
              {"KeySize", c.key_bits},
              {"NotAfter", c.not_after}};
}

// The fields of an answer read by the Server: a missing or mistyped field
// is Corrupt, never an exception.
Result<std::vector<std::string>> Strings(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_array()) {
    return Corrupt(std::string("the answer has no \"") + key + "\" list");
  }
  std::vector<std::string> out;
  for (const auto& v : j[key]) {
    if (!v.is_string()) return Corrupt(std::string("the answer's \"") + key + "\" holds a value that is not a string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<bool> Bool(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_boolean()) {
    return Corrupt(std::string("the answer has no \"") + key + "\" true or false");
  }
  return j[key].get<bool>();
}

Result<SlotCertificate> SlotFromJson(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_object()) {
    return Corrupt(std::string("the answer has no \"") + key + "\" certificate");
  }
  const Json& c = j[key];
  SlotCertificate s;
  s.thumbprint = StringField(c, "Thumbprint");
  s.signature_algorithm = StringField(c, "SignatureAlgorithm");
  s.not_after = StringField(c, "NotAfter");
  if (c.contains("KeySize") && c["KeySize"].is_number_integer()) s.key_bits = c["KeySize"].get<int>();
  if (s.thumbprint.empty()) return Corrupt(std::string("the answer's \"") + key + "\" certificate has no thumbprint");
  return s;
}

}  // namespace

Json TrustAnswer::ToJson() const { return Json{{"Trusted", trusted}, {"Changed", changed}}; }

Result<TrustAnswer> TrustAnswer::FromJson(const Json& j) {
  auto trusted = Strings(j, "Trusted");
  if (!trusted.ok()) return trusted.status();
  auto changed = Bool(j, "Changed");
  if (!changed.ok()) return changed.status();
  return TrustAnswer{std::move(trusted).value(), *changed};
}

Json CertificateStatusAnswer::ToJson() const {
  Json j{{"Trusted", trusted}, {"Presented", presented}, {"Current", SlotJson(current)}};
  j["Staged"] = staged ? SlotJson(*staged) : Json(nullptr);
  j["Previous"] = previous ? SlotJson(*previous) : Json(nullptr);
  return j;
}

Result<CertificateStatusAnswer> CertificateStatusAnswer::FromJson(const Json& j) {
  CertificateStatusAnswer a;
  auto trusted = Strings(j, "Trusted");
  if (!trusted.ok()) return trusted.status();
  a.trusted = std::move(trusted).value();
  a.presented = StringField(j, "Presented");
  auto current = SlotFromJson(j, "Current");
  if (!current.ok()) return current.status();
  a.current = *current;
  for (auto [key, slot] : {std::pair{"Staged", &a.staged}, std::pair{"Previous", &a.previous}}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    auto s = SlotFromJson(j, key);
    if (!s.ok()) return s.status();
    *slot = *s;
  }
  return a;
}

Json CertificateChangeAnswer::ToJson() const {
  Json j{{"Changed", changed}, {"Thumbprint", thumbprint}};
  if (!previous_thumbprint.empty()) j["PreviousThumbprint"] = previous_thumbprint;
  return j;
}

Result<CertificateChangeAnswer> CertificateChangeAnswer::FromJson(const Json& j) {
  auto changed = Bool(j, "Changed");
  if (!changed.ok()) return changed.status();
  return CertificateChangeAnswer{*changed, StringField(j, "Thumbprint"), StringField(j, "PreviousThumbprint")};
}

}  // namespace octo
