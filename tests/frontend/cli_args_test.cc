// The front end's reading of a command line (frontend/cli.h), in process:
// NormaliseArgs's rewriting of single-dash long options, and the rules
// CommandTable::Run adds around CLI11 (help spelled help/h/?, the common
// switches, command and option names in any case, the last value winning,
// the exit codes). The built executables are run by tests/cli.
#include "frontend/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace octo::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A table like Tentacle's, with one command whose options cover every kind
// NormaliseArgs tells apart: long options taking a value (one with two long
// names), a flag, a short option, and the common switches CommandTable adds.
class Table {
 public:
  Table() : table_(&app_, Product::kTentacle) {
    table_.Add(
        "import-certificate", "Imports a certificate",
        [this] {
          ran_ = "import-certificate";
          return kExitOk;
        },
        [this](CLI::App* import) {
          AddInstanceOptions(import, &instance_, Product::kTentacle);
          import->add_option("--pfx-password,--pw", password_, "The PFX's password");
          import->add_option("-f,--from-file", file_, "The PFX file");
          import->add_flag("--nolisten", nolisten_, "A flag");
        });
    table_.Add(
        "show-thumbprint", "Shows the thumbprint",
        [this] {
          ran_ = "show-thumbprint";
          return kExitOk;
        },
        nullptr, "thumbprint");
  }

  const CLI::App* Command(const std::string& name) { return table_.Command(name); }

  // Runs `args` (without the program name) as Tentacle would, capturing
  // standard output and standard error.
  int Run(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"Tentacle"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    const int code = table_.Run(static_cast<int>(cargv.size()), cargv.data());
    out_ = ::testing::internal::GetCapturedStdout();
    err_ = ::testing::internal::GetCapturedStderr();
    return code;
  }

  const std::string& ran() const { return ran_; }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }
  const InstanceOptions& instance() const { return instance_; }
  const std::string& password() const { return password_; }
  const std::string& file() const { return file_; }
  bool nolisten() const { return nolisten_; }
  const CommonSwitches& switches() const { return table_.switches(); }

 private:
  CLI::App app_{"Tentacle: a test table", "Tentacle"};
  CommandTable table_;
  InstanceOptions instance_;
  std::string password_;
  std::string file_;
  bool nolisten_ = false;
  std::string ran_;  // the command whose run function was called
  std::string out_;
  std::string err_;
};

// ---- NormaliseArgs -----------------------------------------------------------

struct NormaliseCase {
  const char* name;
  std::vector<std::string> args;      // after the command name
  std::vector<std::string> expected;  // what CLI11 is given
};

void PrintTo(const NormaliseCase& c, std::ostream* os) { *os << c.name; }

class CliNormaliseArgs : public ::testing::TestWithParam<NormaliseCase> {};

