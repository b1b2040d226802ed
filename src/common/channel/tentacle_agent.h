// TentacleAgent: the listening Tentacle service.
//
// Accepts TLS connections, lets through only clients whose certificate
// thumbprint is in the trusted set, speaks the channel protocol (channel.h)
// and answers health requests. The trusted set starts as the options give
// it and can be replaced while the agent runs (SetTrusted): each handshake
// reads the current set (a Snapshot), and connections authenticated by a
// thumbprint no longer trusted are closed at once. The certificate is judged during the handshake
// and again after it, before anything is served.
//
// Event-driven (reactor.h): the listening socket and every connection that
// is idle between requests (a Server keeps its connections for the next
// request) wait in a Reactor, with no thread of their own; a handshake or a
// request runs on a WorkerPool thread, with deadlines on the handshake and
// every read, so slow or broken clients cannot block the others. At most
// `max_connections` are open at once. An idle connection is closed after
// `idle_timeout`, and at once when the agent starts presenting another
// certificate (SetIdentity), so that the next request sees the new one.
// Thread-safe: Stop() may be called from any thread (or a signal handler's
// helper thread).
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/crypto/certificate.h"
#include "common/channel/channel.h"
#include "common/channel/polling_client.h"
#include "common/base/net.h"
#include "common/crypto/tls.h"
#include "common/base/reactor.h"
#include "common/base/snapshot.h"

namespace octo {

class TentacleAdmin;  // tentacle_admin.h

struct AgentOptions {
  std::string listen_ip;  // "" = every address
  int port = 10933;       // 0 = pick a free port (tests)
  std::set<std::string> trusted_thumbprints;  // at start; see SetTrusted
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds read_timeout{30000};  // within a request, and for the first one
  // Between requests on an open connection (Halibut's
  // TcpListeningNextRequestIdleTimeout: 10 minutes, above the Server's 9).
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(10)};
  size_t max_connections = 256;
  size_t max_frame = 64 * 1024;
  // Test seam; leave empty. When set, it replaces the trusted-set check made
  // during the handshake, so that a test can show that the check made after
  // the handshake (always against trusted_thumbprints) refuses on its own.
  PeerCheck handshake_check_for_testing;
  // The polling connections (see SetPolling).
  PollingClientOptions polling;
  // Where connections wait and work runs; null: the agent makes its own.
  // Agents hosted together (an in-process fleet) share them.
  std::shared_ptr<Reactor> reactor;
  std::shared_ptr<WorkerPool> workers;
};

class TentacleAgent {
 public:
  // `identity` must hold the certificate and key; `log` receives one line per
  // event (never a key or password).
  TentacleAgent(AgentOptions options, Identity identity, std::shared_ptr<spdlog::logger> log);
  ~TentacleAgent();
  TentacleAgent(const TentacleAgent&) = delete;
  TentacleAgent& operator=(const TentacleAgent&) = delete;

  // Binds and starts accepting. Errors: the port is in use, the address is
  // not local, the certificate cannot be used for TLS.
  Status Start();
  // The port listened on (after Start).
  int port() const { return port_; }
  // Stops accepting, then waits up to `grace` for open connections.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // Blocks until Stop() has finished.
  void Wait();

  // Presents `identity` on new connections from now on; open ones keep the
  // certificate they were made with. InvalidArgument if it cannot serve TLS.
  Status SetIdentity(const Identity& identity);
  // The thumbprint of the certificate presented to new connections.
  std::string thumbprint() const {
    auto p = presented_.load();
    return p ? p->thumbprint : thumbprint_at_start_;
  }

  // Replaces the trusted set. Connections whose client certificate is no
  // longer trusted are shut down at once; returns how many.
  size_t SetTrusted(std::set<std::string> thumbprints);

  // Polls these Octopus Servers (polling_client.h), `connections`
  // connections each, from now on; an empty list stops polling. Requests
  // collected there are answered by the same methods as on the listening
  // side, for a Server whose thumbprint is trusted. Works whether or not the
  // agent listens (Start). InvalidArgument if the certificate cannot be
  // used for TLS.
  Status SetPolling(const std::vector<PollingEndpoint>& endpoints, int connections);
  // Connection attempts made and identifications accepted by Servers (tests).
  uint64_t polling_attempts() const { return polling_ ? polling_->attempts() : 0; }
  uint64_t polling_identified() const { return polling_ ? polling_->identified() : 0; }
  std::shared_ptr<const std::set<std::string>> trusted() const { return trusted_.load(); }

  // The channel methods this agent answers (one row per method).
  const ChannelMethods& methods() const { return methods_; }

