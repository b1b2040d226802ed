// DPAPI in the machine scope (Windows only), as the real products protect
// their Master Key and machine key: CryptProtectData with
// CRYPTPROTECT_LOCAL_MACHINE, no entropy. Its own translation unit, since
// <windows.h> and OpenSSL's headers define the same names (X509_NAME...).
#pragma once

#include "common/base/secret.h"
#include "common/base/status.h"

namespace octo {

// The protected blob of `plaintext`; only this machine can unprotect it.
Result<Secret> DpapiProtect(const Secret& plaintext);
// The plaintext of a blob made by DpapiProtect on this machine;
// FailedPrecondition when it cannot be unprotected here (another machine,
// or tampered with).
Result<Secret> DpapiUnprotect(const std::string& blob);

}  // namespace octo
