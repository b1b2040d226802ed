#include "frontend/common_commands.h"

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include <iostream>
#include <memory>

#include "common/base/file_util.h"
#include "common/base/version.h"
#include "frontend/certificate_io.h"
#include "frontend/password.h"
#include "frontend/service_command.h"

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

void AddCertificateTypeOption(CLI::App* sub, std::string* type) {
  *type = "tentacle";
  sub->add_option("--type", *type, "Which certificate: tentacle (the default; the only one here)")
      ->transform([](std::string s) {
        for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
      })
      ->check(CLI::Validator(
          [](std::string& v) {
            if (v == "tentacle") return std::string();
            if (v == "grpc") return std::string("the gRPC certificate is not managed here; use --type tentacle");
            return "'" + v + "' is not a certificate type (tentacle)";
          },
          "tentacle", "certificate type"))
      ->default_str("tentacle");
}

// ---- create-instance --------------------------------------------------------

namespace {

struct CreateInstanceOptions {
  InstanceOptions instance;
  std::optional<std::string> home;
  std::optional<std::string> app;
  std::optional<std::string> server_node_name;  // Server only
};

inline constexpr char kServerNodeNameKey[] = "Octopus.Server.NodeName";

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
  if (o.server_node_name) {
    auto locked = Instance::Open(product, create.name, inst->config_path(), Instance::Access::kUpdate);
    if (!locked.ok()) return Fail(locked.status());
    locked->config().Set(kServerNodeNameKey, *o.server_node_name);
    if (Status st = locked->Save(); !st.ok()) return Fail(st);
  }
  if (inst->adopted()) {
    std::cout << "Saving instance: " << create.name << std::endl;
    std::cout << "Using the existing configuration file " << inst->config_path() << "." << std::endl;
    auto key = inst->KeyFilePath();
    if (key.ok() && !FileExists(*key) && inst->HasCertificate()) {
      Warn("the " + std::string(t.key_description) + " of this configuration, " + *key +
           ", is missing: its certificate cannot be read until the key file is restored");
    }
    if (o.server_node_name) std::cout << "Server node name: " << *o.server_node_name << std::endl;
    return kExitOk;
  }
  auto key = inst->KeyFilePath();
  std::cout << "Saving instance: " << create.name << std::endl;
  std::cout << "Configuration file: " << inst->config_path() << std::endl;
  std::cout << "The " << t.key_description << " was written to " << (key.ok() ? *key : "") << "." << std::endl;
  if (product == Product::kServer) {
    std::cout << "A new certificate has been generated with thumbprint: " << inst->StoredThumbprint() << std::endl;
  }
  if (o.server_node_name) std::cout << "Server node name: " << *o.server_node_name << std::endl;
  return kExitOk;
}

