// Instances: the registry of named instances and an instance's certificate,
// key and configuration.
//
// Layout (ROOT is $OCTOPUS_CONFIG_ROOT, or /etc/octopus):
//   ROOT/<Product>/Instances/<name>.config   {"Name", "ConfigurationFilePath"}
//   <home>/<product>-<name>.config           the JSON instance config (0600)
//   <config dir>/<name>.masterkey|.machinekey the 32-byte key (0600), beside
//                                            the config; its path is in it
// with <home> = ROOT/<Product>/<name> unless --home or --config say otherwise.
// The certificate is stored sealed with the key (see key_store.h); its public
// half and thumbprint are stored in clear, so showing the thumbprint needs no
// key. Not thread-safe; one process at a time per instance.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/crypto/certificate.h"
#include "common/config/config_file.h"
#include "common/base/file_util.h"
#include "common/base/secret.h"
#include "common/base/status.h"

namespace octo {

enum class Product { kServer, kTentacle };

// Names and keys that differ between the two products.
struct ProductTraits {
  const char* directory;          // "OctopusServer" / "Tentacle"
  const char* default_instance;   // "OctopusServer" / "Tentacle"
  const char* display_name;       // "Octopus Server" / "Tentacle"
  const char* common_name;        // "Octopus Portal" / "Octopus Tentacle"
  const char* config_prefix;      // "octopusserver" / "tentacle"
  const char* key_suffix;         // ".masterkey" / ".machinekey"
  const char* key_description;    // "Octopus Master Key" / "Tentacle machine key"
  const char* key_file_key;       // config key holding the key file's path
  const char* certificate_key;    // config key holding the sealed PFX
  const char* thumbprint_key;     // config key holding the thumbprint
  const char* public_certificate_key;  // config key holding base64 DER
  const char* executable;         // "Octopus.Server" / "Tentacle"
  const char* log_file;           // in <home>/Logs: "OctopusServer.txt" / "OctopusTentacle.txt"
  const char* old_unit_prefix;    // units of versions before <instance>.service:
                                  // "octopus-server-" / "tentacle-"
  const char* show_configuration_format;  // the default of show-configuration --format
};
const ProductTraits& Traits(Product p);

namespace keys {
inline constexpr char kHome[] = "Octopus.Home";
inline constexpr char kTrustedServers[] = "Tentacle.Communication.TrustedOctopusServers";
inline constexpr char kPort[] = "Tentacle.Services.PortNumber";
inline constexpr char kListenIp[] = "Tentacle.Services.ListenIP";
inline constexpr char kNoListen[] = "Tentacle.Services.NoListen";
inline constexpr char kPollingConnectionCount[] = "Tentacle.Communication.PollingConnectionCount";
inline constexpr char kApplicationDirectory[] = "Tentacle.Deployment.ApplicationDirectory";
// The Server's listener for polling Tentacles (configure --commsListenPort,
// --commsListenAddress; the address key is ours).
inline constexpr char kServerCommsPort[] = "Octopus.Communications.ServicesPort";
inline constexpr char kServerCommsListenAddress[] = "Octopus.Communications.ServicesListenAddress";
}  // namespace keys

inline constexpr int kDefaultTentaclePort = 10933;

// $OCTOPUS_CONFIG_ROOT if set and not empty, else "/etc/octopus".
std::string ConfigRoot();

// OK for names of letters, digits, space, '.', '_' and '-' (1-100 chars, not
// starting with '.' or space); InvalidArgument naming the problem otherwise.
Status ValidateInstanceName(const std::string& name);

struct InstanceRecord {
  std::string name;
  std::string config_path;
  std::string error;  // set by List() when the registry file cannot be read
};

class InstanceRegistry {
 public:
  explicit InstanceRegistry(Product product, std::string root = ConfigRoot());

