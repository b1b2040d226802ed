#include "common/config/config_file.h"

#include <gtest/gtest.h>

#include "common/base/file_util.h"

#include "support/temp_dir.h"

namespace octo {
namespace {

using testing::ReadTestFile;
using testing::TempDir;
using testing::WriteTestFile;

TEST(ConfigFile, SavesMode0600WithSchemaVersionAndLoadsBack) {
  TempDir dir;
  ConfigFile cfg = ConfigFile::New(dir.Path("c.config"));
  cfg.Set("Tentacle.Services.PortNumber", 10933);
  cfg.Set("Octopus.Home", "/h");
  ASSERT_TRUE(cfg.Save().ok());
#ifndef _WIN32  // no mode bits on Windows
  EXPECT_EQ(FileModeBits(dir.Path("c.config")).value_or(0) & 0777, 0600u);
#endif
  EXPECT_EQ(ReadTestFile(dir.Path("c.config")),
            "{\n  \"SchemaVersion\": 1,\n  \"Tentacle.Services.PortNumber\": 10933,\n  \"Octopus.Home\": \"/h\"\n}\n");
  auto back = ConfigFile::Load(dir.Path("c.config"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back->GetInt("Tentacle.Services.PortNumber", 0), 10933);
  EXPECT_EQ(*back->GetString("Octopus.Home"), "/h");
  EXPECT_EQ(*back->GetString("Missing", "fallback"), "fallback");
}

TEST(ConfigFile, KeepsKeysItDoesNotKnowInTheirOrder) {
  TempDir dir;
  WriteTestFile(dir.Path("c.config"), R"({"Zeta": {"nested": [1, 2]}, "SchemaVersion": 1, "Alpha": "a"})");
  auto cfg = ConfigFile::Load(dir.Path("c.config"));
  ASSERT_TRUE(cfg.ok());
  cfg->Set("Alpha", "b");
  cfg->Set("New", true);
  ASSERT_TRUE(cfg->Save().ok());
  EXPECT_EQ(ReadTestFile(dir.Path("c.config")),
            "{\n  \"Zeta\": {\n    \"nested\": [\n      1,\n      2\n    ]\n  },\n  \"SchemaVersion\": 1,\n"
            "  \"Alpha\": \"b\",\n  \"New\": true\n}\n");
}

struct BadConfig {
  const char* name;
  const char* text;
  const char* message;  // after "PATH"
};

class ConfigFileRejects : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ConfigFileRejects, WithPathAndLineAndLeavesTheFileAlone) {
  TempDir dir;
  const std::string path = dir.Path("c.config");
  WriteTestFile(path, GetParam().text);
  auto cfg = ConfigFile::Load(path);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(cfg.status().message(), path + GetParam().message);
  EXPECT_EQ(ReadTestFile(path), GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(
    Files, ConfigFileRejects,
    ::testing::Values(
        BadConfig{"truncated", "{\n  \"SchemaVersion\": 1,\n  \"A\": ",
                  ": line 3, column 8: not valid JSON (syntax error while parsing value - unexpected end of "
                  "input; expected '[', '{', or a literal)"},
        BadConfig{"garbage", "{\n\n  nonsense\n}",
                  ": line 3, column 4: not valid JSON (syntax error while parsing object key - invalid literal; "
                  "last read: '{<U+000A><U+000A>  no'; expected string literal)"},
        BadConfig{"empty", "", ": line 1, column 1: not valid JSON (syntax error while parsing value - unexpected "
                               "end of input; expected '[', '{', or a literal)"},
        BadConfig{"array", "[1, 2]", ": line 1: the configuration must be a JSON object"},
        BadConfig{"future schema", "{\"SchemaVersion\": 7}",
                  ": schema version 7 is not supported by this version (it reads version 1)"},
        BadConfig{"schema not a number", "{\"SchemaVersion\": \"1\"}", ": \"SchemaVersion\" must be a whole number"},
        BadConfig{"number out of range", "{\"Port\": 1e400}", ": not valid JSON (number overflow parsing '1e400')"}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (auto& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return n;
    });

TEST(ConfigFile, TypedGettersReportWrongTypes) {
  TempDir dir;
  WriteTestFile(dir.Path("c.config"), R"({"S": 1, "I": "x", "B": "yes", "A": {}})");
  auto cfg = ConfigFile::Load(dir.Path("c.config"));
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->GetString("S").status().message(), dir.Path("c.config") + ": \"S\" must be a string");
  EXPECT_EQ(cfg->GetInt("I", 0).status().message(), dir.Path("c.config") + ": \"I\" must be a whole number");
  EXPECT_EQ(cfg->GetBool("B", false).status().message(), dir.Path("c.config") + ": \"B\" must be true or false");
  EXPECT_EQ(cfg->GetArray("A").status().message(), dir.Path("c.config") + ": \"A\" must be an array");
}

TEST(ConfigFile, MissingFileIsNotFound) {
  TempDir dir;
  auto cfg = ConfigFile::Load(dir.Path("none.config"));
  EXPECT_EQ(cfg.status().code(), StatusCode::kNotFound);
}

TEST(ConfigFile, SaveLeavesNoTemporaryFiles) {
  TempDir dir;
  ConfigFile cfg = ConfigFile::New(dir.Path("c.config"));
  for (int i = 0; i < 5; ++i) {
    cfg.Set("N", i);
    ASSERT_TRUE(cfg.Save().ok());
  }
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace octo
