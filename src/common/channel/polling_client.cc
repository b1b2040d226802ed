#include "common/channel/polling_client.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/base/encoding.h"
#include "common/base/net.h"
#include "common/channel/channel.h"
#include "common/channel/health_check.h"

namespace octo {

struct PollingClient::Worker {
  std::string address;  // which endpoint (compared without regard to case)
  int index = 0;        // which of its connections
  double r = 0;         // the random factor of its backoff, in [0, 1)
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  PollingEndpoint endpoint;  // guarded by mu
  bool stop = false;         // guarded by mu
  bool poke = false;         // something changed: retry now; guarded by mu
  int fd = -1;               // the open connection's descriptor; guarded by mu
  std::string server_thumbprint;  // what its Server presented; guarded by mu
  bool busy = false;              // answering a request; guarded by mu
};

namespace {

double RandomFraction() {
  uint32_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) return 0.5;
  return static_cast<double>(v) / 4294967296.0;
}

std::string BeforeBegin(const std::string& address, const std::string& why) {
  // Halibut's HalibutClientException text (SecureClient).
  return "An error occurred when sending a request to '" + address + "', before the request could begin: " + why;
}

}  // namespace

PollingClient::PollingClient(PollingClientOptions options, OurIdentity identity, Trusts trusts, Dispatch dispatch,
                             std::shared_ptr<spdlog::logger> log)
    : options_(options),
      identity_(std::move(identity)),
      trusts_(std::move(trusts)),
      dispatch_(std::move(dispatch)),
      log_(std::move(log)) {}

PollingClient::~PollingClient() { Stop(); }

void PollingClient::Retire(std::shared_ptr<Worker> w) {
  {
    std::lock_guard<std::mutex> lock(w->mu);
    w->stop = true;
    if (w->fd >= 0) ShutdownSocket(w->fd);
  }
  w->cv.notify_all();
  retired_.push_back(std::move(w));
}

void PollingClient::SetEndpoints(const std::vector<PollingEndpoint>& endpoints, int connections) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  std::vector<std::shared_ptr<Worker>> keep;
  for (auto& w : workers_) {
    auto ep = std::find_if(endpoints.begin(), endpoints.end(),
                           [&](const PollingEndpoint& e) { return EqualsIgnoreCase(e.address, w->address); });
    bool same = ep != endpoints.end() && w->index < connections;
    if (same) {
      std::lock_guard<std::mutex> wl(w->mu);
      same = w->endpoint.subscription_id == ep->subscription_id;
      if (same) {
        w->endpoint = *ep;
        // A connection whose Server presented a thumbprint no longer
        // pinned ends now (a busy one: before its next request).
        if (w->fd >= 0 && !w->busy && ep->thumbprints.count(w->server_thumbprint) == 0) {
          ShutdownSocket(w->fd);
        }
        w->poke = true;
      }
    }
    if (same) {
      w->cv.notify_all();
      keep.push_back(std::move(w));
    } else {
      Retire(std::move(w));
    }
  }
  workers_ = std::move(keep);
  for (const auto& ep : endpoints) {
    for (int i = 0; i < connections; ++i) {
      const bool running = std::any_of(workers_.begin(), workers_.end(), [&](const std::shared_ptr<Worker>& w) {
        return w->index == i && EqualsIgnoreCase(w->address, ep.address);
      });
      if (running) continue;
      auto w = std::make_shared<Worker>();
      w->address = ep.address;
      w->index = i;
      w->r = RandomFraction();
      w->endpoint = ep;
      w->thread = std::thread([this, w] {
        Run(w);
        OPENSSL_thread_stop();
      });
      workers_.push_back(std::move(w));
    }
  }
}

void PollingClient::IdentityChanged() {
  ++identity_generation_;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& w : workers_) {
    std::lock_guard<std::mutex> wl(w->mu);
    // An idle connection ends now; a busy one ends after its answer.
    if (w->fd >= 0 && !w->busy) ShutdownSocket(w->fd);
    w->poke = true;
    w->cv.notify_all();
  }
}

