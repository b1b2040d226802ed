// Base64 (RFC 4648, standard alphabet) without line breaks.
#pragma once

#include <string>
#include <string_view>

#include "common/base/status.h"

namespace octo {

std::string Base64Encode(std::string_view bytes);

// Whether `a` and `b` are equal, ASCII letters compared without regard to case.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Decodes base64, ignoring white space (so PEM-like wrapped text works).
// InvalidArgument if anything else is not base64.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace octo
