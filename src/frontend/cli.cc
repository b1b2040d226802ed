#include "frontend/cli.h"

#include <iostream>

#include "frontend/password.h"

namespace octo::cli {

int Fail(const Status& status) {
  std::cerr << "Error: " << status.message() << std::endl;
  return kExitFailed;
}

int UsageError(const std::string& message) {
  std::cerr << "Error: " << message << std::endl;
  return kExitUsage;
}

void Warn(const std::string& message) { std::cerr << "Warning: " << message << std::endl; }

void AddInstanceOptions(CLI::App* sub, InstanceOptions* opts, Product product, bool with_config) {
  opts->instance = Traits(product).default_instance;
  sub->add_option("--instance", opts->instance, "Name of the instance to use")
      ->default_str(Traits(product).default_instance)
      ->check(CLI::Validator(
          [](std::string& name) {
            Status st = ValidateInstanceName(name);
            return st.ok() ? std::string() : st.message();
          },
          "NAME", "instance name"));
  if (with_config) {
    sub->add_option("--config", opts->config, "Path of the instance's configuration file (bypasses the registry)");
  }
}

void AddFormatOption(CLI::App* sub, std::string* format) {
  *format = "text";
  sub->add_option("--format", *format, "Output format")
      ->check(CLI::IsMember({"text", "json"}, CLI::ignore_case))
      ->transform([](std::string s) {
        for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
      })
      ->default_str("text");
}

static Result<Instance> WarnAboutPermissions(Result<Instance> inst) {
  if (inst.ok()) {
    for (const auto& w : inst->PermissionWarnings()) Warn(w);
  }
  return inst;
}

Result<Instance> OpenInstance(Product product, const InstanceOptions& opts) {
  return WarnAboutPermissions(Instance::Open(product, opts.instance, opts.config));
}

Result<Instance> OpenInstanceForUpdate(Product product, const InstanceOptions& opts) {
  return WarnAboutPermissions(Instance::Open(product, opts.instance, opts.config, Instance::Access::kUpdate));
}

CommandTable::CommandTable(CLI::App* app, Product product) : app_(app), product_(product) {
  app_->ignore_case();
  app_->option_defaults()->ignore_case()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

void CommandTable::Add(const std::string& name, const std::string& description,
                       std::function<int()> run, OptionSetup options, const std::string& alias) {
  entries_.push_back(Entry{name, description, alias, std::move(run), std::move(options)});
}

namespace {

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

// As CLI11's check_name with ignore_case: the name or the alias, in any case.
CommandTable::Entry* CommandTable::FindEntry(const std::string& name) {
  const std::string wanted = Lower(name);
  for (auto& e : entries_) {
    if (Lower(e.name) == wanted || (!e.alias.empty() && Lower(e.alias) == wanted)) return &e;
  }
  return nullptr;
}

void CommandTable::SetUp(Entry& e) {
  if (e.sub != nullptr) return;
  CLI::App* sub = app_->add_subcommand(e.name, e.description);
  if (!e.alias.empty()) sub->alias(e.alias);
  // Unrecognised arguments are reported after parsing with the real text.
  sub->allow_extras();
  const char* group = "Common options (accepted by every command, no effect here)";
  sub->add_flag("--console", switches_.console, "Run as a console program (always the case here)")->group(group);
  sub->add_flag("--nologo", switches_.nologo, "Deprecated: do not print the title")->group(group);
  sub->add_flag("--noninteractive", switches_.noninteractive, "Never prompt (systemd units pass it)")->group(group);
  sub->add_flag("--noconsolelogging", switches_.noconsolelogging, "Deprecated: errors still go to standard error")
      ->group(group);
  if (e.options) e.options(sub);
  e.sub = sub;
  commands_.emplace_back(sub, e.run);
}

void CommandTable::SetUpAll() {
  for (auto& e : entries_) SetUp(e);
}

CLI::App* CommandTable::Command(const std::string& name) {
  Entry* e = FindEntry(name);
  if (e == nullptr) return nullptr;
  SetUp(*e);
  return e->sub;
}

CLI::App* CommandTable::Find(const std::string& name) const {
  for (const auto& [sub, run] : commands_) {
    if (sub->check_name(name)) return sub;
  }
  return nullptr;
}

namespace {

bool IsHelpCommand(const std::string& arg) {  // in any case, as every command name
  std::string a = arg;
  for (auto& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return a == "help" || a == "h" || a == "?";
}

// "--console", "-nologo", ...: the common switches, which may also come
// before the command ("Tentacle --console show-thumbprint").
bool IsCommonSwitch(const std::string& arg) {
  if (arg.empty() || arg[0] != '-') return false;
  std::string a = arg.substr(arg.size() > 1 && arg[1] == '-' ? 2 : 1);
  for (auto& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));  // any case, as after it
  return a == "console" || a == "nologo" || a == "noninteractive" || a == "noconsolelogging";
}

}  // namespace

int CommandTable::Help(const std::vector<std::string>& topics) const {
  std::vector<std::string> rest;
  for (const auto& t : topics) {
    if (!IsCommonSwitch(t)) rest.push_back(t);
  }
  if (rest.empty() || rest[0].empty() || rest[0][0] == '-') {
    std::cout << app_->help() << "Run '" << app_->get_name() << " help COMMAND' for a command's options."
              << std::endl;
    return kExitOk;
  }
  const CLI::App* command = Find(rest[0]);
  if (command == nullptr) {
    std::cerr << "Error: '" << rest[0] << "' is not a command of " << app_->get_name() << std::endl;
    std::cerr << "Run '" << app_->get_name() << " help' for the commands." << std::endl;
    return kExitUnknownCommand;
  }
  std::cout << command->help(app_->get_name());
  return kExitOk;
}

std::vector<std::string> NormaliseArgs(const std::vector<std::string>& args, const CLI::App* command) {
  std::vector<std::string> out;
  const CLI::Option* waiting_for_value = nullptr;  // the previous option, if its value is the next argument
  for (const std::string& arg : args) {
    std::string a = arg;
    const bool is_value = waiting_for_value != nullptr;
    waiting_for_value = nullptr;
    if (!is_value && command != nullptr && a.size() > 2 && a[0] == '-' && a[1] != '-' && std::isalpha(static_cast<unsigned char>(a[1]))) {
      std::string name = a.substr(1, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 1);
      if (command->get_option_no_throw("--" + name) != nullptr) a = "-" + a;
    }
    if (!is_value && command != nullptr && a.size() > 1 && a[0] == '-' && a.find('=') == std::string::npos) {
      const CLI::Option* opt = command->get_option_no_throw(a);
      if (opt != nullptr && opt->get_items_expected_min() > 0) waiting_for_value = opt;
    }
    out.push_back(std::move(a));
  }
  return out;
}

int CommandTable::Run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Common switches before the command mean what they mean after it
  // ("Tentacle --noninteractive export-certificate ..." never prompts).
  std::vector<std::string> leading;
  while (!args.empty() && IsCommonSwitch(args[0])) {
    leading.push_back(args[0]);
    args.erase(args.begin());
  }
  // Which commands need their options: only the one named first, unless the
  // line is for the whole program (help, an option first) or a later
  // argument names another command (CLI11 may take it as a command too):
  // then all of them, as CLI11 always had them.
  const bool whole_program =
      args.empty() || args[0].empty() || args[0][0] == '-' || IsHelpCommand(args[0]);
  Entry* named = whole_program ? nullptr : FindEntry(args[0]);
  bool all = whole_program;
  for (size_t i = 1; named != nullptr && !all && i < args.size(); ++i) {
    const Entry* other = FindEntry(args[i]);
    all = other != nullptr && other != named;
  }
  if (all) {
    SetUpAll();
  } else if (named != nullptr) {
    SetUp(*named);
  }
  app_->set_help_all_flag("--help-all", "Show help for every command");
  app_->add_subcommand("help",
                       "Show the commands, or one command's options (help COMMAND; also h, ?)")
      ->allow_extras();
  if (args.empty()) {  // the real programs print their help and exit with UnknownCommand
    std::cout << app_->help() << "Run '" << app_->get_name() << " help COMMAND' for a command's options."
              << std::endl;
    return kExitUnknownCommand;
  }
  if (IsHelpCommand(args[0])) return Help({args.begin() + 1, args.end()});
  if (!args[0].empty() && args[0][0] != '-') {
    CLI::App* command = Find(args[0]);
    if (command == nullptr) {
      std::cerr << "Error: '" << args[0] << "' is not a command of " << app_->get_name() << std::endl;
      std::cerr << "Run '" << app_->get_name() << " help' for the commands." << std::endl;
      return kExitUnknownCommand;
    }
    std::vector<std::string> given = leading;
    given.insert(given.end(), args.begin() + 1, args.end());
    std::vector<std::string> rest = NormaliseArgs(given, command);
    args.resize(1);
    args.insert(args.end(), rest.begin(), rest.end());
  }
  std::vector<const char*> cargs = {argv[0]};
  for (const auto& a : args) cargs.push_back(a.c_str());
  try {
    app_->parse(static_cast<int>(cargs.size()), cargs.data());
  } catch (const CLI::CallForHelp& e) {
    return app_->exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app_->exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    CLI::App* failing = app_;
    for (auto* sub : app_->get_subcommands()) failing = sub;
    std::cerr << "Run '" << app_->get_name() << (failing == app_ ? "" : " " + failing->get_name())
              << " --help' for the options." << std::endl;
    return failing == app_ ? kExitUnknownCommand : kExitUsage;
  }
  if (switches_.noninteractive) NeverPrompt();
  for (auto& [sub, run] : commands_) {
    if (!sub->parsed()) continue;
    if (std::vector<std::string> extra = sub->remaining(); !extra.empty()) {
      std::string joined;
      for (const auto& a : extra) joined += (joined.empty() ? "" : " ") + a;
      std::cerr << "Error: Unrecognized command line arguments: " << joined << std::endl;
      std::cerr << "Run '" << app_->get_name() << " " << sub->get_name() << " --help' for the options." << std::endl;
      return kExitUsage;
    }
    return run();
  }
  std::cerr << "Error: no command given" << std::endl;
  return kExitUnknownCommand;
}

}  // namespace octo::cli
