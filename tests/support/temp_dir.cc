#include "support/temp_dir.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/crypto/thumbprint.h"

namespace octo::testing {

TempDir::TempDir() {
#ifdef _WIN32
  // No mkdtemp: a random name, created exclusively (create_directory is
  // false when it exists), under %TEMP%.
  std::random_device rd;
  const auto base = std::filesystem::temp_directory_path();
  for (int attempt = 0; attempt < 100 && path_.empty(); ++attempt) {
    const auto dir = base / ("octo-test-" + std::to_string(rd()));
    std::error_code ec;
    if (std::filesystem::create_directory(dir, ec)) path_ = dir.string();
  }
  if (path_.empty()) ADD_FAILURE() << "cannot create a temporary directory under " << base.string();
#else
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base ? base : "/tmp") + "/octo-test-XXXXXX";
  char* made = ::mkdtemp(tmpl.data());
  if (made == nullptr) ADD_FAILURE() << "mkdtemp failed";
  path_ = tmpl;
#endif
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteTestFile(const std::string& path, const std::string& contents) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(f.good()) << "cannot write " << path;
  f << contents;
}

std::string ReadTestFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f.good()) {
    ADD_FAILURE() << "cannot read " << path;
    return "";
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string HashFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f.good()) return "";
  std::stringstream ss;
  ss << f.rdbuf();
  std::string data = ss.str();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return HexUpper(std::string_view(reinterpret_cast<char*>(md), len));
}

void SetEnv(const std::string& name, const std::string& value) {
#ifdef _WIN32
  ASSERT_EQ(::_putenv_s(name.c_str(), value.c_str()), 0) << name;
#else
  ASSERT_EQ(::setenv(name.c_str(), value.c_str(), 1), 0) << name;
#endif
}

void UnsetEnv(const std::string& name) {
#ifdef _WIN32
  ASSERT_EQ(::_putenv_s(name.c_str(), ""), 0) << name;  // an empty value removes it
#else
  ASSERT_EQ(::unsetenv(name.c_str()), 0) << name;
#endif
}

}  // namespace octo::testing
