#include "common/service/server_service.h"

#include <algorithm>
#include <ctime>

#include "common/base/parallel.h"
#include "common/channel/channel.h"
#include "common/channel/control.h"

namespace octo {

ServerService::ServerService(ServerServiceOptions options, Identity identity, std::shared_ptr<spdlog::logger> log)
    : options_(std::move(options)), identity_at_start_(std::move(identity)), log_(std::move(log)) {
  if (!options_.check.pool && options_.pool.max_idle > 0 && options_.pool.max_idle_per_target > 0) {
    options_.check.pool = std::make_shared<ConnectionPool>(options_.pool);
  }
  auto first = std::make_shared<PresentedIdentity>();
  first->thumbprint = Thumbprint(identity_at_start_.certificate.get());
  credentials_.store(std::move(first));
}

Status ServerService::SetIdentity(const Identity& identity) {
  auto next = MakePresentedIdentity(TlsRole::kClient, identity);
  if (!next.ok()) return next.status();
  auto listening = MakePresentedIdentity(TlsRole::kServer, identity);
  if (!listening.ok()) return listening.status();
  const bool changed = credentials_.load() && credentials_.load()->thumbprint != (*next)->thumbprint;
  credentials_.store(std::move(next).value());
  server_presented_.store(*listening);
  // Kept connections present the old certificate: Tentacles must see the
  // new one at the next request.
  if (changed && options_.check.pool) {
    const size_t closed = options_.check.pool->Clear();
    if (closed > 0) log_->info("Closed {} kept connection(s) made with the previous certificate", closed);
  }
  std::lock_guard<std::mutex> lock(hub_mu_);
  if (hub_ && changed) hub_->SetIdentity(std::move(listening).value());
  return Status::Ok();
}

int ServerService::polling_port() const {
  std::lock_guard<std::mutex> lock(hub_mu_);
  return hub_ ? hub_->port() : 0;
}

std::optional<SubscriptionPins> ServerService::PinsFor(const std::string& subscription) {
  auto targets = Targets();
  if (!targets.ok()) return std::nullopt;
  for (const auto& t : (*targets)->targets) {
    if (t.address == subscription) return SubscriptionPins{t.name, t.thumbprints};
  }
  return std::nullopt;
}

Result<PollingHub*> ServerService::Hub() {
  std::lock_guard<std::mutex> lock(hub_mu_);
  if (hub_) return hub_.get();
  // After a failure (the port was taken), try again at most every 10 s.
  if (!hub_error_.ok() && Clock::now() - hub_failed_at_ < std::chrono::seconds(10)) return hub_error_;
  auto hub = std::make_unique<PollingHub>(options_.polling,
                                          [this](const std::string& sub) { return PinsFor(sub); }, log_);
  hub->SetIdentity(server_presented_.load());
  if (Status st = hub->Start(); !st.ok()) {
    const std::string where = (options_.polling.listen_ip.empty() ? "" : options_.polling.listen_ip + ":") +
                              std::to_string(options_.polling.port);
    Status error = st.WithContext("The Octopus Server could not listen for polling Tentacles on " + where);
    if (error.message() != hub_error_.message()) log_->error("{}", error.message());
    hub_error_ = std::move(error);
    hub_failed_at_ = Clock::now();
    return hub_error_;
  }
  const std::string& ip = options_.polling.listen_ip;
  log_->info("Listening for polling Tentacles on {}:{}",
             ip.empty() ? "[::]" : ip.find(':') != std::string::npos ? "[" + ip + "]" : ip, hub->port());
  if (!hub_error_.ok()) hub_error_ = Status::Ok();
  hub_ = std::move(hub);
  return hub_.get();
}

PolledCall ServerService::CallPolling(const Target& target, const Json& request, std::chrono::milliseconds timeout) {
  auto hub = Hub();
  if (!hub.ok()) {
    PolledCall out;
    out.status = hub.status();
    return out;
  }
  return (*hub)->Call(target.address, request, timeout);
}

HealthResult ServerService::CheckPolling(const Target& target) {
  const auto start = Clock::now();
  PolledCall call = CallPolling(target, Json{{"Method", "Health"}}, options_.check.timeout);
  HealthResult r = HealthFromCall(target, call.outcome, call.thumbprint, call.status, call.answer, start);
  r.polling = PollingStateName(call.view.state);
  return r;
}

ServerService::~ServerService() { Stop(); }

Status ServerService::Start() {
  OCTO_RETURN_IF_ERROR(SetIdentity(identity_at_start_));
  identity_at_start_ = Identity();  // the key is held by the context from now on
  started_at_ = UtcNowIso8601();
  if (options_.polling_configured) {
    auto hub = Hub();
    if (!hub.ok()) return hub.status();
  } else if (auto targets = Targets(); targets.ok()) {
    const bool any = std::any_of((*targets)->targets.begin(), (*targets)->targets.end(),
                                 [](const Target& t) { return IsPollingAddress(t.address); });
    if (any) {
      auto hub = Hub();
      if (!hub.ok()) return hub.status();
    }
  }
  OCTO_RETURN_IF_ERROR(control_.Start(options_.socket_path, [this](const Json& request, const ControlPeer& peer) {
    return Handle(request, peer);
  }));
  periodic_thread_ = std::thread([this] { PeriodicLoop(); });
  return Status::Ok();
}

void ServerService::Stop() {
  if (stopping_.exchange(true)) return;
  {  // taken so that PeriodicLoop, between its check and its wait, cannot miss the wake-up
    std::lock_guard<std::mutex> lock(mu_);
  }
  cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(hub_mu_);
    if (hub_) hub_->Stop();  // fails the queued calls, so that the requests below end
  }
  control_.Stop();  // waits for the requests being answered, which use this object
  if (periodic_thread_.joinable()) periodic_thread_.join();
}

