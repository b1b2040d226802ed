#include "common/channel/tentacle_agent.h"

#include <openssl/crypto.h>

#include <optional>

#include "common/channel/channel.h"
#include "common/channel/tentacle_admin.h"
#include "common/base/version.h"
#include "common/crypto/thumbprint.h"

namespace octo {

TentacleAgent::TentacleAgent(AgentOptions options, Identity identity, std::shared_ptr<spdlog::logger> log)
    : options_(std::move(options)), log_(std::move(log)), methods_(MakeMethods()) {
  thumbprint_at_start_ = Thumbprint(identity.certificate.get());
  trusted_.store(std::make_shared<const std::set<std::string>>(options_.trusted_thumbprints));
  identity_at_start_ = std::move(identity);
  started_ = Clock::now();  // again at Start(); a Tentacle that only polls never calls it
  reactor_ = options_.reactor ? options_.reactor : std::make_shared<Reactor>();
  workers_ = options_.workers ? options_.workers : std::make_shared<WorkerPool>();
  polling_ = std::make_unique<PollingClient>(
      options_.polling, [this] { return client_presented_.load(); },
      [this](const std::string& tp) { return Trusts(tp); },
      [this](const Json& request, const std::string& server, const std::string& ours, const std::string& address) {
        return DispatchChannelRequest(methods_, {request, server, ours, address});
      },
      log_);
}

Status TentacleAgent::SetPolling(const std::vector<PollingEndpoint>& endpoints, int connections) {
  if (!client_presented_.load()) {
    auto first = MakePresentedIdentity(TlsRole::kClient, identity_at_start_);
    if (!first.ok()) return first.status();
    client_presented_.store(std::move(first).value());
  }
  polling_->SetEndpoints(endpoints, connections);
  return Status::Ok();
}

ChannelMethods TentacleAgent::MakeMethods() {
  return {
      {"Health", [this](const ChannelCall& call) { return Health(call); }},
      {"TrustThumbprint", [this](const ChannelCall& call) { return TrustThumbprint(call); }},
      {"RemoveTrust", [this](const ChannelCall& call) { return RemoveTrust(call); }},
      {"GetCertificateStatus", [this](const ChannelCall& call) { return GetCertificateStatus(call); }},
      {"StageCertificate", [this](const ChannelCall& call) { return StageCertificate(call); }},
      {"SwitchCertificate", [this](const ChannelCall& call) { return SwitchCertificate(call); }},
      {"DiscardCertificate", [this](const ChannelCall& call) { return DiscardCertificate(call); }},
  };
}

namespace {

// Every key of the request is "Method" or one of `allowed`: a misspelt
// parameter is an error, never silently ignored.
Status OnlyParameters(const Json& request, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : request.items()) {
    if (key == "Method") continue;
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) return InvalidArgument("unknown parameter '" + key + "'");
  }
  return Status::Ok();
}

// The request's "Thumbprint", parsed (40 upper-case hex digits). `required`:
// absent is an error; else absent is "".
Result<std::string> ThumbprintParameter(const Json& request, bool required) {
  if (!request.contains("Thumbprint") && !required) return std::string();
  if (!request.contains("Thumbprint") || !request["Thumbprint"].is_string()) {
    return InvalidArgument("a \"Thumbprint\" string is needed");
  }
  auto tp = ParseThumbprint(request["Thumbprint"].get<std::string>());
  if (!tp.ok()) return InvalidArgument("\"Thumbprint\": " + tp.status().message());
  return tp;
}

std::string Who(const ChannelCall& call) {
  return "the Octopus Server with the thumbprint " + call.client_thumbprint + " at " + call.peer;
}

}  // namespace

void TentacleAgent::SetAdmin(std::shared_ptr<TentacleAdmin> admin) {
  std::lock_guard<std::mutex> lock(admin_mu_);
  admin_ = std::move(admin);
}

Result<std::shared_ptr<TentacleAdmin>> TentacleAgent::RequireAdmin() const {
  std::lock_guard<std::mutex> lock(admin_mu_);
  if (!admin_) return FailedPrecondition("this Tentacle does not take changes over the channel");
  return admin_;
}

Json TentacleAgent::Answered(const char* method, const ChannelCall& call, const Status& status, Json answer,
                             const std::string& what) {
  if (!status.ok()) {
    log_->warn("{} asked by {} was refused: {}", method, Who(call), status.message());
    return ErrorAnswer(status);
  }
  log_->info("{} asked by {}: {}", method, Who(call), what);
  return answer;
}