TEST_P(CliNormaliseArgs, RewritesOnlySingleDashLongOptionsTheCommandHas) {
  Table t;
  EXPECT_EQ(NormaliseArgs(GetParam().args, t.Command("import-certificate")), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, CliNormaliseArgs,
    ::testing::Values(
        // A single-dash long option the command has gets a second dash.
        NormaliseCase{"SingleDashOption", {"-pw", "secret"}, {"--pw", "secret"}},
        NormaliseCase{"SingleDashOptionWithDashes",
                      {"-pfx-password", "secret"},
                      {"--pfx-password", "secret"}},
        NormaliseCase{"SingleDashOptionWithEquals", {"-instance=Web"}, {"--instance=Web"}},
        NormaliseCase{"SingleDashFlag", {"-nolisten"}, {"--nolisten"}},
        NormaliseCase{"SingleDashCommonSwitches",
                      {"-console", "-nologo", "-noninteractive", "-noconsolelogging"},
                      {"--console", "--nologo", "--noninteractive", "--noconsolelogging"}},
        NormaliseCase{"SingleDashOptionInAnyCase",
                      {"-PW", "secret", "-Instance", "Web"},
                      {"--PW", "secret", "--Instance", "Web"}},
        NormaliseCase{"EveryOptionOnTheLine",
                      {"-instance", "Web", "-pw", "secret", "-nolisten"},
                      {"--instance", "Web", "--pw", "secret", "--nolisten"}},
        // What the command does not have, or is not a single-dash long name,
        // is left for CLI11 to take or report.
        NormaliseCase{"UnknownSingleDashOption", {"-nosuch", "x"}, {"-nosuch", "x"}},
        NormaliseCase{"ShortOption", {"-f", "x.pfx"}, {"-f", "x.pfx"}},
        NormaliseCase{"ShortOptionWithEquals", {"-f=x.pfx"}, {"-f=x.pfx"}},
        NormaliseCase{"DoubleDashOption",
                      {"--pw", "secret", "--instance=Web"},
                      {"--pw", "secret", "--instance=Web"}},
        NormaliseCase{
            "NotALetterAfterTheDash", {"-1", "-_pw", "-", "-=pw"}, {"-1", "-_pw", "-", "-=pw"}},
        NormaliseCase{
            "PlainWords", {"Web", "pw", "import-certificate"}, {"Web", "pw", "import-certificate"}},
        // The argument after an option that takes a value is that value, and
        // is never rewritten, whatever it looks like.
        NormaliseCase{"ValueAfterDoubleDashOption", {"--pw", "-pw"}, {"--pw", "-pw"}},
        NormaliseCase{"ValueAfterRewrittenOption", {"-pw", "-instance"}, {"--pw", "-instance"}},
        NormaliseCase{"ValueAfterShortOption", {"-f", "-pw"}, {"-f", "-pw"}},
        NormaliseCase{"ValueAfterOptionInAnyCase", {"--PW", "-nolisten"}, {"--PW", "-nolisten"}},
        NormaliseCase{"ValueThatIsACommandName",
                      {"--instance", "help", "-pw", "show-thumbprint"},
                      {"--instance", "help", "--pw", "show-thumbprint"}},
        NormaliseCase{"OnlyOneValue", {"--pw", "-pw", "-pw", "x"}, {"--pw", "-pw", "--pw", "x"}},
        // A value given with '=' or a flag takes no next argument.
        NormaliseCase{"AfterEqualsValue", {"-pw=-x", "-nolisten"}, {"--pw=-x", "--nolisten"}},
        NormaliseCase{"AfterDoubleDashEqualsValue",
                      {"--pw=x", "-instance", "Web"},
                      {"--pw=x", "--instance", "Web"}},
        NormaliseCase{"AfterFlag", {"--nolisten", "-pw", "x"}, {"--nolisten", "--pw", "x"}},
        NormaliseCase{"AfterCommonSwitch", {"-console", "-pw", "x"}, {"--console", "--pw", "x"}},
        NormaliseCase{"AfterUnknownOption", {"--nosuch", "-pw", "x"}, {"--nosuch", "--pw", "x"}},
        // "--" means nothing to the rewriting: what follows is rewritten
        // as anywhere else (CLI11 then takes it all as extra arguments).
        NormaliseCase{"DoubleDashSeparator", {"--", "-pw", "x"}, {"--", "--pw", "x"}},
        NormaliseCase{"Nothing", {}, {}}),
    [](const ::testing::TestParamInfo<NormaliseCase>& info) {
      return std::string(info.param.name);
    });

TEST(CliNormaliseArgsWithoutCommand, ChangesNothing) {
  const std::vector<std::string> args = {"-pw", "secret", "-instance", "Web"};
  EXPECT_EQ(NormaliseArgs(args, nullptr), args);
}

// ---- CommandTable::Run ----------------------------------------------------------

constexpr char kGeneralHelpEnd[] = "Run 'Tentacle help COMMAND' for a command's options.\n";

struct HelpCase {
  const char* name;
  std::vector<std::string> args;
  int exit_code;
  const char* out;  // a part of standard output; "" when it must be empty
  const char* err;  // a part of standard error; "" when it must be empty
};

void PrintTo(const HelpCase& c, std::ostream* os) { *os << c.name; }

class CliHelp : public ::testing::TestWithParam<HelpCase> {};

TEST_P(CliHelp, AnswersWithoutRunningACommand) {
  Table t;
  EXPECT_EQ(t.Run(GetParam().args), GetParam().exit_code) << t.out() << t.err();
  EXPECT_EQ(t.ran(), "");
  if (*GetParam().out == '\0') {
    EXPECT_THAT(t.out(), IsEmpty());
  } else {
    EXPECT_THAT(t.out(), HasSubstr(GetParam().out));
  }
  if (*GetParam().err == '\0') {
    EXPECT_THAT(t.err(), IsEmpty());
  } else {
    EXPECT_THAT(t.err(), HasSubstr(GetParam().err));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Spellings, CliHelp,
    ::testing::Values(
        HelpCase{"Help", {"help"}, kExitOk, kGeneralHelpEnd, ""},
        HelpCase{"H", {"h"}, kExitOk, kGeneralHelpEnd, ""},
        HelpCase{"QuestionMark", {"?"}, kExitOk, kGeneralHelpEnd, ""},
        HelpCase{"HelpInAnyCase", {"HeLp"}, kExitOk, kGeneralHelpEnd, ""},
        HelpCase{"HInAnyCase", {"H"}, kExitOk, kGeneralHelpEnd, ""},
        HelpCase{"HelpAfterCommonSwitches",
                 {"--console", "-nologo", "help"},
                 kExitOk,
                 kGeneralHelpEnd,
                 ""},
        HelpCase{"HelpWithAnOptionOnly", {"help", "--pw"}, kExitOk, kGeneralHelpEnd, ""},
        HelpCase{"HelpWithCommonSwitchesOnly",
                 {"help", "--console", "-noninteractive"},
                 kExitOk,
                 kGeneralHelpEnd,
                 ""},
        HelpCase{"HelpForACommand", {"help", "import-certificate"}, kExitOk, "--pfx-password", ""},
        HelpCase{
            "HForACommandInAnyCase", {"h", "Import-Certificate"}, kExitOk, "--pfx-password", ""},
        HelpCase{"QuestionMarkForAnAlias", {"?", "thumbprint"}, kExitOk, "show-thumbprint", ""},
        HelpCase{"HelpForACommandAfterACommonSwitch",
                 {"help", "--nologo", "import-certificate"},
                 kExitOk,
                 "--pfx-password",
                 ""},
        HelpCase{"HelpOptionOfACommand",
                 {"import-certificate", "--help"},
                 kExitOk,
                 "--pfx-password",
                 ""},
        HelpCase{"HelpForAnUnknownCommand",
                 {"help", "nosuch"},
                 kExitUnknownCommand,
                 "",
                 "Error: 'nosuch' is not a command of Tentacle\nRun 'Tentacle help' for the "
                 "commands.\n"},
        HelpCase{"NoCommand", {}, kExitUnknownCommand, kGeneralHelpEnd, ""},
        HelpCase{"CommonSwitchesOnly",
                 {"--console", "-nologo", "--noninteractive", "-noconsolelogging"},
                 kExitUnknownCommand,
                 kGeneralHelpEnd,
                 ""},
        HelpCase{"UnknownCommand",
                 {"nosuch", "--pw", "x"},
                 kExitUnknownCommand,
                 "",
                 "Error: 'nosuch' is not a command of Tentacle\nRun 'Tentacle help' for the "
                 "commands.\n"}),
    [](const ::testing::TestParamInfo<HelpCase>& info) { return std::string(info.param.name); });

TEST(CliCommandTable, CommandNamesInAnyCaseAndAliases) {
  for (const std::string name :
       {"show-thumbprint", "SHOW-THUMBPRINT", "Show-Thumbprint", "thumbprint", "ThumbPrint"}) {
    Table t;
    EXPECT_EQ(t.Run({name}), kExitOk) << name << ": " << t.err();
    EXPECT_EQ(t.ran(), "show-thumbprint") << name;
    EXPECT_EQ(t.err(), "") << name;
  }
}

TEST(CliCommandTable, OptionNamesInAnyCaseWithOneOrTwoDashes) {
  Table t;
  ASSERT_EQ(t.Run({"import-certificate", "-INSTANCE", "Web", "--Pfx-Password", "secret",
                   "-NoListen", "--FROM-FILE=x.pfx"}),
            kExitOk)
      << t.err();
  EXPECT_EQ(t.ran(), "import-certificate");
  EXPECT_EQ(t.instance().instance, "Web");
  EXPECT_EQ(t.password(), "secret");
  EXPECT_TRUE(t.nolisten());
  EXPECT_EQ(t.file(), "x.pfx");
}

TEST(CliCommandTable, ARepeatedOptionKeepsItsLastValue) {
  Table t;
  ASSERT_EQ(t.Run({"import-certificate", "--instance", "A", "-instance", "B", "--INSTANCE=C",
                   "--pw", "1", "-pw", "2", "--pfx-password", "3"}),
            kExitOk)
      << t.err();
  EXPECT_EQ(t.instance().instance, "C");
  EXPECT_EQ(t.password(), "3");
}

TEST(CliCommandTable, AValueMayStartWithADashOrNameACommand) {
  struct Case {
    std::vector<std::string> args;
    std::string password;
    std::string instance;
  };
  for (const Case& c :
       {Case{{"--pw", "-pw"}, "-pw", "Tentacle"},
        Case{{"-pw", "-instance", "-instance", "Web"}, "-instance", "Web"},
        Case{{"-pw", "--nolisten"}, "--nolisten", "Tentacle"}, Case{{"--pw=-x"}, "-x", "Tentacle"},
        Case{{"-pw", "show-thumbprint", "--instance", "help"}, "show-thumbprint", "help"},
        Case{{"--pw", "import-certificate"}, "import-certificate", "Tentacle"}}) {
    Table t;
    std::vector<std::string> args = {"import-certificate"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    EXPECT_EQ(t.Run(args), kExitOk) << ::testing::PrintToString(c.args) << ": " << t.err();
    EXPECT_EQ(t.ran(), "import-certificate");
    EXPECT_EQ(t.password(), c.password) << ::testing::PrintToString(c.args);
    EXPECT_EQ(t.instance().instance, c.instance) << ::testing::PrintToString(c.args);
    EXPECT_FALSE(t.nolisten()) << ::testing::PrintToString(c.args);
  }
}

TEST(CliCommandTable, CommonSwitchesBeforeOrAfterTheCommandChangeNothing) {
  Table t;
  ASSERT_EQ(
      t.Run({"--console", "-nologo", "show-thumbprint", "-noninteractive", "--NoConsoleLogging"}),
      kExitOk)
      << t.err();
  EXPECT_EQ(t.ran(), "show-thumbprint");
  EXPECT_EQ(t.out(), "");
  EXPECT_EQ(t.err(), "");
  // Before the command or after it, in any case, each is recorded.
  EXPECT_TRUE(t.switches().console);
  EXPECT_TRUE(t.switches().nologo);
  EXPECT_TRUE(t.switches().noninteractive);
  EXPECT_TRUE(t.switches().noconsolelogging);
}

// "--noninteractive" before the command still means never prompt.
TEST(CliCommandTable, ASwitchBeforeTheCommandInAnyCaseTakesEffect) {
  Table t;
  ASSERT_EQ(t.Run({"--NONINTERACTIVE", "-Console", "show-thumbprint"}), kExitOk) << t.err();
  EXPECT_EQ(t.ran(), "show-thumbprint");
  EXPECT_TRUE(t.switches().noninteractive);
  EXPECT_TRUE(t.switches().console);
  EXPECT_FALSE(t.switches().nologo);
}

TEST(CliCommandTable, UnrecognisedArgumentsAreAUsageError) {
  Table t;
  EXPECT_EQ(t.Run({"show-thumbprint", "--nosuch", "extra"}), kExitUsage);
  EXPECT_EQ(t.ran(), "");
  EXPECT_EQ(t.err(),
            "Error: Unrecognized command line arguments: --nosuch extra\n"
            "Run 'Tentacle show-thumbprint --help' for the options.\n");
}

TEST(CliCommandTable, AMissingValueIsAUsageError) {
  Table t;
  EXPECT_EQ(t.Run({"import-certificate", "-pw"}), kExitUsage);
  EXPECT_EQ(t.ran(), "");
  EXPECT_THAT(t.err(), HasSubstr("--pfx-password"));
  EXPECT_THAT(t.err(), HasSubstr("\nRun 'Tentacle import-certificate --help' for the options.\n"));
}

// Only the command run gets its options set up (CLI11 builds every option
// when it is added: docs/performance.md); help, and a line where CLI11 may
// take a later argument as another command, get all of them.
TEST(CliCommandTable, SetsUpOnlyTheOptionsTheLineNeeds) {
  struct Case {
    std::vector<std::string> args;
    int a, b;  // how many times each command's options were set up
  };
  for (const Case& c : {Case{{"a"}, 1, 0}, Case{{"B", "--x", "1"}, 0, 1}, Case{{"--console", "a"}, 1, 0},
                        Case{{"help"}, 1, 1}, Case{{"h", "b"}, 1, 1}, Case{{}, 1, 1},
                        Case{{"a", "b"}, 1, 1}, Case{{"nosuch"}, 0, 0}}) {
    CLI::App app("T", "T");
    CommandTable table(&app, Product::kTentacle);
    int a = 0, b = 0;
    std::string x;
    table.Add("a", "A", [] { return kExitOk; }, [&](CLI::App*) { ++a; });
    table.Add("b", "B", [] { return kExitOk; }, [&](CLI::App* sub) {
      ++b;
      sub->add_option("--x", x, "X");
    });
    std::vector<std::string> argv = {"T"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    std::vector<char*> cargv;
    for (auto& s : argv) cargv.push_back(s.data());
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    table.Run(static_cast<int>(cargv.size()), cargv.data());
    ::testing::internal::GetCapturedStdout();
    ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(a, c.a) << ::testing::PrintToString(c.args);
    EXPECT_EQ(b, c.b) << ::testing::PrintToString(c.args);
  }
}

}  // namespace
}  // namespace octo::cli
