// Octopus.Server deployment targets pinning more than one thumbprint, run
// as a user would: exact lines, JSON, exit codes and the config file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::ElementsAre;

const std::string kA(40, 'A');
const std::string kB(40, 'B');
const std::string kC(40, 'C');
// `text` with <A>, <B> and <C> replaced by those thumbprints.
std::string Pins(std::string text) {
  for (const auto& [mark, tp] : {std::pair{"<A>", kA}, std::pair{"<B>", kB}, std::pair{"<C>", kC}}) {
    for (auto at = text.find(mark); at != std::string::npos; at = text.find(mark)) text.replace(at, 3, tp);
  }
  return text;
}

constexpr char kWhenStarts[] = "The Octopus Server service is not running; it uses this when it starts.";

class TargetPins : public CliTest {
 protected:
  void SetUp() override { MustServer({"create-instance"}); }

  nlohmann::ordered_json Targets() {
    return nlohmann::ordered_json::parse(ReadTestFile(ServerConfig()))["Octopus.Server.DeploymentTargets"];
  }
  void SetTargets(const nlohmann::ordered_json& list) {
    auto j = nlohmann::ordered_json::parse(ReadTestFile(ServerConfig()));
    j["Octopus.Server.DeploymentTargets"] = list;
    WriteTestFile(ServerConfig(), j.dump(2));
  }
};

TEST_F(TargetPins, AddTargetPinsEveryThumbprintGiven) {
  auto add = MustServer({"add-target", "--name", "web", "--address", "https://127.0.0.1:10933", "--thumbprint", kA,
                         "--thumbprint", std::string(40, 'b'), "--thumbprint", kA});
  EXPECT_THAT(add.OutLines(), ElementsAre("Added deployment target 'web' at https://127.0.0.1:10933 with thumbprints " +
                                              kA + ", " + kB + ".",
                                          kWhenStarts));
  MustServer({"add-target", "--name", "db", "--address", "https://db:10933", "--thumbprint", kC});

  EXPECT_THAT(MustServer({"list-targets"}).OutLines(),
              ElementsAre("web  https://127.0.0.1:10933  " + kA + "," + kB, "db  https://db:10933  " + kC));
  // "Thumbprint" stays the first pin, for scripts written before pin sets.
  EXPECT_EQ(MustServer({"list-targets", "--format", "json"}).out, Pins(R"([
  {
    "Name": "web",
    "Address": "https://127.0.0.1:10933",
    "Thumbprint": "<A>",
    "Thumbprints": [
      "<A>",
      "<B>"
    ]
  },
  {
    "Name": "db",
    "Address": "https://db:10933",
    "Thumbprint": "<C>",
    "Thumbprints": [
      "<C>"
    ]
  }
]
)"));
  EXPECT_EQ(Targets(), nlohmann::ordered_json::parse(MustServer({"list-targets", "--format", "json"}).out));
}

TEST_F(TargetPins, UpdateTargetThumbprintReplacesTheSet) {
  MustServer({"add-target", "--name", "web", "--address", "https://h:1", "--thumbprint", kA});
  EXPECT_THAT(MustServer({"update-target", "--name", "web", "--thumbprint", kB, "--thumbprint", kC}).OutLines(),
              ElementsAre("The thumbprints of deployment target 'web' are now " + kB + ", " + kC + ".", kWhenStarts));
  EXPECT_THAT(MustServer({"list-targets"}).OutLines(), ElementsAre("web  https://h:1  " + kB + "," + kC));
  EXPECT_THAT(MustServer({"update-target", "--name", "web", "--thumbprint", kA}).OutLines(),
              ElementsAre("The thumbprint of deployment target 'web' is now " + kA + ".", kWhenStarts));
  EXPECT_THAT(MustServer({"list-targets"}).OutLines(), ElementsAre("web  https://h:1  " + kA));
}