#define OCTO_ANSWER_IF_ERROR(method, call, expr)                            \
  do {                                                                      \
    ::octo::Status octo_status_ = (expr);                                   \
    if (!octo_status_.ok()) return Answered(method, call, octo_status_, {}, ""); \
  } while (0)

Json TentacleAgent::TrustThumbprint(const ChannelCall& call) {
  constexpr char kMethod[] = "TrustThumbprint";
  OCTO_ANSWER_IF_ERROR(kMethod, call, OnlyParameters(call.request, {"Thumbprint"}));
  auto tp = ThumbprintParameter(call.request, true);
  OCTO_ANSWER_IF_ERROR(kMethod, call, tp.status());
  auto a = RequireAdmin();
  OCTO_ANSWER_IF_ERROR(kMethod, call, a.status());
  auto r = (*a)->Trust(*tp, Who(call));
  OCTO_ANSWER_IF_ERROR(kMethod, call, r.status());
  return Answered(kMethod, call, Status::Ok(), r->ToJson(),
                  r->changed ? "now trusts " + *tp : "trusted " + *tp + " already");
}

Json TentacleAgent::RemoveTrust(const ChannelCall& call) {
  constexpr char kMethod[] = "RemoveTrust";
  OCTO_ANSWER_IF_ERROR(kMethod, call, OnlyParameters(call.request, {"Thumbprint"}));
  auto tp = ThumbprintParameter(call.request, true);
  OCTO_ANSWER_IF_ERROR(kMethod, call, tp.status());
  // The asker's own thumbprint would end this very connection before its
  // answer, and could leave no Server able to reach the Tentacle: a Server
  // stops trusting an old certificate of its own while presenting a new one.
  if (*tp == call.client_thumbprint) {
    return Answered(kMethod, call,
                    FailedPrecondition("a Server cannot remove the thumbprint it is connected with (" + *tp +
                                       "); ask with another trusted certificate"),
                    {}, "");
  }
  auto a = RequireAdmin();
  OCTO_ANSWER_IF_ERROR(kMethod, call, a.status());
  auto r = (*a)->RemoveTrust(*tp, Who(call));
  OCTO_ANSWER_IF_ERROR(kMethod, call, r.status());
  return Answered(kMethod, call, Status::Ok(), r->ToJson(),
                  r->changed ? "no longer trusts " + *tp : "did not trust " + *tp);
}

Json TentacleAgent::GetCertificateStatus(const ChannelCall& call) {
  constexpr char kMethod[] = "GetCertificateStatus";
  OCTO_ANSWER_IF_ERROR(kMethod, call, OnlyParameters(call.request, {}));
  auto a = RequireAdmin();
  OCTO_ANSWER_IF_ERROR(kMethod, call, a.status());
  auto r = (*a)->CertificateStatus();
  OCTO_ANSWER_IF_ERROR(kMethod, call, r.status());
  return Answered(kMethod, call, Status::Ok(), r->ToJson(), "answered");
}

Json TentacleAgent::StageCertificate(const ChannelCall& call) {
  constexpr char kMethod[] = "StageCertificate";
  OCTO_ANSWER_IF_ERROR(kMethod, call, OnlyParameters(call.request, {}));
  auto a = RequireAdmin();
  OCTO_ANSWER_IF_ERROR(kMethod, call, a.status());
  auto r = (*a)->Stage(Who(call));
  OCTO_ANSWER_IF_ERROR(kMethod, call, r.status());
  return Answered(kMethod, call, Status::Ok(), r->ToJson(),
                  r->changed ? "staged the new certificate " + r->thumbprint
                             : "the certificate " + r->thumbprint + " was staged already");
}

Json TentacleAgent::SwitchCertificate(const ChannelCall& call) {
  constexpr char kMethod[] = "SwitchCertificate";
  OCTO_ANSWER_IF_ERROR(kMethod, call, OnlyParameters(call.request, {"Thumbprint"}));
  auto tp = ThumbprintParameter(call.request, true);
  OCTO_ANSWER_IF_ERROR(kMethod, call, tp.status());
  auto a = RequireAdmin();
  OCTO_ANSWER_IF_ERROR(kMethod, call, a.status());
  auto r = (*a)->Switch(*tp, Who(call));
  OCTO_ANSWER_IF_ERROR(kMethod, call, r.status());
  return Answered(kMethod, call, Status::Ok(), r->ToJson(),
                  r->changed ? "new connections are presented the certificate " + r->thumbprint + " (was " +
                                   (r->previous_thumbprint.empty() ? "none" : r->previous_thumbprint) +
                                   ", kept as the previous certificate)"
                             : "the certificate " + r->thumbprint + " was current already");
}