void PollingClient::Stop() {
  std::vector<std::shared_ptr<Worker>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    for (auto& w : workers_) Retire(std::move(w));
    workers_.clear();
    all.swap(retired_);
  }
  for (auto& w : all) {
    if (w->thread.joinable()) w->thread.join();
  }
}

void PollingClient::Run(const std::shared_ptr<Worker>& w) {
  bool failing = false;
  Clock::time_point first_failure;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(w->mu);
      if (w->stop) return;
      w->poke = false;
    }
    bool again_now = false;
    std::string why;
    ++attempts_;
    const bool identified = Connect(w, &again_now, &why);
    if (identified) failing = false;
    {
      std::lock_guard<std::mutex> lock(w->mu);
      if (w->stop) return;
      // A change made while the connection was open is no reason to skip
      // the wait after it: only one made during the wait is.
      w->poke = false;
    }
    if (again_now) {
      log_->info("Polling {}: {}; connecting again now", w->address, why);
      continue;
    }
    const auto now = Clock::now();
    if (!failing) {
      failing = true;
      first_failure = now;
    }
    // Halibut's RetryPolicy: bounded, jittered, growing with the time spent failing.
    const double grown = std::chrono::duration<double, std::milli>(now - first_failure).count() * (1.0 + w->r);
    const double bounded = std::clamp(grown, static_cast<double>(options_.retry_min.count()),
                                      static_cast<double>(options_.retry_max.count()));
    const auto delay = std::chrono::milliseconds(static_cast<long long>(bounded));
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", static_cast<double>(delay.count()) / 1000.0);
    if (identified) {
      log_->info("Polling {}: the connection ended ({}). Connecting again in {} seconds", w->address, why, seconds);
    } else {
      if (!why.empty() && why.back() == '.') why.pop_back();
      log_->warn("Halibut client exception: {}. Retrying in {} seconds", why, seconds);
    }
    std::unique_lock<std::mutex> lock(w->mu);
    w->cv.wait_for(lock, delay, [&] { return w->stop || w->poke; });
  }
}

