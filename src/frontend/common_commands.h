// Commands that both executables have, with their product's wording:
// create-instance, delete-instance, list-instances, show-thumbprint,
// export-certificate and version.
#pragma once

#include "frontend/cli.h"

namespace octo::cli {

void SetupCreateInstance(CommandTable& table);
void SetupDeleteInstance(CommandTable& table);
void SetupListInstances(CommandTable& table);
void SetupShowThumbprint(CommandTable& table);
void SetupExportCertificate(CommandTable& table);
void SetupVersion(CommandTable& table);

// The Server's first line for every certificate command.
inline constexpr char kCheckingMasterKey[] = "Checking the Octopus Master Key has been configured.";

// --type tentacle|grpc of the Server's certificate commands (Octopus Server
// 2025.4): "tentacle" (the default) is the certificate this project manages;
// "grpc" is refused with one line, as there is no gRPC certificate here.
void AddCertificateTypeOption(CLI::App* sub, std::string* type);

// JSON description of a certificate with the real products' PascalCase keys.
Json CertificateJson(X509* cert);

}  // namespace octo::cli
