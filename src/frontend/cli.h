// Shared plumbing of the two executables: exit codes, error lines, the
// options every command takes, and the dispatch from a parsed command line
// to a command's run function.
//
// Console contract: mirrored product lines go to standard output; warnings
// ("Warning: ...") and errors ("Error: ...", one line) go to standard error.
// Exit codes, as the real programs: 0 success, 1 a controlled failure
// (including bad or unrecognised arguments), 2 an unknown command (or none).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/config/instance.h"
#include "common/base/status.h"

namespace octo::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 1;           // the real programs' "controlled failure"
inline constexpr int kExitUnknownCommand = 2;  // the real programs' UnknownCommand

// Prints "Error: <message>" and returns kExitFailed.
int Fail(const Status& status);
// Prints "Error: <message>" and returns kExitUsage (nothing was changed).
int UsageError(const std::string& message);
void Warn(const std::string& message);

// --instance and --config, taken by every command that works on an instance.
struct InstanceOptions {
  std::string instance;
  std::optional<std::string> config;
};
// An invalid instance name is a usage error (exit 2) for every command.
void AddInstanceOptions(CLI::App* sub, InstanceOptions* opts, Product product, bool with_config = true);

// --format text|json.
void AddFormatOption(CLI::App* sub, std::string* format);

// Opens the instance named by `opts` to read it.
Result<Instance> OpenInstance(Product product, const InstanceOptions& opts);
// Opens it to change it: holds the config's lock until the Instance dies.
Result<Instance> OpenInstanceForUpdate(Product product, const InstanceOptions& opts);

// The switches every real command accepts (Startup/OctopusProgram.cs). They
// change nothing here: --console and --noninteractive choose the real
// program's host (we always run as a console program), --nologo and
// --noconsolelogging are deprecated there and kept so scripts do not break.
struct CommonSwitches {
  bool console = false;
  bool nologo = false;
  bool noninteractive = false;
  bool noconsolelogging = false;
};

// The table of commands of one executable.
//
// Besides the commands added to it, it answers `help`, `help COMMAND` (also
// spelled `h` and `?`) and `COMMAND --help`; with no command it prints the
// general help and returns kExitUnknownCommand, as the real programs do.
//
// A command's options are set up only when the command line needs them:
// for the command being run, or for the general help. CLI11 builds every
// option when it is added, and with names in any case that cost more than
// everything else a short command such as show-thumbprint does
// (docs/performance.md).
class CommandTable {
 public:
  // Adds the command's own options to its CLI11 subcommand.
  using OptionSetup = std::function<void(CLI::App* sub)>;

  // As the real programs' parser: command and option names in any case
  // ("--nolisten", "New-Certificate"), and a repeated option keeps its last
  // value. Must be made before any command is added.
  CommandTable(CLI::App* app, Product product);

  // Adds a command with the common switches; `options` is called at most
  // once, and only if the command line needs this command's options; `run`
  // is called when it is the command parsed. Both may share the options
  // struct they fill and read (a shared_ptr they capture).
  void Add(const std::string& name, const std::string& description, std::function<int()> run,
           OptionSetup options = nullptr, const std::string& alias = "");
  CLI::App* app() { return app_; }
  Product product() const { return product_; }
  const CommonSwitches& switches() const { return switches_; }

  // The CLI11 subcommand of the command `name` (or alias, in any case), its
  // options set up; null when there is no such command.
  CLI::App* Command(const std::string& name);

  // Parses argv and runs the chosen command. Returns the exit code.
  int Run(int argc, char** argv);

 private:
  struct Entry {
    std::string name;
    std::string description;
    std::string alias;
    std::function<int()> run;
    OptionSetup options;
    CLI::App* sub = nullptr;  // set once its options are set up
  };

  Entry* FindEntry(const std::string& name);
  void SetUp(Entry& entry);
  void SetUpAll();
  CLI::App* Find(const std::string& name) const;
  int Help(const std::vector<std::string>& topics) const;

  CLI::App* app_;
  Product product_;
  CommonSwitches switches_;
  std::vector<Entry> entries_;  // in the order added: the order of the general help
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands_;  // those set up
};

// Rewrites the single-dash long options the real products accept
// ("-pw SECRET", "-instance X") into CLI11's "--pw", "--instance", for the
// options `command` has. An argument that is the value of the option before
// it ("--pfx-password -pw") is never rewritten.
std::vector<std::string> NormaliseArgs(const std::vector<std::string>& args, const CLI::App* command);

}  // namespace octo::cli