Json TentacleAgent::DiscardCertificate(const ChannelCall& call) {
  constexpr char kMethod[] = "DiscardCertificate";
  OCTO_ANSWER_IF_ERROR(kMethod, call, OnlyParameters(call.request, {"Which", "Thumbprint"}));
  const std::string which = StringField(call.request, "Which");
  const auto slot = CertificateSlotFromName(which);
  if (!slot || *slot == CertificateSlot::kCurrent) {
    return Answered(kMethod, call, InvalidArgument("\"Which\" must be \"Previous\" or \"Staged\""), {}, "");
  }
  auto tp = ThumbprintParameter(call.request, false);
  OCTO_ANSWER_IF_ERROR(kMethod, call, tp.status());
  auto a = RequireAdmin();
  OCTO_ANSWER_IF_ERROR(kMethod, call, a.status());
  auto r = (*a)->Discard(*slot, *tp, Who(call));
  OCTO_ANSWER_IF_ERROR(kMethod, call, r.status());
  std::string lower = which;
  lower[0] = static_cast<char>(lower[0] - 'A' + 'a');
  return Answered(kMethod, call, Status::Ok(), r->ToJson(),
                  r->changed ? "discarded the " + lower + " certificate " + r->thumbprint
                             : "there was no " + lower + " certificate to discard");
}

#undef OCTO_ANSWER_IF_ERROR

Json TentacleAgent::Health(const ChannelCall& call) const {
  Json response = Json::object();
  response["Status"] = "Healthy";
  response["Version"] = ProjectVersion();
  response["Thumbprint"] = call.presented_thumbprint;
  response["UptimeSeconds"] = std::chrono::duration<double>(Clock::now() - started_).count();
  response["ClientThumbprint"] = call.client_thumbprint;
  return response;
}

// Registers an authenticated connection for as long as it is served; the
// registration ends before the socket is closed, so SetTrusted never shuts
// down a descriptor that was reused.
class TentacleAgent::Registration {
 public:
  Registration(TentacleAgent* agent, int fd, const std::string& thumbprint) : agent_(agent) {
    std::lock_guard<std::mutex> lock(agent_->connections_mu_);
    // Judged again under the lock: a SetTrusted that ran since the handshake
    // either saw this registration or published the set read here.
    trusted_ = agent_->Trusts(thumbprint);
    if (!trusted_) return;
    id_ = ++agent_->next_connection_;
    agent_->connections_.emplace(id_, OpenConnection{fd, thumbprint});
  }
  ~Registration() { End(); }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  bool trusted() const { return trusted_; }
  void End() {
    if (id_ == 0) return;
    std::lock_guard<std::mutex> lock(agent_->connections_mu_);
    agent_->connections_.erase(id_);
    id_ = 0;
  }

 private:
  TentacleAgent* agent_;
  uint64_t id_ = 0;
  bool trusted_ = false;
};

// An authenticated connection between requests, or while one is served.
struct TentacleAgent::Connection {
  Connection(TlsStream s, std::shared_ptr<const PresentedIdentity> p, std::string addr)
      : stream(std::move(s)), presented(std::move(p)), peer(std::move(addr)) {}
  TlsStream stream;
  std::shared_ptr<const PresentedIdentity> presented;  // what it was accepted with
  std::string peer;
  std::optional<Registration> registration;
  uint64_t parked_id = 0;  // while parked; guarded by parked_mu_
  uint64_t token = 0;      // its reactor watch while parked; guarded by parked_mu_
};

Status TentacleAgent::SetIdentity(const Identity& identity) {
  auto next = MakePresentedIdentity(TlsRole::kServer, identity);
  if (!next.ok()) return next.status();
  auto client = MakePresentedIdentity(TlsRole::kClient, identity);
  if (!client.ok()) return client.status();
  // What was presented before, on either side (a Tentacle that only polls
  // never made a listening context).
  std::shared_ptr<const PresentedIdentity> before = client_presented_.load();
  if (!before) before = presented_.load();
  const bool changed = before && before->thumbprint != (*next)->thumbprint;
  const std::string now = (*next)->thumbprint;
  presented_.store(std::move(next).value());
  client_presented_.store(std::move(client).value());
  if (changed) {
    polling_->IdentityChanged();
    // Idle connections were made with the old certificate: the Server's next
    // request must see the one presented now (connections busy with a
    // request close after their answer, in ServeRequests).
    const size_t closed = CloseIdle([&](const Connection& c) { return c.presented->thumbprint != now; });
    if (closed > 0) log_->info("Closed {} idle connection(s) made with the previous certificate", closed);
  }
  return Status::Ok();
}

