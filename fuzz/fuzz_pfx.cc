// ReadPfx on arbitrary bytes: DER, base64 text, MAC or none, any encryption.
// Half the runs use a fixed password; in the other half the first byte picks
// an empty or a one-letter password, so the no-password paths (absent vs
// empty, PFX without a MAC) are reached too. Seeds: corpus/fuzz_pfx/ (made
// with the password "fuzz" or none).
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/crypto/pkcs12.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);

  // As it comes, with the password the seeds were made with.
  (void)octo::ReadPfx(input, octo::Secret("fuzz"));

  // First byte: even = no password, odd = "x"; the rest is the PFX.
  if (size > 0) {
    const octo::Secret password(data[0] % 2 == 0 ? "" : "x");
    auto read = octo::ReadPfx(input.substr(1), password);
    if (read.ok() && (!read->identity.certificate || !read->identity.key)) __builtin_trap();
  }
  return 0;
}
