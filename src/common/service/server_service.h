// ServerService: the running Octopus Server, as far as Tentacles see it.
//
// It holds the certificate it loaded at start until it is restarted (as the
// real Server does after import-certificate) or reloaded (`service --reload`:
// checks that start afterwards present the stored certificate; checks under
// way finish with the old one), checks its deployment targets
// periodically and on request, keeps the last result of each, and answers
// the CLI on the control socket (control.h):
//   {"Command":"status"}                    -> {"Thumbprint", "Pid", "StartedAt"[, "KeptConnections":
//                                              {"Idle","Reused","Kept","Discarded"}]}
//   {"Command":"health-check","Names":[..]} -> {"Results":[HealthResult...]}
//   {"Command":"last-results"}              -> {"Results":[...]}
//   {"Command":"reload","By":".."}          -> {"Thumbprint", "PreviousThumbprint"}
//   {"Command":"log","By":"..","Lines":[..]} -> {"Logged": N}  (a command's
//                                              record of what it asked the
//                                              Tentacles, in the Server's log)
//   {"Command":"call","Target":N,"Request":{..},"TimeoutMs":T[,"Thumbprints":[..]]}
//        -> {"Outcome","Thumbprint","Answer","Presented"[,"Polling"][,"Error","Code"]}:
//           one channel request to the target, presenting the certificate
//           "Presented": to a polling target through its queue, to a
//           listening one over the connection the Server keeps to it,
//           pinning "Thumbprints" when given (else the target's pins). The
//           rotation and audit commands reach their Tentacles so while the
//           Server runs (tentacle_client.h)
// Checks and calls to listening targets reuse authenticated connections
// (connection_pool.h): kept connections are closed when the target's pins
// change (at the first look at the changed config), when the certificate
// the Server presents changes (reload), and after the idle timeout.
// Polling targets (address "poll://ID/") are checked through the polling
// listener's queue for their subscription.
// Targets and their pins come from a TargetStore (target_store.h): each check
// takes its snapshot, re-read first when the config file changed, so
// add-target and update-target take effect at the next check without a
// restart.
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/channel/control.h"
#include "common/channel/health_check.h"
#include "common/channel/polling_hub.h"
#include "common/base/net.h"
#include "common/crypto/tls.h"
#include "common/base/snapshot.h"
#include "common/config/target_store.h"

namespace octo {

struct ServerServiceOptions {
  std::string config_path;
  std::string socket_path;
  std::chrono::seconds interval{60};  // periodic checks; 0 = only on request
  HealthCheckOptions check;  // its pool: made by the service when null (see `pool`)
  // The connection pool's bounds (connection_pool.h); max_idle 0 or
  // max_idle_per_target 0 turn pooling off.
  ConnectionPoolOptions pool;
  // Loads the instance's stored certificate, for "reload"; reload is refused
  // without it.
  std::function<Result<Identity>()> load_identity;
  // The communications listener for polling Tentacles (polling_hub.h):
  // started with the service when `polling_configured` (the comms port is
  // set in the config), else when the first polling target is checked.
  PollingHubOptions polling;
  bool polling_configured = false;
};

class ServerService {
 public:
  ServerService(ServerServiceOptions options, Identity identity, std::shared_ptr<spdlog::logger> log);
  ~ServerService();

  Status Start();
  void Stop();
  void Wait();

  // Checks the named targets (all when `names` is empty) now. NotFound for
  // an unknown name.
  Result<std::vector<HealthResult>> CheckNow(const std::vector<std::string>& names);

  // Presents `identity` in the checks that start from now on, and to
  // polling Tentacles (their open connections are ended so that they
  // reconnect and see it).
  Status SetIdentity(const Identity& identity);
  // The polling listener's port once it runs, else 0 (tests).
  int polling_port() const;
  // One request to a polling target through its queue (see "call").
  PolledCall CallPolling(const Target& target, const Json& request, std::chrono::milliseconds timeout);
  std::string thumbprint() const { return credentials_.load()->thumbprint; }
  // The connections kept to listening Tentacles (tests, benchmarks); null
  // when pooling is off.
  ConnectionPool* pool() const { return options_.check.pool.get(); }

 private:
  void PeriodicLoop();
  // The targets as the config has them now: the store is opened at the first
  // check (a damaged list then fails the checks, not the start).
  Result<std::shared_ptr<const TargetSnapshot>> Targets();
  // `target` with the pins the config has now (re-read if the file
  // changed); `target` itself if it is gone or the config cannot be read.
  Target LatestPins(const Target& target);
  Json Handle(const Json& request, const ControlPeer& peer);
  HealthResult CheckPolling(const Target& target);
  // The polling listener, started on first need; an error when it cannot listen.
  Result<PollingHub*> Hub();
  std::optional<SubscriptionPins> PinsFor(const std::string& subscription);

  ServerServiceOptions options_;
  // What checks present; swapped by SetIdentity, read once per check.
  Identity identity_at_start_;
  Snapshot<PresentedIdentity> credentials_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex reload_mu_;
  std::mutex targets_mu_;                  // guards targets_ (opening it)
  std::unique_ptr<TargetStore> targets_;
  uint64_t pooled_generation_ = 0;         // the targets the pool was last pruned for; guarded by targets_mu_
  ControlServer control_;
  mutable std::mutex hub_mu_;
  std::unique_ptr<PollingHub> hub_;  // guarded by hub_mu_ (set once)
  Status hub_error_;                 // why it could not start; guarded by hub_mu_
  Clock::time_point hub_failed_at_;  // when; guarded by hub_mu_
  Snapshot<PresentedIdentity> server_presented_;  // the same identity as a kServer context, for the hub
  std::thread periodic_thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, HealthResult> last_;
  std::string started_at_;
};

}  // namespace octo
