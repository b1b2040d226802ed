// Tentacle new-certificate and import-certificate.
#include <iostream>
#include <memory>

#include "common/base/file_util.h"
#include "frontend/certificate_io.h"
#include "frontend/password.h"
#include "tentacle/commands.h"

namespace octo::tentacle {
namespace {

struct NewCertificateOptions {
  cli::InstanceOptions instance;
  bool if_blank = false;
  std::optional<std::string> export_pfx;
  std::optional<std::string> export_file;  // deprecated: unprotected base64 text
  cli::PasswordOptions password;
  PfxEncoding encoding = PfxEncoding::kModern;
};

int RunNewCertificate(const NewCertificateOptions& o) {
  // The real command's checks and texts (Commands/NewCertificateCommand.cs).
  if (o.if_blank && o.export_file) {
    return cli::UsageError("Invalid command: --if-blank and --export-file cannot be specified together");
  }
  if (o.if_blank && o.export_pfx) {
    return cli::UsageError("Invalid command: --if-blank and --export-pfx cannot be specified together");
  }
  if (o.export_file && o.export_pfx) {
    return cli::UsageError("Invalid command: --export-file and --export-pfx cannot be specified together");
  }
  auto pw = cli::ResolveExportPassword(o.export_pfx.has_value(), o.password);
  if (!pw.ok()) return cli::UsageError(pw.status().message());
  if (o.export_pfx || o.export_file) {
    // Written to the file only: the instance is not touched.
    auto id = GenerateIdentity(kTentacleCommonName);
    if (!id.ok()) return cli::Fail(id.status());
    const std::string& file = o.export_pfx ? *o.export_pfx : *o.export_file;
    Status st = o.export_pfx ? cli::WritePfxFile(AbsolutePath(file), *id, *pw, o.encoding)
                             : cli::WriteBase64PfxFile(AbsolutePath(file), *id);
    if (!st.ok()) return cli::Fail(st);
    std::cout << "A new certificate has been generated and written to " << file << ". Thumbprint:" << std::endl;
    std::cout << Thumbprint(id->certificate.get()) << std::endl;
    return cli::kExitOk;
  }
  auto inst = cli::OpenInstanceForUpdate(Product::kTentacle, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  if (o.if_blank && inst->HasCertificate()) {
    std::cout << "A certificate already exists, no changes will be applied." << std::endl;
    return cli::kExitOk;
  }
  auto key = inst->LoadKey();  // fail before the slow part if the key is missing
  if (!key.ok()) return cli::Fail(key.status());
  auto id = GenerateIdentity(kTentacleCommonName);
  if (!id.ok()) return cli::Fail(id.status());
  if (Status st = inst->SetIdentity(*id); !st.ok()) return cli::Fail(st);
  if (Status st = inst->Save(); !st.ok()) return cli::Fail(st);
  std::cout << "A new certificate has been generated and installed. Thumbprint:" << std::endl;
  std::cout << Thumbprint(id->certificate.get()) << std::endl;
  std::cout << kRestartNeeded << std::endl;
  return cli::kExitOk;
}

struct ImportOptions {
  cli::InstanceOptions instance;
  std::optional<std::string> file;
  std::optional<std::string> base64;
  cli::PasswordOptions password;
};

int RunImportCertificate(const ImportOptions& o) {
  if (o.file.has_value() == o.base64.has_value()) {
    return cli::UsageError("give the certificate with exactly one of --from-file FILE or --from-base64 TEXT");
  }
  auto pw = cli::ResolvePassword(o.password, cli::PasswordNeed::kOptional);
  if (!pw.ok()) return cli::UsageError(pw.status().message());
  auto inst = cli::OpenInstanceForUpdate(Product::kTentacle, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  auto key = inst->LoadKey();
  if (!key.ok()) return cli::Fail(key.status());
  if (o.file && !FileExists(AbsolutePath(*o.file))) {
    return cli::Fail(NotFound("Certificate '" + *o.file + "' was not found."));
  }
  auto read_once = [&](const Secret& password) -> Result<PfxReadResult> {
    if (o.file) return cli::ReadPfxFile(AbsolutePath(*o.file), password);
    auto r = ReadPfx(*o.base64, password);
    if (!r.ok()) return r.status().WithContext("cannot import the base64 certificate");
    return r;
  };
  auto read = read_once(*pw);
  if (!read.ok() && read.status().code() == StatusCode::kWrongPassword && !cli::PasswordGiven(o.password)) {
    if (auto typed = cli::PromptPassword("PFX password: ")) read = read_once(*typed);
  }
  if (!read.ok()) return cli::Fail(read.status());
  cli::PrintWarnings(read->warnings);
  if (Status st = inst->SetIdentity(read->identity); !st.ok()) return cli::Fail(st);
  if (Status st = inst->Save(); !st.ok()) return cli::Fail(st);
  std::cout << "Certificate with thumbprint " << Thumbprint(read->identity.certificate.get())
            << " imported successfully." << std::endl;
  std::cout << kRestartNeeded << std::endl;
  return cli::kExitOk;
}

}  // namespace

void SetupNewCertificate(cli::CommandTable& table) {
  auto o = std::make_shared<NewCertificateOptions>();
  table.Add(
      "new-certificate", "Generates and installs a new certificate for this Tentacle",
      [o] { return RunNewCertificate(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kTentacle);
        sub->add_flag("-b,--if-blank", o->if_blank,
                      "Only generate a certificate if the Tentacle has none");
        sub->add_option("--export-pfx", o->export_pfx,
                        "Write the new certificate to this password-protected PFX file instead of "
                        "installing it");
        sub->add_option("-e,--export-file", o->export_file,
                        "Deprecated: write the new certificate to this file as unprotected base64 "
                        "text instead of "
                        "installing it");
        cli::AddPasswordOptions(sub, &o->password);
        cli::AddPfxEncodingOption(sub, &o->encoding);
      });
}

void SetupImportCertificate(cli::CommandTable& table) {
  auto o = std::make_shared<ImportOptions>();
  table.Add(
      "import-certificate", "Installs a certificate from a PFX file or base64 text",
      [o] { return RunImportCertificate(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kTentacle);
        sub->add_option("-f,--from-file", o->file, "The PFX file (binary, or base64 text of one)");
        sub->add_option("-b,--from-base64", o->base64, "The PFX as base64 text");
        cli::AddPasswordOptions(sub, &o->password);
      });
}

}  // namespace octo::tentacle
