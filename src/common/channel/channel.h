// The message protocol spoken over the TLS channel (see docs/protocol.md).
//
//   client -> "MX-CLIENT 1.0\r\n\r\n"      server -> "MX-SERVER 1.0\r\n\r\n"
//   then frames both ways: 4-byte big-endian length N (1..kMaxFrame), then N
//   bytes of UTF-8 JSON. A request is {"Method": "..."}; a response is an
//   object, with "Error" when the request could not be served.
// A client whose first two bytes are not "MX" is answered with a small
// HTTP/1.0 page and closed, as the real Tentacle does for browsers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/base/json.h"
#include "common/base/net.h"
#include "common/base/status.h"

namespace octo {

class TlsStream;  // crypto/tls.h

inline constexpr char kClientIdentification[] = "MX-CLIENT 1.0";
inline constexpr char kServerIdentification[] = "MX-SERVER 1.0";
inline constexpr size_t kMaxFrame = 64 * 1024;
inline constexpr size_t kMaxIdentificationLine = 64;
// Polling (docs/protocol.md, "Polling Tentacles"): the Tentacle connects to
// the Server's comms port and sends "MX-SUBSCRIBER 1.0 poll://ID/\r\n\r\n";
// the Server answers "MX-SERVER 1.0\r\n\r\n" and then sends the requests.
inline constexpr char kSubscriberIdentification[] = "MX-SUBSCRIBER 1.0";
inline constexpr size_t kMaxSubscriberLine = 256;
inline constexpr size_t kMaxSubscriptionId = 128;

// Whether `address` names a polling endpoint ("poll://...", any case).
bool IsPollingAddress(std::string_view address);

// A subscription id as an operator or a Tentacle gives it: "poll://" then
// 1-100 letters, digits, '.', '-' or '_', then "/" (added when missing).
// Returned lower-cased (a URI's host: the real Server compares them so).
// InvalidArgument naming the problem otherwise.
Result<std::string> ParseSubscriptionId(std::string_view text);

// The subscription id from a subscriber's identification line
// ("MX-SUBSCRIBER 1.0 poll://ID/"), checked as ParseSubscriptionId checks
// it. InvalidArgument otherwise; Halibut's text when the id is missing.
Result<std::string> ParseSubscriberIdentification(const std::string& line);

// What a polling connection's peer sent, as the loop on each side reads it
// (polling_hub.h lists the frames). Anything else is kMalformed, and ends
// the connection.
struct ServerPollFrame {  // read by the Tentacle
  enum Kind { kRequest, kNoop, kEnd, kMalformed } kind = kMalformed;
  Json id;       // kRequest: the "Id" to answer with (a number)
  Json request;  // kRequest: an object
};
ServerPollFrame ReadServerPollFrame(const Json& frame);
struct TentaclePollReply {  // read by the Server, for the request `expected_id` (0: a no-op)
  enum Kind { kAnswer, kNext, kMalformed } kind = kMalformed;
  Json response;  // kAnswer: an object
  bool end = false;  // kAnswer: the Tentacle ends the connection after it
};
TentaclePollReply ReadTentaclePollReply(const Json& frame, uint64_t expected_id);

// The page a browser gets: `message` in a small HTML page (the Tentacle's
// text when none is given).
std::string HttpWelcomePage(const std::string& message =
                                "Octopus Tentacle listening. This port is for Octopus Server connections, not browsers.");

// Encodes a frame. InvalidArgument if the JSON is larger than kMaxFrame.
Result<std::string> EncodeFrame(const Json& message);

// Reads the 4-byte header: the payload length, or InvalidArgument when it is
// 0 or larger than `max`.
Result<uint32_t> ParseFrameHeader(const std::string& header, size_t max = kMaxFrame);

// Parses a frame's payload: a JSON object, or InvalidArgument.
Result<Json> ParseFramePayload(const std::string& payload);

// Writes `message` as one frame; reads one frame (at most `max` bytes of
// payload). The stream's errors as they are (DeadlineExceeded "timed out",
// FailedPrecondition "the connection was closed").
Status WriteFrame(TlsStream& stream, const Json& message, Deadline deadline);
Result<Json> ReadFrame(TlsStream& stream, size_t max, Deadline deadline);

// The string under `key`, or `fallback` when it is absent or not a string.
// Messages come from the other side: a field of the wrong type must never
// throw (nlohmann's value() does).
std::string StringField(const Json& message, const char* key, const std::string& fallback = "");

// Checks an identification line ("MX-CLIENT 1.0"); InvalidArgument otherwise.
Status CheckIdentification(const std::string& line, const char* expected);

// One request as a method's handler sees it, on an authenticated connection.
struct ChannelCall {
  const Json& request;                     // the whole request object
  const std::string& client_thumbprint;    // the certificate the client (Server) presented
  const std::string& presented_thumbprint; // the certificate this connection presented
  const std::string& peer;                 // the client's address, "IP:PORT", for the log
};

// A method's handler: the response object ("Error" when it could not serve
// the request). Called on the connection's thread; must not throw.
using ChannelHandler = std::function<Json(const ChannelCall& call)>;

// Method name -> handler. Adding a method is adding a row.
using ChannelMethods = std::map<std::string, ChannelHandler, std::less<>>;

// Answers `call.request` with its method's handler. A "Method" that is not
// a string: {"Error":"a request needs a \"Method\" string","Code":"InvalidArgument"};
// no handler for it (or no "Method"):
// {"Error":"unknown method 'NAME'","Code":"NotFound"}.
Json DispatchChannelRequest(const ChannelMethods& methods, const ChannelCall& call);

// An error answer: {"Error": message, "Code": StatusCodeName(code)}, so
// that the Server decides by the code, never by the text. `status` is not OK.
Json ErrorAnswer(const Status& status);
// The Status an answer carries: OK when it has no "Error"; else the error
// with its "Code" (an answer without a known code, from an older Tentacle,
// reads as FailedPrecondition).
Status AnswerStatus(const Json& answer);

}  // namespace octo
