// Octopus.Server new-certificate: --export-pfx writes a new certificate to a
// file and changes nothing else (step 2 of the rotation); --replace swaps a
// new certificate in at once.
#include <iostream>
#include <memory>

#include "common/base/file_util.h"
#include "frontend/certificate_io.h"
#include "frontend/common_commands.h"
#include "frontend/password.h"
#include "server/commands.h"

namespace octo::server {
namespace {

struct NewCertificateOptions {
  cli::InstanceOptions instance;
  std::optional<std::string> export_pfx;
  std::optional<std::string> export_file;  // older docs: unprotected base64 text
  bool replace = false;
  std::string type;
  cli::PasswordOptions password;
  PfxEncoding encoding = PfxEncoding::kModern;
};

int Run(const NewCertificateOptions& o) {
  if (!o.export_pfx && !o.export_file && !o.replace) {
    return cli::UsageError("new-certificate needs --export-pfx FILE (write the new certificate to a file) or "
                           "--replace (install it at once)");
  }
  if (o.export_pfx && o.export_file) {
    return cli::UsageError("Invalid command: --export-file and --export-pfx cannot be specified together");
  }
  auto pw = cli::ResolveExportPassword(o.export_pfx.has_value(), o.password);
  if (!pw.ok()) return cli::UsageError(pw.status().message());
  std::cout << cli::kCheckingMasterKey << std::endl;
  auto inst = cli::OpenInstanceForUpdate(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  auto key = inst->LoadKey();  // the Master Key must be there, as the real Server checks
  if (!key.ok()) return cli::Fail(key.status());
  std::cout << "Generating certificate..." << std::endl;
  auto id = GenerateIdentity(kServerCommonName);
  if (!id.ok()) return cli::Fail(id.status());
  // Write first, print after: a thumbprint is shown only for a certificate that was kept.
  if (o.export_pfx) {
    if (Status st = cli::WritePfxFile(AbsolutePath(*o.export_pfx), *id, *pw, o.encoding); !st.ok()) {
      return cli::Fail(st);
    }
  }
  if (o.export_file) {
    if (Status st = cli::WriteBase64PfxFile(AbsolutePath(*o.export_file), *id); !st.ok()) return cli::Fail(st);
  }
  const std::string old_tp = inst->StoredThumbprint();
  if (o.replace) {
    if (Status st = inst->SetIdentity(*id); !st.ok()) return cli::Fail(st);
    if (Status st = inst->Save(); !st.ok()) return cli::Fail(st);
  }
  // Each thumbprint on its own line, as the real Server prints them.
  std::cout << "The Octopus Server currently uses a certificate with thumbprint:" << std::endl << old_tp << std::endl;
  std::cout << "A new certificate has been generated with thumbprint:" << std::endl
            << Thumbprint(id->certificate.get()) << std::endl;
  if (o.export_pfx) std::cout << "The new certificate has been written to " << *o.export_pfx << "." << std::endl;
  if (o.export_file) std::cout << "The new certificate has been written to " << *o.export_file << "." << std::endl;
  if (o.replace) {
    std::cout << "The new certificate has been installed." << std::endl;
    std::cout << "These changes require a restart of the Octopus Server." << std::endl;
  }
  return cli::kExitOk;
}

}  // namespace

void SetupNewCertificate(cli::CommandTable& table) {
  auto o = std::make_shared<NewCertificateOptions>();
  table.Add(
      "new-certificate", "Generates a new certificate: to a file, or replacing the current one",
      [o] { return Run(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
        sub->add_option("--export-pfx", o->export_pfx,
                        "Write the new certificate to this PFX file; change nothing else");
        sub->add_option(
            "-e,--export-file", o->export_file,
            "Deprecated: write the new certificate to this file as unprotected base64 text");
        sub->add_flag("--replace", o->replace,
                      "Install the new certificate now (the old one is discarded)");
        cli::AddCertificateTypeOption(sub, &o->type);
        cli::AddPasswordOptions(sub, &o->password);
        cli::AddPfxEncodingOption(sub, &o->encoding);
      });
}

}  // namespace octo::server
