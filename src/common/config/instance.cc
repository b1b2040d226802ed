#include "common/config/instance.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "common/base/encoding.h"
#include "common/base/file_util.h"
#include "common/config/certificate_summary.h"
#include "common/crypto/key_store.h"
#include "common/crypto/pkcs12.h"

namespace octo {
namespace {

constexpr ProductTraits kServerTraits{
    "OctopusServer", "OctopusServer", "Octopus Server", kServerCommonName, "octopusserver", ".masterkey",
    "Octopus Master Key", "Octopus.Storage.MasterKeyFile", "Octopus.Server.Certificate",
    "Octopus.Server.CertificateThumbprint", "Octopus.Server.PublicCertificate",
    "Octopus.Server", "OctopusServer.txt", "octopus-server-", "xml"};
constexpr ProductTraits kTentacleTraits{
    "Tentacle", "Tentacle", "Tentacle", kTentacleCommonName, "tentacle", ".machinekey",
    "Tentacle machine key", "Tentacle.Security.MachineKeyFile", "Tentacle.Certificate",
    "Tentacle.CertificateThumbprint", "Tentacle.PublicCertificate",
    "Tentacle", "OctopusTentacle.txt", "tentacle-", "json-hierarchical"};

Result<InstanceRecord> ReadRecord(const std::string& path, const std::string& name) {
  auto cfg = ConfigFile::Load(path);
  if (!cfg.ok()) return cfg.status();
  auto cfg_path = cfg->GetString("ConfigurationFilePath");
  if (!cfg_path.ok()) return cfg_path.status();
  if (cfg_path->empty()) return Corrupt(path + ": \"ConfigurationFilePath\" is missing");
  auto rec_name = cfg->GetString("Name", name);
  if (!rec_name.ok()) return rec_name.status();
  return InstanceRecord{*rec_name, *cfg_path, ""};
}

}  // namespace

const ProductTraits& Traits(Product p) { return p == Product::kServer ? kServerTraits : kTentacleTraits; }

std::string ConfigRoot() {
  const char* env = std::getenv("OCTOPUS_CONFIG_ROOT");
  if (env != nullptr && *env != '\0') return AbsolutePath(env);
#ifdef _WIN32
  // Where the real Windows products keep their instance registry:
  // %ProgramData%\Octopus\<Tentacle|OctopusServer>\Instances.
  return ProgramDataDirectory() + "\\Octopus";
#else
  return "/etc/octopus";
#endif
}

Status ValidateInstanceName(const std::string& name) {
  if (name.empty()) return InvalidArgument("the instance name is empty");
  if (name.size() > 100) return InvalidArgument("the instance name is longer than 100 characters");
  if (name.front() == '.' || name.front() == ' ') {
    return InvalidArgument("the instance name '" + name + "' must not start with '.' or a space");
  }
  if (name.front() == '-') {  // it would read as an option, to us and to systemctl
    return InvalidArgument("the instance name '" + name + "' must not start with '-'");
  }
  if (name == "Instances") return InvalidArgument("'Instances' is reserved and cannot name an instance");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return InvalidArgument("the instance name '" + name +
                             "' may hold only letters, digits, spaces, '.', '_' and '-'");
    }
  }
  return Status::Ok();
}

InstanceRegistry::InstanceRegistry(Product product, std::string root)
    : product_(product), root_(std::move(root)) {}

std::string InstanceRegistry::Directory() const {
  return JoinPath(JoinPath(root_, Traits(product_).directory), "Instances");
}

std::string InstanceRegistry::RecordPath(const std::string& name) const {
  std::string file = name;
  for (char& c : file) c = c == ' ' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return JoinPath(Directory(), file + ".config");
}

std::string InstanceRegistry::ExistingRecordPath(const std::string& name) const {
  const std::string path = RecordPath(name);
  if (FileExists(path)) return path;
  const std::string legacy = JoinPath(Directory(), name + ".config");
  return FileExists(legacy) ? legacy : "";
}

std::string InstanceRegistry::DefaultHome(const std::string& name) const {
  return JoinPath(JoinPath(root_, Traits(product_).directory), name);
}

Result<InstanceRecord> InstanceRegistry::Find(const std::string& name) const {
  OCTO_RETURN_IF_ERROR(ValidateInstanceName(name));
  auto not_found = [&] {
    return NotFound(std::string("there is no ") + Traits(product_).display_name + " instance named '" + name +
                    "' (see list-instances; create one with create-instance)");
  };
  const std::string path = ExistingRecordPath(name);
  if (path.empty()) return not_found();
  auto rec = ReadRecord(path, name);
  if (!rec.ok() && rec.status().code() == StatusCode::kNotFound) return not_found();
  // "My Tentacle" and "my-tentacle" share a file: it is the other one's.
  if (rec.ok() && !EqualsIgnoreCase(rec->name, name)) return not_found();
  return rec;
}

