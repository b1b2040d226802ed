// The TLS channel's parsers, as the agent and the health check use them on
// what a peer sends: the first 4 bytes as a frame header, the rest as a JSON
// payload, the first line as an identification line, and the whole input as
// base64 (Base64Decode also reads PFX text and sealed keys); and, for
// polling, the first line as a subscriber's identification and the payload
// as a frame of the long-poll loop, read by either side.
// Properties: an accepted header is within 1..max; an accepted payload is an
// object that encodes to a frame which parses back to the same object; a
// decoded base64 string re-encodes to text that decodes to the same bytes;
// an accepted subscription id is "poll://" + lower-case name + "/" and reads
// back as itself; a frame read as a request carries an object and an
// unsigned id, an answer carries an object and the id expected.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/channel/channel.h"
#include "common/base/encoding.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);

  if (size >= 4) {
    auto len = octo::ParseFrameHeader(input.substr(0, 4));
    if (len.ok() && (*len == 0 || *len > octo::kMaxFrame)) __builtin_trap();
    auto small = octo::ParseFrameHeader(input.substr(0, 4), 16);
    if (small.ok() && *small > 16) __builtin_trap();

    auto payload = octo::ParseFramePayload(input.substr(4));
    if (payload.ok()) {
      if (!payload->is_object()) __builtin_trap();
      const octo::ServerPollFrame server = octo::ReadServerPollFrame(*payload);
      if (server.kind == octo::ServerPollFrame::kRequest &&
          (!server.request.is_object() || !server.id.is_number_unsigned())) {
        __builtin_trap();
      }
      for (uint64_t expected : {uint64_t{0}, uint64_t{1}, uint64_t{42}}) {
        const octo::TentaclePollReply reply = octo::ReadTentaclePollReply(*payload, expected);
        if (reply.kind == octo::TentaclePollReply::kNext && expected != 0) __builtin_trap();
        if (reply.kind == octo::TentaclePollReply::kAnswer &&
            (expected == 0 || !reply.response.is_object() || (*payload)["Id"].get<uint64_t>() != expected)) {
          __builtin_trap();
        }
      }
      auto frame = octo::EncodeFrame(*payload);
      if (frame.ok()) {
        auto n = octo::ParseFrameHeader(frame->substr(0, 4));
        if (!n.ok() || *n != frame->size() - 4) __builtin_trap();
        auto back = octo::ParseFramePayload(frame->substr(4));
        if (!back.ok() || *back != *payload) __builtin_trap();
      }
    }
  }

  // The identification line: up to the first "\r\n" (or "\n"), as ReadLine gives it.
  std::string line = input.substr(0, input.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  for (const char* expected : {octo::kClientIdentification, octo::kServerIdentification}) {
    octo::Status s = octo::CheckIdentification(line, expected);
    if (s.ok() != (line == expected)) __builtin_trap();
  }

  auto subscription = octo::ParseSubscriberIdentification(line);
  if (subscription.ok()) {
    const std::string& id = *subscription;
    if (id.rfind("poll://", 0) != 0 || id.back() != '/' || id.size() > octo::kMaxSubscriptionId) __builtin_trap();
    for (char c : id) {
      if (c >= 'A' && c <= 'Z') __builtin_trap();
    }
    auto again = octo::ParseSubscriptionId(id);
    if (!again.ok() || *again != id) __builtin_trap();
    if (!octo::IsPollingAddress(id)) __builtin_trap();
  }

  auto decoded = octo::Base64Decode(input);
  if (decoded.ok()) {
    auto again = octo::Base64Decode(octo::Base64Encode(*decoded));
    if (!again.ok() || *again != *decoded) __builtin_trap();
  }
  return 0;
}