bool PollingClient::Connect(const std::shared_ptr<Worker>& w, bool* again_now, std::string* why) {
  PollingEndpoint ep;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    ep = w->endpoint;
  }
  auto hp = ParseHttpsUrl(ep.address);
  if (!hp.ok()) {
    *why = BeforeBegin(ep.address, hp.status().message());
    return false;
  }
  const Deadline deadline = DeadlineIn(options_.connect_timeout);
  auto fd = ConnectTcp(*hp, deadline);
  if (!fd.ok()) {
    *why = BeforeBegin(ep.address, fd.status().message());
    return false;
  }
  const uint64_t generation = identity_generation_.load();
  const std::shared_ptr<const PresentedIdentity> ours = identity_();
  if (!ours || !ours->ctx) {
    *why = BeforeBegin(ep.address, "this Tentacle has no certificate to present");
    return false;
  }
  const std::vector<std::string> pins(ep.thumbprints.begin(), ep.thumbprints.end());
  PeerCertificate presented;
  auto stream = TlsStream::Connect(std::move(fd).value(), ours->ctx.get(), pins, deadline, &presented);
  if (!stream.ok()) {
    if (stream.status().code() == StatusCode::kPermissionDenied && !presented.thumbprint.empty()) {
      *why = BeforeBegin(ep.address, UnexpectedCertificateText(ep.address, pins, presented.thumbprint, presented.subject));
    } else if (stream.status().code() == StatusCode::kFailedPrecondition) {
      *why = BeforeBegin(ep.address, "The remote host at " + ep.address +
                                         " reset the connection. This may mean that the expected listening service "
                                         "does not trust the thumbprint " + ours->thumbprint + " or was shut down.");
    } else {
      *why = BeforeBegin(ep.address, stream.status().message());
    }
    return false;
  }
  TlsStream& s = *stream;
  const std::string server = s.peer_thumbprint();
  Status st = s.Write(std::string(kSubscriberIdentification) + " " + ep.subscription_id + "\r\n\r\n", deadline);
  auto line = st.ok() ? s.ReadLine(kMaxIdentificationLine, deadline) : Result<std::string>(st);
  auto blank = line.ok() ? s.ReadLine(kMaxIdentificationLine, deadline) : line;
  if (!line.ok() || !blank.ok()) {
    *why = BeforeBegin(ep.address, "The remote host at " + ep.address +
                                       " reset the connection. This may mean that the expected listening service does "
                                       "not trust the thumbprint " + ours->thumbprint + " or was shut down.");
    s.Close(DeadlineIn(std::chrono::milliseconds(200)));
    return false;
  }
  if (Status ident = CheckIdentification(*line, kServerIdentification); !ident.ok()) {
    *why = BeforeBegin(ep.address, "Expected the remote endpoint to identity as a server: " + ident.message());
    s.Close(DeadlineIn(std::chrono::milliseconds(200)));
    return false;
  }
  ++identified_;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    w->fd = s.fd();
    w->server_thumbprint = server;
    if (w->stop || identity_generation_.load() != generation) ShutdownSocket(s.fd());
  }
  log_->info("Polling {} as {}: connected; the Octopus Server presented the certificate {}", ep.address,
             ep.subscription_id, server);
  *why = "the Octopus Server closed it";
  for (;;) {
    auto frame = ReadFrame(s, options_.max_frame, DeadlineIn(options_.receive_timeout));
    if (!frame.ok()) {
      *why = frame.status().message();
      if (identity_generation_.load() != generation) {
        *why = "this Tentacle's certificate changed";
        *again_now = true;
      }
      break;
    }
    const ServerPollFrame read = ReadServerPollFrame(*frame);
    if (read.kind == ServerPollFrame::kEnd) {
      *why = "the Octopus Server ended it (its certificate changed)";
      *again_now = true;
      break;
    }
    if (read.kind == ServerPollFrame::kNoop) {
      if (!WriteFrame(s, Json{{"Next", true}}, DeadlineIn(options_.receive_timeout)).ok()) break;
      continue;
    }
    if (read.kind != ServerPollFrame::kRequest) {
      *why = "the Octopus Server sent a malformed frame";
      break;
    }
    if (identity_generation_.load() != generation) {
      // Our certificate changed since this connection identified: the
      // Server must see the new one, so the request is left to a new
      // connection (the Server puts it back in the queue).
      *why = "this Tentacle's certificate changed";
      *again_now = true;
      break;
    }
    bool pinned = false;
    {
      std::lock_guard<std::mutex> lock(w->mu);
      pinned = w->endpoint.thumbprints.count(server) > 0 && !w->stop;
      w->busy = pinned;
    }
    if (!pinned || !trusts_(server)) {
      *why = "the Octopus Server's certificate " + server + " is no longer trusted";
      std::lock_guard<std::mutex> lock(w->mu);
      w->busy = false;
      break;
    }
    Json answer = dispatch_(read.request, server, ours->thumbprint, ep.address);
    const bool end = identity_generation_.load() != generation;
    Json reply{{"Id", read.id}, {"Response", std::move(answer)}};
    if (end) reply["End"] = true;
    Status sent = WriteFrame(s, reply, DeadlineIn(options_.receive_timeout));
    {
      std::lock_guard<std::mutex> lock(w->mu);
      w->busy = false;
    }
    if (end) {
      *why = "this Tentacle's certificate changed";
      *again_now = true;
      break;
    }
    if (!sent.ok()) {
      *why = sent.message();
      break;
    }
  }
  {
    std::lock_guard<std::mutex> lock(w->mu);
    w->fd = -1;  // before the descriptor is closed
    w->server_thumbprint.clear();
  }
  s.Close(DeadlineIn(std::chrono::milliseconds(200)));
  return true;
}

}  // namespace octo
