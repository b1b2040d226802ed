// PollingClient: the polling Tentacle's side of the channel. For each
// polling endpoint (trust.h: an Octopus Server's comms address, the
// subscription id, the thumbprints the Server there may present) it keeps
// `connections` connections open, each on its own thread:
//   connect; TLS, pinning the endpoint's thumbprints and presenting ours;
//   "MX-SUBSCRIBER 1.0 poll://ID/"; expect "MX-SERVER 1.0";
//   then collect requests (polling_hub.h has the frames) and answer each
//   through `dispatch`, until the connection ends.
// After a failure it waits delay = clamp(time since the first failure in a
// row x (1 + r), retry_min, retry_max), r random in [0, 1) per connection
// (Halibut's RetryPolicy); a successful identification resets it, and a
// connection the Server ended on purpose ({"End": true}, its certificate
// changed) is made again at once. Never a hot loop: every failure waits at
// least retry_min.
//
// Changes apply while it runs: SetEndpoints starts and stops connections and
// closes those authenticated by a Server thumbprint no longer pinned;
// IdentityChanged closes idle connections (and ends busy ones after their
// answer) so that the Server sees the certificate presented now.
// Thread-safe; `dispatch` may call SetEndpoints and IdentityChanged.
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/base/json.h"
#include "common/config/trust.h"
#include "common/crypto/tls.h"

namespace octo {

struct PollingClientOptions {
  // Connecting, the TLS handshake and the identification, together.
  std::chrono::milliseconds connect_timeout{60000};
  // How long a connection waits for the next request (or no-op) before it
  // takes the Server for gone; above the Server's 30 s no-op interval
  // (Halibut's recommended TcpClientReceiveRequestTimeoutForPolling: 60 s).
  std::chrono::milliseconds receive_timeout{60000};
  std::chrono::milliseconds retry_min{5000};
  std::chrono::milliseconds retry_max{120000};
  size_t max_frame = 64 * 1024;
};

class PollingClient {
 public:
  // One request from the Server at `address`, which presented
  // `server_thumbprint`; we presented `our_thumbprint`. Returns the answer.
  using Dispatch = std::function<Json(const Json& request, const std::string& server_thumbprint,
                                      const std::string& our_thumbprint, const std::string& address)>;
  // Our certificate (a kClient context), as it is now.
  using OurIdentity = std::function<std::shared_ptr<const PresentedIdentity>()>;
  // Whether `server_thumbprint` is trusted now (checked before each request).
  using Trusts = std::function<bool(const std::string& server_thumbprint)>;

  PollingClient(PollingClientOptions options, OurIdentity identity, Trusts trusts, Dispatch dispatch,
                std::shared_ptr<spdlog::logger> log);
  ~PollingClient();
  PollingClient(const PollingClient&) = delete;
  PollingClient& operator=(const PollingClient&) = delete;

  // Polls these endpoints with `connections` connections each from now on.
  void SetEndpoints(const std::vector<PollingEndpoint>& endpoints, int connections);
  // Our certificate changed.
  void IdentityChanged();
  // Ends every connection and waits for their threads.
  void Stop();

  // Counters, for tests and logs: connection attempts made, and
  // identifications the Server accepted.
  uint64_t attempts() const { return attempts_.load(); }
  uint64_t identified() const { return identified_.load(); }

 private:
  struct Worker;
  void Run(const std::shared_ptr<Worker>& w);
  // One connection, from connect to its end. True when it identified.
  bool Connect(const std::shared_ptr<Worker>& w, bool* again_now, std::string* why);
  void Retire(std::shared_ptr<Worker> w);  // mu_ held

  PollingClientOptions options_;
  OurIdentity identity_;
  Trusts trusts_;
  Dispatch dispatch_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<uint64_t> attempts_{0};
  std::atomic<uint64_t> identified_{0};
  std::atomic<uint64_t> identity_generation_{0};
  std::mutex mu_;
  bool stopped_ = false;                           // guarded by mu_
  std::vector<std::shared_ptr<Worker>> workers_;   // guarded by mu_
  std::vector<std::shared_ptr<Worker>> retired_;   // stopping; joined by Stop(); guarded by mu_
};

}  // namespace octo