int RunDeleteInstance(Product product, const InstanceOptions& o) {
  InstanceRegistry registry(product);
  auto rec = registry.Find(o.instance);  // a damaged entry can still be deleted
  if (Status st = registry.Remove(o.instance); !st.ok()) return Fail(st);
  std::cout << "Deleted instance: " << o.instance << std::endl;
  if (rec.ok()) {
    // Say what was really kept: the key file may be gone already.
    std::string key_path;
    if (auto inst = Instance::Open(product, o.instance, rec->config_path); inst.ok()) {
      if (auto k = inst->KeyFilePath(); k.ok() && FileExists(*k)) key_path = *k;
    }
    if (!FileExists(rec->config_path)) {
      std::cout << "The configuration file " << rec->config_path << " no longer exists." << std::endl;
    } else if (key_path.empty()) {
      std::string missing;
      if (auto inst = Instance::Open(product, o.instance, rec->config_path); inst.ok()) {
        if (auto k = inst->KeyFilePath(); k.ok()) missing = *k;
      }
      std::cout << "The configuration file " << rec->config_path << " was kept"
                << (missing.empty() ? std::string(" (it names no key file)")
                                    : "; its key file " + missing + " is missing")
                << "; remove it yourself once it is no longer needed." << std::endl;
    } else {
      std::cout << "The configuration file " << rec->config_path << " and its key file " << key_path
                << " were kept; remove them yourself once they are no longer needed." << std::endl;
    }
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
  bool thumbprint_only = false;  // deprecated in the real Tentacle: no effect
  std::string type;
};

int RunShowThumbprint(Product product, const ShowThumbprintOptions& o) {
  auto inst = OpenInstance(product, o.instance);
  if (!inst.ok()) return Fail(inst.status());
  // The text needs two facts, stored with the certificate: printing them
  // needs no OpenSSL at all, whose start-up would be most of this command's
  // run time (docs/performance.md).
  std::optional<CertificateSummary> summary;
  if (o.format != "json") summary = inst->StoredSummary();
  if (!summary) {
    // Nor does it need the system's OpenSSL configuration, whose loading
    // costs a tenth of the run. Must come before any other OpenSSL call.
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
  }
  std::string out;
  if (o.format == "json") {
    auto cert = inst->Certificate();
    if (!cert.ok()) return Fail(cert.status());
    CertificateInfo info = Describe(cert->get());
    out = CertificateJson(cert->get()).dump() + "\n";
    summary = CertificateSummary{info.thumbprint, info.signature_algorithm};
  } else {
    if (!summary) {
      // None stored (or not for this certificate): read the two facts from
      // the DER without decoding the whole certificate.
      auto der = inst->CertificateDer();
      if (!der.ok()) return Fail(der.status());
      auto read = SummarizeCertificateDer(*der);
      if (!read.ok()) return Fail(read.status().WithContext(inst->config_path()));
      summary = std::move(read).value();
    }
    if (product == Product::kServer) {
      out = "The thumbprint of this Octopus Server is: " + summary->thumbprint + "\n" +
            "The certificate's signature algorithm is: " + summary->signature_algorithm + "\n";
    } else {
      out = summary->thumbprint + "\n";
    }
  }
  const std::string& thumbprint = summary->thumbprint;
  const std::string& signature_algorithm = summary->signature_algorithm;
  if (o.export_file) {
    std::string file_text = o.format == "json" ? out : thumbprint + "\n";
    if (Status st = WriteFileAtomic(AbsolutePath(*o.export_file), file_text, 0644); !st.ok()) return Fail(st);
  }
  if (!o.export_file) std::cout << out;  // with -e, as the real one, only the file gets it
  if (IsWeakSignature(signature_algorithm)) {
    Warn("the certificate is signed with " + signature_algorithm +
         "; we recommend regenerating your certificate (see new-certificate)");
  }
  if (o.export_file) {
    std::cerr << "The thumbprint has been written to " << *o.export_file << "." << std::endl;
  }
  if (auto running = RunningThumbprint(*inst); running && *running != thumbprint) {
    Warn(std::string("the running ") + Traits(product).display_name +
         " service uses the certificate " + *running + ": reload or restart needed to use this one");
  }
  return kExitOk;
}

struct ExportOptions {
  InstanceOptions instance;
  std::string file;
  PasswordOptions password;
  PfxEncoding encoding = PfxEncoding::kModern;
  std::string type;
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
  table.Add(
      "create-instance", "Registers a new instance, with its key file and configuration",
      [p, o] { return RunCreateInstance(p, *o); },
      [o, p](CLI::App* sub) {
        AddInstanceOptions(sub, &o->instance, p);
        sub->add_option("--home", o->home,
                        "Home directory of the instance (default: beside its configuration)");
        if (p == Product::kTentacle)
          sub->add_option("--app", o->app, "Directory applications are deployed to");
        if (p == Product::kServer) {
          sub->add_option("--serverNodeName", o->server_node_name,
                          "Name of this Server node (kept in the configuration)");
        }
      });
}

void SetupDeleteInstance(CommandTable& table) {
  auto o = std::make_shared<InstanceOptions>();
  Product p = table.product();
  table.Add(
      "delete-instance", "Removes an instance from the registry (its files are kept)",
      [p, o] { return RunDeleteInstance(p, *o); },
      [o, p](CLI::App* sub) { AddInstanceOptions(sub, o.get(), p, /*with_config=*/false); });
}

void SetupListInstances(CommandTable& table) {
  auto format = std::make_shared<std::string>();
  Product p = table.product();
  table.Add(
      "list-instances", "Lists the registered instances",
      [p, format] { return RunListInstances(p, *format); },
      [format](CLI::App* sub) { AddFormatOption(sub, format.get()); });
}

void SetupShowThumbprint(CommandTable& table) {
  auto o = std::make_shared<ShowThumbprintOptions>();
  Product p = table.product();
  table.Add(
      "show-thumbprint", "Shows the thumbprint of the instance's certificate",
      [p, o] { return RunShowThumbprint(p, *o); },
      [o, p](CLI::App* sub) {
        AddInstanceOptions(sub, &o->instance, p);
        AddFormatOption(sub, &o->format);
        sub->add_option("-e,--export-file", o->export_file,
                        "Write the thumbprint to this file instead of the console");
        sub->add_flag("--thumbprint-only", o->thumbprint_only,
                      "Deprecated: accepted for old scripts, no effect");
        if (p == Product::kServer) AddCertificateTypeOption(sub, &o->type);
      });
}

void SetupExportCertificate(CommandTable& table) {
  auto o = std::make_shared<ExportOptions>();
  Product p = table.product();
  table.Add(
      "export-certificate", "Exports the certificate with its private key to a PFX file",
      [p, o] { return RunExportCertificate(p, *o); },
      [o, p](CLI::App* sub) {
        AddInstanceOptions(sub, &o->instance, p);
        sub->add_option("--export-pfx", o->file, "The PFX file to write")->required();
        AddPasswordOptions(sub, &o->password);
        AddPfxEncodingOption(sub, &o->encoding);
        if (p == Product::kServer) AddCertificateTypeOption(sub, &o->type);
      });
}

void SetupVersion(CommandTable& table) {
  auto format = std::make_shared<std::string>();
  Product p = table.product();
  table.Add(
      "version", "Shows the version",
      [p, format] {
        const char* name = Traits(p).executable;
        if (*format == "json") {
          Json j = {{"Name", name},
                    {"Version", ProjectVersion()},
                    {"OpenSslVersion", OPENSSL_VERSION_TEXT}};
          std::cout << j.dump() << std::endl;
        } else {
          std::cout << name << " " << ProjectVersion() << std::endl;
        }
        return kExitOk;
      },
      [format](CLI::App* sub) { AddFormatOption(sub, format.get()); });
}

}  // namespace octo::cli
