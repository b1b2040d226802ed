#include "common/channel/channel.h"

#include <cctype>

#include "common/crypto/tls.h"

namespace octo {

std::string HttpWelcomePage(const std::string& message) {
  const std::string body = "<html><body><p>" + message + "</p></body></html>\r\n";
  return "HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

Result<std::string> EncodeFrame(const Json& message) {
  std::string payload = message.dump();
  if (payload.empty() || payload.size() > kMaxFrame) {
    return InvalidArgument("the message is " + std::to_string(payload.size()) + " bytes; at most " +
                           std::to_string(kMaxFrame) + " are allowed");
  }
  std::string out(4, '\0');
  const auto n = static_cast<uint32_t>(payload.size());
  out[0] = static_cast<char>((n >> 24) & 0xFF);
  out[1] = static_cast<char>((n >> 16) & 0xFF);
  out[2] = static_cast<char>((n >> 8) & 0xFF);
  out[3] = static_cast<char>(n & 0xFF);
  return out + payload;
}

Result<uint32_t> ParseFrameHeader(const std::string& header, size_t max) {
  if (header.size() != 4) return InvalidArgument("a frame header is 4 bytes");
  uint32_t n = 0;
  for (char c : header) n = (n << 8) | static_cast<unsigned char>(c);
  if (n == 0) return InvalidArgument("an empty frame");
  if (n > max) {
    return InvalidArgument("a frame of " + std::to_string(n) + " bytes; at most " + std::to_string(max) +
                           " are allowed");
  }
  return n;
}

Result<Json> ParseFramePayload(const std::string& payload) {
  Json j = Json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("the message is not JSON");
  if (!j.is_object()) return InvalidArgument("the message is not a JSON object");
  return j;
}

std::string StringField(const Json& message, const char* key, const std::string& fallback) {
  if (!message.is_object()) return fallback;
  auto it = message.find(key);
  return it != message.end() && it->is_string() ? it->get<std::string>() : fallback;
}

Status CheckIdentification(const std::string& line, const char* expected) {
  if (line != expected) {
    std::string shown = line.substr(0, 32);
    for (auto& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) c = '?';
    }
    return InvalidArgument(std::string("expected '") + expected + "', got '" + shown + "'");
  }
  return Status::Ok();
}

Status WriteFrame(TlsStream& stream, const Json& message, Deadline deadline) {
  auto frame = EncodeFrame(message);
  if (!frame.ok()) return frame.status();
  return stream.Write(*frame, deadline);
}

Result<Json> ReadFrame(TlsStream& stream, size_t max, Deadline deadline) {
  auto header = stream.Read(4, deadline);
  if (!header.ok()) return header.status();
  auto len = ParseFrameHeader(*header, max);
  if (!len.ok()) return len.status();
  auto payload = stream.Read(*len, deadline);
  if (!payload.ok()) return payload.status();
  return ParseFramePayload(*payload);
}

bool IsPollingAddress(std::string_view address) {
  constexpr std::string_view kScheme = "poll://";
  if (address.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(address[i])) != kScheme[i]) return false;
  }
  return true;
}

Result<std::string> ParseSubscriptionId(std::string_view text) {
  constexpr std::string_view kScheme = "poll://";
  constexpr size_t kMaxName = 100;
  std::string shown(text.substr(0, 64));
  for (auto& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) c = '?';
  }
  if (!IsPollingAddress(text)) {
    return InvalidArgument("'" + shown + "' is not a subscription id: it must start with poll://, e.g. poll://abcdefghjkmnpqrstuvw/");
  }
  std::string_view name = text.substr(kScheme.size());
  if (!name.empty() && name.back() == '/') name.remove_suffix(1);
  if (name.empty()) return InvalidArgument("'" + shown + "' is not a subscription id: nothing follows poll://");
  if (name.size() > kMaxName) {
    return InvalidArgument("'" + shown + "...' is not a subscription id: it is longer than " + std::to_string(kMaxName) +
                           " characters");
  }
  std::string out(kScheme);
  for (char c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '.' && c != '-' && c != '_') {
      return InvalidArgument("'" + shown + "' is not a subscription id: only letters, digits, '.', '-' and '_' may follow poll://");
    }
    out.push_back(static_cast<char>(std::tolower(u)));
  }
  out.push_back('/');
  return out;
}

