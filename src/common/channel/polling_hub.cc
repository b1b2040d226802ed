#include "common/channel/polling_hub.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>

#include "common/channel/channel.h"

namespace octo {

struct PollingHub::Pending {
  enum class State { kQueued, kCollected, kDone };
  uint64_t id = 0;
  Json request;
  State state = State::kQueued;
  int requeued = 0;
  Json answer;
  Status status;
  std::string thumbprint;  // of the connection that answered
};

struct PollingHub::Subscription {
  std::deque<std::shared_ptr<Pending>> queue;
  std::condition_variable cv;  // the queue changed, a call ended, the hub is stopping
  SubscriptionView view;
  std::vector<std::string> refused_pins;  // what the target pinned when it was last refused
};

namespace {

constexpr auto kCloseGrace = std::chrono::milliseconds(200);
// How often a request whose connection broke before the answer is put back
// in the queue: when a certificate changes, every connection of the
// Tentacle ends about at once, and a request may meet several of them.
constexpr int kMaxRequeues = 20;

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "'" : ", '") + s + "'";
  return out.empty() ? "none" : out;
}

// .NET's TimeSpan text, as in Halibut's message: "00:02:00", "00:00:00.5000000".
std::string TimeSpanText(std::chrono::milliseconds d) {
  const long long ms = d.count();
  const long long s = ms / 1000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  std::string out = buf;
  if (ms % 1000 != 0) {
    std::snprintf(buf, sizeof buf, ".%03lld0000", ms % 1000);
    out += buf;
  }
  return out;
}

std::string ServerWelcomePage() {
  return HttpWelcomePage("Octopus Server listening for polling Tentacles. This port is for Tentacle connections, not "
                         "browsers.");
}

}  // namespace

const char* PollingStateName(PollingState state) {
  switch (state) {
    case PollingState::kNeverConnected:
      return "NeverConnected";
    case PollingState::kConnected:
      return "Connected";
    case PollingState::kDisconnected:
      return "Disconnected";
    case PollingState::kRefused:
      return "Refused";
  }
  return "NeverConnected";
}

PollingHub::PollingHub(PollingHubOptions options, PinsLookup pins, std::shared_ptr<spdlog::logger> log)
    : options_(std::move(options)), pins_(std::move(pins)), log_(std::move(log)) {}

PollingHub::~PollingHub() {
  Stop();
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return active_.load() == 0; });
}

void PollingHub::SetIdentity(std::shared_ptr<const PresentedIdentity> identity) {
  presented_.store(std::move(identity));
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  for (auto& [id, s] : subscriptions_) s->cv.notify_all();
}

Status PollingHub::Start() {
  if (!presented_.load()) return FailedPrecondition("the polling listener has no certificate to present");
  auto fd = ListenTcp(options_.listen_ip, options_.port);
  if (!fd.ok()) return fd.status();
  listener_ = std::move(fd).value();
  port_ = LocalPort(listener_.get());
  OCTO_RETURN_IF_ERROR(accept_wait_.Open());
  if (!accept_wait_.Add(listener_.get(), 1, false)) return Internal("cannot watch the polling listener");
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return Status::Ok();
}

void PollingHub::Stop() {
  if (stopping_.exchange(true)) return;
  if (accept_wait_.is_open()) accept_wait_.Wake();
  if (acceptor_.joinable()) acceptor_.join();
  listener_.reset();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, fd] : open_) ShutdownSocket(fd);  // their threads see the end and finish
  for (auto& [id, s] : subscriptions_) {
    for (auto& p : s->queue) {
      p->state = Pending::State::kDone;
      p->status = Unavailable("the Octopus Server is stopping");
    }
    s->queue.clear();
    s->cv.notify_all();
  }
}

void PollingHub::AcceptLoop() {
  while (!stopping_.load()) {
    std::vector<uint64_t> ready;
    accept_wait_.Wait(1000, &ready);
    if (ready.empty() || stopping_.load()) continue;
    for (;;) {
      auto accepted = AcceptSocket(listener_.get());
      if (!accepted) break;
      Fd conn = std::move(*accepted);
      std::string peer = PeerAddress(conn.get());
      if (active_.load() >= options_.max_connections) {
        log_->warn("Refused a polling connection from {}: {} connections are open already", peer,
                   options_.max_connections);
        continue;
      }
      ++active_;
      std::thread([this, fd = std::move(conn), peer]() mutable {
        Serve(std::move(fd), peer);
        OPENSSL_thread_stop();  // see TentacleAgent::AcceptLoop
        std::lock_guard<std::mutex> lock(mu_);
        --active_;
        done_cv_.notify_all();
      }).detach();
    }
  }
}

