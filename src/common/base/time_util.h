// UTC calendar conversions that POSIX and Windows spell differently.
#pragma once

#include <ctime>

namespace octo {

// gmtime_r: `t` as UTC calendar fields.
inline void UtcFields(std::time_t t, std::tm* out) {
#ifdef _WIN32
  ::gmtime_s(out, &t);
#else
  ::gmtime_r(&t, out);
#endif
}

// timegm: UTC calendar fields (normalised: day overflow, Feb 29) as a time.
inline std::time_t UtcTime(std::tm* fields) {
#ifdef _WIN32
  return ::_mkgmtime(fields);
#else
  return ::timegm(fields);
#endif
}

}  // namespace octo