TEST_F(TargetPins, AddAndRemoveThumbprintChangeTheSet) {
  MustServer({"add-target", "--name", "web", "--address", "https://h:1", "--thumbprint", kA});
  EXPECT_THAT(MustServer({"update-target", "--name", "web", "--add-thumbprint", kB}).OutLines(),
              ElementsAre("Deployment target 'web' now also pins thumbprint " + kB + ".",
                          "The thumbprints of deployment target 'web' are now " + kA + ", " + kB + ".", kWhenStarts));
  EXPECT_THAT(MustServer({"list-targets"}).OutLines(), ElementsAre("web  https://h:1  " + kA + "," + kB));

  // Asking for what is already so says so, succeeds and writes nothing.
  const std::string config = HashFile(ServerConfig());
  auto again = MustServer({"update-target", "--name", "web", "--add-thumbprint", std::string(40, 'b')});
  EXPECT_THAT(again.OutLines(), ElementsAre("Deployment target 'web' already pins thumbprint " + kB + "."));
  EXPECT_EQ(again.err, "");
  auto absent = MustServer({"update-target", "--name", "web", "--remove-thumbprint", kC});
  EXPECT_THAT(absent.OutLines(),
              ElementsAre("Deployment target 'web' does not pin thumbprint " + kC + "; nothing to remove."));
  EXPECT_EQ(HashFile(ServerConfig()), config);

  EXPECT_THAT(MustServer({"update-target", "--name", "web", "--remove-thumbprint", kA}).OutLines(),
              ElementsAre("Deployment target 'web' no longer pins thumbprint " + kA + ".",
                          "The thumbprint of deployment target 'web' is now " + kB + ".", kWhenStarts));
  // A rotation in one call: the old pin out, the new one in.
  EXPECT_THAT(MustServer({"update-target", "--name", "web", "--remove-thumbprint", kB, "--add-thumbprint", kC,
                          "--add-thumbprint", kA, "--address", "https://h:2"})
                  .OutLines(),
              ElementsAre("Deployment target 'web' no longer pins thumbprint " + kB + ".",
                          "Deployment target 'web' now also pins thumbprint " + kC + ".",
                          "Deployment target 'web' now also pins thumbprint " + kA + ".",
                          "The thumbprints of deployment target 'web' are now " + kC + ", " + kA + ".",
                          "The address of deployment target 'web' is now https://h:2.", kWhenStarts));
  auto json = nlohmann::ordered_json::parse(MustServer({"list-targets", "--format", "json"}).out);
  EXPECT_EQ(json[0]["Thumbprint"], kC);
  EXPECT_EQ(json[0]["Thumbprints"], nlohmann::ordered_json::array({kC, kA}));
  EXPECT_EQ(json[0]["Address"], "https://h:2");
}

// One clear line on standard error, exit 1, nothing on standard output and
// the config file byte for byte as it was.
TEST_F(TargetPins, BadInputChangesNothing) {
  MustServer({"add-target", "--name", "web", "--address", "https://h:1", "--thumbprint", kA});
  MustServer({"add-target", "--name", "two", "--address", "https://h:2", "--thumbprint", kA, "--thumbprint", kB});
  const std::string config = HashFile(ServerConfig());
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"update-target", "--name", "web", "--remove-thumbprint", kA},
       "Error: deployment target 'web' must keep at least one pinned thumbprint: removing " + kA +
           " would leave it none"},
      {{"update-target", "--name", "two", "--remove-thumbprint", kB, "--remove-thumbprint", kA},
       "Error: deployment target 'two' must keep at least one pinned thumbprint: removing " + kB + ", " + kA +
           " would leave it none"},
      {{"update-target", "--name", "web", "--add-thumbprint", "xyz"},
       "Error: --add-thumbprint: the thumbprint 'xyz' contains 'x', which is not a hexadecimal digit"},
      {{"update-target", "--name", "web", "--add-thumbprint", kB, "--add-thumbprint", "1234"},
       "Error: --add-thumbprint: the thumbprint '1234' has 4 hexadecimal characters; a thumbprint has exactly 40"},
      {{"update-target", "--name", "web", "--remove-thumbprint", "xyz"},
       "Error: --remove-thumbprint: the thumbprint 'xyz' contains 'x', which is not a hexadecimal digit"},
      {{"update-target", "--name", "web", "--thumbprint", ""}, "Error: --thumbprint: the thumbprint is empty"},
      {{"update-target", "--name", "web", "--thumbprint", kB, "--thumbprint", "xyz"},
       "Error: --thumbprint: the thumbprint 'xyz' contains 'x', which is not a hexadecimal digit"},
      {{"update-target", "--name", "web", "--thumbprint", kB, "--add-thumbprint", kC},
       "Error: --thumbprint replaces the whole set of pins: give it without --add-thumbprint and "
       "--remove-thumbprint"},
      {{"update-target", "--name", "nope", "--add-thumbprint", kB},
       "Error: there is no deployment target named 'nope'"},
      {{"add-target", "--name", "x", "--address", "https://h:3", "--thumbprint", kA, "--thumbprint", "xyz"},
       "Error: --thumbprint: the thumbprint 'xyz' contains 'x', which is not a hexadecimal digit"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    auto r = Server(c.args);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.ErrLines(), ElementsAre(c.error));
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(HashFile(ServerConfig()), config);
  }
}

