#include "common/crypto/ossl.h"

#include <openssl/err.h>

namespace octo {

Status OpenSslError(const std::string& what, StatusCode code) {
  unsigned long first = ERR_get_error();
  std::string reason;
  if (first != 0) {
    const char* r = ERR_reason_error_string(first);
    reason = r != nullptr ? r : "unknown OpenSSL error";
  }
  ERR_clear_error();
  if (reason.empty()) return Status(code, what);
  return Status(code, what + ": " + reason);
}

void ClearOpenSslErrors() { ERR_clear_error(); }

}  // namespace octo
