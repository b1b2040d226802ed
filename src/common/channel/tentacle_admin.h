// The rotation methods (docs/protocol.md, "Trust and certificate methods"):
// what a Tentacle changes when a Server it trusts asks, and the answers both
// sides read.
//
// TentacleAdmin is what the agent's method rows call; the agent parses the
// request, applies the rules that depend on the connection (a Server may not
// remove its own thumbprint), logs who asked and makes the answer.
// StoredTentacleAdmin is the real one: it changes the instance
// configuration under its lock (trust through LiveTrust, so that the change
// is saved, then published to the agent; certificates through
// certificate_slots.h) and presents a switched certificate on new
// connections. A Tentacle never answers with a private key.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/base/json.h"
#include "common/base/status.h"
#include "common/channel/live_trust.h"
#include "common/channel/tentacle_agent.h"
#include "common/channel/admin_messages.h"
#include "common/config/certificate_slots.h"

namespace octo {

// Thread-safe implementations only: the agent calls them from connection threads.
class TentacleAdmin {
 public:
  virtual ~TentacleAdmin() = default;
  // `who` names the asker for the log. Thumbprints are parsed already.
  virtual Result<TrustAnswer> Trust(const std::string& thumbprint, const std::string& who) = 0;
  virtual Result<TrustAnswer> RemoveTrust(const std::string& thumbprint, const std::string& who) = 0;
  virtual Result<CertificateStatusAnswer> CertificateStatus() = 0;
  virtual Result<CertificateChangeAnswer> Stage(const std::string& who) = 0;
  virtual Result<CertificateChangeAnswer> Switch(const std::string& thumbprint, const std::string& who) = 0;
  // `slot` is kStaged or kPrevious; `thumbprint` "" or the one expected there.
  virtual Result<CertificateChangeAnswer> Discard(CertificateSlot slot, const std::string& thumbprint,
                                                  const std::string& who) = 0;
};

class StoredTentacleAdmin : public TentacleAdmin {
 public:
  // `instance_name` and `config_path`: the Tentacle instance (opened with
  // Instance::Open by path, under its lock, for every certificate change).
  // `trust` and `agent` must outlive every call (the agent's owner stops and
  // destroys the agent first).
  StoredTentacleAdmin(std::string instance_name, std::string config_path, LiveTrust& trust, TentacleAgent& agent);

  Result<TrustAnswer> Trust(const std::string& thumbprint, const std::string& who) override;
  Result<TrustAnswer> RemoveTrust(const std::string& thumbprint, const std::string& who) override;
  Result<CertificateStatusAnswer> CertificateStatus() override;
  Result<CertificateChangeAnswer> Stage(const std::string& who) override;
  Result<CertificateChangeAnswer> Switch(const std::string& thumbprint, const std::string& who) override;
  Result<CertificateChangeAnswer> Discard(CertificateSlot slot, const std::string& thumbprint,
                                          const std::string& who) override;

  // Held by anyone else who presents the stored certificate (the agent's
  // `service --reload`), so that a reload that read the file before a
  // switch cannot present the old certificate after it.
  std::unique_lock<std::mutex> LockCertificates() { return std::unique_lock<std::mutex>(certificates_mu_); }

 private:
  Result<TrustAnswer> EditTrust(bool add, const std::string& thumbprint, const std::string& who);
  Result<Instance> OpenForUpdate() const;

  const std::string name_;
  const std::string config_path_;
  LiveTrust& trust_;
  TentacleAgent& agent_;
  // One certificate change at a time in this process, so that a switch's
  // save and its SetIdentity are not interleaved with another switch's.
  std::mutex certificates_mu_;
};

}  // namespace octo
