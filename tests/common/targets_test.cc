#include "common/config/targets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace octo {
namespace {

using ::testing::ElementsAre;

const std::string kA(40, 'A');
const std::string kB(40, 'B');
const std::string kC(40, 'C');
constexpr char kPath[] = "/nonexistent/server.config";

// `json` with <A>, <B>, <C> and <a> (kA in lower case) replaced, parsed.
Json Parse(std::string json) {
  for (const auto& [mark, tp] :
       {std::pair{"<A>", kA}, std::pair{"<B>", kB}, std::pair{"<C>", kC}, std::pair{"<a>", std::string(40, 'a')}}) {
    for (auto at = json.find(mark); at != std::string::npos; at = json.find(mark)) json.replace(at, 3, tp);
  }
  return Json::parse(json);
}

ConfigFile WithTargets(const Json& list) {
  ConfigFile cfg = ConfigFile::New(kPath);
  cfg.Set(kTargetsKey, list);
  return cfg;
}

// An entry as versions before pin sets wrote it.
Json OldEntry(const std::string& name, const std::string& tp) {
  return Json{{"Name", name}, {"Address", "https://h:1"}, {"Thumbprint", tp}};
}

TEST(Targets, ReadsTodaysSingleThumbprintEntries) {
  ConfigFile cfg = WithTargets(Json::array({OldEntry("web", kA), OldEntry("db", std::string(40, 'b'))}));
  auto targets = LoadTargets(cfg);
  ASSERT_TRUE(targets.ok()) << targets.status().message();
  ASSERT_EQ(targets->size(), 2u);
  EXPECT_EQ((*targets)[0].name, "web");
  EXPECT_EQ((*targets)[0].address, "https://h:1");
  EXPECT_THAT((*targets)[0].thumbprints, ElementsAre(kA));
  EXPECT_THAT((*targets)[1].thumbprints, ElementsAre(kB));  // upper case
}

TEST(Targets, ReadsPinSetsInOrderWithoutRepeats) {
  ConfigFile cfg = WithTargets(
      Parse(R"([{"Name":"web","Address":"https://h:1","Thumbprint":"<B>","Thumbprints":["<B>","<A>","<a>"]}])"));
  auto targets = LoadTargets(cfg);
  ASSERT_TRUE(targets.ok()) << targets.status().message();
  EXPECT_THAT((*targets)[0].thumbprints, ElementsAre(kB, kA));
}

TEST(Targets, ASetWithoutTheSingleKeyIsRead) {
  ConfigFile cfg = WithTargets(Parse(R"([{"Name":"web","Address":"https://h:1","Thumbprints":["<A>","<B>"]}])"));
  auto targets = LoadTargets(cfg);
  ASSERT_TRUE(targets.ok()) << targets.status().message();
  EXPECT_THAT((*targets)[0].thumbprints, ElementsAre(kA, kB));
}

// Any write (here, of another target) brings every entry to the current
// form: "Thumbprints" the set, "Thumbprint" its first pin, other keys kept
// where they were.
TEST(Targets, EveryWriteMigratesEveryEntryAndKeepsUnknownKeys) {
  Json web = OldEntry("web", std::string(40, 'a'));
  web["Environment"] = "Production";
  web["Roles"] = Json::array({"web-server"});
  ConfigFile cfg = WithTargets(Json::array({web, OldEntry("db", kB)}));
  ASSERT_TRUE(AddTarget(cfg, Target{"new", "https://n:2", std::vector<std::string>{kC, kA}}).ok());
  const Json expected = Parse(R"([
    {"Name":"web","Address":"https://h:1","Thumbprint":"<A>","Environment":"Production","Roles":["web-server"],
     "Thumbprints":["<A>"]},
    {"Name":"db","Address":"https://h:1","Thumbprint":"<B>","Thumbprints":["<B>"]},
    {"Name":"new","Address":"https://n:2","Thumbprint":"<C>","Thumbprints":["<C>","<A>"]}
  ])");
  EXPECT_EQ(cfg.doc()[kTargetsKey].dump(), expected.dump());  // ordered: keys keep their places

  ASSERT_TRUE(RemoveTarget(cfg, "new").ok());
  EXPECT_EQ(cfg.doc()[kTargetsKey].size(), 2u);
  EXPECT_EQ(cfg.doc()[kTargetsKey][0]["Environment"], "Production");
}

TEST(Targets, LoadingChangesNothing) {
  ConfigFile cfg = WithTargets(Json::array({OldEntry("web", std::string(40, 'a'))}));
  const std::string before = cfg.doc().dump();
  ASSERT_TRUE(LoadTargets(cfg).ok());
  EXPECT_EQ(cfg.doc().dump(), before);
}

struct BadEntry {
  const char* name;
  std::string entry;  // JSON of the one entry, for Parse
  std::string error;  // after "PATH"
};

class TargetsRejects : public ::testing::TestWithParam<BadEntry> {};

// One clear Corrupt error naming the file and the target; every command
// that reads the list fails the same way and changes nothing.
TEST_P(TargetsRejects, WithOneClearError) {
  const BadEntry& c = GetParam();
  ConfigFile cfg = WithTargets(Json::array({OldEntry("ok", kC), Parse(c.entry)}));
  const std::string before = cfg.doc().dump();
  const std::string error = kPath + c.error;
  auto loaded = LoadTargets(cfg);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(loaded.status().message(), error);
  for (const Status& st :
       {AddTarget(cfg, Target{"x", "https://x:1", kA}),
        UpdateTarget(cfg, "ok", PinChanges{{}, {}, {kA}}, std::nullopt).status(), RemoveTarget(cfg, "ok")}) {
    EXPECT_EQ(st.code(), StatusCode::kCorrupt);
    EXPECT_EQ(st.message(), error);
  }
  EXPECT_EQ(cfg.doc().dump(), before);
}

const std::string kShape =
    ": every entry of \"Octopus.Server.DeploymentTargets\" must have \"Name\", \"Address\" and \"Thumbprint\" strings";

INSTANTIATE_TEST_SUITE_P(
    Cases, TargetsRejects,
    ::testing::Values(
        BadEntry{"empty_set", R"({"Name":"web","Address":"https://h:1","Thumbprints":[]})",
                 ": deployment target 'web' pins no thumbprint (its \"Thumbprints\" is empty)"},
        BadEntry{"empty_set_with_single",
                 R"({"Name":"web","Address":"https://h:1","Thumbprint":"<A>","Thumbprints":[]})",
                 ": deployment target 'web' pins no thumbprint (its \"Thumbprints\" is empty)"},
        BadEntry{"malformed_pin", R"({"Name":"web","Address":"https://h:1","Thumbprints":["<A>","xyz"]})",
                 ": deployment target 'web': the thumbprint 'xyz' contains 'x', which is not a hexadecimal digit"},
        BadEntry{"malformed_single", R"({"Name":"web","Address":"https://h:1","Thumbprint":"1234"})",
                 ": deployment target 'web': the thumbprint '1234' has 4 hexadecimal characters; a thumbprint has "
                 "exactly 40"},
        BadEntry{"empty_single", R"({"Name":"web","Address":"https://h:1","Thumbprint":""})",
                 ": deployment target 'web': the thumbprint is empty"},
        BadEntry{"set_not_an_array", R"({"Name":"web","Address":"https://h:1","Thumbprints":"<A>"})",
                 ": deployment target 'web': \"Thumbprints\" must be an array of thumbprint strings"},
        BadEntry{"pin_not_a_string", R"({"Name":"web","Address":"https://h:1","Thumbprints":[1]})",
                 ": deployment target 'web': \"Thumbprints\" must be an array of thumbprint strings"},
        BadEntry{"single_disagrees",
                 R"({"Name":"web","Address":"https://h:1","Thumbprint":"<B>","Thumbprints":["<A>","<B>"]})",
                 ": deployment target 'web': its \"Thumbprint\" " + kB + " is not the first of its \"Thumbprints\" (" +
                     kA + ", " + kB +
                     "), as when a version before pin sets changed it; edit the entry so that they agree"},
        BadEntry{"no_pins_at_all", R"({"Name":"web","Address":"https://h:1"})", kShape},
        BadEntry{"no_address", R"({"Name":"web","Thumbprints":["<A>"]})", kShape},
        BadEntry{"single_not_a_string", R"({"Name":"web","Address":"https://h:1","Thumbprint":5})", kShape}),
    [](const auto& info) { return std::string(info.param.name); });

struct PinCase {
  const char* name;
  std::vector<std::string> before;
  PinChanges changes;
  std::vector<std::string> after;
  std::vector<std::string> removed, not_pinned, added, already_pinned;
};

class TargetPins : public ::testing::TestWithParam<PinCase> {};

TEST_P(TargetPins, ChangeInTheDocumentedOrder) {
  const PinCase& c = GetParam();
  ConfigFile cfg = ConfigFile::New(kPath);
  ASSERT_TRUE(AddTarget(cfg, Target{"web", "https://h:1", c.before}).ok());
  auto report = UpdateTarget(cfg, "web", c.changes, std::nullopt);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->pins, c.after);
  EXPECT_EQ(report->removed, c.removed);
  EXPECT_EQ(report->not_pinned, c.not_pinned);
  EXPECT_EQ(report->added, c.added);
  EXPECT_EQ(report->already_pinned, c.already_pinned);
  EXPECT_EQ(LoadTargets(cfg)->front().thumbprints, c.after);
  EXPECT_EQ(cfg.doc()[kTargetsKey][0]["Thumbprint"], c.after.front());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TargetPins,
    ::testing::Values(
        PinCase{"add", {kA}, {{}, {}, {kB}}, {kA, kB}, {}, {}, {kB}, {}},
        PinCase{"add_twice_in_one_call", {kA}, {{}, {}, {kB, kB}}, {kA, kB}, {}, {}, {kB}, {}},
        PinCase{"add_existing", {kA, kB}, {{}, {}, {kB}}, {kA, kB}, {}, {}, {}, {kB}},
        PinCase{"remove_first", {kA, kB}, {{}, {kA}, {}}, {kB}, {kA}, {}, {}, {}},
        PinCase{"remove_missing", {kA}, {{}, {kC}, {}}, {kA}, {}, {kC}, {}, {}},
        PinCase{"rotate_in_one_call", {kA}, {{}, {kA}, {kB}}, {kB}, {kA}, {}, {kB}, {}},
        PinCase{"replace", {kA, kB}, {std::vector<std::string>{kC}, {}, {}}, {kC}, {}, {}, {}, {}},
        PinCase{"replace_with_a_set", {kA}, {std::vector<std::string>{kB, kC, kB}, {}, {}}, {kB, kC}, {}, {}, {}, {}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Targets, TheLastPinIsNotRemoved) {
  ConfigFile cfg = ConfigFile::New(kPath);
  ASSERT_TRUE(AddTarget(cfg, Target{"web", "https://h:1", std::vector<std::string>{kA, kB}}).ok());
  const std::string before = cfg.doc().dump();
  auto r = UpdateTarget(cfg, "web", PinChanges{{}, {kA, kB}, {}}, std::string("https://other:2"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "deployment target 'web' must keep at least one pinned thumbprint: removing " + kA +
                                      ", " + kB + " would leave it none");
  auto empty = UpdateTarget(cfg, "web", PinChanges{std::vector<std::string>{}, {}, {}}, std::nullopt);
  EXPECT_EQ(empty.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(cfg.doc().dump(), before);
}

TEST(Targets, AddRefusesNoPinsAndMalformedPins) {
  ConfigFile cfg = ConfigFile::New(kPath);
  Status none = AddTarget(cfg, Target{"web", "https://h:1", std::vector<std::string>{}});
  EXPECT_EQ(none.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(none.message(), "deployment target 'web' must pin a thumbprint");
  Status bad = AddTarget(cfg, Target{"web", "https://h:1", std::vector<std::string>{kA, "nope"}});
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(cfg.doc().contains(kTargetsKey));
}

TEST(Targets, UpdateOfAnUnknownTargetIsNotFound) {
  ConfigFile cfg = WithTargets(Json::array({OldEntry("web", kA)}));
  auto r = UpdateTarget(cfg, "WEB", PinChanges{{}, {}, {kB}}, std::nullopt);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "there is no deployment target named 'WEB'");
}

}  // namespace
}  // namespace octo