size_t TentacleAgent::SetTrusted(std::set<std::string> thumbprints) {
  auto next = std::make_shared<const std::set<std::string>>(std::move(thumbprints));
  size_t closed = 0;
  {
    std::lock_guard<std::mutex> lock(connections_mu_);
    trusted_.store(next);
    for (auto& [id, c] : connections_) {
      if (next->count(c.thumbprint) == 0 && c.fd >= 0) {
        ShutdownSocket(c.fd);  // a thread reading it sees the connection end and closes it
        c.fd = -1;
        ++closed;
      }
    }
  }
  // An idle one is closed here: its end is not news to every poller (a
  // WSAPoll under way, or one made later, need not report a socket this
  // side shut down). Outside the lock: closing one takes it.
  CloseIdle([&](const Connection& c) { return next->count(c.stream.peer_thumbprint()) == 0; });
  return closed;
}

TentacleAgent::~TentacleAgent() {
  Stop(std::chrono::milliseconds(2000));
  // Connection threads use this object; each ends within its deadlines.
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return active_.load() == 0; });
}

Status TentacleAgent::Start() {
  if (!presented_.load()) {
    OCTO_RETURN_IF_ERROR(SetIdentity(identity_at_start_));
  }
  identity_at_start_ = Identity();  // the key is held by the context from now on
  auto fd = ListenTcp(options_.listen_ip, options_.port);
  if (!fd.ok()) return fd.status();
  listener_ = std::move(fd).value();
  port_ = LocalPort(listener_.get());
  OCTO_RETURN_IF_ERROR(reactor_->Start());
  started_ = Clock::now();
  listener_token_ = reactor_->WatchAlways(listener_.get(), [this](bool) { AcceptReady(); });
  if (listener_token_ == 0) return Internal("cannot watch the listening socket");
  return Status::Ok();
}

// On the reactor thread: takes every waiting connection and hands each to a worker.
void TentacleAgent::AcceptReady() {
  for (;;) {
    auto accepted = AcceptSocket(listener_.get());
    if (!accepted) break;
    Fd conn = std::move(*accepted);
    std::string peer = PeerAddress(conn.get());
    if (stopping_.load()) continue;
    if (active_.load() >= options_.max_connections) {
      log_->warn("Refused a connection from {}: {} connections are open already", peer, options_.max_connections);
      continue;
    }
    ++active_;
    auto fd = std::make_shared<Fd>(std::move(conn));
    workers_->Run([this, fd, peer]() mutable { Serve(std::move(*fd), std::move(peer)); });
  }
}

void TentacleAgent::ConnectionEnded() {
  std::lock_guard<std::mutex> lock(mu_);
  --active_;
  cv_.notify_all();
}

void TentacleAgent::LogUntrusted(const std::string& peer, const std::string& thumbprint) {
  log_->warn(
      "A client at {} connected, and attempted a message exchange, but it presented a client certificate with "
      "the thumbprint '{}' which is not in the list of thumbprints that we trust",
      peer, thumbprint);
}