PollingHub::Subscription& PollingHub::SubscriptionLocked(const std::string& subscription) {
  auto& slot = subscriptions_[subscription];
  if (!slot) slot = std::make_unique<Subscription>();
  return *slot;
}

void PollingHub::Refused(const std::string& subscription, const std::string& thumbprint, const std::string& peer) {
  auto pins = pins_(subscription);
  std::lock_guard<std::mutex> lock(mu_);
  Subscription& s = SubscriptionLocked(subscription);
  if (s.view.connections == 0) s.view.state = PollingState::kRefused;
  s.view.thumbprint = thumbprint;
  s.view.peer = peer;
  s.view.since = UtcNowIso8601();
  s.refused_pins = pins ? pins->thumbprints : std::vector<std::string>{};
  s.cv.notify_all();
}

void PollingHub::Serve(Fd fd, const std::string& peer) {
  const std::shared_ptr<const PresentedIdentity> presented = presented_.load();
  const uint64_t generation = generation_.load();
  // Any client certificate passes the handshake (as in Halibut): which one
  // may subscribe is decided by the subscription it names, below.
  auto stream = TlsStream::Accept(std::move(fd), presented->ctx.get(), [](const std::string&) { return true; },
                                  DeadlineIn(options_.handshake_timeout));
  if (!stream.ok()) {
    log_->info("A connection from {} to the polling port ended during the TLS handshake: {}", peer,
               stream.status().message());
    return;
  }
  TlsStream& s = *stream;
  // Registered so that Stop() can end it at once; unregistered (before the
  // stream closes the descriptor) when this function returns.
  struct Registration {
    PollingHub* hub;
    uint64_t id;
    ~Registration() {
      std::lock_guard<std::mutex> lock(hub->mu_);
      hub->open_.erase(id);
    }
  };
  uint64_t reg_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reg_id = ++next_id_;
    open_[reg_id] = s.fd();
    if (stopping_.load()) ShutdownSocket(s.fd());
  }
  Registration registration{this, reg_id};
  const Deadline ident_deadline = DeadlineIn(options_.handshake_timeout);
  auto first = s.Read(2, ident_deadline);
  if (!first.ok()) return;
  if (*first != "MX") {
    (void)s.Write(ServerWelcomePage(), ident_deadline);
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_.erase(reg_id);  // before the descriptor is closed
    }
    s.Close(DeadlineIn(kCloseGrace));
    log_->info("Sent the welcome page to {} (not a Tentacle)", peer);
    return;
  }
  const std::string tp = s.peer_thumbprint();
  if (tp.empty()) {
    log_->warn("A client at {} connected, and attempted a message exchange, but did not present a client certificate",
               peer);
    return;
  }
  auto rest = s.ReadLine(kMaxSubscriberLine, ident_deadline);
  auto blank = rest.ok() ? s.ReadLine(kMaxSubscriberLine, ident_deadline) : rest;
  Result<std::string> subscription = rest.ok() ? ParseSubscriberIdentification("MX" + *rest) : rest.status();
  if (subscription.ok() && !blank.ok()) subscription = blank.status();
  if (subscription.ok() && !blank->empty()) subscription = InvalidArgument("expected a blank line after the identification");
  if (!subscription.ok()) {
    log_->warn("A client at {} with the thumbprint {} sent a bad identification: {}", peer, tp,
               subscription.status().message());
    return;
  }
  const std::string sub = *subscription;
  auto pins = pins_(sub);
  if (!pins) {
    log_->warn("A polling Tentacle at {} with the thumbprint {} identified as {}, but no deployment target has that "
               "subscription",
               peer, tp, sub);
    return;
  }
  if (std::find(pins->thumbprints.begin(), pins->thumbprints.end(), tp) == pins->thumbprints.end()) {
    log_->warn("A client at {} connected, and attempted a message exchange, but it presented a client certificate "
               "with the thumbprint '{}' which is not in the list of thumbprints that we trust for the subscription "
               "{} (the deployment target '{}' pins {})",
               peer, tp, sub, pins->target, Join(pins->thumbprints));
    Refused(sub, tp, peer);
    return;
  }
  if (!s.Write(std::string(kServerIdentification) + "\r\n\r\n", ident_deadline).ok()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Subscription& state = SubscriptionLocked(sub);
    ++state.view.connections;
    state.view.state = PollingState::kConnected;
    state.view.thumbprint = tp;
    state.view.peer = peer;
    state.view.since = UtcNowIso8601();
  }
  log_->info("A polling Tentacle identified as {} (deployment target '{}') from {} with the thumbprint {}", sub,
             pins->target, peer, tp);
  Collect(s, peer, sub, tp, generation);
  {
    std::lock_guard<std::mutex> lock(mu_);
    Subscription& state = SubscriptionLocked(sub);
    --state.view.connections;
    if (state.view.connections == 0 && state.view.state == PollingState::kConnected) {
      state.view.state = PollingState::kDisconnected;
      state.view.since = UtcNowIso8601();
    }
    open_.erase(reg_id);  // before the descriptor is closed
  }
  s.Close(DeadlineIn(kCloseGrace));
}

