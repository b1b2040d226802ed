#include "common/config/trust.h"

#include <gtest/gtest.h>

#include "common/config/instance.h"

namespace octo {
namespace {

const std::string kA(40, 'A');
const std::string kB(40, 'B');
const std::string kC(40, 'C');

ConfigFile WithTrusted(const std::vector<std::string>& tps) {
  ConfigFile cfg = ConfigFile::New("/nonexistent/c.config");
  Json list = Json::array();
  for (const auto& tp : tps) list.push_back({{"Thumbprint", tp}, {"CommunicationStyle", 1}, {"Address", "x"}});
  cfg.Set(keys::kTrustedServers, list);
  return cfg;
}

struct Case {
  const char* name;
  std::vector<std::string> before;
  TrustChanges changes;
  std::vector<std::string> after;
  std::vector<std::string> added, removed, not_trusted, already_trusted;
  size_t reset_count;
};

class TrustChangesApply : public ::testing::TestWithParam<Case> {};

TEST_P(TrustChangesApply, InTheDocumentedOrder) {
  const Case& c = GetParam();
  ConfigFile cfg = WithTrusted(c.before);
  auto report = ApplyTrustChanges(cfg, c.changes);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(*TrustedThumbprints(cfg), c.after);
  EXPECT_EQ(report->added, c.added);
  EXPECT_EQ(report->removed, c.removed);
  EXPECT_EQ(report->not_trusted, c.not_trusted);
  EXPECT_EQ(report->already_trusted, c.already_trusted);
  EXPECT_EQ(report->reset_count, c.reset_count);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TrustChangesApply,
    ::testing::Values(
        Case{"add_to_empty", {}, {false, {}, {kA}}, {kA}, {kA}, {}, {}, {}, 0},
        Case{"add_twice_in_one_call", {}, {false, {}, {kA, kA}}, {kA}, {kA}, {}, {}, {}, 0},
        Case{"add_existing", {kA}, {false, {}, {kA}}, {kA}, {}, {}, {}, {kA}, 0},
        Case{"remove", {kA, kB}, {false, {kA}, {}}, {kB}, {}, {kA}, {}, {}, 0},
        Case{"remove_missing", {kA}, {false, {kB}, {}}, {kA}, {}, {}, {kB}, {}, 0},
        Case{"remove_then_add_same", {kA}, {false, {kA}, {kA}}, {kA}, {kA}, {kA}, {}, {}, 0},
        Case{"reset_then_add", {kA, kB}, {true, {}, {kC}}, {kC}, {kC}, {}, {}, {}, 2},
        Case{"reset_then_remove_what_it_took", {kA}, {true, {kA}, {}}, {}, {}, {}, {}, {}, 1},
        Case{"reset_then_remove_unknown", {kA}, {true, {kB}, {}}, {}, {}, {}, {kB}, {}, 1},
        Case{"rotation_overlap", {kA}, {false, {}, {kB}}, {kA, kB}, {kB}, {}, {}, {}, 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ApplyTrustChanges, KeepsTheOtherFieldsOfEntries) {
  ConfigFile cfg = WithTrusted({kA});
  ASSERT_TRUE(ApplyTrustChanges(cfg, {false, {}, {kB}}).ok());
  const Json& list = cfg.doc()[keys::kTrustedServers];
  EXPECT_EQ(list[0]["Address"], "x");
  EXPECT_EQ(list[1]["CommunicationStyle"], 1);
  EXPECT_TRUE(list[1]["Address"].is_null());
  EXPECT_TRUE(list[1].contains("Squid"));
  EXPECT_TRUE(list[1].contains("SubscriptionId"));
}

TEST(ApplyTrustChanges, RejectsAMalformedList) {
  ConfigFile cfg = ConfigFile::New("/c.config");
  cfg.Set(keys::kTrustedServers, Json::array({{{"Thumbprint", "short"}}}));
  auto r = ApplyTrustChanges(cfg, {false, {}, {kA}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  cfg.Set(keys::kTrustedServers, "not a list");
  EXPECT_FALSE(TrustedThumbprints(cfg).ok());
}

TEST(UpdateTrust, ReplacesTheThumbprintKeepingTheEntry) {
  ConfigFile cfg = WithTrusted({kA, kB});
  ASSERT_TRUE(UpdateTrust(cfg, kA, kC).ok());
  EXPECT_EQ(*TrustedThumbprints(cfg), (std::vector<std::string>{kC, kB}));
  EXPECT_EQ(cfg.doc()[keys::kTrustedServers][0]["Address"], "x");
  EXPECT_EQ(UpdateTrust(cfg, kA, kC).code(), StatusCode::kNotFound);
  EXPECT_EQ(UpdateTrust(cfg, kC, kB).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*TrustedThumbprints(cfg), (std::vector<std::string>{kC, kB}));
}

}  // namespace
}  // namespace octo