Result<std::vector<InstanceRecord>> InstanceRegistry::List() const {
  const std::string dir = Directory();
  auto names = ListFiles(dir, ".config");
  if (!names.ok()) return names.status();
  std::vector<InstanceRecord> out;
  for (const auto& file : *names) {
    std::string name = file.substr(0, file.size() - 7);
    if (!ValidateInstanceName(name).ok()) continue;  // not ours: editor backups, hidden files
    auto rec = ReadRecord(JoinPath(dir, file), name);
    out.push_back(rec.ok() ? *rec : InstanceRecord{name, "", rec.status().message()});
  }
  // One instance under both namings (a file of an earlier version, then one
  // of this version): listed once.
  std::stable_sort(out.begin(), out.end(), [](const InstanceRecord& a, const InstanceRecord& b) { return a.name < b.name; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const InstanceRecord& a, const InstanceRecord& b) { return a.name == b.name; }),
            out.end());
  return out;
}

Status InstanceRegistry::Add(const InstanceRecord& record) const {
  OCTO_RETURN_IF_ERROR(ValidateInstanceName(record.name));
  std::string path = RecordPath(record.name);
  if (FileExists(path) || !ExistingRecordPath(record.name).empty()) {
    return AlreadyExists(std::string("the ") + Traits(product_).display_name + " instance '" + record.name +
                         "' already exists");
  }
  OCTO_RETURN_IF_ERROR(MakeDirectories(DirName(path), 0755));
  Json doc = Json::object();
  doc["Name"] = record.name;
  doc["ConfigurationFilePath"] = record.config_path;
  Status st = WriteFileExclusive(path, doc.dump(2) + "\n", 0644);  // a concurrent Add never replaces ours
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists(std::string("the ") + Traits(product_).display_name + " instance '" + record.name +
                         "' already exists");
  }
  return st;
}

Status InstanceRegistry::Remove(const std::string& name) const {
  OCTO_RETURN_IF_ERROR(ValidateInstanceName(name));
  const std::string path = ExistingRecordPath(name);
  if (path.empty()) return Find(name).status();
  OCTO_RETURN_IF_ERROR(RemoveFile(path));
  // And the other naming's file, if an earlier version left one.
  const std::string legacy = ExistingRecordPath(name);
  return legacy.empty() ? Status::Ok() : RemoveFile(legacy);
}

// An instance deleted from the registry (its files are kept), set up by
// hand, or registered already: used as it is, creating and overwriting
// nothing. --home and --app may only repeat what the file holds.
Result<Instance> Instance::AdoptExisting(Product product, const CreateOptions& options, bool register_it) {
  const ProductTraits& t = Traits(product);
  const std::string& config_path = *options.config_path;
  auto existing = ConfigFile::Load(config_path);
  if (!existing.ok()) return existing.status();
  if (!existing->Has(t.key_file_key)) {
    return InvalidArgument("the configuration file " + config_path + " is not a configuration of the " +
                           t.display_name + " (it has no \"" + t.key_file_key + "\")");
  }
  auto same = [&](const std::optional<std::string>& wanted, const char* key) {
    if (!wanted) return true;
    auto held = existing->GetString(key);
    return held.ok() && *held == AbsolutePath(*wanted);
  };
  if (!same(options.home, keys::kHome) || !same(options.app_directory, keys::kApplicationDirectory)) {
    return InvalidArgument("the configuration file " + config_path +
                           " already exists: --home and --app cannot change it here (use configure)");
  }
  Instance inst(product, options.name, std::move(existing).value());
  inst.adopted_ = true;
  if (register_it) OCTO_RETURN_IF_ERROR(InstanceRegistry(product).Add({options.name, config_path, ""}));
  return inst;
}

