// Octopus.Server add-target, list-targets, update-target, remove-target: the
// deployment targets (Infrastructure > Deployment Targets in the real UI).
#include <algorithm>
#include <iostream>
#include <memory>

#include "common/base/net.h"
#include "common/channel/channel.h"
#include "common/config/target_store.h"
#include "common/crypto/thumbprint.h"
#include "frontend/common_commands.h"
#include "frontend/service_command.h"
#include "server/commands.h"

namespace octo::server {
namespace {

struct TargetOptions {
  cli::InstanceOptions instance;
  std::string name;
  std::optional<std::string> address;
  std::optional<std::string> subscription;      // a polling target: poll://ID/, kept as its address
  std::vector<std::string> thumbprints;         // --thumbprint, repeatable: the whole set
  std::vector<std::string> add_thumbprints;     // --add-thumbprint, repeatable
  std::vector<std::string> remove_thumbprints;  // --remove-thumbprint, repeatable
  std::string format;
};

// Parses every value of a thumbprint option in place: upper case, repeats
// dropped, order kept. Returns a usage message or "".
std::string ParseThumbprints(std::vector<std::string>& values, const char* option) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    auto tp = ParseThumbprint(v);
    if (!tp.ok()) return std::string(option) + ": " + tp.status().message();
    if (std::find(out.begin(), out.end(), *tp) == out.end()) out.push_back(*tp);
  }
  values = std::move(out);
  return "";
}

// Validates and normalises the options; returns a usage message or "".
std::string Check(TargetOptions& o, bool need_all) {
  if (Status st = ValidateTargetName(o.name); !st.ok()) return "--name: " + st.message();
  if (o.address && o.subscription) {
    return "--address (a listening Tentacle) and --subscription (a polling Tentacle) cannot be given together";
  }
  if (need_all && ((!o.address && !o.subscription) || o.thumbprints.empty())) {
    return "add-target needs --address (or --subscription) and --thumbprint";
  }
  if (o.address) {
    auto hp = ParseHttpsUrl(*o.address);
    if (!hp.ok()) return "--address: " + hp.status().message();
  }
  if (o.subscription) {
    auto id = ParseSubscriptionId(*o.subscription);
    if (!id.ok()) return "--subscription: " + id.status().message();
    o.address = *id;  // a polling target's address is its subscription id, as in the real Server's endpoint
  }
  for (auto [values, option] :
       {std::pair{&o.thumbprints, "--thumbprint"}, std::pair{&o.add_thumbprints, "--add-thumbprint"},
        std::pair{&o.remove_thumbprints, "--remove-thumbprint"}}) {
    if (auto m = ParseThumbprints(*values, option); !m.empty()) return m;
  }
  return "";
}

// "A, B".
std::string Joined(const std::vector<std::string>& pins) {
  std::string out;
  for (const auto& tp : pins) out += (out.empty() ? "" : ", ") + tp;
  return out;
}

// What a target change means for the service, said truthfully.
void SayWhenItApplies(const Instance& inst) {
  if (cli::ServiceRunning(inst)) {
    std::cout << "The running Octopus Server uses this at its next health check." << std::endl;
  } else {
    std::cout << "The Octopus Server service is not running; it uses this when it starts." << std::endl;
  }
}

// A subscription belongs to one target: the Server picks a subscriber's
// pins by it.
Status SubscriptionFree(const TargetStore& store, const TargetOptions& o) {
  if (!o.subscription) return Status::Ok();
  for (const auto& t : store.Current()->targets) {
    if (t.address == *o.address && t.name != o.name) {
      return AlreadyExists("the deployment target '" + t.name + "' already has the subscription " + *o.address +
                           "; a subscription belongs to one target");
    }
  }
  return Status::Ok();
}

