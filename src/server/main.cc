// Octopus.Server: the library plus a table of commands.
#include "frontend/common_commands.h"
#include "frontend/service_command.h"
#include "frontend/show_configuration.h"
#include "server/commands.h"

int main(int argc, char** argv) {
  CLI::App app("Octopus.Server: certificate and trust commands of the Octopus Server", "Octopus.Server");
  octo::cli::CommandTable table(&app, octo::Product::kServer);
  octo::cli::SetupCreateInstance(table);
  octo::cli::SetupDeleteInstance(table);
  octo::cli::SetupListInstances(table);
  octo::server::SetupNewCertificate(table);
  octo::cli::SetupExportCertificate(table);
  octo::server::SetupImportCertificate(table);
  octo::cli::SetupShowThumbprint(table);
  octo::server::SetupShowMasterKey(table);
  octo::server::SetupConfigure(table);
  octo::cli::SetupShowConfiguration(table);
  octo::server::SetupTargets(table);
  octo::server::SetupHealthCheck(table);
  octo::server::SetupRotateCertificate(table);
  octo::server::SetupRotateTargetCertificate(table);
  octo::server::SetupAudit(table);
  octo::server::SetupRun(table);
  octo::cli::SetupService(table);
  octo::cli::SetupVersion(table);
  return table.Run(argc, argv);
}
