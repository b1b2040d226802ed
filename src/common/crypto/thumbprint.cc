#include "common/crypto/thumbprint.h"

#include <algorithm>
#include <cctype>

namespace octo {

std::string HexUpper(std::string_view bytes, char sep) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 3);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (sep != '\0' && i != 0) out.push_back(sep);
    auto b = static_cast<unsigned char>(bytes[i]);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xF]);
  }
  return out;
}

Result<std::string> ParseThumbprint(std::string_view input) {
  // The stored form, as every pin in a config is: nothing to normalise (a
  // Server with 10,000 targets parses 10,000 pins at each load).
  if (input.size() == 40 && std::all_of(input.begin(), input.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
      })) {
    return std::string(input);
  }
  std::string_view s = input;
  auto is_trim = [](char c) { return std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\''; };
  while (!s.empty() && is_trim(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_trim(s.back())) s.remove_suffix(1);
  std::string shown(1, '\'');  // built piecewise: g++ 12 warns wrongly (-Wrestrict) on "'" + s
  shown.append(input);
  shown.push_back('\'');
  if (s.empty()) return InvalidArgument("the thumbprint is empty");
  // "SHA1 Fingerprint=AB:CD:..." as openssl prints it.
  if (auto eq = s.find('='); eq != std::string_view::npos) {
    std::string prefix;
    for (char c : s.substr(0, eq)) prefix.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (prefix == "sha1 fingerprint") s.remove_prefix(eq + 1);
  }
  const bool colons = s.find(':') != std::string_view::npos;
  std::string out;
  out.reserve(40);
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (colons && i % 3 == 2) {
      if (c != ':') return InvalidArgument("the thumbprint " + shown + " is not 40 hexadecimal characters");
      continue;
    }
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return InvalidArgument("the thumbprint " + shown + " contains '" + std::string(1, c) +
                             "', which is not a hexadecimal digit");
    }
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (out.size() != 40) {
    return InvalidArgument("the thumbprint " + shown + " has " + std::to_string(out.size()) +
                           " hexadecimal characters; a thumbprint has exactly 40");
  }
  return out;
}

}  // namespace octo
