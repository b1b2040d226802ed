// Octopus.Server audit-certificates: what in the fleet needs a rotation, a
// pin or a trust change. Makes its own calls with the instance's
// certificate (the Server's service need not run); the findings come from
// the library (common/rotation/certificate_audit.h), the advice from here.
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <set>

#include "common/rotation/certificate_audit.h"
#include "common/config/certificate_slots.h"
#include "common/config/target_store.h"
#include "common/crypto/certificate.h"
#include "common/crypto/tls.h"
#include "frontend/certificate_io.h"
#include "frontend/common_commands.h"
#include "frontend/service_command.h"
#include "server/commands.h"

namespace octo::server {
namespace {

struct AuditOptions {
  cli::InstanceOptions instance;
  std::string format;
  int expiring_within_days = 30;
  int parallel = 32;
  int timeout_seconds = 10;
};

// " --instance NAME" for any but the default instance, so that the advice
// can be pasted as it is.
std::string InstanceArg(const Instance& inst) {
  return inst.name() == Traits(Product::kServer).default_instance ? "" : " --instance " + inst.name();
}

// What to run about a finding, after "; " ("" when there is nothing to run).
std::string Advice(const AuditFinding& f, const std::string& target, const std::string& instance_arg) {
  switch (f.kind) {
    case AuditFindingKind::kSha1Signature:
    case AuditFindingKind::kWeakKey:
    case AuditFindingKind::kExpiring:
      if (target.empty()) return "rotate it with: Octopus.Server rotate-certificate" + instance_arg;
      return "rotate it with: Octopus.Server rotate-target-certificate" + instance_arg + " --name " + target;
    case AuditFindingKind::kPinMismatch:
      return "if it is the Tentacle's own certificate (Tentacle show-thumbprint on that machine), pin it with: "
             "Octopus.Server update-target" +
             instance_arg + " --name " + target + " --add-thumbprint " + f.thumbprint;
    case AuditFindingKind::kStaleTrust:
      return "unless another Octopus Server uses it, remove it on the Tentacle with: Tentacle configure "
             "--remove-trust " +
             f.thumbprint;
    case AuditFindingKind::kNotTrusted:
      return "trust it on the Tentacle with: Tentacle configure --trust " + f.thumbprint;
    case AuditFindingKind::kUnreachable:
      return "";
  }
  return "";
}

void PrintFinding(const std::string& who, const AuditFinding& f, const std::string& target,
                  const std::string& instance_arg) {
  const std::string advice = Advice(f, target, instance_arg);
  std::cout << who << ": " << f.detail << (advice.empty() ? "" : "; " + advice) << std::endl;
}

std::string Count(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// "Audited 5 targets and the Octopus Server's certificate: 3 findings on 2 targets."
std::string Summary(size_t targets, size_t findings, size_t targets_with_findings, bool server_findings) {
  std::string out = "Audited " + Count(targets, "target", "targets") + " and the Octopus Server's certificate: ";
  if (findings == 0) return out + "nothing needs action.";
  out += Count(findings, "finding", "findings") + " on ";
  if (targets_with_findings > 0) out += Count(targets_with_findings, "target", "targets");
  if (targets_with_findings > 0 && server_findings) out += " and ";
  if (server_findings) out += "the Octopus Server's certificate";
  return out + ".";
}

int RunAudit(const AuditOptions& o) {
  auto inst = cli::OpenInstance(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  auto store = TargetStore::Open(inst->config_path());
  if (!store.ok()) return cli::Fail(store.status());
  const std::shared_ptr<const TargetSnapshot> snapshot = (*store)->Current();
  auto id = cli::LoadIdentityForCommand(*inst);
  if (!id.ok()) return cli::Fail(id.status());

  // Every certificate this Server holds: a Tentacle trusting any of them
  // has a reason to.
  std::set<std::string> ours;
  std::optional<SlotCertificate> current;
  for (CertificateSlot slot : {CertificateSlot::kCurrent, CertificateSlot::kStaged, CertificateSlot::kPrevious}) {
    auto c = ReadCertificateSlot(*inst, slot);
    if (!c.ok()) return cli::Fail(c.status());
    if (!*c) continue;
    ours.insert((*c)->thumbprint);
    if (slot == CertificateSlot::kCurrent) current = **c;
  }
  const std::string our_thumbprint = Thumbprint(id->certificate.get());
  if (!current) {
    const CertificateInfo info = Describe(id->certificate.get());
    current = SlotCertificate{info.thumbprint, info.signature_algorithm, info.key_bits, info.not_after};
  }
  ours.insert(our_thumbprint);

  AuditPolicy policy;
  policy.expiring_within_days = o.expiring_within_days;
  const std::vector<AuditFinding> server_findings = AuditCertificate(*current, policy);

  // A certificate OpenSSL will not use still gets its own findings; the
  // targets then say why they were not asked.
  std::vector<TargetAudit> audits;
  auto ctx = MakeTlsContext(TlsRole::kClient, *id);
  if (ctx.ok()) {
    TentacleClient client{ctx->get(), our_thumbprint, {}, {}};
    client.options.timeout = std::chrono::seconds(o.timeout_seconds);
    client.options.pool = std::make_shared<ConnectionPool>();  // one connection per Tentacle for its questions
    client.relay = ControlSocketRelay(cli::PathsFor(*inst).socket);
    client.relay_listening = true;  // over the running Server's kept connections, when it runs
    audits = AuditTargets(client, snapshot->targets, ours, policy, static_cast<size_t>(o.parallel));
  } else {
    const std::string why = "the Octopus Server's certificate cannot be used: " + ctx.status().message();
    for (const auto& t : snapshot->targets) audits.push_back(NotAuditedTarget(t, why));
  }

  size_t findings = server_findings.size();
  size_t targets_with_findings = 0;
  for (const auto& a : audits) {
    findings += a.findings.size();
    if (!a.findings.empty()) ++targets_with_findings;
  }

  if (o.format == "json") {
    Json server_findings_json = Json::array();
    for (const auto& f : server_findings) server_findings_json.push_back(f.ToJson());
    Json targets_json = Json::array();
    for (const auto& a : audits) targets_json.push_back(a.ToJson());
    const Json out{{"Server",
                    {{"Thumbprint", current->thumbprint},
                     {"SignatureAlgorithm", current->signature_algorithm},
                     {"KeyBits", current->key_bits},
                     {"NotAfter", current->not_after},
                     {"Findings", std::move(server_findings_json)}}},
                   {"Targets", std::move(targets_json)},
                   {"FindingCount", findings}};
    std::cout << out.dump(2) << std::endl;
  } else {
    const std::string instance_arg = InstanceArg(*inst);
    for (const auto& f : server_findings) {
      PrintFinding("Octopus Server (instance " + inst->name() + ")", f, "", instance_arg);
    }
    for (const auto& a : audits) {
      for (const auto& f : a.findings) PrintFinding(a.name + " (" + a.address + ")", f, a.name, instance_arg);
    }
    std::cout << Summary(audits.size(), findings, targets_with_findings, !server_findings.empty()) << std::endl;
  }
  return findings == 0 ? cli::kExitOk : cli::kExitFailed;
}

}  // namespace

void SetupAudit(cli::CommandTable& table) {
  auto o = std::make_shared<AuditOptions>();
  table.Add(
      "audit-certificates",
      "Audits the certificates of the Server and its targets: SHA-1, short keys, expiry, pins, "
      "trust",
      [o] { return RunAudit(*o); },
      [o](CLI::App* sub) {
        sub->footer(
            "Asks every deployment target's Tentacle itself, with this instance's certificate: the "
            "Octopus Server service "
            "need not be running.\nExit codes: 0 nothing needs action; 1 a finding, or an error.");
        cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
        cli::AddFormatOption(sub, &o->format);
        sub->add_option(
               "--expiring-within-days", o->expiring_within_days,
               "Report certificates that expire within this many days (0 to 36500; default 30)")
            ->check(CLI::Range(0, 36500));
        sub->add_option("--parallel", o->parallel, "Tentacles asked at once (1 to 256; default 32)")
            ->check(CLI::Range(1, 256));
        sub->add_option("--timeout", o->timeout_seconds,
                        "Seconds allowed for each Tentacle's answer (1 to 3600; default 10)")
            ->check(CLI::Range(1, 3600));
      });
}

}  // namespace octo::server
