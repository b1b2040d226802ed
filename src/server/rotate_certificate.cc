// Octopus.Server rotate-certificate: the Server's own certificate, rotated
// across its fleet in phases by the running Server (rotation/server_rotation.h).
#ifndef _WIN32
#include <signal.h>
#include <unistd.h>
#endif

#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>

#include "common/channel/channel.h"
#include "common/channel/control.h"
#include "common/config/target_store.h"
#include "common/rotation/server_rotation.h"
#include "frontend/common_commands.h"
#include "frontend/service_command.h"
#include "server/commands.h"
#include "server/controlled_server.h"

namespace octo::server {
namespace {

struct RotateOptions {
  cli::InstanceOptions instance;
  std::string phase;
  bool allow_unreachable = false;
  bool status = false;
  std::string format;
  size_t parallel = 32;
  int timeout_seconds = 30;
};

// The failpoint of the tests (docs/design.md, "Testing"): with
// OCTOPUS_FAILPOINT_ROTATION_KILL_AFTER=Stage#N the command kills itself
// (SIGKILL) right after the Nth save of a state at that stage, to prove that
// a command killed there resumes or rolls back.
std::function<void(const ServerRotationState&)> KillFailpoint() {
  const char* spec = std::getenv("OCTOPUS_FAILPOINT_ROTATION_KILL_AFTER");
  if (spec == nullptr || *spec == '\0') return nullptr;
  std::string stage = spec;
  int nth = 1;
  if (auto hash = stage.find('#'); hash != std::string::npos) {
    nth = std::atoi(stage.c_str() + hash + 1);
    stage.resize(hash);
  }
  auto seen = std::make_shared<int>(0);
  return [stage, nth, seen](const ServerRotationState& s) {
    if (stage == RotationStageName(s.stage) && ++*seen == nth) {
      std::cout.flush();
#ifdef _WIN32
      std::_Exit(137);  // as abrupt: no destructor, no flush, no lock released by us
#else
      ::kill(::getpid(), SIGKILL);
#endif
    }
  };
}

// rotate-certificate --status: the stored state, and each target's part.
int ShowStatus(const RotateOptions& o) {
  auto inst = cli::OpenInstance(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  auto state = ReadRotationState(*inst);
  if (!state.ok()) return cli::Fail(state.status());
  auto store = TargetStore::Open(inst->config_path());
  if (!store.ok()) return cli::Fail(store.status());
  const std::optional<std::string> presented = cli::RunningThumbprint(*inst);
  Json targets = Json::array();
  for (const auto& t : (*store)->Current()->targets) {
    auto e = state->targets.find(t.name);
    Json entry{{"Name", t.name}, {"Address", t.address}};
    entry["Step"] = e == state->targets.end() ? "" : e->second.step;
    entry["Error"] = e == state->targets.end() ? "" : e->second.error;
    targets.push_back(entry);
  }
  if (o.format == "json") {
    Json out = state->ToJson();
    out["Underway"] = state->Underway();
    out["StoredThumbprint"] = inst->StoredThumbprint();
    out["Presented"] = presented ? Json(*presented) : Json(nullptr);
    out["Targets"] = targets;
    std::cout << out.dump(2) << std::endl;
    return cli::kExitOk;
  }
  if (state->stage == RotationStage::kNone) {
    std::cout << "No rotation of the Octopus Server's certificate has been started." << std::endl;
  } else {
    std::cout << "Rotation of the Octopus Server's certificate: " << RotationStageName(state->stage)
              << (state->Underway() ? "" : " (not under way)") << ", started " << state->started_at << ", updated "
              << state->updated_at << std::endl;
    std::cout << "  Old thumbprint: " << state->old_thumbprint << std::endl;
    std::cout << "  New thumbprint: " << state->new_thumbprint << std::endl;
  }
  std::cout << "  Stored:         " << inst->StoredThumbprint() << std::endl;
  std::cout << "  Presented:      " << (presented ? *presented : "(the Octopus Server service is not running)")
            << std::endl;
  if (!state->exported_previous.empty()) {
    std::cout << "  Old certificate kept in " << state->exported_previous << std::endl;
  }
  if (state->stage == RotationStage::kNone) return cli::kExitOk;
  for (const auto& t : targets) {
    std::string step = t["Step"];
    std::string error = t["Error"];
    std::cout << "  " << t["Name"].get<std::string>() << " (" << t["Address"].get<std::string>()
              << "): " << (step.empty() ? "not done" : step) << (error.empty() ? "" : "; last attempt: " + error)
              << std::endl;
  }
  return cli::kExitOk;
}

int Rotate(const RotateOptions& o) {
  std::optional<RotationPhase> phase;
  if (!o.phase.empty()) {
    phase = RotationPhaseFromName(o.phase);
    if (!phase) {
      return cli::UsageError("--phase: '" + o.phase + "' is not one of prepare, trust, switch, cleanup, rollback");
    }
  }
  if (o.status) {
    if (phase || o.allow_unreachable) return cli::UsageError("--status shows the rotation; give it alone");
    return ShowStatus(o);
  }
  if (o.format == "json") return cli::UsageError("--format json goes with --status");
  auto inst = cli::OpenInstance(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  if (!cli::ServiceRunning(*inst)) return cli::ServerNotRunning(*inst);
  // One rotation at a time; the config's own lock is taken for each step.
  auto lock = LockRotation(*inst);
  if (!lock.ok()) return cli::Fail(lock.status());
  ControlledServer server(cli::PathsFor(*inst).socket, "rotate-certificate");
  ServerRotationOptions options;
  options.allow_unreachable = o.allow_unreachable;
  options.calls.parallelism = o.parallel;
  options.calls.timeout = std::chrono::seconds(o.timeout_seconds);
  // The phases ask each Tentacle several things: over one connection each
  // (a new one when the certificate this command presents changes).
  options.calls.pool = std::make_shared<ConnectionPool>();
  options.relay = ControlSocketRelay(cli::PathsFor(*inst).socket);
  // While the Server runs, its kept connections carry the phases' requests.
  options.relay_listening = true;
  options.open = [instance = o.instance](Instance::Access access) {
    return access == Instance::Access::kUpdate ? cli::OpenInstanceForUpdate(Product::kServer, instance)
                                               : cli::OpenInstance(Product::kServer, instance);
  };
  options.say = [](const std::string& line) { std::cout << line << std::endl; };
  options.warn = [](const std::string& line) { cli::Warn(line); };
  options.saved = KillFailpoint();
  ServerRotation rotation(std::move(options), server);
  if (Status st = rotation.Run(phase); !st.ok()) return cli::Fail(st);
  if (phase) return cli::kExitOk;
  // Targets let pass with --allow-unreachable were not cleaned up: say so.
  auto after = cli::OpenInstance(Product::kServer, o.instance);
  if (!after.ok()) return cli::Fail(after.status());
  auto state = ReadRotationState(*after);
  auto store = TargetStore::Open(after->config_path());
  if (!state.ok() || !store.ok()) return cli::Fail(!state.ok() ? state.status() : store.status());
  std::string passed_over;
  for (const auto& t : (*store)->Current()->targets) {
    auto e = state->targets.find(t.name);
    if (e == state->targets.end() || e->second.step != "CleanedUp") passed_over += (passed_over.empty() ? "" : ", ") + t.name;
  }
  if (passed_over.empty()) {
    std::cout << "The Octopus Server's certificate has been rotated; every Tentacle trusts only the new one." << std::endl;
  } else {
    std::cout << "The Octopus Server's certificate has been rotated, except on targets let pass: " << passed_over
              << " (see rotate-certificate --status; on each, Tentacle configure --trust " << state->new_thumbprint
              << " and --remove-trust " << state->old_thumbprint << ")." << std::endl;
  }
  return cli::kExitOk;
}

}  // namespace

void SetupRotateCertificate(cli::CommandTable& table) {
  auto o = std::make_shared<RotateOptions>();
  table.Add(
      "rotate-certificate",
      "Rotates the Octopus Server's certificate across every Tentacle with no restart and no "
      "failed health check "
      "(phases prepare, trust, switch, cleanup; resumable; --phase rollback undoes it). The "
      "service must be running",
      [o] { return Rotate(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
        sub->add_option("--phase", o->phase,
                        "Run only this phase: prepare, trust, switch, cleanup or rollback");
        sub->add_flag("--allow-unreachable", o->allow_unreachable,
                      "Let a phase pass when some targets cannot be reached (they are named)");
        sub->add_flag("--status", o->status,
                      "Show the rotation's phase and each target's state, and change nothing");
        cli::AddFormatOption(sub, &o->format);
        sub->add_option("--parallel", o->parallel, "Tentacles asked at once (default 32)")
            ->check(CLI::Range(1, 1024));
        sub->add_option("--timeout", o->timeout_seconds,
                        "Seconds each Tentacle has to answer (default 30)")
            ->check(CLI::Range(1, 3600));
      });
}

}  // namespace octo::server