void PollingHub::Collect(TlsStream& s, const std::string& peer, const std::string& sub, const std::string& tp,
                         uint64_t generation) {
  Subscription* state = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    state = &SubscriptionLocked(sub);  // never erased: the pointer stays valid
  }
  std::string why = "the Tentacle closed it";
  for (;;) {
    std::shared_ptr<Pending> p;
    bool ending = false;
    bool has_work = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      state->cv.wait_for(lock, options_.wait_timeout, [&] {
        return stopping_.load() || generation_.load() != generation || !state->queue.empty();
      });
      ending = stopping_.load() || generation_.load() != generation;
      has_work = !state->queue.empty();
    }
    if (ending) {
      if (stopping_.load()) {
        why = "the Octopus Server is stopping";
      } else {
        why = "the Octopus Server's certificate changed";
        (void)WriteFrame(s, Json{{"End", true}}, DeadlineIn(kCloseGrace));
      }
      break;
    }
    if (has_work) {
      // Its thumbprint may have been unpinned since it identified.
      auto pins = pins_(sub);
      if (!pins || std::find(pins->thumbprints.begin(), pins->thumbprints.end(), tp) == pins->thumbprints.end()) {
        log_->warn("Closed the polling connection of {} from {}: its certificate {} is no longer pinned ({})", sub, peer,
                   tp, pins ? "the deployment target '" + pins->target + "' pins " + Join(pins->thumbprints)
                            : "no deployment target has that subscription now");
        Refused(sub, tp, peer);
        why = "its certificate is no longer pinned";
        break;
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (!state->queue.empty()) {
        p = state->queue.front();
        state->queue.pop_front();
        p->state = Pending::State::kCollected;
      }
    }
    if (!p && has_work) continue;  // another connection took it
    if (!p) {
      // Nothing to do: a no-op, so that neither side takes the other for gone.
      Status st = WriteFrame(s, Json{{"Request", nullptr}}, DeadlineIn(options_.heartbeat_timeout));
      auto next = st.ok() ? ReadFrame(s, options_.max_frame, DeadlineIn(options_.heartbeat_timeout))
                          : Result<Json>(st);
      if (!next.ok()) {
        why = next.status().message();
        break;
      }
      if (ReadTentaclePollReply(*next, 0).kind != TentaclePollReply::kNext) {
        why = "it answered a no-op with something else than {\"Next\": true}";
        break;
      }
      continue;
    }
    Status sent = WriteFrame(s, Json{{"Id", p->id}, {"Request", p->request}}, DeadlineIn(options_.heartbeat_timeout));
    auto reply = sent.ok() ? ReadFrame(s, options_.max_frame, DeadlineIn(options_.heartbeat_timeout))
                           : Result<Json>(sent);
    const TentaclePollReply read = reply.ok() ? ReadTentaclePollReply(*reply, p->id) : TentaclePollReply{};
    const bool answered = read.kind == TentaclePollReply::kAnswer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (p->state == Pending::State::kCollected) {  // else its caller gave up
        if (answered) {
          p->answer = read.response;
          p->thumbprint = tp;
          p->state = Pending::State::kDone;
        } else if (!reply.ok() && p->requeued < kMaxRequeues && !stopping_.load()) {
          // The connection broke before an answer: another may take it.
          ++p->requeued;
          p->state = Pending::State::kQueued;
          state->queue.push_front(p);
        } else {
          p->status = FailedPrecondition("the polling connection from " + peer + " ended before the Tentacle answered: " +
                                         (reply.ok() ? "it sent something else than the answer" : reply.status().message()));
          p->state = Pending::State::kDone;
        }
        state->cv.notify_all();
      }
    }
    if (!answered) {
      why = reply.ok() ? "it sent something else than the answer" : reply.status().message();
      break;
    }
    if (read.end) {
      why = "the Tentacle ended it (its certificate changed)";
      break;
    }
  }
  log_->info("The polling connection of {} from {} ended: {}", sub, peer, why);
}

