// The TLS channel's parsers, as the agent and the health check use them on
// what a peer sends: the first 4 bytes as a frame header, the rest as a JSON
// payload, the first line as an identification line, and the whole input as
// base64 (Base64Decode also reads PFX text and sealed keys).
// Properties: an accepted header is within 1..max; an accepted payload is an
// object that encodes to a frame which parses back to the same object; a
// decoded base64 string re-encodes to text that decodes to the same bytes.
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

  auto decoded = octo::Base64Decode(input);
  if (decoded.ok()) {
    auto again = octo::Base64Decode(octo::Base64Encode(*decoded));
    if (!again.ok() || *again != *decoded) __builtin_trap();
  }
  return 0;
}