Result<std::string> ParseSubscriberIdentification(const std::string& line) {
  const std::string prefix = std::string(kSubscriberIdentification);
  if (line.size() > kMaxSubscriberLine) return InvalidArgument("the identification line is too long");
  if (line == prefix || line == prefix + " ") {
    // Halibut's text (MessageExchangeStream.ReadRemoteIdentityAsync).
    return InvalidArgument("The remote host identified as a subscriber, but did not supply a subscription ID.");
  }
  if (line.compare(0, prefix.size() + 1, prefix + " ") != 0) {
    Status st = CheckIdentification(line, kSubscriberIdentification);
    return st.ok() ? InvalidArgument("bad identification") : st;
  }
  return ParseSubscriptionId(std::string_view(line).substr(prefix.size() + 1));
}

ServerPollFrame ReadServerPollFrame(const Json& frame) {
  ServerPollFrame out;
  if (!frame.is_object()) return out;
  if (frame.contains("End")) {
    if (frame["End"] == true && frame.size() == 1) out.kind = ServerPollFrame::kEnd;
    return out;
  }
  if (!frame.contains("Request")) return out;
  const Json& request = frame["Request"];
  if (request.is_null()) {
    if (frame.size() == 1) out.kind = ServerPollFrame::kNoop;
    return out;
  }
  if (!request.is_object() || !frame.contains("Id") || !frame["Id"].is_number_unsigned() || frame.size() != 2) {
    return out;
  }
  out.kind = ServerPollFrame::kRequest;
  out.id = frame["Id"];
  out.request = request;
  return out;
}

TentaclePollReply ReadTentaclePollReply(const Json& frame, uint64_t expected_id) {
  TentaclePollReply out;
  if (!frame.is_object()) return out;
  if (expected_id == 0) {
    if (frame.size() == 1 && frame.contains("Next") && frame["Next"] == true) out.kind = TentaclePollReply::kNext;
    return out;
  }
  if (!frame.contains("Id") || !frame["Id"].is_number_unsigned() || frame["Id"].get<uint64_t>() != expected_id) {
    return out;
  }
  if (!frame.contains("Response") || !frame["Response"].is_object()) return out;
  const bool has_end = frame.contains("End");
  if (has_end && !frame["End"].is_boolean()) return out;
  if (frame.size() != (has_end ? 3u : 2u)) return out;
  out.kind = TentaclePollReply::kAnswer;
  out.response = frame["Response"];
  out.end = has_end && frame["End"].get<bool>();
  return out;
}

Json DispatchChannelRequest(const ChannelMethods& methods, const ChannelCall& call) {
  const Json& request = call.request;
  if (request.contains("Method") && !request["Method"].is_string()) {
    return ErrorAnswer(InvalidArgument("a request needs a \"Method\" string"));
  }
  const std::string method = StringField(request, "Method");
  auto handler = methods.find(method);
  if (handler == methods.end()) return ErrorAnswer(NotFound("unknown method '" + method + "'"));
  return handler->second(call);
}

Json ErrorAnswer(const Status& status) {
  return Json{{"Error", status.message()}, {"Code", StatusCodeName(status.code())}};
}

Status AnswerStatus(const Json& answer) {
  if (!answer.is_object() || !answer.contains("Error")) return Status::Ok();
  const auto code = StatusCodeFromName(StringField(answer, "Code"));
  std::string message = StringField(answer, "Error");
  if (message.empty()) message = "the Tentacle answered with an error";
  return Status(code && *code != StatusCode::kOk ? *code : StatusCode::kFailedPrecondition, std::move(message));
}

}  // namespace octo
