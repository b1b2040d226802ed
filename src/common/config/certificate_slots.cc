#include "common/config/certificate_slots.h"

#include "common/base/encoding.h"
#include "common/config/certificate_summary.h"
#include "common/crypto/key_store.h"
#include "common/crypto/pkcs12.h"

namespace octo {
namespace {

constexpr struct {
  CertificateSlot slot;
  const char* name;
  const char* word;  // inserted into the current slot's key names
} kSlots[] = {
    {CertificateSlot::kCurrent, "Current", ""},
    {CertificateSlot::kStaged, "Staged", "Staged"},
    {CertificateSlot::kPrevious, "Previous", "Previous"},
};

// "Tentacle.Certificate" -> "Tentacle.StagedCertificate": the word goes
// before the key's last part.
std::string WithWord(const std::string& key, const char* word) {
  const size_t dot = key.rfind('.');
  return key.substr(0, dot + 1) + word + key.substr(dot + 1);
}

bool Holds(const Instance& instance, const SlotKeys& keys) { return instance.config().Has(keys.sealed); }

std::string StoredThumbprint(const Instance& instance, const SlotKeys& keys) {
  auto tp = instance.config().GetString(keys.thumbprint);
  return tp.ok() ? *tp : "";
}

// The slot's PFX bytes, unsealed.
Result<Secret> Unsealed(const Instance& instance, const Secret& key, const SlotKeys& keys) {
  auto sealed = instance.config().GetString(keys.sealed);
  if (!sealed.ok()) return sealed.status();
  auto pfx = Unseal(key, *sealed, keys.sealed);
  if (!pfx.ok()) {
    return pfx.status().WithContext(std::string("cannot decrypt the stored certificate \"") + keys.sealed +
                                    "\" with the " + Traits(instance.product()).key_description);
  }
  return pfx;
}

// Seals `pfx` into the slot `to`, with the thumbprint and public
// certificate that go with it.
Status Put(Instance& instance, const Secret& key, const SlotKeys& to, const Secret& pfx, const std::string& thumbprint,
           const std::string& public_der_b64) {
  auto sealed = Seal(key, pfx.value(), to.sealed);
  if (!sealed.ok()) return sealed.status();
  instance.config().Set(to.sealed, *sealed);
  StoreCertificate(instance.config(), {to.thumbprint, to.public_der, to.summary}, thumbprint, public_der_b64);
  return Status::Ok();
}

void Clear(Instance& instance, const SlotKeys& keys) {
  instance.config().Erase(keys.sealed);
  instance.config().Erase(keys.thumbprint);
  instance.config().Erase(keys.public_der);
  instance.config().Erase(keys.summary);
}

struct Held {
  Secret pfx;
  std::string thumbprint;
  std::string public_der_b64;
};

Result<Held> Take(const Instance& instance, const Secret& key, const SlotKeys& keys) {
  auto pfx = Unsealed(instance, key, keys);
  if (!pfx.ok()) return pfx.status();
  auto pub = instance.config().GetString(keys.public_der);
  if (!pub.ok()) return pub.status();
  return Held{std::move(pfx).value(), StoredThumbprint(instance, keys), *pub};
}

}  // namespace

const char* CertificateSlotName(CertificateSlot slot) {
  for (const auto& s : kSlots) {
    if (s.slot == slot) return s.name;
  }
  return "Current";
}

std::optional<CertificateSlot> CertificateSlotFromName(const std::string& name) {
  for (const auto& s : kSlots) {
    if (name == s.name) return s.slot;
  }
  return std::nullopt;
}

SlotKeys CertificateSlotKeys(Product product, CertificateSlot slot) {
  const ProductTraits& t = Traits(product);
  const char* word = "";
  for (const auto& s : kSlots) {
    if (s.slot == slot) word = s.word;
  }
  const std::string sealed = WithWord(t.certificate_key, word);
  return {sealed, WithWord(t.thumbprint_key, word), WithWord(t.public_certificate_key, word),
          CertificateSummaryKey(sealed)};
}

Result<std::optional<SlotCertificate>> ReadCertificateSlot(const Instance& instance, CertificateSlot slot) {
  const SlotKeys keys = CertificateSlotKeys(instance.product(), slot);
  if (!Holds(instance, keys)) return std::optional<SlotCertificate>();
  auto b64 = instance.config().GetString(keys.public_der);
  if (!b64.ok()) return b64.status();
  auto der = Base64Decode(*b64);
  if (!der.ok()) return Corrupt(instance.config_path() + ": \"" + keys.public_der + "\" is not base64");
  auto cert = CertificateFromDer(*der);
  if (!cert.ok()) return cert.status().WithContext(instance.config_path() + ": \"" + keys.public_der + "\"");
  const CertificateInfo info = Describe(cert->get());
  return std::optional<SlotCertificate>(SlotCertificate{info.thumbprint, info.signature_algorithm, info.key_bits,
                                                        info.not_after});
}

Result<SlotChange> StageCertificate(Instance& instance) {
  const SlotKeys staged = CertificateSlotKeys(instance.product(), CertificateSlot::kStaged);
  if (Holds(instance, staged)) return SlotChange{false, StoredThumbprint(instance, staged), ""};
  auto key = instance.LoadKey();
  if (!key.ok()) return key.status();
  auto id = GenerateIdentity(Traits(instance.product()).common_name);
  if (!id.ok()) return id.status();
  auto pfx = WritePfx(*id, Secret(), PfxEncoding::kUnencryptedForSealing);
  if (!pfx.ok()) return pfx.status();
  const std::string thumbprint = Thumbprint(id->certificate.get());
  OCTO_RETURN_IF_ERROR(
      Put(instance, *key, staged, *pfx, thumbprint, Base64Encode(CertificateToDer(id->certificate.get()))));
  return SlotChange{true, thumbprint, ""};
}

Result<SlotChange> SwitchCertificate(Instance& instance, const std::string& thumbprint, Identity* now) {
  const Product p = instance.product();
  const SlotKeys current = CertificateSlotKeys(p, CertificateSlot::kCurrent);
  const SlotKeys staged = CertificateSlotKeys(p, CertificateSlot::kStaged);
  const SlotKeys previous = CertificateSlotKeys(p, CertificateSlot::kPrevious);
  const bool is_current = Holds(instance, current) && StoredThumbprint(instance, current) == thumbprint;
  if (is_current) {
    if (now != nullptr) {
      auto id = instance.LoadIdentity();
      if (!id.ok()) return id.status();
      *now = std::move(id).value();
    }
    return SlotChange{false, thumbprint, ""};
  }
  const SlotKeys* from = nullptr;
  if (Holds(instance, staged) && StoredThumbprint(instance, staged) == thumbprint) {
    from = &staged;
  } else if (Holds(instance, previous) && StoredThumbprint(instance, previous) == thumbprint) {
    from = &previous;
  } else {
    return FailedPrecondition("neither the staged nor the previous certificate has the thumbprint " + thumbprint);
  }
  auto key = instance.LoadKey();
  if (!key.ok()) return key.status();
  auto next = Take(instance, *key, *from);
  if (!next.ok()) return next.status();
  auto read = ReadPfx(next->pfx.value(), Secret());
  if (!read.ok()) return read.status().WithContext(std::string("the stored certificate \"") + from->sealed + "\" is damaged");
  std::optional<Held> old;
  if (Holds(instance, current)) {
    auto held = Take(instance, *key, current);
    if (!held.ok()) return held.status();
    old = std::move(held).value();
  }
  // Everything is read and checked before anything is changed.
  Clear(instance, *from);
  OCTO_RETURN_IF_ERROR(Put(instance, *key, current, next->pfx, next->thumbprint, next->public_der_b64));
  SlotChange change{true, next->thumbprint, ""};
  if (old) {
    OCTO_RETURN_IF_ERROR(Put(instance, *key, previous, old->pfx, old->thumbprint, old->public_der_b64));
    change.previous_thumbprint = old->thumbprint;
  }
  if (now != nullptr) *now = std::move(read->identity);
  return change;
}

Result<Identity> LoadCertificateSlot(const Instance& instance, CertificateSlot slot) {
  if (slot == CertificateSlot::kCurrent) return instance.LoadIdentity();
  const SlotKeys keys = CertificateSlotKeys(instance.product(), slot);
  if (!Holds(instance, keys)) {
    return NotFound(std::string("there is no ") + (slot == CertificateSlot::kStaged ? "staged" : "previous") +
                    " certificate");
  }
  auto key = instance.LoadKey();
  if (!key.ok()) return key.status();
  auto pfx = Unsealed(instance, *key, keys);
  if (!pfx.ok()) return pfx.status();
  auto read = ReadPfx(pfx->value(), Secret());
  if (!read.ok()) return read.status().WithContext(std::string("the stored certificate \"") + keys.sealed + "\" is damaged");
  return std::move(read->identity);
}

Result<SlotChange> DiscardCertificate(Instance& instance, CertificateSlot slot, const std::string& expected_thumbprint) {
  if (slot == CertificateSlot::kCurrent) return InvalidArgument("the current certificate cannot be discarded");
  const SlotKeys keys = CertificateSlotKeys(instance.product(), slot);
  if (!Holds(instance, keys)) return SlotChange{false, "", ""};
  const std::string held = StoredThumbprint(instance, keys);
  if (!expected_thumbprint.empty() && held != expected_thumbprint) {
    return FailedPrecondition(std::string("the ") + (slot == CertificateSlot::kStaged ? "staged" : "previous") +
                              " certificate is " + held + ", not " + expected_thumbprint);
  }
  Clear(instance, keys);
  return SlotChange{true, held, ""};
}

}  // namespace octo
