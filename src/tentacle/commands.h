// Tentacle's own commands (the shared ones are in frontend/).
#pragma once

#include "frontend/cli.h"

namespace octo::tentacle {

void SetupNewCertificate(cli::CommandTable& table);
void SetupImportCertificate(cli::CommandTable& table);
void SetupConfigure(cli::CommandTable& table);
void SetupUpdateTrust(cli::CommandTable& table);
void SetupServerComms(cli::CommandTable& table);
void SetupPollServer(cli::CommandTable& table);
void SetupSetPollingConnectionCount(cli::CommandTable& table);
void SetupAgent(cli::CommandTable& table);

inline constexpr char kRestartNeeded[] = "These changes require a restart of the Tentacle.";
// Printed instead when the running agent confirmed it applied the new trust.
inline constexpr char kAppliedLive[] = "The running Tentacle applied the trust changes; no restart is needed.";

// --pollingConnectionCount, on configure and set-polling-connection-count.
inline constexpr char kPollingConnectionCountHelp[] =
    "The number of polling connections this Tentacle should open to each Octopus Server it polls (1 or more). "
    "Only applies to polling Tentacles.";

}  // namespace octo::tentacle
