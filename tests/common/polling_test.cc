#include "common/config/polling.h"

#include <gtest/gtest.h>

#include <map>

#include "common/config/instance.h"
#include "common/config/trust.h"

namespace octo {
namespace {

const std::string kA(40, 'A');
const std::string kB(40, 'B');

ConfigFile Trusting(const std::vector<std::string>& tps) {
  ConfigFile cfg = ConfigFile::New("/nonexistent/c.config");
  Json list = Json::array();
  for (const auto& tp : tps) {
    list.push_back({{"Thumbprint", tp}, {"CommunicationStyle", 1}, {"Address", nullptr}, {"Squid", nullptr},
                    {"SubscriptionId", nullptr}});
  }
  cfg.Set(keys::kTrustedServers, list);
  return cfg;
}

Result<std::string> Fixed() { return std::string("poll://fixed/"); }

TEST(PollingSubscriptionId, HasTheRealShapeAndUsesEveryCharacterEvenly) {
  std::map<char, int> seen;
  constexpr int kIds = 2000;
  for (int i = 0; i < kIds; ++i) {
    auto id = GeneratePollingSubscriptionId();
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(IsGeneratedSubscriptionId(*id)) << *id;
    for (char c : id->substr(7, 20)) ++seen[c];
  }
  ASSERT_EQ(seen.size(), 32u);  // abcdefghjklmnpqrstuvwxyz23456789: no i, o, 0, 1
  for (const auto& [c, n] : seen) {
    EXPECT_GT(n, kIds * 20 / 32 * 0.8) << c;  // 1250 expected each
    EXPECT_LT(n, kIds * 20 / 32 * 1.2) << c;
  }
  EXPECT_FALSE(IsGeneratedSubscriptionId("poll://ABCDEFGHJKLMNPQRSTUV/"));
  EXPECT_FALSE(IsGeneratedSubscriptionId("poll://abcdefghjkmnpqrstuv"));
}

TEST(PollingConnectionCount, ParsesAsDotNetIntTryParse) {
  struct Case {
    const char* in;
    int want;  // 0: an error
  };
  for (const Case& c : {Case{"5", 5}, Case{" 7 ", 7}, Case{"+3", 3}, Case{"1", 1}, Case{"0", 0}, Case{"-1", 0},
                        Case{"", 0}, Case{"5x", 0}, Case{"2147483648", 0}, Case{"1.5", 0}}) {
    auto n = ParsePollingConnectionCount(c.in);
    if (c.want == 0) {
      EXPECT_FALSE(n.ok()) << c.in;
    } else {
      ASSERT_TRUE(n.ok()) << c.in;
      EXPECT_EQ(*n, c.want);
    }
  }
}

TEST(PollingAddress, FromUrlTakesThePortOptionFirst) {
  EXPECT_EQ(*PollingAddressFromUrl("https://h:1/x", std::nullopt), "https://h:1");
  EXPECT_EQ(*PollingAddressFromUrl("https://h", std::nullopt), "https://h:443");
  EXPECT_EQ(*PollingAddressFromUrl("http://h", std::nullopt), "https://h:80");
  EXPECT_EQ(*PollingAddressFromUrl("https://h:1", 10943), "https://h:10943");
  EXPECT_EQ(*PollingAddressFromUrl("https://[::1]:5", std::nullopt), "https://[::1]:5");
  EXPECT_FALSE(PollingAddressFromUrl("h:10943", std::nullopt).ok());
  EXPECT_FALSE(PollingAddressFromUrl("https://u@h:1", std::nullopt).ok());
  EXPECT_FALSE(PollingAddressFromUrl("https://h:0", std::nullopt).ok());
  EXPECT_EQ(*PollingAddress("octopus", 10943), "https://octopus:10943");
  EXPECT_FALSE(PollingAddress("", 10943).ok());
}

TEST(SetPollingComms, ReusesTheServersSubscriptionId) {
  ConfigFile cfg = Trusting({kA, kB});
  EXPECT_EQ(*SetPollingComms(cfg, kA, "https://one:10943", Fixed), "poll://fixed/");
  auto other = [] { return Result<std::string>(std::string("poll://other/")); };
  EXPECT_EQ(*SetPollingComms(cfg, kA, "https://two:10943", other), "poll://fixed/");
  EXPECT_EQ(*SetPollingComms(cfg, kB, "https://one:10943", other), "poll://other/");
  EXPECT_EQ(SetPollingComms(cfg, std::string(40, 'C'), "https://x:1", Fixed).status().code(), StatusCode::kNotFound);
  auto servers = TrustedServers(cfg);
  ASSERT_TRUE(servers.ok());
  ASSERT_EQ(servers->size(), 5u);  // two listening, three polling
  EXPECT_EQ((*servers)[2].address, "https://one:10943");
  EXPECT_EQ((*servers)[2].communication_style, kCommunicationStylePolling);
  EXPECT_EQ((*servers)[3].subscription_id, "poll://fixed/");
}

TEST(AddPollingAddress, NeedsAPollingEntry) {
  ConfigFile cfg = Trusting({kA});
  EXPECT_EQ(AddPollingAddress(cfg, kA, "https://h:1").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(AddPollingAddress(cfg, kB, "https://h:1").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(SetPollingComms(cfg, kA, "https://h:1", Fixed).ok());
  EXPECT_EQ(*AddPollingAddress(cfg, kA, "https://H:2"), "poll://fixed/");
  EXPECT_EQ(*AddPollingAddress(cfg, kA, "https://h:2"), "poll://fixed/");  // replaces, same address
  EXPECT_EQ(TrustedServers(cfg)->size(), 3u);
}

TEST(UpdateTrust, RewritesEveryEntryOfTheThumbprint) {
  ConfigFile cfg = Trusting({kA});
  ASSERT_TRUE(SetPollingComms(cfg, kA, "https://h:1", Fixed).ok());
  ASSERT_TRUE(AddPollingAddress(cfg, kA, "https://h:2").ok());
  ASSERT_TRUE(UpdateTrust(cfg, kA, kB).ok());
  auto servers = TrustedServers(cfg);
  ASSERT_TRUE(servers.ok());
  ASSERT_EQ(servers->size(), 3u);
  for (const auto& s : *servers) EXPECT_EQ(s.thumbprint, kB);
  ASSERT_TRUE(ApplyTrustChanges(cfg, TrustChanges{false, {kB}, {}}).ok());
  EXPECT_TRUE(TrustedServers(cfg)->empty());
}

}  // namespace
}  // namespace octo
