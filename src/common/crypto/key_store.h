// Keys at rest: the Server's Master Key and the Tentacle's machine key.
//
// A key is 32 random bytes kept base64-encoded in a file of its own, mode
// 0600; on Windows the file holds "dpapi:" + base64 of the key protected by
// DPAPI in the machine scope (dpapi_win.h), and a plain key is still read. Values sealed with it (the stored PFX) are AES-256-GCM with a fresh
// 96-bit nonce each time and written as "v1:" + base64(nonce|ciphertext|tag);
// the prefix names the scheme so that it can change later.
#pragma once

#include <string>

#include "common/base/secret.h"
#include "common/base/status.h"

namespace octo {

inline constexpr size_t kKeyBytes = 32;

// Makes a new random key and writes it to `path` (mode 0600). AlreadyExists
// if the file is there: a key is never overwritten, since that would lose
// whatever it sealed.
Result<Secret> CreateKeyFile(const std::string& path);

// Reads a key written by CreateKeyFile. NotFound / PermissionDenied from the
// OS; Corrupt if the file does not hold a 32-byte base64 key.
Result<Secret> LoadKeyFile(const std::string& path);

// Encrypts `plaintext`; `context` is authenticated but not stored (binding
// the value to what it is, e.g. "Tentacle.Certificate").
Result<std::string> Seal(const Secret& key, const std::string& plaintext, const std::string& context);

// Decrypts a value made by Seal. Corrupt for a malformed value or unknown
// version; PermissionDenied-free FailedPrecondition when the key is not the
// one that sealed it (or the value was tampered with).
Result<Secret> Unseal(const Secret& key, const std::string& sealed, const std::string& context);

}  // namespace octo
