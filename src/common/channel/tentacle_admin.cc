#include "common/channel/tentacle_admin.h"

#include "common/config/trust.h"
#include "common/crypto/thumbprint.h"

namespace octo {
namespace {

std::vector<std::string> Sorted(const std::set<std::string>& s) { return {s.begin(), s.end()}; }

}  // namespace

StoredTentacleAdmin::StoredTentacleAdmin(std::string instance_name, std::string config_path, LiveTrust& trust,
                                         TentacleAgent& agent)
    : name_(std::move(instance_name)), config_path_(std::move(config_path)), trust_(trust), agent_(agent) {}

Result<TrustAnswer> StoredTentacleAdmin::EditTrust(bool add, const std::string& thumbprint, const std::string& who) {
  TrustChanges changes;
  (add ? changes.add : changes.remove).push_back(thumbprint);
  auto applied = trust_.Edit(
      [&](ConfigFile& config, bool* save) {
        auto report = ApplyTrustChanges(config, changes);
        if (!report.ok()) return report.status();
        *save = report->Changed();
        return Status::Ok();
      },
      who);
  if (!applied.ok()) return applied.status();
  return TrustAnswer{Sorted(applied->change.now->thumbprints), applied->change.changed()};
}

Result<TrustAnswer> StoredTentacleAdmin::Trust(const std::string& thumbprint, const std::string& who) {
  return EditTrust(true, thumbprint, who);
}

Result<TrustAnswer> StoredTentacleAdmin::RemoveTrust(const std::string& thumbprint, const std::string& who) {
  return EditTrust(false, thumbprint, who);
}

Result<Instance> StoredTentacleAdmin::OpenForUpdate() const {
  return Instance::Open(Product::kTentacle, name_, config_path_, Instance::Access::kUpdate);
}

Result<CertificateStatusAnswer> StoredTentacleAdmin::CertificateStatus() {
  auto inst = Instance::Open(Product::kTentacle, name_, config_path_, Instance::Access::kRead);
  if (!inst.ok()) return inst.status();
  CertificateStatusAnswer a;
  a.trusted = Sorted(*agent_.trusted());
  a.presented = agent_.thumbprint();
  auto current = ReadCertificateSlot(*inst, CertificateSlot::kCurrent);
  if (!current.ok()) return current.status();
  if (!*current) return FailedPrecondition("the Tentacle instance '" + name_ + "' has no certificate");
  a.current = **current;
  auto staged = ReadCertificateSlot(*inst, CertificateSlot::kStaged);
  if (!staged.ok()) return staged.status();
  a.staged = *staged;
  auto previous = ReadCertificateSlot(*inst, CertificateSlot::kPrevious);
  if (!previous.ok()) return previous.status();
  a.previous = *previous;
  return a;
}

Result<CertificateChangeAnswer> StoredTentacleAdmin::Stage(const std::string&) {
  std::lock_guard<std::mutex> lock(certificates_mu_);
  auto inst = OpenForUpdate();
  if (!inst.ok()) return inst.status();
  auto change = StageCertificate(*inst);
  if (!change.ok()) return change.status();
  if (change->changed) OCTO_RETURN_IF_ERROR(inst->Save());
  return CertificateChangeAnswer{change->changed, change->thumbprint, ""};
}

Result<CertificateChangeAnswer> StoredTentacleAdmin::Switch(const std::string& thumbprint, const std::string&) {
  std::lock_guard<std::mutex> lock(certificates_mu_);
  auto inst = OpenForUpdate();
  if (!inst.ok()) return inst.status();
  Identity next;
  auto change = SwitchCertificate(*inst, thumbprint, &next);
  if (!change.ok()) return change.status();
  if (change->changed) OCTO_RETURN_IF_ERROR(inst->Save());
  // Saved before presented. Also when the file was switched already: a
  // call repeated after a failed SetIdentity presents it now.
  if (agent_.thumbprint() != thumbprint) OCTO_RETURN_IF_ERROR(agent_.SetIdentity(next));
  return CertificateChangeAnswer{change->changed, change->thumbprint, change->previous_thumbprint};
}

Result<CertificateChangeAnswer> StoredTentacleAdmin::Discard(CertificateSlot slot, const std::string& thumbprint,
                                                             const std::string&) {
  std::lock_guard<std::mutex> lock(certificates_mu_);
  auto inst = OpenForUpdate();
  if (!inst.ok()) return inst.status();
  auto change = DiscardCertificate(*inst, slot, thumbprint);
  if (!change.ok()) return change.status();
  if (change->changed) OCTO_RETURN_IF_ERROR(inst->Save());
  return CertificateChangeAnswer{change->changed, change->thumbprint, ""};
}

}  // namespace octo