int RunAdd(TargetOptions o) {
  if (auto m = Check(o, true); !m.empty()) return cli::UsageError(m);
  auto inst = cli::OpenInstanceForUpdate(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  auto store = TargetStore::Open(inst->config_path(), inst->file_lock());
  if (!store.ok()) return cli::Fail(store.status());
  if (Status st = SubscriptionFree(**store, o); !st.ok()) return cli::Fail(st);
  if (Status st = (*store)->Add({o.name, *o.address, o.thumbprints}); !st.ok()) return cli::Fail(st);
  if (o.subscription) {
    std::cout << "Added polling deployment target '" << o.name << "' with subscription " << *o.address << " and "
              << (o.thumbprints.size() == 1 ? "thumbprint " : "thumbprints ") << Joined(o.thumbprints) << "."
              << std::endl;
    SayWhenItApplies(*inst);
    return cli::kExitOk;
  }
  std::cout << "Added deployment target '" << o.name << "' at " << *o.address << " with "
            << (o.thumbprints.size() == 1 ? "thumbprint " : "thumbprints ") << Joined(o.thumbprints) << "."
            << std::endl;
  SayWhenItApplies(*inst);
  return cli::kExitOk;
}

int RunUpdate(TargetOptions o) {
  if (auto m = Check(o, false); !m.empty()) return cli::UsageError(m);
  const bool replace = !o.thumbprints.empty();
  const bool change = !o.add_thumbprints.empty() || !o.remove_thumbprints.empty();
  if (!o.address && !replace && !change) {
    return cli::UsageError("update-target needs --thumbprint, --address or --subscription");
  }
  if (replace && change) {
    return cli::UsageError(
        "--thumbprint replaces the whole set of pins: give it without --add-thumbprint and --remove-thumbprint");
  }
  auto inst = cli::OpenInstanceForUpdate(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  auto store = TargetStore::Open(inst->config_path(), inst->file_lock());
  if (!store.ok()) return cli::Fail(store.status());
  if (Status st = SubscriptionFree(**store, o); !st.ok()) return cli::Fail(st);
  PinChanges changes;
  if (replace) changes.replace = o.thumbprints;
  changes.remove = o.remove_thumbprints;
  changes.add = o.add_thumbprints;
  auto report = (*store)->Update(o.name, changes, o.address);
  if (!report.ok()) return cli::Fail(report.status());
  // Asking for what is already so changes nothing, and the store wrote nothing.
  const bool save = replace || o.address || report->Changed();
  const std::string target = "deployment target '" + o.name + "'";
  for (const auto& tp : report->not_pinned) {
    std::cout << "Deployment target '" << o.name << "' does not pin thumbprint " << tp << "; nothing to remove."
              << std::endl;
  }
  for (const auto& tp : report->removed) {
    std::cout << "Deployment target '" << o.name << "' no longer pins thumbprint " << tp << "." << std::endl;
  }
  for (const auto& tp : report->already_pinned) {
    std::cout << "Deployment target '" << o.name << "' already pins thumbprint " << tp << "." << std::endl;
  }
  for (const auto& tp : report->added) {
    std::cout << "Deployment target '" << o.name << "' now also pins thumbprint " << tp << "." << std::endl;
  }
  if (replace || report->Changed()) {
    const bool one = report->pins.size() == 1;
    std::cout << "The " << (one ? "thumbprint" : "thumbprints") << " of " << target << (one ? " is now " : " are now ")
              << Joined(report->pins) << "." << std::endl;
  }
  if (o.address) std::cout << "The address of " << target << " is now " << *o.address << "." << std::endl;
  if (save) SayWhenItApplies(*inst);
  return cli::kExitOk;
}

int RunRemove(TargetOptions o) {
  if (auto m = Check(o, false); !m.empty()) return cli::UsageError(m);
  auto inst = cli::OpenInstanceForUpdate(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  auto store = TargetStore::Open(inst->config_path(), inst->file_lock());
  if (!store.ok()) return cli::Fail(store.status());
  if (Status st = (*store)->Remove(o.name); !st.ok()) return cli::Fail(st);
  std::cout << "Removed deployment target '" << o.name << "'." << std::endl;
  return cli::kExitOk;
}

int RunList(const TargetOptions& o) {
  auto inst = cli::OpenInstance(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  auto store = TargetStore::Open(inst->config_path());
  if (!store.ok()) return cli::Fail(store.status());
  const std::shared_ptr<const TargetSnapshot> snapshot = (*store)->Current();
  const std::vector<Target>* targets = &snapshot->targets;
  if (o.format == "json") {
    Json arr = Json::array();
    // "Thumbprint" (the first pin) is what scripts read before pin sets.
    for (const auto& t : *targets) {
      arr.push_back({{"Name", t.name},
                     {"Address", t.address},
                     {"Thumbprint", t.thumbprints.front()},
                     {"Thumbprints", t.thumbprints}});
    }
    std::cout << arr.dump(2) << std::endl;
    return cli::kExitOk;
  }
  if (targets->empty()) std::cout << "There are no deployment targets." << std::endl;
  // The pins are one field, separated by commas: one line per target still.
  for (const auto& t : *targets) {
    std::string pins;
    for (const auto& tp : t.thumbprints) pins += (pins.empty() ? "" : ",") + tp;
    std::cout << t.name << "  " << t.address << "  " << pins << std::endl;
  }
  return cli::kExitOk;
}

}  // namespace

void SetupTargets(cli::CommandTable& table) {
  {
    auto o = std::make_shared<TargetOptions>();
    table.Add(
        "add-target",
        "Adds a listening or polling Tentacle as a deployment target, pinning its thumbprint",
        [o] { return RunAdd(*o); },
        [o](CLI::App* sub) {
          cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
          sub->add_option("--name", o->name, "Name of the target")->required();
          sub->add_option("--address", o->address, "https://HOST:PORT of a listening Tentacle");
          sub->add_option(
              "--subscription", o->subscription,
              "poll://ID/ of a polling Tentacle (its SubscriptionId: Tentacle show-configuration)");
          sub->add_option("--thumbprint", o->thumbprints,
                          "Thumbprint of the Tentacle's certificate (repeatable: the Tentacle may "
                          "present any of them)")
              ->allow_extra_args(false)
              ->take_all();
        });
  }
  {
    auto o = std::make_shared<TargetOptions>();
    table.Add(
        "list-targets", "Lists the deployment targets", [o] { return RunList(*o); },
        [o](CLI::App* sub) {
          cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
          cli::AddFormatOption(sub, &o->format);
        });
  }
  {
    auto o = std::make_shared<TargetOptions>();
    table.Add(
        "update-target", "Changes a target's pinned thumbprints or address",
        [o] { return RunUpdate(*o); },
        [o](CLI::App* sub) {
          cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
          sub->add_option("--name", o->name, "Name of the target")->required();
          sub->add_option("--address", o->address, "New https://HOST:PORT");
          sub->add_option("--subscription", o->subscription, "New poll://ID/ (a polling Tentacle)");
          sub->add_option("--thumbprint", o->thumbprints,
                          "New thumbprint to pin, replacing the pins (repeatable)")
              ->allow_extra_args(false)
              ->take_all();
          sub->add_option("--add-thumbprint", o->add_thumbprints,
                          "Thumbprint to pin as well (repeatable)")
              ->allow_extra_args(false)
              ->take_all();
          sub->add_option("--remove-thumbprint", o->remove_thumbprints,
                          "Thumbprint to stop pinning (repeatable; the last pin cannot be removed)")
              ->allow_extra_args(false)
              ->take_all();
        });
  }
  {
    auto o = std::make_shared<TargetOptions>();
    table.Add(
        "remove-target", "Removes a deployment target", [o] { return RunRemove(*o); },
        [o](CLI::App* sub) {
          cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
          sub->add_option("--name", o->name, "Name of the target")->required();
        });
  }
}

}  // namespace octo::server