void TentacleAgent::Serve(Fd fd, std::string peer) {
  // Counted in active_ by AcceptReady; counted out here unless the
  // connection goes on to be served (ServeRequests counts it out then).
  struct Ended {
    TentacleAgent* agent;
    bool handed_on = false;
    ~Ended() {
      if (!handed_on) agent->ConnectionEnded();
    }
  } ended{this};
  const PeerCheck trusted = [this](const std::string& tp) { return Trusts(tp); };
  const PeerCheck& in_handshake =
      options_.handshake_check_for_testing ? options_.handshake_check_for_testing : trusted;
  std::string refused;
  const std::shared_ptr<const PresentedIdentity> presented = presented_.load();
  auto stream =
      TlsStream::Accept(std::move(fd), presented->ctx.get(), in_handshake, DeadlineIn(options_.handshake_timeout), &refused);
  ++served_;
  if (!stream.ok()) {
    if (stream.status().code() == StatusCode::kPermissionDenied) {
      LogUntrusted(peer, refused);
    } else {
      log_->info("A connection from {} ended during the TLS handshake: {}", peer, stream.status().message());
    }
    return;
  }
  auto conn = std::make_shared<Connection>(std::move(stream).value(), presented, peer);
  TlsStream& s = conn->stream;
  // Defence in depth: the handshake has judged the certificate already; judge
  // what it ended with again before serving anything, not even the welcome
  // page. A client without a certificate goes on (welcome page only).
  if (!s.peer_thumbprint().empty() && !trusted(s.peer_thumbprint())) {
    LogUntrusted(peer, s.peer_thumbprint());
    return;  // closed without a close_notify, as a refused handshake would be
  }
  std::optional<Registration>& registration = conn->registration;
  if (!s.peer_thumbprint().empty()) {
    registration.emplace(this, s.fd(), s.peer_thumbprint());
    if (!registration->trusted()) {  // trust was withdrawn since the handshake
      LogUntrusted(peer, s.peer_thumbprint());
      return;
    }
  }
  auto read_deadline = [this] { return DeadlineIn(options_.read_timeout); };
  auto first = s.Read(2, read_deadline());
  if (!first.ok()) {
    if (registration) registration->End();
    log_->info("A connection from {} closed before sending anything: {}", peer, first.status().message());
    return;
  }
  if (*first != "MX") {
    (void)s.Write(HttpWelcomePage(), read_deadline());
    if (registration) registration->End();  // before the socket is closed, always
    s.Close(DeadlineIn(std::chrono::milliseconds(500)));
    log_->info("Sent the welcome page to {} (not an Octopus Server)", peer);
    return;
  }
  if (s.peer_thumbprint().empty()) {
    log_->warn("A client at {} attempted a message exchange without presenting a client certificate", peer);
    return;
  }
  auto rest = s.ReadLine(kMaxIdentificationLine, read_deadline());
  auto blank = rest.ok() ? s.ReadLine(kMaxIdentificationLine, read_deadline()) : rest;
  Status ident = rest.ok() ? CheckIdentification("MX" + *rest, kClientIdentification) : rest.status();
  if (ident.ok() && !blank.ok()) ident = blank.status();
  if (ident.ok() && !blank->empty()) ident = InvalidArgument("expected a blank line after the identification");
  if (!ident.ok()) {
    if (registration) registration->End();
    log_->warn("A client at {} sent a bad identification: {}", peer, ident.message());
    return;
  }
  if (!s.Write(std::string(kServerIdentification) + "\r\n\r\n", read_deadline()).ok()) {
    if (registration) registration->End();
    return;
  }
  ended.handed_on = true;
  ServeRequests(std::move(conn), true);
}

void TentacleAgent::ServeRequests(std::shared_ptr<Connection> conn, bool wait) {
  TlsStream& s = conn->stream;
  auto read_deadline = [this] { return DeadlineIn(options_.read_timeout); };
  while (!stopping_.load()) {
    // Nothing more to read now: the Server keeps the connection for a later
    // request. It waits in the reactor, without a thread.
    if (!wait && !s.HasBuffered() && !ReadableNow(s.fd())) {
      Park(std::move(conn));
      return;
    }
    wait = false;
    auto header = s.Read(4, read_deadline());
    if (!header.ok()) break;  // the client is done (or gone)
    auto len = ParseFrameHeader(*header, options_.max_frame);
    if (!len.ok()) {
      log_->warn("A client at {} sent a bad frame: {}", conn->peer, len.status().message());
      break;
    }
    auto payload = s.Read(*len, read_deadline());
    if (!payload.ok()) break;
    auto request = ParseFramePayload(*payload);
    const Json response =
        request.ok()
            ? DispatchChannelRequest(methods_, {*request, s.peer_thumbprint(), conn->presented->thumbprint, conn->peer})
            : Json{{"Error", request.status().message()}};
    auto frame = EncodeFrame(response);
    if (!frame.ok() || !s.Write(*frame, read_deadline()).ok()) break;
    if (!request.ok()) break;
    // This connection presents a certificate the agent no longer presents
    // (SwitchCertificate, a reload): closed after its answer, so that the
    // Server's next request makes a new one and sees the current certificate.
    if (presented_.load()->thumbprint != conn->presented->thumbprint) break;
  }
  Finish(conn);
}

