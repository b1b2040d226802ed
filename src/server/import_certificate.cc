// Octopus.Server import-certificate: replaces the certificate with one from a
// PFX file (step 4 of the rotation). Takes effect when the service restarts.
#include <iostream>
#include <memory>

#include "common/base/file_util.h"
#include "frontend/certificate_io.h"
#include "frontend/common_commands.h"
#include "frontend/password.h"
#include "server/commands.h"

namespace octo::server {
namespace {

struct ImportOptions {
  cli::InstanceOptions instance;
  std::string file;
  cli::PasswordOptions password;
  std::string type;
};

int Run(const ImportOptions& o) {
  auto pw = cli::ResolvePassword(o.password, cli::PasswordNeed::kOptional);
  if (!pw.ok()) return cli::UsageError(pw.status().message());
  std::cout << "Importing the certificate stored in PFX file in " << o.file
            << (pw->empty() ? " without a password..." : " using the provided password...") << std::endl;
  std::cout << cli::kCheckingMasterKey << std::endl;
  auto inst = cli::OpenInstanceForUpdate(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  auto key = inst->LoadKey();
  if (!key.ok()) return cli::Fail(key.status());
  auto read = cli::ReadPfxFile(AbsolutePath(o.file), *pw);
  if (!read.ok() && read.status().code() == StatusCode::kWrongPassword && !cli::PasswordGiven(o.password)) {
    if (auto typed = cli::PromptPassword("PFX password: ")) read = cli::ReadPfxFile(AbsolutePath(o.file), *typed);
  }
  if (!read.ok()) return cli::Fail(read.status());
  cli::PrintWarnings(read->warnings);
  X509* cert = read->identity.certificate.get();
  const std::string old_tp = inst->StoredThumbprint();
  const std::string new_tp = Thumbprint(cert);
  if (old_tp == new_tp) {  // nothing to change: say what is true
    std::cout << "The certificate " << Describe(cert).subject << " with thumbprint " << new_tp
              << " is already the Octopus Server's certificate; nothing was changed." << std::endl;
    return cli::kExitOk;
  }
  if (Status st = inst->SetIdentity(read->identity); !st.ok()) return cli::Fail(st);
  if (Status st = inst->Save(); !st.ok()) return cli::Fail(st);
  std::cout << "The certificate " << Describe(cert).subject << " was updated; old thumbprint = " << old_tp
            << ", new thumbprint = " << new_tp << std::endl;
  std::cout << "Certificate imported successfully." << std::endl;
  std::cout << "These changes require a restart of the Octopus Server." << std::endl;
  return cli::kExitOk;
}

}  // namespace

void SetupImportCertificate(cli::CommandTable& table) {
  auto o = std::make_shared<ImportOptions>();
  table.Add(
      "import-certificate", "Replaces the certificate with one from a PFX file",
      [o] { return Run(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
        sub->add_option("-f,--from-file", o->file, "The PFX file (binary, or base64 text of one)")
            ->required();
        cli::AddPasswordOptions(sub, &o->password);
        cli::AddCertificateTypeOption(sub, &o->type);
      });
}

}  // namespace octo::server
