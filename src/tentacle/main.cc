// Tentacle: the library plus a table of commands.
#include "frontend/common_commands.h"
#include "frontend/service_command.h"
#include "frontend/show_configuration.h"
#include "tentacle/commands.h"

int main(int argc, char** argv) {
  CLI::App app("Tentacle: certificate and trust commands of the Octopus Tentacle", "Tentacle");
  octo::cli::CommandTable table(&app, octo::Product::kTentacle);
  octo::cli::SetupCreateInstance(table);
  octo::cli::SetupDeleteInstance(table);
  octo::cli::SetupListInstances(table);
  octo::tentacle::SetupNewCertificate(table);
  octo::tentacle::SetupImportCertificate(table);
  octo::cli::SetupExportCertificate(table);
  octo::cli::SetupShowThumbprint(table);
  octo::tentacle::SetupConfigure(table);
  octo::tentacle::SetupUpdateTrust(table);
  octo::tentacle::SetupServerComms(table);
  octo::tentacle::SetupPollServer(table);
  octo::tentacle::SetupSetPollingConnectionCount(table);
  octo::cli::SetupShowConfiguration(table);
  octo::tentacle::SetupAgent(table);
  octo::cli::SetupService(table);
  octo::cli::SetupVersion(table);
  return table.Run(argc, argv);
}