void ServerService::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return stopping_.load(); });
}

Result<std::vector<HealthResult>> ServerService::CheckNow(const std::vector<std::string>& names) {
  auto targets = Targets();
  if (!targets.ok()) return targets.status();
  std::vector<Target> chosen;
  if (names.empty()) {
    chosen = (*targets)->targets;
  } else {
    for (const auto& n : names) {
      const Target* t = (*targets)->Find(n);
      if (t == nullptr) return NotFound("there is no deployment target named '" + n + "'");
      chosen.push_back(*t);
    }
  }
  const std::shared_ptr<const PresentedIdentity> credentials = credentials_.load();
  // Each target is checked with its pins as they are when its turn comes,
  // not as they were when the round began: a round over many targets takes
  // long enough for a rotation to pin a Tentacle's new certificate and
  // switch it meanwhile. And a certificate the pins did not expect is
  // judged once more against the pins read after it was seen, since a
  // Tentacle presents a new certificate only after the Server pinned it
  // (rotate-target-certificate): the pins read before the handshake may be
  // just too old.
  std::vector<HealthResult> results(chosen.size());
  ForEachBounded(chosen.size(), options_.check.parallelism, [&](size_t i) {
    Target target = LatestPins(chosen[i]);
    if (IsPollingAddress(target.address)) {
      results[i] = CheckPolling(target);
      return;
    }
    HealthResult r = CheckTarget(credentials->ctx.get(), credentials->thumbprint, target, options_.check);
    if (r.outcome == HealthOutcome::kUnexpectedCertificate) {
      Target fresh = LatestPins(target);
      if (fresh.thumbprints != target.thumbprints &&
          std::find(fresh.thumbprints.begin(), fresh.thumbprints.end(), r.thumbprint) != fresh.thumbprints.end()) {
        r = CheckTarget(credentials->ctx.get(), credentials->thumbprint, fresh, options_.check);
      }
    }
    results[i] = std::move(r);
  });
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& r : results) {
    last_[r.name] = r;
    if (r.healthy) {
      log_->info("Health check: {} at {} is healthy ({:.1f} ms)", r.name, r.address, r.elapsed_ms);
    } else {
      log_->warn("Health check: {} at {} is unhealthy: {}", r.name, r.address, r.reason);
    }
  }
  return results;
}

Target ServerService::LatestPins(const Target& target) {
  auto now = Targets();
  if (!now.ok()) return target;
  const Target* t = (*now)->Find(target.name);
  return t != nullptr ? *t : target;
}

Result<std::shared_ptr<const TargetSnapshot>> ServerService::Targets() {
  std::lock_guard<std::mutex> lock(targets_mu_);
  if (!targets_) {
    auto store = TargetStore::Open(options_.config_path);
    if (!store.ok()) return store.status();
    targets_ = std::move(store).value();
    pooled_generation_ = targets_->Current()->generation;
    return targets_->Current();
  }
  auto now = targets_->Refresh();
  if (now.ok() && (*now)->generation != pooled_generation_) {
    // Targets or pins changed: connections made for the old pins go at once.
    pooled_generation_ = (*now)->generation;
    if (options_.check.pool) {
      const size_t closed = options_.check.pool->Retain((*now)->targets);
      if (closed > 0) log_->info("Closed {} kept connection(s) to targets whose pins or address changed", closed);
    }
  }
  return now;
}

void ServerService::PeriodicLoop() {
  // Wakes for the periodic checks, and at least every 10 s to close kept
  // connections that have been idle too long.
  const bool periodic = options_.interval.count() > 0;
  const auto housekeeping = std::chrono::seconds(10);
  auto next_check = Clock::now() + options_.interval;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_.load()) {
    auto wake = Clock::now() + housekeeping;
    if (periodic) wake = std::min(wake, next_check);
    if (cv_.wait_until(lock, wake, [this] { return stopping_.load(); })) break;
    lock.unlock();
    if (options_.check.pool) options_.check.pool->CloseExpired();
    if (periodic && Clock::now() >= next_check) {
      auto r = CheckNow({});
      if (!r.ok()) log_->warn("Periodic health check failed: {}", r.status().message());
      next_check = Clock::now() + options_.interval;
    }
    lock.lock();
  }
}

