#include "frontend/cli.h"

#include <iostream>

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

CLI::App* CommandTable::Add(const std::string& name, const std::string& description, std::function<int()> run,
                            const std::string& alias) {
  CLI::App* sub = app_->add_subcommand(name, description);
  if (!alias.empty()) sub->alias(alias);
  commands_.emplace_back(sub, std::move(run));
  return sub;
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
  app_->require_subcommand(1, 1);
  app_->set_help_all_flag("--help-all", "Show help for every command");
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    CLI::App* command = nullptr;
    for (auto& [sub, run] : commands_) {
      if (sub->check_name(args[0])) command = sub;
    }
    if (command != nullptr) {
      std::vector<std::string> rest = NormaliseArgs({args.begin() + 1, args.end()}, command);
      args.resize(1);
      args.insert(args.end(), rest.begin(), rest.end());
    } else {
      std::cerr << "Error: '" << args[0] << "' is not a command of " << app_->get_name() << std::endl;
      std::cerr << "Run '" << app_->get_name() << " --help' for the commands." << std::endl;
      return kExitUsage;
    }
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
    return kExitUsage;
  }
  for (auto& [sub, run] : commands_) {
    if (sub->parsed()) return run();
  }
  return UsageError("no command given");
}

}  // namespace octo::cli
