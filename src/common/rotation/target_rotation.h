// Rotation of a Tentacle's own certificate, driven by its Octopus Server
// (`Octopus.Server rotate-target-certificate`, docs/rotation-guide.md), with
// an overlap so that no health check fails:
//
//   1. ask the Tentacle what it presents (GetCertificateStatus)
//   2. it stages a new certificate (StageCertificate); its key never leaves it
//   3. the target pins {old, new}
//   4. it presents the new one (SwitchCertificate)
//   5. a check pinning only the new one must pass
//   6. the target pins only the new one
//   7. it discards the old one (DiscardCertificate Previous)
//
// A failure leaves the target consistent: before the switch, the staged
// certificate is discarded and the new pin removed; after a switch whose
// check failed, the Tentacle is switched back first. When the Tentacle
// cannot be reached to undo a step, both pins stay, so whichever it
// presents is accepted. A run that was killed is resumed by the next one:
// step 1 finds a staged certificate (resume at 3), or one switched to
// while the target still pins the previous one (resume at 5).
#pragma once

#include <string>

#include "common/channel/health_check.h"
#include "common/channel/tentacle_client.h"
#include "common/config/target_store.h"

namespace octo {

struct TargetRotationResult {
  std::string name;
  std::string address;
  bool rotated = false;
  std::string old_thumbprint;  // what it presented before ("" when not reached)
  std::string new_thumbprint;  // what it presents now when rotated ("" when nothing was staged)
  // When not rotated: the step that failed ("status", "stage", "pin",
  // "switch", "check", "unpin") and why, and what the target is left with.
  std::string failed_step;
  std::string error;
  std::string left;  // e.g. "it presents and is pinned to OLD"
  // When rotated but the old certificate could not be discarded on the
  // Tentacle (step 7): why. The target is rotated all the same.
  std::string warning;
  double elapsed_ms = 0;
};

// Rotates `target`'s certificate. `client` presents the Server's current
// certificate; `targets` is the Server's target store (pins are changed
// through it, under the config lock). Never throws.
TargetRotationResult RotateTargetCertificate(const TentacleClient& client, TargetStore& targets, const Target& target);

}  // namespace octo
