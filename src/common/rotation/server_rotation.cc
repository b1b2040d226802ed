#include "common/rotation/server_rotation.h"


#include <algorithm>
#include <cctype>

#include "common/base/encoding.h"
#include "common/base/file_util.h"
#include "common/base/net.h"
#include "common/base/parallel.h"
#include "common/channel/channel.h"
#include "common/channel/tentacle_client.h"
#include "common/config/certificate_slots.h"
#include "common/config/target_store.h"
#include "common/crypto/pkcs12.h"
#include "common/crypto/thumbprint.h"
#include "common/crypto/tls.h"

namespace octo {
namespace {

constexpr struct {
  RotationPhase phase;
  const char* name;
} kPhases[] = {
    {RotationPhase::kPrepare, "prepare"}, {RotationPhase::kTrust, "trust"},       {RotationPhase::kSwitch, "switch"},
    {RotationPhase::kCleanup, "cleanup"}, {RotationPhase::kRollback, "rollback"},
};

constexpr struct {
  RotationStage stage;
  const char* name;
} kStages[] = {
    {RotationStage::kNone, "None"},           {RotationStage::kPrepared, "Prepared"},
    {RotationStage::kTrusted, "Trusted"},     {RotationStage::kSwitching, "Switching"},
    {RotationStage::kSwitched, "Switched"},   {RotationStage::kCompleted, "Completed"},
    {RotationStage::kRollingBack, "RollingBack"}, {RotationStage::kRolledBack, "RolledBack"},
};

std::optional<RotationStage> StageFromName(const std::string& name) {
  for (const auto& s : kStages) {
    if (name == s.name) return s.stage;
  }
  return std::nullopt;
}

std::string Count(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// "name (address): reason".
std::string TargetLine(const Target& t, const std::string& reason) { return "  " + t.name + " (" + t.address + "): " + reason; }

}  // namespace

const char* RotationPhaseName(RotationPhase phase) {
  for (const auto& p : kPhases) {
    if (p.phase == phase) return p.name;
  }
  return "";
}

std::optional<RotationPhase> RotationPhaseFromName(const std::string& name) {
  for (const auto& p : kPhases) {
    if (name == p.name) return p.phase;
  }
  return std::nullopt;
}

const char* RotationStageName(RotationStage stage) {
  for (const auto& s : kStages) {
    if (s.stage == stage) return s.name;
  }
  return "";
}

bool ServerRotationState::Underway() const {
  return stage != RotationStage::kNone && stage != RotationStage::kCompleted && stage != RotationStage::kRolledBack;
}

Json ServerRotationState::ToJson() const {
  Json targets_json = Json::object();
  for (const auto& [name, e] : targets) {
    Json entry{{"Step", e.step}};
    if (!e.error.empty()) entry["Error"] = e.error;
    targets_json[name] = entry;
  }
  Json j{{"Phase", RotationStageName(stage)}, {"OldThumbprint", old_thumbprint}, {"NewThumbprint", new_thumbprint},
         {"StartedAt", started_at},           {"UpdatedAt", updated_at},         {"Targets", targets_json}};
  if (!rolled_back_from.empty()) j["RolledBackFrom"] = rolled_back_from;
  if (!exported_previous.empty()) j["ExportedPreviousCertificate"] = exported_previous;
  return j;
}

Result<ServerRotationState> ServerRotationState::FromJson(const Json& j) {
  auto bad = [](const std::string& what) {
    return Corrupt(std::string("the value \"") + kCertificateRotationKey + "\" is damaged: " + what +
                   "; restore the configuration from a backup, or remove the value by hand (the certificates are "
                   "kept under their own keys) and check what each Tentacle trusts with audit-certificates");
  };
  if (!j.is_object()) return bad("it is not an object");
  ServerRotationState s;
  auto stage = StageFromName(StringField(j, "Phase"));
  if (!stage) return bad("unknown phase '" + StringField(j, "Phase") + "'");
  s.stage = *stage;
  s.old_thumbprint = StringField(j, "OldThumbprint");
  s.new_thumbprint = StringField(j, "NewThumbprint");
  s.started_at = StringField(j, "StartedAt");
  s.updated_at = StringField(j, "UpdatedAt");
  s.rolled_back_from = StringField(j, "RolledBackFrom");
  s.exported_previous = StringField(j, "ExportedPreviousCertificate");
  if (s.stage != RotationStage::kNone && (s.old_thumbprint.empty() || s.new_thumbprint.empty())) {
    return bad("the old or the new thumbprint is missing");
  }
  if (j.contains("Targets")) {
    if (!j["Targets"].is_object()) return bad("\"Targets\" is not an object");
    for (const auto& [name, e] : j["Targets"].items()) {
      if (!e.is_object()) return bad("the entry of target '" + name + "' is not an object");
      s.targets[name] = {StringField(e, "Step"), StringField(e, "Error")};
    }
  }
  return s;
}

Result<ServerRotationState> ReadRotationState(const Instance& instance) {
  if (!instance.config().Has(kCertificateRotationKey)) return ServerRotationState{};
  return ServerRotationState::FromJson(instance.config().doc()[kCertificateRotationKey]);
}

ServerRotation::ServerRotation(ServerRotationOptions options, RunningServer& server)
    : options_(std::move(options)), server_(server) {}

Status ServerRotation::Load() {
  auto inst = options_.open(Instance::Access::kRead);
  if (!inst.ok()) return inst.status();
  auto st = ReadRotationState(*inst);
  if (!st.ok()) return st.status();
  state_ = std::move(st).value();
  return Status::Ok();
}

Status ServerRotation::Update(const std::function<Status(Instance&, ServerRotationState&)>& fn) {
  auto inst = options_.open(Instance::Access::kUpdate);
  if (!inst.ok()) return inst.status();
  auto st = ReadRotationState(*inst);
  if (!st.ok()) return st.status();
  ServerRotationState next = std::move(st).value();
  OCTO_RETURN_IF_ERROR(fn(*inst, next));
  next.updated_at = UtcNowIso8601();
  inst->config().Set(kCertificateRotationKey, next.ToJson());
  OCTO_RETURN_IF_ERROR(inst->Save());
  state_ = std::move(next);
  if (options_.saved) options_.saved(state_);
  return Status::Ok();
}

Status ServerRotation::Run(std::optional<RotationPhase> only) {
  OCTO_RETURN_IF_ERROR(Load());
  if (only) {
    switch (*only) {
      case RotationPhase::kPrepare: return Prepare();
      case RotationPhase::kTrust: return Trust(false);
      case RotationPhase::kSwitch: return Switch();
      case RotationPhase::kCleanup: return Cleanup();
      case RotationPhase::kRollback: return Rollback();
    }
  }
  if (state_.stage == RotationStage::kRollingBack) {
    return FailedPrecondition("a rollback of the rotation to " + state_.new_thumbprint +
                              " is under way; finish it with rotate-certificate --phase rollback");
  }
  const RotationStage from = state_.stage;
  if (!state_.Underway()) OCTO_RETURN_IF_ERROR(Prepare());
  if (from == RotationStage::kNone || from == RotationStage::kCompleted || from == RotationStage::kRolledBack ||
      from == RotationStage::kPrepared) {
    OCTO_RETURN_IF_ERROR(Trust(false));
  }
  if (state_.stage != RotationStage::kSwitched) OCTO_RETURN_IF_ERROR(Switch());
  return Cleanup();
}

Status ServerRotation::Prepare() {
  if (state_.Underway() && state_.stage != RotationStage::kPrepared) {
    return FailedPrecondition(std::string("the rotation to ") + state_.new_thumbprint + " is at phase " +
                              RotationStageName(state_.stage) +
                              "; go on with rotate-certificate, or undo it with rotate-certificate --phase rollback");
  }
  const std::string earlier_export = state_.Underway() ? "" : state_.exported_previous;
  OCTO_RETURN_IF_ERROR(Update([](Instance& inst, ServerRotationState& s) -> Status {
    if (s.Underway() && s.stage != RotationStage::kPrepared) {
      return FailedPrecondition("another command moved the rotation on; run rotate-certificate --status");
    }
    if (!s.Underway()) {
      // A new rotation: an old certificate kept from an earlier rollback or
      // rotation is not needed any more.
      auto discarded = DiscardCertificate(inst, CertificateSlot::kPrevious);
      if (!discarded.ok()) return discarded.status();
    }
    auto staged = StageCertificate(inst);
    if (!staged.ok()) return staged.status();
    if (!s.Underway()) {
      s = ServerRotationState{};
      s.stage = RotationStage::kPrepared;
      s.started_at = UtcNowIso8601();
      s.old_thumbprint = inst.StoredThumbprint();
    }
    s.new_thumbprint = staged->thumbprint;
    return Status::Ok();
  }));
  // Until the next rotation, then no longer.
  if (!earlier_export.empty()) (void)RemoveFile(earlier_export);
  options_.say("Prepare: the new certificate " + state_.new_thumbprint +
               " is staged in the instance, sealed with the Master Key; the Octopus Server presents " +
               state_.old_thumbprint + " until the switch.");
  return Status::Ok();
}

Result<std::vector<std::string>> ServerRotation::AskFleet(
    const char* phase, const std::string& step, const std::string& call, const std::string& done, const Ask& ask,
    const std::function<bool(const TargetRotationEntry&)>& want, bool only_some) {
  auto inst = options_.open(Instance::Access::kRead);
  if (!inst.ok()) return inst.status();
  auto identity = inst->LoadIdentity();
  if (!identity.ok()) return identity.status();
  auto ctx = MakeTlsContext(TlsRole::kClient, *identity);
  if (!ctx.ok()) return ctx.status();
  TentacleClient client{ctx->get(), Thumbprint(identity->certificate.get()), options_.calls, options_.relay,
                        options_.relay_listening};
  auto store = TargetStore::Open(inst->config_path());
  if (!store.ok()) return store.status();
  std::vector<Target> chosen;
  for (const auto& t : (*store)->Current()->targets) {
    auto e = state_.targets.find(t.name);
    if (want(e == state_.targets.end() ? TargetRotationEntry{} : e->second)) chosen.push_back(t);
  }
  std::vector<Status> results(chosen.size());
  ForEachBounded(chosen.size(), options_.calls.parallelism,
                 [&](size_t i) { results[i] = ask(client, chosen[i]); });
  std::vector<std::string> failed;
  std::vector<std::string> lines;
  std::vector<std::string> record;
  for (size_t i = 0; i < chosen.size(); ++i) {
    const std::string asked = std::string("Rotation, phase ") + phase + ": " + call + " to " + chosen[i].name +
                              " at " + chosen[i].address + ", presenting " + client.our_thumbprint;
    if (!results[i].ok()) {
      failed.push_back(chosen[i].name);
      lines.push_back(TargetLine(chosen[i], results[i].message()));
      record.push_back(asked + ": failed: " + results[i].message());
    } else {
      record.push_back(asked + ": done");
    }
  }
  server_.Log(record);
  OCTO_RETURN_IF_ERROR(Update([&](Instance&, ServerRotationState& s) -> Status {
    for (size_t i = 0; i < chosen.size(); ++i) {
      TargetRotationEntry& e = s.targets[chosen[i].name];
      if (results[i].ok()) {
        e = {step, ""};
      } else {
        e.error = results[i].message();
      }
    }
    return Status::Ok();
  }));
  for (const auto& l : lines) options_.say(l);
  if (!chosen.empty() || !only_some) {
    options_.say(std::string(1, static_cast<char>(std::toupper(phase[0]))) + (phase + 1) + ": " +
                 std::to_string(chosen.size() - failed.size()) + " of " +
                 Count(chosen.size(), "Tentacle ", "Tentacles ") + done + ".");
  }
  return failed;
}

Status ServerRotation::Gate(const char* phase, const std::vector<std::string>& failed) {
  if (failed.empty()) return Status::Ok();
  const bool one = failed.size() == 1;
  if (options_.allow_unreachable) {
    std::string names;
    for (const auto& n : failed) names += (names.empty() ? "" : ", ") + n;
    options_.warn(std::string("phase ") + phase + " passes without " + names + " (--allow-unreachable)");
    return Status::Ok();
  }
  const std::string it = one ? "it" : "them";
  const std::string which = Count(failed.size(), "target", "targets") + " (named above)";
  const std::string phase_name = phase;
  if (phase_name == "rollback") {
    return FailedPrecondition("the rollback stopped: " + which + (one ? " was" : " were") +
                              " not reached; run rotate-certificate --phase rollback again when " +
                              (one ? "it is" : "they are") + " up, or pass --allow-unreachable to finish without " +
                              it);
  }
  const std::string what = phase_name == "switch" ? (one ? " is not healthy" : " are not healthy") +
                                                        std::string(" with the new certificate")
                                                  : (one ? " was not reached" : " were not reached");
  return FailedPrecondition("the rotation stopped in phase " + phase_name + ": " + which + what +
                            "; run rotate-certificate again when " + (one ? "it is" : "they are") +
                            " up to resume, pass --allow-unreachable to go on without " + it +
                            ", or undo the rotation with --phase rollback");
}

Status ServerRotation::Trust(bool only_missing) {
  if (state_.stage != RotationStage::kPrepared && state_.stage != RotationStage::kTrusted) {
    return FailedPrecondition(std::string("the trust phase runs after prepare and before switch; the rotation is ") +
                              (state_.Underway() ? std::string("at phase ") + RotationStageName(state_.stage)
                                                 : std::string("not under way (run --phase prepare first)")));
  }
  const std::string new_tp = state_.new_thumbprint;
  auto failed = AskFleet(
      "trust", "Trusted", "TrustThumbprint " + new_tp, "now trust " + new_tp,
      [&](const TentacleClient& c, const Target& t) -> Status {
        auto answer = AskTrustThumbprint(c, t, new_tp);
        if (!answer.ok()) return answer.status();
        if (std::find(answer->trusted.begin(), answer->trusted.end(), new_tp) == answer->trusted.end()) {
          return FailedPrecondition("the Tentacle answered without " + new_tp + " in its trusted set");
        }
        return Status::Ok();
      },
      [&](const TargetRotationEntry& e) { return !only_missing || e.step.empty(); }, only_missing);
  if (!failed.ok()) return failed.status();
  OCTO_RETURN_IF_ERROR(Gate("trust", *failed));
  return Update([](Instance&, ServerRotationState& s) {
    if (s.stage == RotationStage::kPrepared) s.stage = RotationStage::kTrusted;
    return Status::Ok();
  });
}

Status ServerRotation::Switch() {
  if (state_.stage != RotationStage::kTrusted && state_.stage != RotationStage::kSwitching &&
      state_.stage != RotationStage::kSwitched) {
    return FailedPrecondition(std::string("the switch phase runs after trust; the rotation is ") +
                              (state_.Underway() ? std::string("at phase ") + RotationStageName(state_.stage)
                                                 : std::string("not under way")));
  }
  if (state_.stage == RotationStage::kTrusted) {
    // Targets added since the trust phase are asked now: the switch must
    // never cut one off.
    auto failed = AskFleet(
        "trust", "Trusted", "TrustThumbprint " + state_.new_thumbprint,
        "that did not trust it yet now trust " + state_.new_thumbprint,
        [&](const TentacleClient& c, const Target& t) -> Status {
          auto answer = AskTrustThumbprint(c, t, state_.new_thumbprint);
          return answer.ok() ? Status::Ok() : answer.status();
        },
        [](const TargetRotationEntry& e) { return e.step.empty(); }, true);
    if (!failed.ok()) return failed.status();
    OCTO_RETURN_IF_ERROR(Gate("trust", *failed));
  }
  OCTO_RETURN_IF_ERROR(Update([](Instance& inst, ServerRotationState& s) -> Status {
    auto switched = SwitchCertificate(inst, s.new_thumbprint);
    if (!switched.ok()) return switched.status();
    if (s.stage == RotationStage::kTrusted) s.stage = RotationStage::kSwitching;
    return Status::Ok();
  }));
  auto presented = server_.Reload();
  if (!presented.ok()) return presented.status().WithContext("the Octopus Server did not reload its certificate");
  if (*presented != state_.new_thumbprint) {
    return Internal("the Octopus Server presents " + *presented + " after the reload, not " + state_.new_thumbprint);
  }
  options_.say("Switch: the Octopus Server now presents " + state_.new_thumbprint + " (no restart).");
  auto results = server_.CheckAll();
  if (!results.ok()) return results.status();
  std::vector<std::string> failed;
  size_t healthy = 0;
  for (const auto& r : *results) {
    if (r.healthy) {
      ++healthy;
    } else {
      failed.push_back(r.name);
      options_.say("  " + r.name + " (" + r.address + "): " + r.reason);
    }
  }
  OCTO_RETURN_IF_ERROR(Update([&](Instance&, ServerRotationState& s) -> Status {
    for (const auto& r : *results) {
      TargetRotationEntry& e = s.targets[r.name];
      if (r.healthy) {
        e = {"Healthy", ""};
      } else {
        e.error = r.reason;
      }
    }
    return Status::Ok();
  }));
  options_.say("Switch: " + std::to_string(healthy) + " of " + Count(results->size(), "target is", "targets are") +
               " healthy with " + state_.new_thumbprint + ".");
  OCTO_RETURN_IF_ERROR(Gate("switch", failed));
  return Update([](Instance&, ServerRotationState& s) {
    s.stage = RotationStage::kSwitched;
    return Status::Ok();
  });
}

Status ServerRotation::Cleanup() {
  if (state_.stage != RotationStage::kSwitched) {
    return FailedPrecondition(std::string("the cleanup phase runs after a switch every target passed; the rotation is ") +
                              (state_.Underway() ? std::string("at phase ") + RotationStageName(state_.stage)
                                                 : std::string("not under way")));
  }
  const std::string old_tp = state_.old_thumbprint;
  auto failed = AskFleet(
      "cleanup", "CleanedUp", "RemoveTrust " + old_tp, "no longer trust " + old_tp,
      [&](const TentacleClient& c, const Target& t) -> Status {
        auto answer = AskRemoveTrust(c, t, old_tp);
        return answer.ok() ? Status::Ok() : answer.status();
      },
      [](const TargetRotationEntry& e) { return e.step != "CleanedUp"; }, false);
  if (!failed.ok()) return failed.status();
  OCTO_RETURN_IF_ERROR(Gate("cleanup", *failed));
  OCTO_RETURN_IF_ERROR(Update([&](Instance& inst, ServerRotationState& s) -> Status {
    // The old certificate stays at hand, outside the config, until the next
    // rotation: a PFX whose password is the Master Key (show-master-key).
    auto old = LoadCertificateSlot(inst, CertificateSlot::kPrevious);
    if (old.ok()) {
      auto key = inst.LoadKey();
      if (!key.ok()) return key.status();
      auto pfx = WritePfx(*old, Secret(Base64Encode(key->value())), PfxEncoding::kModern);
      if (!pfx.ok()) return pfx.status();
      auto home = inst.config().GetString(keys::kHome);
      const std::string home_dir = (home.ok() && !home->empty() ? *home : DirName(inst.config_path()));
      const std::string dir = JoinPath(home_dir, "Rotation");
      OCTO_RETURN_IF_ERROR(MakeDirectories(dir, 0700));
      const std::string path = JoinPath(dir, "OctopusServer-" + s.old_thumbprint + ".pfx");
      OCTO_RETURN_IF_ERROR(WriteFileAtomic(path, pfx->value(), 0600));
      s.exported_previous = path;
      auto discarded = DiscardCertificate(inst, CertificateSlot::kPrevious, s.old_thumbprint);
      if (!discarded.ok()) return discarded.status();
    } else if (old.status().code() != StatusCode::kNotFound) {
      return old.status();
    }
    s.stage = RotationStage::kCompleted;
    return Status::Ok();
  }));
  if (!state_.exported_previous.empty()) {
    options_.say("The old certificate is kept in " + state_.exported_previous +
                 " (its password is the Master Key) until the next rotation.");
  }
  return Status::Ok();
}

Status ServerRotation::Rollback() {
  if (state_.stage == RotationStage::kCompleted) {
    return FailedPrecondition("the rotation to " + state_.new_thumbprint +
                              " is complete; it cannot be rolled back (rotate again to change the certificate)");
  }
  if (!state_.Underway()) return FailedPrecondition("there is no rotation under way to roll back");
  const std::string old_tp = state_.old_thumbprint;
  if (std::any_of(state_.targets.begin(), state_.targets.end(),
                  [](const auto& e) { return e.second.step == "CleanedUp"; })) {
    // A cleanup cut short: those Tentacles no longer trust the old
    // certificate. They trust it again, asked with the new one, before the
    // Server presents the old one, or the rollback would cut them off.
    auto failed = AskFleet(
        "rollback", "TrustRestored", "TrustThumbprint " + old_tp, "trust " + old_tp + " again",
        [&](const TentacleClient& c, const Target& t) -> Status {
          auto answer = AskTrustThumbprint(c, t, old_tp);
          return answer.ok() ? Status::Ok() : answer.status();
        },
        [](const TargetRotationEntry& e) { return e.step == "CleanedUp"; }, true);
    if (!failed.ok()) return failed.status();
    OCTO_RETURN_IF_ERROR(Gate("rollback", *failed));
  }
  OCTO_RETURN_IF_ERROR(Update([](Instance& inst, ServerRotationState& s) -> Status {
    if (s.stage != RotationStage::kRollingBack) {
      s.rolled_back_from = RotationStageName(s.stage);
      s.stage = RotationStage::kRollingBack;
    }
    if (inst.StoredThumbprint() == s.new_thumbprint) {
      auto switched = SwitchCertificate(inst, s.old_thumbprint);
      if (!switched.ok()) return switched.status();
    }
    return Status::Ok();
  }));
  auto presented = server_.Reload();
  if (!presented.ok()) return presented.status().WithContext("the Octopus Server did not reload its certificate");
  if (*presented != state_.old_thumbprint) {
    return Internal("the Octopus Server presents " + *presented + " after the reload, not " + state_.old_thumbprint);
  }
  options_.say("Rollback: the Octopus Server presents " + state_.old_thumbprint + ".");
  const std::string new_tp = state_.new_thumbprint;
  // A Tentacle never asked to trust the new thumbprint has nothing to drop;
  // one asked (even if its answer was lost) is asked to drop it.
  auto failed = AskFleet(
      "rollback", "RolledBack", "RemoveTrust " + new_tp, "no longer trust " + new_tp,
      [&](const TentacleClient& c, const Target& t) -> Status {
        auto answer = AskRemoveTrust(c, t, new_tp);
        return answer.ok() ? Status::Ok() : answer.status();
      },
      [](const TargetRotationEntry& e) { return (!e.step.empty() || !e.error.empty()) && e.step != "RolledBack"; },
      true);
  if (!failed.ok()) return failed.status();
  OCTO_RETURN_IF_ERROR(Gate("rollback", *failed));
  OCTO_RETURN_IF_ERROR(Update([](Instance& inst, ServerRotationState& s) -> Status {
    for (CertificateSlot slot : {CertificateSlot::kStaged, CertificateSlot::kPrevious}) {
      auto discarded = DiscardCertificate(inst, slot, s.new_thumbprint);
      if (!discarded.ok() && discarded.status().code() != StatusCode::kFailedPrecondition) return discarded.status();
    }
    s.stage = RotationStage::kRolledBack;
    return Status::Ok();
  }));
  options_.say("Rollback: the rotation to " + new_tp + " is undone.");
  return Status::Ok();
}

}  // namespace octo
