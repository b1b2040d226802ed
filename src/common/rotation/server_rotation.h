// Rotation of the Octopus Server's own certificate across its fleet
// (`Octopus.Server rotate-certificate`, docs/rotation-guide.md), in phases
// with an overlap, as Teleport rotates its CA:
//
//   prepare   a new certificate is made and kept staged (sealed with the
//             Master Key) in the Server's instance; nothing is sent
//   trust     every target's Tentacle is asked to trust the new thumbprint
//             (TrustThumbprint, presenting the old certificate)
//   switch    the stored certificate becomes the new one, the running
//             Server reloads it (no restart), and every target is
//             health-checked through it
//   cleanup   every Tentacle stops trusting the old thumbprint (RemoveTrust,
//             presenting the new one); the old certificate is exported to
//             the instance's home, sealed with the Master Key as its
//             password, until the next rotation
//   rollback  from any phase before cleanup: the Server presents the old
//             certificate again and every Tentacle drops the new thumbprint
//
// The state is one config value, "Octopus.Server.CertificateRotation",
// changed under the config's lock and saved atomically after each step, so
// a command (or the Server) killed at any moment leaves something the next
// run resumes or rolls back: every step is idempotent. A phase that does
// not reach every target stops with FailedPrecondition naming each one (the
// next run resumes there), unless `allow_unreachable`.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/json.h"
#include "common/base/status.h"
#include "common/channel/health_check.h"
#include "common/channel/tentacle_client.h"
#include "common/config/instance.h"

namespace octo {

inline constexpr char kCertificateRotationKey[] = "Octopus.Server.CertificateRotation";

enum class RotationPhase { kPrepare, kTrust, kSwitch, kCleanup, kRollback };
const char* RotationPhaseName(RotationPhase phase);  // "prepare", ...
std::optional<RotationPhase> RotationPhaseFromName(const std::string& name);

// Where a rotation stands: the last step that completed.
enum class RotationStage {
  kNone,         // no rotation has been started
  kPrepared,     // the new certificate is staged
  kTrusted,      // every target's Tentacle trusts it (or was let pass)
  kSwitching,    // the Server's stored certificate is the new one; checks not all passed yet
  kSwitched,     // every target is healthy with the new certificate (or was let pass)
  kCompleted,    // the old thumbprint is no longer trusted; nothing to undo
  kRollingBack,  // a rollback has begun
  kRolledBack,   // the rollback is complete
};
const char* RotationStageName(RotationStage stage);  // "Prepared", ...

// One target's part in the rotation.
struct TargetRotationEntry {
  std::string step;   // the last phase that succeeded for it: "Trusted", "Healthy", "CleanedUp", "RolledBack" ("" none)
  std::string error;  // why the last attempt failed ("" when it did not)
};

struct ServerRotationState {
  RotationStage stage = RotationStage::kNone;
  std::string old_thumbprint;
  std::string new_thumbprint;
  std::string started_at;
  std::string updated_at;
  std::string rolled_back_from;   // the stage a rollback started from
  std::string exported_previous;  // after cleanup: the PFX of the old certificate
  std::map<std::string, TargetRotationEntry> targets;

  bool Underway() const;  // started, and neither completed nor rolled back
  Json ToJson() const;
  static Result<ServerRotationState> FromJson(const Json& j);
};

// The rotation state stored in the Server's config (kNone when absent).
Result<ServerRotationState> ReadRotationState(const Instance& instance);

// What the running Octopus Server does for a rotation (its control socket).
class RunningServer {
 public:
  virtual ~RunningServer() = default;
  // Presents the stored certificate from now on; answers its thumbprint.
  virtual Result<std::string> Reload() = 0;
  // Health-checks every target now.
  virtual Result<std::vector<HealthResult>> CheckAll() = 0;
  // Writes `lines` into the Server's log (best effort: a record, not a step).
  virtual void Log(const std::vector<std::string>& lines) = 0;
};

struct ServerRotationOptions {
  bool allow_unreachable = false;
  HealthCheckOptions calls;  // each call's bound, and how many run at once
  PollingRelay relay;        // how polling targets are reached (through the running Server)
  // Listening targets too, while the running Server presents the same
  // certificate as the phase (TentacleClient::relay_listening).
  bool relay_listening = false;
  // Opens the Server's instance (kUpdate: with its config lock).
  std::function<Result<Instance>(Instance::Access)> open;
  // Receives each line of progress as it happens.
  std::function<void(const std::string&)> say;
  // Receives each warning (a phase let pass without some targets).
  std::function<void(const std::string&)> warn;
  // Called after each save of the state (optional): the tests' failpoint
  // for killing the command at a chosen step.
  std::function<void(const ServerRotationState&)> saved;
};

class ServerRotation {
 public:
  ServerRotation(ServerRotationOptions options, RunningServer& server);

  // Runs one phase, or, without one, every phase from where the stored
  // state stands to the end. FailedPrecondition when a phase cannot run
  // from there or did not reach every target (its lines said which).
  Status Run(std::optional<RotationPhase> only);

 private:
  Status Prepare();
  Status Trust(bool only_missing);
  Status Switch();
  Status Cleanup();
  Status Rollback();

  // Asks the targets whose entry `want` accepts `ask`, presenting the
  // current certificate, `calls.parallelism` at once; records each success
  // as `step` (a failure's reason as the entry's error), prints a line per
  // failure and "Phase: K of N Tentacles <done>." (not when `only_some`
  // chose none), and returns the names that failed.
  using Ask = std::function<Status(const TentacleClient&, const Target&)>;
  // `call` names the request in the Server's log ("TrustThumbprint T").
  Result<std::vector<std::string>> AskFleet(const char* phase, const std::string& step, const std::string& call,
                                            const std::string& done, const Ask& ask,
                                            const std::function<bool(const TargetRotationEntry&)>& want, bool only_some);
  // Re-reads the state under the config lock, lets `fn` change it (and the
  // instance), saves both. The state `fn` saw is kept in `state_`.
  Status Update(const std::function<Status(Instance&, ServerRotationState&)>& fn);
  Status Gate(const char* phase, const std::vector<std::string>& failed);
  Status Load();

  ServerRotationOptions options_;
  RunningServer& server_;
  ServerRotationState state_;
};

}  // namespace octo
