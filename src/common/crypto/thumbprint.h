// Certificate thumbprints: the SHA-1 of a certificate's DER encoding, written
// as 40 upper-case hex characters with no separators (the .NET Thumbprint).
#pragma once

#include <string>
#include <string_view>

#include "common/base/status.h"

namespace octo {

// Normalises a thumbprint typed by a user: trims white space and surrounding
// quotes, accepts any case and the colon-separated form `openssl x509
// -fingerprint` prints (with or without its "SHA1 Fingerprint=" prefix).
// Returns the 40-character upper-case form, or InvalidArgument naming the
// value and what is wrong with it.
Result<std::string> ParseThumbprint(std::string_view input);

// Upper-case hex of `bytes`, optionally with `sep` between bytes.
std::string HexUpper(std::string_view bytes, char sep = '\0');

}  // namespace octo
