#include "common/channel/health_check.h"

#include <ctime>
#include <optional>

#include "common/base/parallel.h"
#include "common/channel/channel.h"

namespace octo {
namespace {

// Why a check failed: the outcome and the mirrored text for it.
struct Failure {
  HealthOutcome outcome = HealthOutcome::kHealthy;
  std::string reason;
};

// Connects as the Server does for every request: TCP, the TLS handshake
// with the pins checked inside it, and the identification lines. The
// failure, or kHealthy with no reason and `*out` set. Sets the presented
// thumbprint of `*r` when it learns it.
Failure Connect(SSL_CTX* ctx, const std::string& ours, const Target& t, Deadline deadline, HealthResult* r,
                std::optional<TlsStream>* out) {
  auto hp = ParseHttpsUrl(t.address);
  if (!hp.ok()) return {HealthOutcome::kError, hp.status().message()};
  auto fd = ConnectTcp(*hp, deadline);
  if (!fd.ok()) {
    switch (fd.status().code()) {
      case StatusCode::kDeadlineExceeded:
        return {HealthOutcome::kTimedOut,
                "The Tentacle at " + t.address + " could not be reached: the connection timed out"};
      case StatusCode::kUnavailable:
        return {HealthOutcome::kRefused,
                "The Tentacle at " + t.address +
                    " refused the connection (No connection could be made because the target machine actively "
                    "refused it): is the Tentacle running and listening on that port?"};
      default:
        return {HealthOutcome::kError, "The Tentacle at " + t.address + " could not be reached: " + fd.status().message()};
    }
  }
  // The pins are checked inside the handshake: a server presenting another
  // certificate never gets ours, nor a signature made with our key.
  PeerCertificate presented;
  auto stream = TlsStream::Connect(std::move(fd).value(), ctx, t.thumbprints, deadline, &presented);
  if (!stream.ok()) {
    switch (stream.status().code()) {
      case StatusCode::kPermissionDenied:
        r->thumbprint = presented.thumbprint;
        return {HealthOutcome::kUnexpectedCertificate,
                UnexpectedCertificateText(t.address, t.thumbprints, presented.thumbprint, presented.subject)};
      case StatusCode::kDeadlineExceeded:
        return {HealthOutcome::kTimedOut,
                "The Tentacle at " + t.address + " did not complete the TLS handshake in time (timed out)"};
      default:
        return {HealthOutcome::kAborted, RefusedOurCertificateText(t.address, ours)};
    }
  }
  TlsStream& s = *stream;
  r->thumbprint = s.peer_thumbprint();
  // With TLS 1.3 the server judges our certificate after our side of the
  // handshake is done: its refusal shows up on the first read.
  Status st = s.Write(std::string(kClientIdentification) + "\r\n\r\n", deadline);
  auto line = st.ok() ? s.ReadLine(kMaxIdentificationLine, deadline) : Result<std::string>(st);
  if (!line.ok()) {
    if (line.status().code() == StatusCode::kDeadlineExceeded) {
      return {HealthOutcome::kTimedOut, "The Tentacle at " + t.address + " did not answer in time (timed out)"};
    }
    return {HealthOutcome::kAborted, RefusedOurCertificateText(t.address, ours)};
  }
  auto blank = s.ReadLine(kMaxIdentificationLine, deadline);
  if (!CheckIdentification(*line, kServerIdentification).ok() || !blank.ok() || !blank->empty()) {
    return {HealthOutcome::kError, "The service at " + t.address + " is not a Tentacle (it did not identify as " +
                                       kServerIdentification + ")"};
  }
  out->emplace(std::move(stream).value());
  return {};
}

// How the texts name a request: "health", else the method's name.
std::string RequestName(const Json& request) {
  const std::string method = StringField(request, "Method");
  return method == "Health" ? "health" : method;
}

// One request and its answer on a connected stream, which stays open.
Result<Json> Exchange(TlsStream& s, const Json& request, Deadline deadline) {
  Status st = WriteFrame(s, request, deadline);
  return st.ok() ? ReadFrame(s, kMaxFrame, deadline) : Result<Json>(st);
}

// One request to `t` and its answer, as every request is made: over a
// connection kept in `options.pool` when there is one, else (or when that
// one turns out closed) over a new one. The connection goes back to the
// pool after a well-formed answer, or is closed. The failure, or kHealthy
// with `*answer` set; sets the presented thumbprint of `*r`.
Failure Request(SSL_CTX* ctx, const std::string& ours, const Target& t, const Json& request,
                const HealthCheckOptions& options, Deadline deadline, HealthResult* r, Json* answer) {
  ConnectionPool* pool = options.pool.get();
  std::optional<TlsStream> stream;
  if (pool != nullptr) stream = pool->Take(t.address, t.thumbprints, ours);
  if (stream) {
    r->thumbprint = stream->peer_thumbprint();
    auto response = Exchange(*stream, request, deadline);
    if (response.ok()) {
      pool->Put(t.address, t.thumbprints, ours, std::move(*stream));
      *answer = std::move(response).value();
      return {};
    }
    stream->Close(DeadlineIn(std::chrono::milliseconds(50)));
    stream.reset();
    // A late answer is the Tentacle's, not the pool's: a new connection would
    // only wait again.
    if (response.status().code() == StatusCode::kDeadlineExceeded) {
      return {HealthOutcome::kTimedOut, "The Tentacle at " + t.address + " did not answer the " +
                                            RequestName(request) + " request: " +
                                            response.status().message()};
    }
    r->thumbprint.clear();
  }
  Failure f = Connect(ctx, ours, t, deadline, r, &stream);
  if (f.outcome != HealthOutcome::kHealthy) return f;
  auto response = Exchange(*stream, request, deadline);
  if (!response.ok()) {
    stream->Close(DeadlineIn(std::chrono::milliseconds(200)));
    return {response.status().code() == StatusCode::kDeadlineExceeded ? HealthOutcome::kTimedOut
                                                                       : HealthOutcome::kError,
            "The Tentacle at " + t.address + " did not answer the " + RequestName(request) +
                " request: " + response.status().message()};
  }
  if (pool != nullptr) {
    pool->Put(t.address, t.thumbprints, ours, std::move(*stream));
  } else {
    stream->Close(DeadlineIn(std::chrono::milliseconds(200)));
  }
  *answer = std::move(response).value();
  return {};
}

// The check itself; the failure, or kHealthy with no reason. Sets the
// version and the presented thumbprint of `*r` when it learns them.
Failure Check(SSL_CTX* ctx, const std::string& ours, const Target& t, const HealthCheckOptions& options,
              Deadline deadline, HealthResult* r) {
  Json response;
  Failure f = Request(ctx, ours, t, Json{{"Method", "Health"}}, options, deadline, r, &response);
  if (f.outcome != HealthOutcome::kHealthy) return f;
  if (StringField(response, "Status") != "Healthy") {
    return {HealthOutcome::kError, "The Tentacle at " + t.address + " answered the health request with an error: " +
                                       StringField(response, "Error", "no status")};
  }
  r->version = StringField(response, "Version");
  return {};
}

// The Status code a call reports for a connection that did not get as far
// as an answer.
StatusCode CodeOf(HealthOutcome outcome) {
  switch (outcome) {
    case HealthOutcome::kRefused:
      return StatusCode::kUnavailable;
    case HealthOutcome::kTimedOut:
      return StatusCode::kDeadlineExceeded;
    case HealthOutcome::kUnexpectedCertificate:
    case HealthOutcome::kAborted:
      return StatusCode::kPermissionDenied;
    default:
      return StatusCode::kFailedPrecondition;
  }
}

constexpr struct {
  HealthOutcome outcome;
  const char* name;
} kOutcomeNames[] = {
    {HealthOutcome::kHealthy, "Healthy"},     {HealthOutcome::kUnexpectedCertificate, "UnexpectedCertificate"},
    {HealthOutcome::kRefused, "Refused"},     {HealthOutcome::kTimedOut, "TimedOut"},
    {HealthOutcome::kAborted, "Aborted"},     {HealthOutcome::kNotRunning, "NotRunning"},
    {HealthOutcome::kError, "Error"},
};

}  // namespace

const char* HealthOutcomeName(HealthOutcome outcome) {
  for (const auto& n : kOutcomeNames) {
    if (n.outcome == outcome) return n.name;
  }
  return "Error";
}

std::optional<HealthOutcome> HealthOutcomeFromName(const std::string& name) {
  for (const auto& n : kOutcomeNames) {
    if (name == n.name) return n.outcome;
  }
  return std::nullopt;
}

std::string UnexpectedCertificateText(const std::string& url, const std::string& expected,
                                      const std::string& actual, const std::string& subject) {
  return UnexpectedCertificateText(url, std::vector<std::string>{expected}, actual, subject);
}

std::string UnexpectedCertificateText(const std::string& url, const std::vector<std::string>& expected,
                                      const std::string& actual, const std::string& subject) {
  // One pin: Halibut's words. Several: all of them, in the order pinned.
  std::string pins = expected.size() == 1 ? "the thumbprint " : "one of the thumbprints ";
  for (size_t i = 0; i < expected.size(); ++i) pins += (i == 0 ? "'" : ", '") + expected[i] + "'";
  if (expected.empty()) pins = "a pinned thumbprint, but none is pinned";
  return "The server at " + url +
         " presented an unexpected security certificate. We expected the server to present a certificate with " + pins +
         ". Instead, it presented a certificate with a thumbprint of '" + actual + "' and subject '" + subject +
         "'. This usually happens when the client has been configured to expect the server to have the wrong "
         "certificate, or when the certificate on the server has been regenerated and the client has not been "
         "updated. It may also happen if someone is performing a man-in-the-middle attack on the remote machine, "
         "or if a proxy server is intercepting requests. Please check the certificate used on the server, and "
         "verify that the client has been configured correctly.";
}

std::string RefusedOurCertificateText(const std::string& url, const std::string& ours) {
  return "The server " + url +
         " aborted the connection before it was fully established. This usually means that the server rejected "
         "the certificate that we provided. We provided a certificate with a thumbprint of '" +
         ours + "'.";
}

Json HealthResult::ToJson() const {
  Json j = Json::object();
  j["Name"] = name;
  j["Address"] = address;
  j["Healthy"] = healthy;
  j["Reason"] = reason;
  j["TentacleVersion"] = version;
  j["ElapsedMilliseconds"] = elapsed_ms;
  j["CheckedAt"] = checked_at;
  j["Thumbprint"] = thumbprint;
  j["PinnedThumbprints"] = pinned;
  j["Outcome"] = HealthOutcomeName(outcome);
  if (!polling.empty()) j["Polling"] = polling;
  return j;
}

HealthResult HealthResult::FromJson(const Json& j) {
  HealthResult r;
  r.name = StringField(j, "Name");
  r.address = StringField(j, "Address");
  r.healthy = j.is_object() && j.contains("Healthy") && j["Healthy"].is_boolean() && j["Healthy"].get<bool>();
  r.reason = StringField(j, "Reason");
  // A result without an "Outcome" (from a Server before outcomes) is
  // Healthy or Error by its "Healthy".
  const auto outcome = HealthOutcomeFromName(StringField(j, "Outcome"));
  r.outcome = outcome ? *outcome : r.healthy ? HealthOutcome::kHealthy : HealthOutcome::kError;
  r.version = StringField(j, "TentacleVersion");
  r.elapsed_ms = j.is_object() && j.contains("ElapsedMilliseconds") && j["ElapsedMilliseconds"].is_number()
                     ? j["ElapsedMilliseconds"].get<double>()
                     : 0.0;
  r.checked_at = StringField(j, "CheckedAt");
  r.thumbprint = StringField(j, "Thumbprint");
  r.polling = StringField(j, "Polling");
  if (j.is_object() && j.contains("PinnedThumbprints") && j["PinnedThumbprints"].is_array()) {
    for (const auto& tp : j["PinnedThumbprints"]) {
      if (tp.is_string()) r.pinned.push_back(tp.get<std::string>());
    }
  }
  return r;
}

HealthResult CheckTarget(SSL_CTX* client_ctx, const std::string& our_thumbprint, const Target& target,
                         const HealthCheckOptions& options) {
  HealthResult r;
  r.name = target.name;
  r.address = target.address;
  r.checked_at = UtcNowIso8601();
  r.pinned = target.thumbprints;
  auto start = Clock::now();
  Failure f = Check(client_ctx, our_thumbprint, target, options, start + options.timeout, &r);
  r.outcome = f.outcome;
  r.reason = std::move(f.reason);
  r.healthy = r.outcome == HealthOutcome::kHealthy;
  r.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return r;
}

TentacleCall CallTentacle(SSL_CTX* client_ctx, const std::string& our_thumbprint, const Target& target,
                          const Json& request, const HealthCheckOptions& options) {
  TentacleCall call;
  HealthResult r;
  const Deadline deadline = Clock::now() + options.timeout;
  const std::string method = StringField(request, "Method");
  Json answer;
  Failure f = Request(client_ctx, our_thumbprint, target, request, options, deadline, &r, &answer);
  call.thumbprint = r.thumbprint;
  call.outcome = f.outcome;
  if (f.outcome != HealthOutcome::kHealthy) {
    call.status = Status(CodeOf(f.outcome), std::move(f.reason));
    return call;
  }
  call.answer = std::move(answer);
  call.status = AnswerStatus(call.answer);
  if (!call.status.ok()) {
    call.status = call.status.WithContext("The Tentacle at " + target.address + " refused the " + method + " request");
  }
  return call;
}

HealthResult HealthFromCall(const Target& target, HealthOutcome outcome, const std::string& thumbprint,
                            const Status& status, const Json& answer, Clock::time_point start) {
  HealthResult r;
  r.name = target.name;
  r.address = target.address;
  r.checked_at = UtcNowIso8601();
  r.pinned = target.thumbprints;
  r.outcome = outcome;
  r.thumbprint = thumbprint;
  if (status.ok() && StringField(answer, "Status") != "Healthy") {
    r.outcome = HealthOutcome::kError;
    r.reason = "The Tentacle at " + target.address + " answered the health request with an error: " +
               StringField(answer, "Error", "no status");
  } else if (!status.ok()) {
    if (r.outcome == HealthOutcome::kHealthy) r.outcome = HealthOutcome::kError;
    r.reason = status.message();
  } else {
    r.version = StringField(answer, "Version");
  }
  r.healthy = r.outcome == HealthOutcome::kHealthy;
  r.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return r;
}

std::vector<HealthResult> CheckTargets(SSL_CTX* client_ctx, const std::string& our_thumbprint,
                                       const std::vector<Target>& targets, const HealthCheckOptions& options) {
  std::vector<HealthResult> results(targets.size());
  ForEachBounded(targets.size(), options.parallelism,
                 [&](size_t i) { results[i] = CheckTarget(client_ctx, our_thumbprint, targets[i], options); });
  return results;
}

}  // namespace octo