Result<Instance> Instance::Create(Product product, const CreateOptions& options) {
  const ProductTraits& t = Traits(product);
  InstanceRegistry registry(product);
  OCTO_RETURN_IF_ERROR(ValidateInstanceName(options.name));
  // Registered already with this configuration (a set-up script run again):
  // adopted as it is, as the real create-instance re-registers it.
  bool registered = false;
  if (!registry.ExistingRecordPath(options.name).empty()) {
    auto rec = registry.Find(options.name);
    registered = rec.ok() && FileExists(rec->config_path) &&
                 (!options.config_path || AbsolutePath(*options.config_path) == rec->config_path);
    if (!registered) {
      return AlreadyExists(std::string("the ") + t.display_name + " instance '" + options.name +
                           "' already exists" +
                           (rec.ok() ? " with the configuration file " + rec->config_path : std::string()));
    }
    CreateOptions again = options;
    again.config_path = rec->config_path;
    return AdoptExisting(product, again, /*register_it=*/false);
  }
  std::string home = options.home ? AbsolutePath(*options.home)
                     : options.config_path ? DirName(AbsolutePath(*options.config_path))
                                           : registry.DefaultHome(options.name);
  std::string config_path = options.config_path
                                ? AbsolutePath(*options.config_path)
                                : JoinPath(home, std::string(t.config_prefix) + "-" + options.name + ".config");
  std::string key_path = JoinPath(DirName(config_path), options.name + t.key_suffix);
  if (FileExists(config_path)) {
    CreateOptions again = options;
    again.config_path = config_path;
    return AdoptExisting(product, again, /*register_it=*/true);
  }
  if (FileExists(key_path)) {
    return AlreadyExists("the key file " + key_path + " already exists; it was left as it is");
  }
  OCTO_RETURN_IF_ERROR(MakeDirectories(home, 0700));
  OCTO_RETURN_IF_ERROR(MakeDirectories(DirName(config_path), 0700));

  Instance inst(product, options.name, ConfigFile::New(config_path));
  inst.config_.Set(keys::kHome, home);
  inst.config_.Set(t.key_file_key, key_path);
  if (product == Product::kTentacle) {
    inst.config_.Set(keys::kTrustedServers, Json::array());
    inst.config_.Set(keys::kPort, kDefaultTentaclePort);
    inst.config_.Set(keys::kListenIp, "");
    inst.config_.Set(keys::kNoListen, false);
    inst.config_.Set(keys::kApplicationDirectory,
                     options.app_directory ? AbsolutePath(*options.app_directory) : JoinPath(home, "Applications"));
  }
  // Every file is published with no-replace semantics, and a failure removes
  // only what this call created: two concurrent create-instance runs of one
  // name leave exactly one instance, whose key opens its config.
  auto key = CreateKeyFile(key_path);
  if (!key.ok()) {
    if (key.status().code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("the key file " + key_path + " already exists; it was left as it is");
    }
    return key.status();
  }
  bool config_created = false;
  Status st = Status::Ok();
  if (product == Product::kServer) {
    auto id = GenerateIdentity(t.common_name);
    st = id.ok() ? inst.SetIdentity(*id) : id.status();
  }
  if (st.ok()) {
    st = inst.config_.SaveNew();
    config_created = st.ok();
  }
  if (st.ok()) {
    st = registry.Add({options.name, config_path, ""});
    // A concurrent run that found our config registered it first: the
    // instance is whole, and its files must stay.
    if (st.code() == StatusCode::kAlreadyExists) {
      auto rec = registry.Find(options.name);
      if (rec.ok() && rec->config_path == config_path) st = Status::Ok();
    }
  }
  if (!st.ok()) {
    (void)RemoveFile(key_path);  // ours: CreateKeyFile made it
    if (config_created) (void)RemoveFile(config_path);
    return st;
  }
  return inst;
}

Result<Instance> Instance::Open(Product product, const std::string& name,
                                const std::optional<std::string>& config_path, Access access) {
  std::string path;
  if (config_path) {
    path = AbsolutePath(*config_path);
  } else {
    auto rec = InstanceRegistry(product).Find(name);
    if (!rec.ok()) return rec.status();
    path = rec->config_path;
  }
  FileLock lock;
  if (access == Access::kUpdate) {
    if (auto stamp = StampFile(path); !stamp.ok() && stamp.status().code() == StatusCode::kNotFound) {
      // PermissionDenied falls through to the lock's error
      return NotFound("the configuration file " + path + " of instance '" + name + "' does not exist");
    }
    auto l = LockFile(path, std::chrono::seconds(30));
    if (!l.ok()) return l.status();
    lock = std::move(l).value();
  }
  auto cfg = ConfigFile::Load(path);
  if (!cfg.ok()) {
    if (cfg.status().code() == StatusCode::kNotFound) {
      return NotFound("the configuration file " + path + " of instance '" + name + "' does not exist");
    }
    return cfg.status();
  }
  Instance inst(product, name, std::move(cfg).value());
  inst.lock_ = std::move(lock);
  return inst;
}

