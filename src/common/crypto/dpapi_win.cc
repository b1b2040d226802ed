#include "common/crypto/dpapi_win.h"

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <dpapi.h>

#include "common/base/file_util.h"

namespace octo {

Result<Secret> DpapiProtect(const Secret& plaintext) {
  DATA_BLOB in{static_cast<DWORD>(plaintext.size()),
               reinterpret_cast<BYTE*>(const_cast<char*>(plaintext.value().data()))};
  DATA_BLOB out{};
  if (!::CryptProtectData(&in, L"Octopus key", nullptr, nullptr, nullptr,
                          CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_UI_FORBIDDEN, &out)) {
    return Win32Error("cannot protect the key with DPAPI", ::GetLastError());
  }
  Secret blob(std::string(reinterpret_cast<const char*>(out.pbData), out.cbData));
  ::LocalFree(out.pbData);
  return blob;
}

Result<Secret> DpapiUnprotect(const std::string& blob) {
  DATA_BLOB in{static_cast<DWORD>(blob.size()), reinterpret_cast<BYTE*>(const_cast<char*>(blob.data()))};
  DATA_BLOB out{};
  if (!::CryptUnprotectData(&in, nullptr, nullptr, nullptr, nullptr, CRYPTPROTECT_UI_FORBIDDEN, &out)) {
    return Win32Error("cannot unprotect with DPAPI", ::GetLastError());
  }
  Secret plain(std::string(reinterpret_cast<const char*>(out.pbData), out.cbData));
  ::SecureZeroMemory(out.pbData, out.cbData);
  ::LocalFree(out.pbData);
  return plain;
}

}  // namespace octo