// A file written before pin sets: read as it is, written in the new form by
// the next change, keys this version does not know kept.
TEST_F(TargetPins, ASingleThumbprintFileIsReadAndMigratedOnWrite) {
  SetTargets(nlohmann::ordered_json::parse(Pins(R"([
    {"Name": "web", "Address": "https://h:1", "Thumbprint": "<A>", "Environment": "Production"},
    {"Name": "db", "Address": "https://h:2", "Thumbprint": "<B>"}
  ])")));
  const std::string config = HashFile(ServerConfig());
  EXPECT_THAT(MustServer({"list-targets"}).OutLines(),
              ElementsAre("web  https://h:1  " + kA, "db  https://h:2  " + kB));
  auto json = nlohmann::ordered_json::parse(MustServer({"list-targets", "--format", "json"}).out);
  EXPECT_EQ(json[0], nlohmann::ordered_json::parse(Pins(
                         R"({"Name": "web", "Address": "https://h:1", "Thumbprint": "<A>", "Thumbprints": ["<A>"]})")));
  EXPECT_EQ(HashFile(ServerConfig()), config);  // reading writes nothing

  MustServer({"update-target", "--name", "web", "--add-thumbprint", kC});
  EXPECT_EQ(Targets(), nlohmann::ordered_json::parse(Pins(R"([
    {"Name": "web", "Address": "https://h:1", "Thumbprint": "<A>", "Environment": "Production",
     "Thumbprints": ["<A>", "<C>"]},
    {"Name": "db", "Address": "https://h:2", "Thumbprint": "<B>", "Thumbprints": ["<B>"]}
  ])")));
}

TEST_F(TargetPins, DamagedPinsAreReportedAndKept) {
  struct Case {
    std::string entry;
    std::string error;  // after "Error: PATH"
  };
  const std::vector<Case> cases = {
      {R"({"Name": "web", "Address": "https://h:1", "Thumbprints": []})",
       ": deployment target 'web' pins no thumbprint (its \"Thumbprints\" is empty)"},
      {Pins(
           R"({"Name": "web", "Address": "https://h:1", "Thumbprint": "<A>", "Thumbprints": ["<A>", "not-a-thumbprint"]})"),
       ": deployment target 'web': the thumbprint 'not-a-thumbprint' contains 'n', which is not a hexadecimal "
       "digit"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.entry);
    SetTargets(nlohmann::ordered_json::array({nlohmann::ordered_json::parse(c.entry)}));
    const std::string config = HashFile(ServerConfig());
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"list-targets"},
          std::vector<std::string>{"add-target", "--name", "x", "--address", "https://x:1", "--thumbprint", kA},
          std::vector<std::string>{"update-target", "--name", "web", "--add-thumbprint", kB},
          std::vector<std::string>{"remove-target", "--name", "web"}}) {
      auto r = Server(args);
      EXPECT_EQ(r.exit_code, 1) << args[0];
      EXPECT_EQ(r.err, "Error: " + Shown(ServerConfig()) + c.error + "\n") << args[0];
      EXPECT_EQ(r.out, "") << args[0];
      EXPECT_EQ(HashFile(ServerConfig()), config) << args[0];
    }
  }
}

}  // namespace
}  // namespace octo::testing
