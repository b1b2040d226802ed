#include "frontend/certificate_io.h"

#include <iostream>

#include "common/base/encoding.h"
#include "common/base/file_util.h"
#include "frontend/cli.h"

namespace octo::cli {

Result<Identity> LoadIdentityForCommand(const Instance& instance) {
  auto id = instance.LoadIdentity();
  if (!id.ok() && id.status().code() == StatusCode::kPermissionDenied) {
    auto cert = instance.Certificate();
    std::string subject = cert.ok() ? Describe(cert->get()).subject
                                    : std::string("CN=") + Traits(instance.product()).common_name;
    std::cerr << "The X509 certificate " << subject << " was loaded but the private key was not loaded."
              << std::endl;
    return Status(StatusCode::kPermissionDenied,
                  id.status().message() + " (run the command elevated, as the user that owns the instance)");
  }
  return id;
}

void AddPfxEncodingOption(CLI::App* sub, PfxEncoding* encoding) {
  *encoding = PfxEncoding::kModern;
  sub->add_option_function<std::string>(
         "--pfx-encoding",
         [encoding](const std::string& v) {
           *encoding = v == "compatible" ? PfxEncoding::kCompatible : PfxEncoding::kModern;
         },
         "modern: AES-256-CBC, PBKDF2, SHA-256 MAC; compatible: 3DES with a SHA-1 MAC, for Windows Server 2016 "
         "and older")
      ->transform(CLI::IsMember({"modern", "compatible"}, CLI::ignore_case))
      ->default_str("modern");
}

Status WritePfxFile(const std::string& path, const Identity& identity, const Secret& password,
                    PfxEncoding encoding) {
  auto pfx = WritePfx(identity, password, encoding);
  if (!pfx.ok()) return pfx.status();
  return WriteFileAtomic(path, pfx->value(), 0600);
}

Status WriteBase64PfxFile(const std::string& path, const Identity& identity) {
  auto pfx = WritePfx(identity, Secret(), PfxEncoding::kModern);
  if (!pfx.ok()) return pfx.status();
  Secret text(Base64Encode(pfx->value()));
  return WriteFileAtomic(path, text.value(), 0600);
}

Result<PfxReadResult> ReadPfxFile(const std::string& path, const Secret& password) {
  auto file = ReadFile(path);
  if (!file.ok()) return file.status();
  // An unencrypted PFX (or base64 of one) holds the key in the clear: the
  // bytes are wiped once read.
  const Secret bytes(std::move(file).value());
  if (bytes.empty()) return Corrupt("cannot import " + path + ": the file is empty");
  auto read = ReadPfx(bytes.value(), password);
  if (!read.ok()) return read.status().WithContext("cannot import " + path);
  return read;
}

void PrintWarnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) Warn(w);
}

}  // namespace octo::cli
