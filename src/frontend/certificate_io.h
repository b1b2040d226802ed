// Certificate steps shared by both executables' commands, with the console
// lines the real products print around them.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "common/config/instance.h"
#include "common/crypto/pkcs12.h"

namespace octo::cli {

// Loads the instance's certificate and key. When the key file exists but
// cannot be read, first prints the mirrored warning "The X509 certificate
// CN=... was loaded but the private key was not loaded." to standard error.
Result<Identity> LoadIdentityForCommand(const Instance& instance);

// --pfx-encoding modern|compatible (default modern).
void AddPfxEncodingOption(CLI::App* sub, PfxEncoding* encoding);

// Writes `identity` as a PFX file (mode 0600, atomically).
Status WritePfxFile(const std::string& path, const Identity& identity, const Secret& password,
                    PfxEncoding encoding);

// Writes `identity` as the base64 text of a PFX without a password (mode
// 0600): what the real `new-certificate --export-file` writes.
Status WriteBase64PfxFile(const std::string& path, const Identity& identity);

// Reads a PFX (binary or base64) from `path`, with a message naming the file.
Result<PfxReadResult> ReadPfxFile(const std::string& path, const Secret& password);

// Prints each import warning as "Warning: ...".
void PrintWarnings(const std::vector<std::string>& warnings);

}  // namespace octo::cli
