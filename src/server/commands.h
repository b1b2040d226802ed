// Octopus.Server's own commands (the shared ones are in frontend/).
#pragma once

#include "frontend/cli.h"

namespace octo::server {

void SetupNewCertificate(cli::CommandTable& table);
void SetupImportCertificate(cli::CommandTable& table);
void SetupShowMasterKey(cli::CommandTable& table);
void SetupRun(cli::CommandTable& table);
void SetupHealthCheck(cli::CommandTable& table);
void SetupAudit(cli::CommandTable& table);
void SetupTargets(cli::CommandTable& table);
void SetupConfigure(cli::CommandTable& table);
void SetupRotateCertificate(cli::CommandTable& table);
void SetupRotateTargetCertificate(cli::CommandTable& table);

}  // namespace octo::server
