// ConfigFile::Load on arbitrary bytes (written to a file first: Load reads a
// path). When it loads, the typed getters are tried on every key, and the
// document is saved elsewhere and loaded again: it must come back equal.
// Files live in one private directory under $TMPDIR (or /tmp), removed at exit.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "common/config/config_file.h"
#include "common/base/file_util.h"

namespace {

std::string g_dir;

void RemoveDir() {
  for (const char* name : {"/in.json", "/out.json"}) ::unlink((g_dir + name).c_str());
  ::rmdir(g_dir.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* tmp = ::getenv("TMPDIR");
  std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/fuzz_config.XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    std::perror("fuzz_config: mkdtemp");
    std::abort();
  }
  g_dir = templ;
  std::atexit(RemoveDir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in = g_dir + "/in.json";
  const std::string out = g_dir + "/out.json";
  if (!octo::WriteFileAtomic(in, std::string(reinterpret_cast<const char*>(data), size), 0600).ok()) {
    std::abort();  // the harness's own file, not the input, is at fault
  }

  auto config = octo::ConfigFile::Load(in);
  if (!config.ok()) return 0;

  for (const auto& item : config->doc().items()) {
    const std::string& key = item.key();
    (void)config->Has(key);
    (void)config->GetString(key);
    (void)config->GetInt(key, 0);
    (void)config->GetBool(key, false);
    (void)config->GetArray(key);
  }

  octo::ConfigFile copy = octo::ConfigFile::New(out);
  copy.doc() = config->doc();
  if (!copy.Save().ok()) std::abort();
  auto reloaded = octo::ConfigFile::Load(out);
  if (!reloaded.ok() || reloaded->doc() != config->doc()) __builtin_trap();
  return 0;
}
