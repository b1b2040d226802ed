// PollingHub: the Octopus Server's communications listener for polling
// Tentacles (default port 10943), and the per-subscription request queues
// they collect from.
//
// A polling Tentacle connects, presents its certificate (mutual TLS, as on
// the listening side: any client certificate passes the handshake, as in
// Halibut's SecureListener) and identifies itself with
// "MX-SUBSCRIBER 1.0 poll://ID/". The hub accepts it only when the
// certificate's thumbprint is pinned by the deployment target with that
// subscription: a trusted Tentacle cannot read another target's queue
// (Halibut checks only a global trusted set). Then it answers
// "MX-SERVER 1.0" and the connection collects requests (docs/protocol.md,
// "Polling Tentacles"):
//   Server -> {"Id": N, "Request": {...}}   a request from the queue
//   Server -> {"Request": null}             nothing came within wait_timeout (a no-op)
//   Server -> {"End": true}                 this connection ends; connect again now
//   Tentacle -> {"Id": N, "Response": {...}[, "End": true]}
//   Tentacle -> {"Next": true}              the answer to a no-op
// A request is collected by one connection; one not collected within its
// call's time fails with Halibut's text plus what the hub knows of the
// subscription (connected, refused and why, or never came).
//
// Before a connection takes a request it checks that its thumbprint is
// still pinned (update-target may have changed the pins): if not, it is
// closed (OctopusDeploy/Issues#3032). SetIdentity ends every connection at
// its next turn, so that Tentacles reconnect and see the new certificate.
// A connection that breaks before answering puts its request back (at most
// 20 times; every channel method is idempotent).
//
// One thread per connection, as on the Tentacle's listening side.
// Thread-safe.
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/base/json.h"
#include "common/base/net.h"
#include "common/base/poller.h"
#include "common/base/snapshot.h"
#include "common/base/status.h"
#include "common/channel/health_check.h"
#include "common/crypto/tls.h"

namespace octo {

struct PollingHubOptions {
  std::string listen_ip;  // "" = every address
  int port = 10943;       // 0 = pick a free port (tests)
  std::chrono::milliseconds handshake_timeout{10000};
  // An idle connection gets a no-op request after this (Halibut's
  // PollingQueueWaitTimeout, 30 s), so that neither side mistakes it for dead.
  std::chrono::milliseconds wait_timeout{30000};
  // How long a connection waits for the answer to a no-op.
  std::chrono::milliseconds heartbeat_timeout{60000};
  size_t max_connections = 1024;
  size_t max_frame = 64 * 1024;
};

// What the hub knows of a subscription's Tentacle.
enum class PollingState {
  kNeverConnected,  // no Tentacle identified with it since the Server started
  kConnected,       // at least one connection is open now
  kDisconnected,    // it was connected; none is open now
  kRefused,         // its last attempt was refused: the certificate is not pinned
};
const char* PollingStateName(PollingState state);  // "NeverConnected", "Connected", ...

struct SubscriptionView {
  PollingState state = PollingState::kNeverConnected;
  size_t connections = 0;
  std::string thumbprint;  // connected: what it identified with; refused: what was refused
  std::string peer;        // "IP:PORT" of the last connection or attempt
  std::string since;       // ISO 8601 UTC of the last identification, refusal or disconnection
};

// The thumbprints pinned by the target subscribing as `subscription`, and
// its name; nullopt when no target subscribes so.
struct SubscriptionPins {
  std::string target;
  std::vector<std::string> thumbprints;
};
using PinsLookup = std::function<std::optional<SubscriptionPins>(const std::string& subscription)>;

// One request to a polling Tentacle, as CallTentacle reports it (see
// TentacleCall): outcome kHealthy with an answer; kTimedOut when it was not
// collected or not answered in time; kUnexpectedCertificate when the
// Tentacle's last attempt was refused for its certificate.
struct PolledCall {
  HealthOutcome outcome = HealthOutcome::kError;
  std::string thumbprint;  // the certificate of the connection that answered (or the refused one)
  Status status;
  Json answer;
  SubscriptionView view;  // the subscription as it was when the call ended
};

class PollingHub {
 public:
  PollingHub(PollingHubOptions options, PinsLookup pins, std::shared_ptr<spdlog::logger> log);
  ~PollingHub();
  PollingHub(const PollingHub&) = delete;
  PollingHub& operator=(const PollingHub&) = delete;

  // Presents `identity` (a kServer context) to new connections and ends the
  // open ones at their next turn. Call before Start().
  void SetIdentity(std::shared_ptr<const PresentedIdentity> identity);
  // Binds and starts accepting (e.g. "Address already in use").
  Status Start();
  int port() const { return port_; }
  // Stops accepting, ends every connection and fails the queued calls.
  void Stop();

  // Queues `request` for `subscription` and waits at most `timeout` for its
  // answer. `url` is how the target is named in texts ("poll://ID/").
  PolledCall Call(const std::string& subscription, const Json& request, std::chrono::milliseconds timeout);

  SubscriptionView View(const std::string& subscription) const;

  // Connections open now, identified or not (tests).
  size_t active() const { return active_.load(); }

 private:
  struct Pending;
  struct Subscription;
  void AcceptLoop();
  void Serve(Fd fd, const std::string& peer);
  void Collect(class TlsStream& stream, const std::string& peer, const std::string& subscription,
               const std::string& thumbprint, uint64_t generation);
  Subscription& SubscriptionLocked(const std::string& subscription);  // mu_ held
  void Refused(const std::string& subscription, const std::string& thumbprint, const std::string& peer);

  PollingHubOptions options_;
  PinsLookup pins_;
  std::shared_ptr<spdlog::logger> log_;
  Snapshot<PresentedIdentity> presented_;
  std::atomic<uint64_t> generation_{0};  // +1 at each SetIdentity
  Fd listener_;
  int port_ = 0;
  Poller accept_wait_;  // the listener, and Stop()'s wake-up
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> active_{0};
  mutable std::mutex mu_;
  std::condition_variable done_cv_;  // active_ reached 0
  std::map<std::string, std::unique_ptr<Subscription>> subscriptions_;  // guarded by mu_
  uint64_t next_id_ = 0;                                               // guarded by mu_
  std::map<uint64_t, int> open_;  // every connection's descriptor, for Stop(); guarded by mu_
};

}  // namespace octo
