// ParseThumbprint on arbitrary text. Anything it accepts must be the
// canonical form (40 upper-case hex digits) and parse to itself again.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/crypto/thumbprint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = octo::ParseThumbprint(input);
  if (!parsed.ok()) return 0;
  if (parsed->size() != 40) __builtin_trap();
  for (char c : *parsed) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) __builtin_trap();
  }
  auto again = octo::ParseThumbprint(*parsed);
  if (!again.ok() || *again != *parsed) __builtin_trap();
  return 0;
}