Result<std::string> Instance::KeyFilePath() const {
  const ProductTraits& t = Traits(product_);
  auto path = config_.GetString(t.key_file_key);
  if (!path.ok()) return path.status();
  if (path->empty()) return NotFound(config_.path() + ": no key file is configured (\"" + t.key_file_key + "\")");
  return path;
}

Result<Secret> Instance::LoadKey() const {
  const ProductTraits& t = Traits(product_);
  auto path = KeyFilePath();
  if (!path.ok()) return path.status();
  auto key = LoadKeyFile(*path);
  if (!key.ok() && key.status().code() == StatusCode::kNotFound) {
    return NotFound(std::string("the ") + t.key_description + " file " + *path +
                    " is missing; without it the stored certificate cannot be decrypted (restore the file from "
                    "a backup, or import a certificate into a new instance)");
  }
  return key;
}

std::vector<std::string> Instance::PermissionWarnings() const {
  std::vector<std::string> out;
  auto check = [&](const std::string& path, const char* what) {
    const auto bits = FileModeBits(path);
    if (!bits || (*bits & 077) == 0) return;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", *bits & 07777);
    out.push_back(std::string("the ") + what + " " + path + " can be read or changed by other users (mode " + mode +
                  "); make it private: chmod 600 " + path);
  };
  check(config_.path(), "configuration file");
  if (auto key = KeyFilePath(); key.ok()) check(*key, "key file");
  return out;
}

bool Instance::HasCertificate() const { return config_.Has(Traits(product_).certificate_key); }

std::string Instance::StoredThumbprint() const {
  auto tp = config_.GetString(Traits(product_).thumbprint_key);
  return tp.ok() ? *tp : "";
}

std::optional<CertificateSummary> Instance::StoredSummary() const {
  const ProductTraits& t = Traits(product_);
  if (!HasCertificate()) return std::nullopt;
  return ReadCertificateSummary(
      config_, {t.thumbprint_key, t.public_certificate_key, CertificateSummaryKey(t.certificate_key)});
}

Result<std::string> Instance::CertificateDer() const {
  const ProductTraits& t = Traits(product_);
  if (!HasCertificate()) {
    return NotFound(std::string("the ") + t.display_name + " instance '" + name_ + "' has no certificate yet");
  }
  auto b64 = config_.GetString(t.public_certificate_key);
  if (!b64.ok()) return b64.status();
  auto der = Base64Decode(*b64);
  if (!der.ok()) return Corrupt(config_.path() + ": \"" + t.public_certificate_key + "\" is not base64");
  return der;
}

Result<X509Ptr> Instance::Certificate() const {
  auto der = CertificateDer();
  if (!der.ok()) return der.status();
  auto cert = CertificateFromDer(*der);
  if (!cert.ok()) return cert.status().WithContext(config_.path());
  return cert;
}

Result<Identity> Instance::LoadIdentity() const {
  const ProductTraits& t = Traits(product_);
  if (!HasCertificate()) {
    return NotFound(std::string("the ") + t.display_name + " instance '" + name_ + "' has no certificate yet");
  }
  auto sealed = config_.GetString(t.certificate_key);
  if (!sealed.ok()) return sealed.status();
  auto key = LoadKey();
  if (!key.ok()) return key.status();
  auto pfx = Unseal(*key, *sealed, t.certificate_key);
  if (!pfx.ok()) return pfx.status().WithContext(std::string("cannot decrypt the stored certificate with the ") +
                                                 t.key_description);
  auto read = ReadPfx(pfx->value(), Secret());
  if (!read.ok()) return read.status().WithContext("the stored certificate is damaged");
  return std::move(read->identity);
}

Status Instance::SetIdentity(const Identity& identity) {
  const ProductTraits& t = Traits(product_);
  auto key = LoadKey();
  if (!key.ok()) return key.status();
  auto pfx = WritePfx(identity, Secret(), PfxEncoding::kUnencryptedForSealing);
  if (!pfx.ok()) return pfx.status();
  auto sealed = Seal(*key, pfx->value(), t.certificate_key);
  if (!sealed.ok()) return sealed.status();
  config_.Set(t.certificate_key, *sealed);
  StoreCertificate(config_, {t.thumbprint_key, t.public_certificate_key, CertificateSummaryKey(t.certificate_key)},
                   Thumbprint(identity.certificate.get()),
                   Base64Encode(CertificateToDer(identity.certificate.get())));
  return Status::Ok();
}

}  // namespace octo