  // What the trust and certificate methods (TrustThumbprint, RemoveTrust,
  // GetCertificateStatus, StageCertificate, SwitchCertificate,
  // DiscardCertificate) change: set by the process that owns the instance
  // configuration, since the admin needs this agent (SetIdentity, and
  // SetTrusted through LiveTrust) and so cannot be made before it. Until it
  // is set (or after nullptr) those methods answer a FailedPrecondition
  // error. The admin must outlive the agent's connections: its owner
  // destroys the agent (which waits for them) first.
  void SetAdmin(std::shared_ptr<TentacleAdmin> admin);

  // Connections served so far, open now, and idle now between requests (for
  // tests and benchmarks).
  size_t served() const { return served_.load(); }
  size_t active() const { return active_.load(); }
  size_t idle() const;

 private:
  struct Connection;
  void AcceptReady();
  void Serve(Fd fd, std::string peer);
  // Serves requests on `conn` while they come without a pause (waiting for
  // the first when `wait`), then parks it in the reactor, or closes it.
  void ServeRequests(std::shared_ptr<Connection> conn, bool wait);
  void Park(std::shared_ptr<Connection> conn);
  // On the reactor thread: answers a Health request that has arrived whole
  // on a parked connection, without handing it to a worker (the common
  // case: a Server's periodic check over its kept connection). False when
  // the worker must take over: nothing whole has arrived, another method,
  // a bad frame, an end.
  bool AnswerHealthInline(const std::shared_ptr<Connection>& conn);
  void Wake(uint64_t id, bool readable);
  // Closes `conn` and counts it out of active_.
  void Finish(const std::shared_ptr<Connection>& conn);
  // Closes the idle connections for which `which(connection)` is true;
  // returns how many.
  size_t CloseIdle(const std::function<bool(const Connection&)>& which);
  void ConnectionEnded();
  void LogUntrusted(const std::string& peer, const std::string& thumbprint);
  // The channel methods: MakeMethods() lists them, one handler each.
  ChannelMethods MakeMethods();
  Json Health(const ChannelCall& call) const;
  // The rows that change the Tentacle; each calls the admin (see SetAdmin).
  Json TrustThumbprint(const ChannelCall& call);
  Json RemoveTrust(const ChannelCall& call);
  Json GetCertificateStatus(const ChannelCall& call);
  Json StageCertificate(const ChannelCall& call);
  Json SwitchCertificate(const ChannelCall& call);
  Json DiscardCertificate(const ChannelCall& call);
  // The admin, or FailedPrecondition when none is set.
  Result<std::shared_ptr<TentacleAdmin>> RequireAdmin() const;
  // Logs the outcome of a call to `method`, naming who asked; returns the answer.
  Json Answered(const char* method, const ChannelCall& call, const Status& status, Json answer,
                const std::string& what);
  bool Trusts(const std::string& thumbprint) const { return trusted_.load()->count(thumbprint) > 0; }

  // Connections authenticated by a client certificate, so that SetTrusted
  // can close those it no longer trusts.
  class Registration;
  struct OpenConnection {
    int fd;
    std::string thumbprint;
  };

  AgentOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  ChannelMethods methods_;  // set once in the constructor, read-only after
  // What new connections present; swapped by SetIdentity. A connection
  // keeps the one it was accepted with.
  Snapshot<PresentedIdentity> presented_;
  Snapshot<PresentedIdentity> client_presented_;  // the same, for polling connections (a kClient context)
  std::unique_ptr<PollingClient> polling_;
  Identity identity_at_start_;  // until Start() makes the first context
  std::string thumbprint_at_start_;
  Fd listener_;
  int port_ = 0;
  std::shared_ptr<Reactor> reactor_;
  std::shared_ptr<WorkerPool> workers_;
  uint64_t listener_token_ = 0;
  mutable std::mutex parked_mu_;
  std::map<uint64_t, std::shared_ptr<Connection>> parked_;  // idle connections by id; guarded by parked_mu_
  uint64_t next_parked_ = 0;                                // guarded by parked_mu_
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> active_{0};
  std::atomic<size_t> served_{0};
  Snapshot<std::set<std::string>> trusted_;
  std::mutex connections_mu_;
  std::map<uint64_t, OpenConnection> connections_;  // guarded by connections_mu_
  uint64_t next_connection_ = 0;                   // guarded by connections_mu_
  mutable std::mutex admin_mu_;
  std::shared_ptr<TentacleAdmin> admin_;  // guarded by admin_mu_
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  Clock::time_point started_;
};

}  // namespace octo
