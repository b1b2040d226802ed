#include "frontend/common_commands.h"

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include <iostream>
#include <memory>

#include "common/file_util.h"
#include "common/version.h"
#include "frontend/certificate_io.h"
#include "frontend/password.h"

namespace octo::cli {

Json CertificateJson(X509* cert) {
  CertificateInfo info = Describe(cert);
  Json j = Json::object();
  j["Thumbprint"] = info.thumbprint;
  j["SignatureAlgorithm"] = info.signature_algorithm;
  j["Subject"] = info.subject;
  j["Issuer"] = info.issuer;
  j["SerialNumber"] = info.serial;
  j["NotBefore"] = info.not_before;
  j["NotAfter"] = info.not_after;
  j["Sha256Fingerprint"] = info.sha256_fingerprint;
  j["KeyAlgorithm"] = info.key_algorithm;
  j["KeySize"] = info.key_bits;
  return j;
}

// ---- create-instance --------------------------------------------------------

namespace {

struct CreateInstanceOptions {
  InstanceOptions instance;
  std::optional<std::string> home;
  std::optional<std::string> app;
};

int RunCreateInstance(Product product, const CreateInstanceOptions& o) {
  const ProductTraits& t = Traits(product);
  CreateOptions create;
  create.name = o.instance.instance;
  create.config_path = o.instance.config;
  create.home = o.home;
  create.app_directory = o.app;
  std::cout << "Creating installation for instance '" << create.name << "'..." << std::endl;
  auto inst = Instance::Create(product, create);
  if (!inst.ok()) return Fail(inst.status());
  if (inst->adopted()) {
    std::cout << "Saving instance: " << create.name << std::endl;
    std::cout << "Using the existing configuration file " << inst->config_path() << "." << std::endl;
    return kExitOk;
  }
  auto key = inst->KeyFilePath();
  std::cout << "Saving instance: " << create.name << std::endl;
  std::cout << "Configuration file: " << inst->config_path() << std::endl;
  std::cout << "The " << t.key_description << " was written to " << (key.ok() ? *key : "") << "." << std::endl;
  if (product == Product::kServer) {
    std::cout << "A new certificate has been generated with thumbprint: " << inst->StoredThumbprint() << std::endl;
  }
  return kExitOk;
}

int RunDeleteInstance(Product product, const InstanceOptions& o) {
  InstanceRegistry registry(product);
  auto rec = registry.Find(o.instance);  // a damaged entry can still be deleted
  if (Status st = registry.Remove(o.instance); !st.ok()) return Fail(st);
  std::cout << "Deleted instance: " << o.instance << std::endl;
  if (rec.ok()) {
    std::cout << "The configuration file " << rec->config_path
              << " and its key file were kept; remove them yourself once they are no longer needed." << std::endl;
  }
  return kExitOk;
}

int RunListInstances(Product product, const std::string& format) {
  auto list = InstanceRegistry(product).List();
  if (!list.ok()) return Fail(list.status());
  std::vector<InstanceRecord> good;
  for (const auto& r : *list) {
    if (r.error.empty()) {
      good.push_back(r);
    } else {
      Warn("instance '" + r.name + "' cannot be listed: " + r.error + " (delete-instance removes the entry)");
    }
  }
  const int exit_code = good.size() == list->size() ? kExitOk : kExitFailed;
  if (format == "json") {
    Json arr = Json::array();
    for (const auto& r : good) arr.push_back({{"InstanceName", r.name}, {"ConfigurationFilePath", r.config_path}});
    std::cout << arr.dump(2) << std::endl;
    return exit_code;
  }
  if (list->empty()) std::cout << "There are no " << Traits(product).display_name << " instances." << std::endl;
  for (const auto& r : good) {
    std::cout << "Instance '" << r.name << "' uses configuration '" << r.config_path << "'." << std::endl;
  }
  return exit_code;
}

struct ShowThumbprintOptions {
  InstanceOptions instance;
  std::string format;
  std::optional<std::string> export_file;
};

int RunShowThumbprint(Product product, const ShowThumbprintOptions& o) {
  // This command reads a certificate and hashes it: it needs nothing from
  // the system's OpenSSL configuration, whose loading would be a tenth of
  // its run time (docs/performance.md). Must come before any OpenSSL call.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
  auto inst = OpenInstance(product, o.instance);
  if (!inst.ok()) return Fail(inst.status());
  std::string out, thumbprint, signature_algorithm;
  if (o.format == "json") {
    auto cert = inst->Certificate();
    if (!cert.ok()) return Fail(cert.status());
    CertificateInfo info = Describe(cert->get());
    out = CertificateJson(cert->get()).dump() + "\n";
    thumbprint = info.thumbprint;
    signature_algorithm = info.signature_algorithm;
  } else {
    // The text needs two facts only: read them without decoding the whole
    // certificate (SummarizeCertificateDer).
    auto der = inst->CertificateDer();
    if (!der.ok()) return Fail(der.status());
    auto summary = SummarizeCertificateDer(*der);
    if (!summary.ok()) return Fail(summary.status().WithContext(inst->config_path()));
    thumbprint = summary->thumbprint;
    signature_algorithm = summary->signature_algorithm;
    if (product == Product::kServer) {
      out = "The thumbprint of this Octopus Server is: " + thumbprint + "\n" +
            "The certificate's signature algorithm is: " + signature_algorithm + "\n";
    } else {
      out = thumbprint + "\n";
    }
  }
  if (o.export_file) {
    std::string file_text = o.format == "json" ? out : thumbprint + "\n";
    if (Status st = WriteFileAtomic(AbsolutePath(*o.export_file), file_text, 0644); !st.ok()) return Fail(st);
  }
  std::cout << out;
  if (IsWeakSignature(signature_algorithm)) {
    Warn("the certificate is signed with " + signature_algorithm +
         "; we recommend regenerating your certificate (see new-certificate)");
  }
  if (o.export_file) {
    std::cerr << "The thumbprint has been written to " << AbsolutePath(*o.export_file) << "." << std::endl;
  }
  return kExitOk;
}

struct ExportOptions {
  InstanceOptions instance;
  std::string file;
  PasswordOptions password;
  PfxEncoding encoding = PfxEncoding::kModern;
};

int RunExportCertificate(Product product, const ExportOptions& o) {
  auto pw = ResolvePassword(o.password, PasswordNeed::kRequired);
  if (!pw.ok()) return UsageError(pw.status().message());
  if (product == Product::kServer) std::cout << kCheckingMasterKey << std::endl;
  auto inst = OpenInstance(product, o.instance);
  if (!inst.ok()) return Fail(inst.status());
  auto id = LoadIdentityForCommand(*inst);
  if (!id.ok()) return Fail(id.status());
  std::cout << "Exporting certificate..." << std::endl;
  std::string path = AbsolutePath(o.file);
  if (Status st = WritePfxFile(path, *id, *pw, o.encoding); !st.ok()) return Fail(st);
  std::cout << "The certificate has been written to " << o.file << "." << std::endl;
  return kExitOk;
}

}  // namespace

void SetupCreateInstance(CommandTable& table) {
  auto o = std::make_shared<CreateInstanceOptions>();
  Product p = table.product();
  CLI::App* sub = table.Add("create-instance", "Registers a new instance, with its key file and configuration",
                            [p, o] { return RunCreateInstance(p, *o); });
  AddInstanceOptions(sub, &o->instance, p);
  sub->add_option("--home", o->home, "Home directory of the instance (default: beside its configuration)");
  if (p == Product::kTentacle) sub->add_option("--app", o->app, "Directory applications are deployed to");
}

void SetupDeleteInstance(CommandTable& table) {
  auto o = std::make_shared<InstanceOptions>();
  Product p = table.product();
  CLI::App* sub = table.Add("delete-instance", "Removes an instance from the registry (its files are kept)",
                            [p, o] { return RunDeleteInstance(p, *o); });
  AddInstanceOptions(sub, o.get(), p, /*with_config=*/false);
}

void SetupListInstances(CommandTable& table) {
  auto format = std::make_shared<std::string>();
  Product p = table.product();
  CLI::App* sub = table.Add("list-instances", "Lists the registered instances",
                            [p, format] { return RunListInstances(p, *format); });
  AddFormatOption(sub, format.get());
}

void SetupShowThumbprint(CommandTable& table) {
  auto o = std::make_shared<ShowThumbprintOptions>();
  Product p = table.product();
  CLI::App* sub = table.Add("show-thumbprint", "Shows the thumbprint of the instance's certificate",
                            [p, o] { return RunShowThumbprint(p, *o); });
  AddInstanceOptions(sub, &o->instance, p);
  AddFormatOption(sub, &o->format);
  sub->add_option("-e,--export-file", o->export_file, "Also write the thumbprint to this file");
}

void SetupExportCertificate(CommandTable& table) {
  auto o = std::make_shared<ExportOptions>();
  Product p = table.product();
  CLI::App* sub = table.Add("export-certificate", "Exports the certificate with its private key to a PFX file",
                            [p, o] { return RunExportCertificate(p, *o); });
  AddInstanceOptions(sub, &o->instance, p);
  sub->add_option("--export-pfx", o->file, "The PFX file to write")->required();
  AddPasswordOptions(sub, &o->password);
  AddPfxEncodingOption(sub, &o->encoding);
}

void SetupVersion(CommandTable& table) {
  auto format = std::make_shared<std::string>();
  Product p = table.product();
  CLI::App* sub = table.Add("version", "Shows the version", [p, format] {
    const char* name = p == Product::kServer ? "Octopus.Server" : "Tentacle";
    if (*format == "json") {
      Json j = {{"Name", name}, {"Version", ProjectVersion()}, {"OpenSslVersion", OPENSSL_VERSION_TEXT}};
      std::cout << j.dump() << std::endl;
    } else {
      std::cout << name << " " << ProjectVersion() << std::endl;
    }
    return kExitOk;
  });
  AddFormatOption(sub, format.get());
}

}  // namespace octo::cli