PolledCall PollingHub::Call(const std::string& subscription, const Json& request, std::chrono::milliseconds timeout) {
  PolledCall out;
  const Deadline deadline = Clock::now() + timeout;
  auto p = std::make_shared<Pending>();
  p->request = request;
  std::unique_lock<std::mutex> lock(mu_);
  Subscription& s = SubscriptionLocked(subscription);
  if (stopping_.load()) {
    out.status = Unavailable("the Octopus Server is stopping");
    out.view = s.view;
    return out;
  }
  p->id = ++next_id_;
  s.queue.push_back(p);
  s.cv.notify_all();
  s.cv.wait_until(lock, deadline, [&] { return p->state == Pending::State::kDone; });
  out.view = s.view;
  const std::string method = StringField(request, "Method");
  if (p->state == Pending::State::kDone) {
    if (!p->status.ok()) {
      out.outcome = HealthOutcome::kError;
      out.status = p->status;
      return out;
    }
    out.outcome = HealthOutcome::kHealthy;
    out.thumbprint = p->thumbprint;
    out.answer = std::move(p->answer);
    out.status = AnswerStatus(out.answer);
    if (!out.status.ok()) {
      out.status = out.status.WithContext("The Tentacle at " + subscription + " refused the " + method + " request");
    }
    return out;
  }
  if (p->state == Pending::State::kCollected) {
    p->state = Pending::State::kDone;  // a late answer is dropped
    p->status = DeadlineExceeded("abandoned");
    out.outcome = HealthOutcome::kTimedOut;
    out.thumbprint = s.view.thumbprint;
    out.status = DeadlineExceeded("The Tentacle at " + subscription + " collected the " + method +
                                  " request but did not answer it within " + TimeSpanText(timeout));
    return out;
  }
  s.queue.erase(std::remove(s.queue.begin(), s.queue.end(), p), s.queue.end());
  p->state = Pending::State::kDone;
  std::string text = "A request was sent to a polling endpoint, but the polling endpoint did not collect the request "
                     "within the allowed time (" + TimeSpanText(timeout) + "), so the request timed out.";
  switch (s.view.state) {
    case PollingState::kNeverConnected:
      text += " No Tentacle has connected as " + subscription + " since the Octopus Server started.";
      break;
    case PollingState::kDisconnected:
      text += " The Tentacle polling as " + subscription + " was last connected from " + s.view.peer +
              "; its connection ended at " + s.view.since + ".";
      break;
    case PollingState::kRefused:
      text += " The Tentacle polling as " + subscription + " was refused at " + s.view.since + " (from " + s.view.peer +
              "): it presented a certificate with the thumbprint '" + s.view.thumbprint +
              "', which is not one the deployment target pins (" + Join(s.refused_pins) + ").";
      break;
    case PollingState::kConnected:
      text += " The Tentacle polling as " + subscription + " is connected (" + std::to_string(s.view.connections) +
              " connection(s)) but did not take the request.";
      break;
  }
  if (s.view.state == PollingState::kRefused) {
    out.outcome = HealthOutcome::kUnexpectedCertificate;
    out.thumbprint = s.view.thumbprint;
    out.status = PermissionDenied(text);
  } else {
    out.outcome = HealthOutcome::kTimedOut;
    out.status = DeadlineExceeded(text);
  }
  return out;
}

SubscriptionView PollingHub::View(const std::string& subscription) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = subscriptions_.find(subscription);
  return it == subscriptions_.end() ? SubscriptionView{} : it->second->view;
}

}  // namespace octo