Json ServerService::Handle(const Json& request, const ControlPeer& peer) {
  const std::string command = StringField(request, "Command");
  if (command == "status") {
    Json out{{"Thumbprint", thumbprint()}, {"Pid", ::getpid()}, {"StartedAt", started_at_}};
    if (const ConnectionPool* kept = pool()) {
      const ConnectionPool::Stats st = kept->stats();
      out["KeptConnections"] = Json{{"Idle", st.idle}, {"Reused", st.reused}, {"Kept", st.kept},
                                    {"Discarded", st.discarded}};
    }
    return out;
  }
  if (command == "reload") {
    if (!options_.load_identity) return Json{{"Error", "this service cannot reload its certificate"}};
    std::lock_guard<std::mutex> lock(reload_mu_);
    auto next = options_.load_identity();
    if (!next.ok()) return Json{{"Error", next.status().message()}};
    const std::string before = thumbprint();
    if (Status st = SetIdentity(*next); !st.ok()) return Json{{"Error", st.message()}};
    const std::string now = thumbprint();
    const std::string who = StringField(request, "By", "a local command") + " (" + peer.Describe() + ")";
    if (now != before) {
      log_->info("Reloaded: health checks now present the certificate {} (was {}), asked by {}", now, before, who);
    } else {
      log_->info("Reloaded: the certificate {} is unchanged, asked by {}", now, who);
    }
    return Json{{"Thumbprint", now}, {"PreviousThumbprint", before}};
  }
  if (command == "log") {
    // Lines a command (rotate-certificate, rotate-target-certificate) wants
    // in the Server's log: each call it made to a Tentacle, with who ran it.
    const std::string who = StringField(request, "By", "a local command") + " (" + peer.Describe() + ")";
    int logged = 0;
    if (request.contains("Lines") && request["Lines"].is_array()) {
      for (const auto& line : request["Lines"]) {
        if (!line.is_string()) continue;
        log_->info("{}, run by {}", line.get<std::string>(), who);
        ++logged;
      }
    }
    return Json{{"Logged", logged}};
  }
  if (command == "call") {
    const std::string name = StringField(request, "Target");
    auto targets = Targets();
    if (!targets.ok()) return ErrorAnswer(targets.status());
    const Target* t = (*targets)->Find(name);
    if (t == nullptr) return ErrorAnswer(NotFound("there is no deployment target named '" + name + "'"));
    if (!request.contains("Request") || !request["Request"].is_object()) {
      return ErrorAnswer(InvalidArgument("a \"Request\" object is needed"));
    }
    long long ms = options_.check.timeout.count();
    if (request.contains("TimeoutMs") && request["TimeoutMs"].is_number_integer()) {
      ms = std::clamp<long long>(request["TimeoutMs"].get<long long>(), 1, 600000);
    }
    const std::shared_ptr<const PresentedIdentity> credentials = credentials_.load();
    auto reply = [&](HealthOutcome outcome, const std::string& thumbprint, const Json& answer, const Status& status) {
      Json out{{"Outcome", HealthOutcomeName(outcome)}, {"Thumbprint", thumbprint}, {"Answer", answer},
               {"Presented", credentials->thumbprint}};
      if (!status.ok()) {
        out["Error"] = status.message();
        out["Code"] = StatusCodeName(status.code());
      }
      return out;
    };
    if (!IsPollingAddress(t->address)) {
      // A listening target: over the connection this Server keeps to it (a
      // rotation command's requests then need no handshake of their own),
      // pinning what the caller pins, as its own connection would.
      Target pinned = *t;
      if (request.contains("Thumbprints") && request["Thumbprints"].is_array()) {
        pinned.thumbprints.clear();
        for (const auto& tp : request["Thumbprints"]) {
          if (tp.is_string()) pinned.thumbprints.push_back(tp.get<std::string>());
        }
        if (pinned.thumbprints.empty()) return ErrorAnswer(InvalidArgument("\"Thumbprints\" names no thumbprint"));
      }
      HealthCheckOptions o = options_.check;
      o.timeout = std::chrono::milliseconds(ms);
      TentacleCall c = CallTentacle(credentials->ctx.get(), credentials->thumbprint, pinned, request["Request"], o);
      return reply(c.outcome, c.thumbprint, c.answer, c.status);
    }
    PolledCall c = CallPolling(*t, request["Request"], std::chrono::milliseconds(ms));
    Json out = reply(c.outcome, c.thumbprint, c.answer, c.status);
    out["Polling"] = PollingStateName(c.view.state);
    return out;
  }
  if (command == "health-check") {
    std::vector<std::string> names;
    if (request.contains("Names") && request["Names"].is_array()) {
      for (const auto& n : request["Names"]) {
        if (n.is_string()) names.push_back(n.get<std::string>());
      }
    }
    auto results = CheckNow(names);
    if (!results.ok()) return Json{{"Error", results.status().message()}};
    Json arr = Json::array();
    for (const auto& r : *results) arr.push_back(r.ToJson());
    return Json{{"Results", arr}};
  }
  if (command == "last-results") {
    std::lock_guard<std::mutex> lock(mu_);
    Json arr = Json::array();
    for (const auto& [name, r] : last_) arr.push_back(r.ToJson());
    return Json{{"Results", arr}};
  }
  return Json{{"Error", "unknown command '" + command + "'"}};
}

}  // namespace octo