  // The registry file of `name`, as the real products name it on Windows
  // and Linux: the name lower-cased, spaces as '-' ("My Tentacle" ->
  // Instances/my-tentacle.config). A file under the name as given
  // (Instances/My Tentacle.config, what earlier versions of these tools wrote) is still
  // found, listed and removed.
  std::string RecordPath(const std::string& name) const;
  // The existing registry file of `name` (either naming), or "" when none.
  std::string ExistingRecordPath(const std::string& name) const;
  // NotFound "there is no Tentacle instance named 'X'" when absent. The
  // name is matched without regard to case, as the real products match it.
  Result<InstanceRecord> Find(const std::string& name) const;
  // Every registered instance, by name. A registry file that cannot be read
  // is listed with `error` set rather than hiding the others.
  Result<std::vector<InstanceRecord>> List() const;
  Status Add(const InstanceRecord& record) const;  // AlreadyExists if the name is taken
  // Removes the registry file, even a damaged one; NotFound if absent.
  Status Remove(const std::string& name) const;

  std::string DefaultHome(const std::string& name) const;

 private:
  std::string Directory() const;
  Product product_;
  std::string root_;
};

struct CreateOptions {
  std::string name;
  std::optional<std::string> config_path;  // default <home>/<product>-<name>.config
  std::optional<std::string> home;         // default dirname(config) or ROOT/<Product>/<name>
  std::optional<std::string> app_directory;  // Tentacle only
};

class Instance {
 public:
  // Registers a new instance: home (0700), key file, config. The Server's
  // also gets its first certificate. AlreadyExists if the name is taken by
  // another configuration file, or if the key file is there without a
  // config. When the config file already exists (or the name is registered
  // with this very file: a set-up script run again) it is used as it is
  // (adopted() is true) and nothing is created or overwritten.
  static Result<Instance> Create(Product product, const CreateOptions& options);

  enum class Access {
    kRead,    // no lock: a snapshot of the config
    kUpdate,  // an exclusive lock on the config, held until this object dies,
              // taken before reading so that read-modify-write cannot race
  };

  // Opens an instance by name through the registry, or by config path when
  // `config_path` is set (then the registry is not consulted). With kUpdate,
  // waits up to 30 s for another process's lock (FailedPrecondition then).
  static Result<Instance> Open(Product product, const std::string& name,
                               const std::optional<std::string>& config_path, Access access = Access::kRead);

  Product product() const { return product_; }
  const std::string& name() const { return name_; }
  const std::string& config_path() const { return config_.path(); }
  ConfigFile& config() { return config_; }
  const ConfigFile& config() const { return config_; }

  Result<std::string> KeyFilePath() const;
  Result<Secret> LoadKey() const;

  bool HasCertificate() const;
  // The certificate without its key (read from the clear copy in the config).
  Result<X509Ptr> Certificate() const;
  // The same certificate's DER, not decoded.
  Result<std::string> CertificateDer() const;
  // The stored thumbprint ("" when there is no certificate).
  std::string StoredThumbprint() const;
  // The certificate's thumbprint and signature algorithm as stored with it
  // (certificate_summary.h), read from the config alone: no OpenSSL call.
  // nullopt when the instance has no certificate, or no summary that can be
  // believed: then SummarizeCertificateDer(CertificateDer()) tells.
  std::optional<CertificateSummary> StoredSummary() const;
  // Certificate and private key; needs the key file. NotFound if the instance
  // has no certificate or the key file is missing, PermissionDenied if the
  // key file cannot be read, FailedPrecondition if the key does not open it.
  Result<Identity> LoadIdentity() const;
  // Seals `identity` with the key and records it (call Save() to persist).
  Status SetIdentity(const Identity& identity);

  Status Save() const { return config_.Save(); }

  // One sentence for each of the config and key files that others than its
  // owner may read or write (they should be mode 0600).
  std::vector<std::string> PermissionWarnings() const;

  // The config's file lock when opened with kUpdate (held until this object
  // dies), else null: for a store that changes the config under it.
  const FileLock& file_lock() const { return lock_; }

  // True when Create() registered an existing configuration file.
  bool adopted() const { return adopted_; }

 private:
  static Result<Instance> AdoptExisting(Product product, const CreateOptions& options, bool register_it);
  Instance(Product product, std::string name, ConfigFile config)
      : product_(product), name_(std::move(name)), config_(std::move(config)) {}

  Product product_;
  std::string name_;
  ConfigFile config_;
  bool adopted_ = false;
  FileLock lock_;  // the config file's lock (kUpdate; file_util.h LockFile)
};

}  // namespace octo
