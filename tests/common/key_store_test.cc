#include "common/crypto/key_store.h"

#include <gtest/gtest.h>

#include "common/base/encoding.h"
#include "common/base/file_util.h"
#include "support/temp_dir.h"

namespace octo {
namespace {

using testing::TempDir;

TEST(KeyFile, IsCreatedMode0600AndReadsBack) {
  TempDir dir;
  auto key = CreateKeyFile(dir.Path("k"));
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->size(), kKeyBytes);
#ifndef _WIN32  // no mode bits on Windows: the key is DPAPI-protected (tests/windows)
  EXPECT_EQ(FileModeBits(dir.Path("k")).value_or(0) & 0777, 0600u);
#endif
  auto loaded = LoadKeyFile(dir.Path("k"));
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->value(), key->value());
}

TEST(KeyFile, IsNeverOverwritten) {
  TempDir dir;
  ASSERT_TRUE(CreateKeyFile(dir.Path("k")).ok());
  std::string before = testing::ReadTestFile(dir.Path("k"));
  auto again = CreateKeyFile(dir.Path("k"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(testing::ReadTestFile(dir.Path("k")), before);
}

TEST(KeyFile, ReportsMissingAndDamagedFiles) {
  TempDir dir;
  auto missing = LoadKeyFile(dir.Path("none"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  testing::WriteTestFile(dir.Path("short"), Base64Encode("too short") + "\n");
  auto damaged = LoadKeyFile(dir.Path("short"));
  EXPECT_EQ(damaged.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(damaged.status().message(), "the key file " + dir.Path("short") + " does not hold a 32-byte key");
}

Secret FixedKey(char fill) { return Secret(std::string(kKeyBytes, fill)); }

TEST(Seal, RoundTripsWithAFreshNonceEachTime) {
  Secret key = FixedKey('k');
  auto a = Seal(key, "plaintext", "ctx");
  auto b = Seal(key, "plaintext", "ctx");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->rfind("v1:", 0), 0u);
  EXPECT_NE(*a, *b);  // fresh nonce
  EXPECT_EQ(a->find("plaintext"), std::string::npos);
  auto open = Unseal(key, *a, "ctx");
  ASSERT_TRUE(open.ok()) << open.status().message();
  EXPECT_EQ(open->value(), "plaintext");
}

struct Tamper {
  const char* name;
  std::function<std::string(const std::string&)> change;
  Secret key;
  std::string context;
  StatusCode code;
};

TEST(Unseal, RefusesWrongKeysContextsAndDamage) {
  Secret key = FixedKey('k');
  auto sealed = Seal(key, "plaintext", "ctx");
  ASSERT_TRUE(sealed.ok());
  auto flip = [](const std::string& s) {
    std::string t = s;
    t[t.size() / 2] = t[t.size() / 2] == 'A' ? 'B' : 'A';
    return t;
  };
  std::vector<Tamper> cases = {
      {"wrong key", [](const std::string& s) { return s; }, FixedKey('x'), "ctx", StatusCode::kFailedPrecondition},
      {"wrong context", [](const std::string& s) { return s; }, FixedKey('k'), "other", StatusCode::kFailedPrecondition},
      {"flipped byte", flip, FixedKey('k'), "ctx", StatusCode::kFailedPrecondition},
      {"unknown version", [](const std::string& s) { return "v9:" + s.substr(3); }, FixedKey('k'), "ctx",
       StatusCode::kCorrupt},
      {"no prefix", [](const std::string& s) { return s.substr(3); }, FixedKey('k'), "ctx", StatusCode::kCorrupt},
      {"truncated", [](const std::string& s) { return s.substr(0, 10); }, FixedKey('k'), "ctx", StatusCode::kCorrupt},
  };
  for (const auto& c : cases) {
    auto r = Unseal(c.key, c.change(*sealed), c.context);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), c.code) << c.name << ": " << r.status().message();
  }
}

}  // namespace
}  // namespace octo
