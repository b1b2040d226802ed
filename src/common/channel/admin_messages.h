// The answers of the trust and certificate methods (docs/protocol.md,
// "Trust and certificate methods"), as the Tentacle makes them (ToJson) and
// the Server reads them (FromJson: a missing or mistyped field is Corrupt,
// never an exception).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/base/json.h"
#include "common/base/status.h"
#include "common/config/certificate_slots.h"

namespace octo {

// TrustThumbprint and RemoveTrust: the trusted set after the change.
struct TrustAnswer {
  std::vector<std::string> trusted;  // sorted
  bool changed = false;

  Json ToJson() const;
  static Result<TrustAnswer> FromJson(const Json& j);
};

// GetCertificateStatus.
struct CertificateStatusAnswer {
  std::vector<std::string> trusted;     // the set the agent uses now, sorted
  std::string presented;                // the thumbprint new connections are presented
  SlotCertificate current;              // the stored current certificate
  std::optional<SlotCertificate> staged;
  std::optional<SlotCertificate> previous;

  Json ToJson() const;
  static Result<CertificateStatusAnswer> FromJson(const Json& j);
};

// StageCertificate, SwitchCertificate and DiscardCertificate.
struct CertificateChangeAnswer {
  bool changed = false;
  std::string thumbprint;           // staged / now current / discarded ("" when nothing was there)
  std::string previous_thumbprint;  // SwitchCertificate: the one kept as previous ("" when unchanged)

  Json ToJson() const;
  static Result<CertificateChangeAnswer> FromJson(const Json& j);
};

}  // namespace octo
