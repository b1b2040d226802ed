// Octopus.Server add-target, list-targets, update-target, remove-target: the
// deployment targets (Infrastructure > Deployment Targets in the real UI).
#include <iostream>
#include <memory>

#include "common/net.h"
#include "common/targets.h"
#include "common/thumbprint.h"
#include "frontend/common_commands.h"
#include "frontend/service_command.h"
#include "server/commands.h"

namespace octo::server {
namespace {

struct TargetOptions {
  cli::InstanceOptions instance;
  std::string name;
  std::optional<std::string> address;
  std::optional<std::string> thumbprint;
  std::string format;
};

// Validates and normalises the options; returns a usage message or "".
std::string Check(TargetOptions& o, bool need_all) {
  if (Status st = ValidateTargetName(o.name); !st.ok()) return "--name: " + st.message();
  if (need_all && (!o.address || !o.thumbprint)) return "add-target needs --address and --thumbprint";
  if (o.address) {
    auto hp = ParseHttpsUrl(*o.address);
    if (!hp.ok()) return "--address: " + hp.status().message();
  }
  if (o.thumbprint) {
    auto tp = ParseThumbprint(*o.thumbprint);
    if (!tp.ok()) return "--thumbprint: " + tp.status().message();
    o.thumbprint = *tp;
  }
  return "";
}

// What a target change means for the service, said truthfully.
void SayWhenItApplies(const Instance& inst) {
  if (cli::ServiceRunning(inst)) {
    std::cout << "The running Octopus Server uses this at its next health check." << std::endl;
  } else {
    std::cout << "The Octopus Server service is not running; it uses this when it starts." << std::endl;
  }
}

int RunAdd(TargetOptions o) {
  if (auto m = Check(o, true); !m.empty()) return cli::UsageError(m);
  auto inst = cli::OpenInstanceForUpdate(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  if (Status st = AddTarget(inst->config(), {o.name, *o.address, *o.thumbprint}); !st.ok()) return cli::Fail(st);
  if (Status st = inst->Save(); !st.ok()) return cli::Fail(st);
  std::cout << "Added deployment target '" << o.name << "' at " << *o.address << " with thumbprint " << *o.thumbprint
            << "." << std::endl;
  SayWhenItApplies(*inst);
  return cli::kExitOk;
}

int RunUpdate(TargetOptions o) {
  if (auto m = Check(o, false); !m.empty()) return cli::UsageError(m);
  if (!o.address && !o.thumbprint) return cli::UsageError("update-target needs --thumbprint or --address");
  auto inst = cli::OpenInstanceForUpdate(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  if (Status st = UpdateTarget(inst->config(), o.name, o.thumbprint, o.address); !st.ok()) return cli::Fail(st);
  if (Status st = inst->Save(); !st.ok()) return cli::Fail(st);
  if (o.thumbprint) std::cout << "The thumbprint of deployment target '" << o.name << "' is now " << *o.thumbprint << "." << std::endl;
  if (o.address) std::cout << "The address of deployment target '" << o.name << "' is now " << *o.address << "." << std::endl;
  SayWhenItApplies(*inst);
  return cli::kExitOk;
}

int RunRemove(TargetOptions o) {
  if (auto m = Check(o, false); !m.empty()) return cli::UsageError(m);
  auto inst = cli::OpenInstanceForUpdate(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  if (Status st = RemoveTarget(inst->config(), o.name); !st.ok()) return cli::Fail(st);
  if (Status st = inst->Save(); !st.ok()) return cli::Fail(st);
  std::cout << "Removed deployment target '" << o.name << "'." << std::endl;
  return cli::kExitOk;
}

int RunList(const TargetOptions& o) {
  auto inst = cli::OpenInstance(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  auto targets = LoadTargets(inst->config());
  if (!targets.ok()) return cli::Fail(targets.status());
  if (o.format == "json") {
    Json arr = Json::array();
    for (const auto& t : *targets) arr.push_back({{"Name", t.name}, {"Address", t.address}, {"Thumbprint", t.thumbprint}});
    std::cout << arr.dump(2) << std::endl;
    return cli::kExitOk;
  }
  if (targets->empty()) std::cout << "There are no deployment targets." << std::endl;
  for (const auto& t : *targets) std::cout << t.name << "  " << t.address << "  " << t.thumbprint << std::endl;
  return cli::kExitOk;
}

}  // namespace

void SetupTargets(cli::CommandTable& table) {
  {
    auto o = std::make_shared<TargetOptions>();
    CLI::App* sub = table.Add("add-target", "Adds a listening Tentacle as a deployment target, pinning its thumbprint",
                              [o] { return RunAdd(*o); });
    cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
    sub->add_option("--name", o->name, "Name of the target")->required();
    sub->add_option("--address", o->address, "https://HOST:PORT of the Tentacle");
    sub->add_option("--thumbprint", o->thumbprint, "Thumbprint of the Tentacle's certificate");
  }
  {
    auto o = std::make_shared<TargetOptions>();
    CLI::App* sub = table.Add("list-targets", "Lists the deployment targets", [o] { return RunList(*o); });
    cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
    cli::AddFormatOption(sub, &o->format);
  }
  {
    auto o = std::make_shared<TargetOptions>();
    CLI::App* sub = table.Add("update-target", "Changes a target's pinned thumbprint or address",
                              [o] { return RunUpdate(*o); });
    cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
    sub->add_option("--name", o->name, "Name of the target")->required();
    sub->add_option("--address", o->address, "New https://HOST:PORT");
    sub->add_option("--thumbprint", o->thumbprint, "New thumbprint to pin");
  }
  {
    auto o = std::make_shared<TargetOptions>();
    CLI::App* sub = table.Add("remove-target", "Removes a deployment target", [o] { return RunRemove(*o); });
    cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
    sub->add_option("--name", o->name, "Name of the target")->required();
  }
}

}  // namespace octo::server