void TentacleAgent::Park(std::shared_ptr<Connection> conn) {
  std::unique_lock<std::mutex> lock(parked_mu_);
  if (stopping_.load()) {
    lock.unlock();
    Finish(conn);
    return;
  }
  const uint64_t id = ++next_parked_;
  conn->parked_id = id;
  parked_.emplace(id, conn);
  // The watch may fire at once, on the reactor thread: Wake then waits for
  // this lock, and finds the connection parked.
  conn->token = reactor_->WatchOnce(conn->stream.fd(), DeadlineIn(options_.idle_timeout),
                                    [this, id](bool readable) { Wake(id, readable); });
  if (conn->token == 0) {
    parked_.erase(id);
    lock.unlock();
    Finish(conn);
  }
}

void TentacleAgent::Wake(uint64_t id, bool readable) {
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard<std::mutex> lock(parked_mu_);
    auto it = parked_.find(id);
    if (it == parked_.end()) return;  // closed meanwhile (SetIdentity, Stop)
    conn = std::move(it->second);
    parked_.erase(it);
  }
  if (readable && AnswerHealthInline(conn)) {
    // Park again, unless more has arrived already and sits in OpenSSL's
    // buffer, where epoll cannot see it: the worker takes that.
    if (!conn->stream.HasBuffered()) {
      Park(std::move(conn));
      return;
    }
  }
  workers_->Run([this, conn = std::move(conn), readable]() mutable {
    if (!readable) {
      log_->debug("Closed the idle connection from {}: no request for {} s", conn->peer,
                  std::chrono::duration_cast<std::chrono::seconds>(options_.idle_timeout).count());
      Finish(conn);
      return;
    }
    ServeRequests(std::move(conn), true);
  });
}

bool TentacleAgent::AnswerHealthInline(const std::shared_ptr<Connection>& conn) {
  TlsStream& s = conn->stream;
  if (stopping_.load() || presented_.load()->thumbprint != conn->presented->thumbprint) return false;
  auto header = s.Peek(4);
  if (!header.ok() || header->size() < 4) return false;
  auto len = ParseFrameHeader(*header, options_.max_frame);
  if (!len.ok() || *len > 4096) return false;  // a Health request is small; anything else: the worker
  auto whole = s.Peek(4 + *len);
  if (!whole.ok() || whole->size() < 4 + *len) return false;
  auto request = ParseFramePayload(whole->substr(4));
  if (!request.ok() || StringField(*request, "Method") != "Health") return false;
  // The frame is whole in OpenSSL's buffer: reading it cannot wait.
  if (!s.Read(4 + *len, DeadlineIn(std::chrono::milliseconds(100))).ok()) return false;
  const Json response =
      DispatchChannelRequest(methods_, {*request, s.peer_thumbprint(), conn->presented->thumbprint, conn->peer});
  auto frame = EncodeFrame(response);
  // A small answer to an idle socket goes out at once; the bound only
  // keeps a peer that stopped reading from holding the reactor.
  if (!frame.ok() || !s.Write(*frame, DeadlineIn(std::chrono::milliseconds(100))).ok()) {
    ShutdownSocket(s.fd());  // the worker sees the end and closes it
    return false;
  }
  return true;
}

void TentacleAgent::Finish(const std::shared_ptr<Connection>& conn) {
  if (conn->registration) conn->registration->End();  // before the socket is closed, always
  conn->stream.Close(DeadlineIn(std::chrono::milliseconds(500)));
  ConnectionEnded();
}

size_t TentacleAgent::CloseIdle(const std::function<bool(const Connection&)>& which) {
  std::vector<std::shared_ptr<Connection>> closing;
  {
    std::lock_guard<std::mutex> lock(parked_mu_);
    for (auto it = parked_.begin(); it != parked_.end();) {
      if (which(*it->second)) {
        closing.push_back(std::move(it->second));
        it = parked_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Outside the lock: Cancel waits for a running Wake, which takes it.
  for (auto& c : closing) {
    reactor_->Cancel(c->token);
    Finish(c);
  }
  return closing.size();
}

size_t TentacleAgent::idle() const {
  std::lock_guard<std::mutex> lock(parked_mu_);
  return parked_.size();
}

void TentacleAgent::Stop(std::chrono::milliseconds grace) {
  bool was = stopping_.exchange(true);
  if (!was) {
    polling_->Stop();
    if (listener_token_ != 0) reactor_->Cancel(listener_token_);
    listener_.reset();
    CloseIdle([](const Connection&) { return true; });
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, grace, [this] { return active_.load() == 0; });
    stopped_ = true;
    cv_.notify_all();
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return stopped_; });
}

void TentacleAgent::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return stopped_; });
}

}  // namespace octo
