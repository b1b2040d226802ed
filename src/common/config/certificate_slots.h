// Certificate slots: an instance's current certificate and the two it may
// keep beside it during a rotation, a staged one (made, not yet presented)
// and the previous one (presented before the last switch, kept for
// rollback). Each slot is three config keys, as the current certificate
// always was: the PFX sealed with the instance's key file (the key's name is
// the sealed value's associated data), the thumbprint, and the public
// certificate (base64 DER) in clear; and a fourth, the summary that
// show-thumbprint prints (certificate_summary.h), which moves with them.
//
//   slot      Tentacle keys                       Octopus Server keys
//   current   Tentacle.Certificate...             Octopus.Server.Certificate...
//   staged    Tentacle.StagedCertificate...       Octopus.Server.StagedCertificate...
//   previous  Tentacle.PreviousCertificate...     Octopus.Server.PreviousCertificate...
//
// The functions change only the Instance's ConfigFile in memory: the caller
// opens the instance with Access::kUpdate (the config's lock), calls one of
// them and saves. A private key never leaves a slot unsealed except as the
// Identity returned to present it. Not thread-safe (as Instance).
#pragma once

#include <optional>
#include <string>

#include "common/base/status.h"
#include "common/config/instance.h"
#include "common/crypto/certificate.h"

namespace octo {

enum class CertificateSlot { kCurrent, kStaged, kPrevious };

// "Current", "Staged", "Previous" (as the channel methods name them).
const char* CertificateSlotName(CertificateSlot slot);
std::optional<CertificateSlot> CertificateSlotFromName(const std::string& name);

struct SlotKeys {
  std::string sealed;      // the sealed PFX; also its associated data
  std::string thumbprint;  // 40 upper-case hex digits
  std::string public_der;  // base64 DER, in clear
  std::string summary;     // see certificate_summary.h
};
SlotKeys CertificateSlotKeys(Product product, CertificateSlot slot);

// What is shown of a slot's certificate, read from its public half (no key needed).
struct SlotCertificate {
  std::string thumbprint;
  std::string signature_algorithm;  // "sha256RSA", "sha1RSA", ...
  int key_bits = 0;
  std::string not_after;  // ISO 8601 UTC
};

// The slot's certificate, or nullopt when the slot is empty. Corrupt if its
// public certificate cannot be read.
Result<std::optional<SlotCertificate>> ReadCertificateSlot(const Instance& instance, CertificateSlot slot);

// The slot's certificate with its private key (unsealed with the instance's
// key file), for presenting or exporting it. NotFound when the slot is empty.
Result<Identity> LoadCertificateSlot(const Instance& instance, CertificateSlot slot);

// What a change did; `changed` is false when the instance was already so
// (the call is idempotent), and then nothing needs saving.
struct SlotChange {
  bool changed = false;
  std::string thumbprint;           // staged: the staged one; switch: now current; discard: the one removed ("" if none)
  std::string previous_thumbprint;  // switch: the one that was current before ("" when unchanged)
};

// Generates a new RSA-2048 SHA-256 certificate (the product's common name)
// into the staged slot. When a certificate is staged already, answers its
// thumbprint and changes nothing. NotFound / FailedPrecondition when the key
// file is missing or does not open the instance (see Instance::LoadKey).
Result<SlotChange> StageCertificate(Instance& instance);

// Makes the staged or the previous certificate whose thumbprint is
// `thumbprint` the current one; the current one becomes the previous one
// (replacing an older previous one), so that a switch to the previous one
// swaps them back (rollback). Unchanged (not an error) when `thumbprint` is
// current already. FailedPrecondition, nothing changed, when neither the
// staged nor the previous certificate has that thumbprint. `*now` (optional)
// receives the identity now current, for presenting it.
Result<SlotChange> SwitchCertificate(Instance& instance, const std::string& thumbprint, Identity* now = nullptr);

// Empties the staged or the previous slot (kCurrent: InvalidArgument).
// Unchanged when it is empty already. When `expected_thumbprint` is not
// empty and the slot holds another certificate, FailedPrecondition and
// nothing changes.
Result<SlotChange> DiscardCertificate(Instance& instance, CertificateSlot slot,
                                      const std::string& expected_thumbprint = "");

}  // namespace octo
