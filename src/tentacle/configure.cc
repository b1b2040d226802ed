// Tentacle configure, update-trust and show-configuration: the trust list and
// the listening settings.
#include <arpa/inet.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "common/file_util.h"
#include "common/thumbprint.h"
#include "common/trust.h"
#include "tentacle/commands.h"

namespace octo::tentacle {
namespace {

struct ConfigureOptions {
  cli::InstanceOptions instance;
  std::vector<std::string> trust;
  std::vector<std::string> remove_trust;
  bool reset_trust = false;
  std::optional<int> port;
  std::optional<std::string> listen_ip;
  std::optional<std::string> no_listen;
  std::optional<std::string> home;
  std::optional<std::string> app;
};

Result<std::vector<std::string>> ParseAll(const std::vector<std::string>& raw, const char* option) {
  std::vector<std::string> out;
  for (const auto& r : raw) {
    auto tp = ParseThumbprint(r);
    if (!tp.ok()) return InvalidArgument(std::string(option) + ": " + tp.status().message());
    out.push_back(*tp);
  }
  return out;
}

Result<bool> ParseBool(const std::string& s) {
  std::string l;
  for (char c : s) l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (l.empty() || l == "true" || l == "1" || l == "yes") return true;
  if (l == "false" || l == "0" || l == "no") return false;
  return InvalidArgument("--noListen: '" + s + "' is not true or false");
}

bool ValidIp(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

int RunConfigure(const ConfigureOptions& o) {
  // Check every input before touching anything.
  auto add = ParseAll(o.trust, "--trust");
  if (!add.ok()) return cli::UsageError(add.status().message());
  auto remove = ParseAll(o.remove_trust, "--remove-trust");
  if (!remove.ok()) return cli::UsageError(remove.status().message());
  if (o.port && (*o.port < 1 || *o.port > 65535)) {
    return cli::UsageError("--port: " + std::to_string(*o.port) + " is not a port number (1-65535)");
  }
  if (o.listen_ip && !o.listen_ip->empty() && !ValidIp(*o.listen_ip)) {
    return cli::UsageError("--listenIpAddress: '" + *o.listen_ip + "' is not an IPv4 or IPv6 address");
  }
  std::optional<bool> no_listen;
  if (o.no_listen) {
    auto b = ParseBool(*o.no_listen);
    if (!b.ok()) return cli::UsageError(b.status().message());
    no_listen = *b;
  }
  if (!o.reset_trust && add->empty() && remove->empty() && !o.port && !o.listen_ip && !no_listen && !o.home &&
      !o.app) {
    return cli::UsageError("configure needs at least one setting to change (see 'Tentacle configure --help')");
  }

  auto inst = cli::OpenInstanceForUpdate(Product::kTentacle, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  ConfigFile& cfg = inst->config();
  auto report = ApplyTrustChanges(cfg, TrustChanges{o.reset_trust, *remove, *add});
  if (!report.ok()) return cli::Fail(report.status());
  bool changed = report->Changed();
  if (o.port) {
    cfg.Set(keys::kPort, *o.port);
    changed = true;
  }
  if (o.listen_ip) {
    cfg.Set(keys::kListenIp, *o.listen_ip);
    changed = true;
  }
  if (no_listen) {
    cfg.Set(keys::kNoListen, *no_listen);
    changed = true;
  }
  if (o.home) {
    cfg.Set(keys::kHome, AbsolutePath(*o.home));
    changed = true;
  }
  if (o.app) {
    cfg.Set(keys::kApplicationDirectory, AbsolutePath(*o.app));
    changed = true;
  }
  if (changed) {
    if (Status st = inst->Save(); !st.ok()) return cli::Fail(st);
  }

  if (report->reset) std::cout << "Removing all trusted Octopus Servers..." << std::endl;
  for (const auto& tp : report->not_trusted) {
    std::cout << "The Octopus Server with thumbprint " << tp << " is not trusted; nothing to remove." << std::endl;
  }
  if (!report->removed.empty()) {
    std::cout << "Removing " << report->removed.size() << " trusted Octopus Servers" << std::endl;
  }
  for (const auto& tp : report->already_trusted) {
    std::cout << "The Octopus Server with thumbprint " << tp << " is already trusted." << std::endl;
  }
  if (!report->added.empty()) {
    std::cout << "Adding " << report->added.size() << " trusted Octopus Servers" << std::endl;
  }
  if (o.port) std::cout << "Services listen port: " << *o.port << std::endl;
  if (o.listen_ip) {
    std::cout << "Services listen IP address: " << (o.listen_ip->empty() ? "all addresses" : *o.listen_ip)
              << std::endl;
  }
  if (no_listen) std::cout << (*no_listen ? "Tentacle will not listen on a port" : "Tentacle will listen on a port")
                           << std::endl;
  if (o.home) std::cout << "Home directory set to: " << AbsolutePath(*o.home) << std::endl;
  if (o.app) std::cout << "Application directory set to: " << AbsolutePath(*o.app) << std::endl;
  if (changed) std::cout << kRestartNeeded << std::endl;
  return cli::kExitOk;
}

struct UpdateTrustOptions {
  cli::InstanceOptions instance;
  std::string old_thumbprint;
  std::string new_thumbprint;
};

int RunUpdateTrust(const UpdateTrustOptions& o) {
  auto old_tp = ParseThumbprint(o.old_thumbprint);
  if (!old_tp.ok()) return cli::UsageError("--oldThumbprint: " + old_tp.status().message());
  auto new_tp = ParseThumbprint(o.new_thumbprint);
  if (!new_tp.ok()) return cli::UsageError("--newThumbprint: " + new_tp.status().message());
  auto inst = cli::OpenInstanceForUpdate(Product::kTentacle, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  if (*old_tp == *new_tp) {
    auto trusted = TrustedThumbprints(inst->config());
    if (!trusted.ok()) return cli::Fail(trusted.status());
    if (std::find(trusted->begin(), trusted->end(), *old_tp) == trusted->end()) {
      return cli::Fail(NotFound("the Octopus Server with thumbprint " + *old_tp + " is not trusted"));
    }
    std::cout << "The Octopus Server with thumbprint " << *old_tp << " is already trusted." << std::endl;
    return cli::kExitOk;
  }
  if (Status st = UpdateTrust(inst->config(), *old_tp, *new_tp); !st.ok()) return cli::Fail(st);
  if (Status st = inst->Save(); !st.ok()) return cli::Fail(st);
  std::cout << "Updating the trusted Octopus Server thumbprint " << *old_tp << " to " << *new_tp << std::endl;
  std::cout << kRestartNeeded << std::endl;
  return cli::kExitOk;
}

// {"Tentacle.Services.PortNumber": 1} -> {"Tentacle": {"Services": {"PortNumber": 1}}}
Json Nest(const Json& flat) {
  Json out = Json::object();
  for (const auto& [key, value] : flat.items()) {
    Json* node = &out;
    size_t start = 0;
    for (size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', start)) {
      std::string part = key.substr(start, dot - start);
      if (!(*node)[part].is_object()) (*node)[part] = Json::object();
      node = &(*node)[part];
      start = dot + 1;
    }
    (*node)[key.substr(start)] = value;
  }
  return out;
}

int RunShowConfiguration(const cli::InstanceOptions& o) {
  auto inst = cli::OpenInstance(Product::kTentacle, o);
  if (!inst.ok()) return cli::Fail(inst.status());
  Json flat = inst->config().doc();
  const ProductTraits& t = Traits(Product::kTentacle);
  flat.erase(t.certificate_key);  // the sealed private key is never shown
  flat.erase(t.public_certificate_key);
  std::cout << Nest(flat).dump(2) << std::endl;
  return cli::kExitOk;
}

}  // namespace

void SetupConfigure(cli::CommandTable& table) {
  auto o = std::make_shared<ConfigureOptions>();
  CLI::App* sub = table.Add("configure", "Changes the trusted Octopus Servers and the listening settings",
                            [o] { return RunConfigure(*o); });
  cli::AddInstanceOptions(sub, &o->instance, Product::kTentacle);
  sub->add_option("--trust", o->trust, "Trust the Octopus Server with this thumbprint (repeatable)")
      ->allow_extra_args(false)
      ->take_all();
  sub->add_option("--remove-trust", o->remove_trust, "Stop trusting this thumbprint (repeatable)")
      ->allow_extra_args(false)
      ->take_all();
  sub->add_flag("--reset-trust", o->reset_trust, "Remove every trusted Octopus Server first");
  sub->add_option("--port", o->port, "TCP port the Tentacle listens on (default 10933)");
  sub->add_option("--listenIpAddress", o->listen_ip, "IP address to listen on (empty: all)");
  sub->add_option("--noListen", o->no_listen, "true: do not listen (polling Tentacle)")->expected(0, 1);
  sub->add_option("--home", o->home, "Home directory of the instance");
  sub->add_option("--app", o->app, "Directory applications are deployed to");
}

void SetupUpdateTrust(cli::CommandTable& table) {
  auto o = std::make_shared<UpdateTrustOptions>();
  CLI::App* sub = table.Add("update-trust", "Replaces one trusted thumbprint with another, keeping its settings",
                            [o] { return RunUpdateTrust(*o); });
  cli::AddInstanceOptions(sub, &o->instance, Product::kTentacle);
  sub->add_option("--oldThumbprint", o->old_thumbprint, "The thumbprint trusted now")->required();
  sub->add_option("--newThumbprint", o->new_thumbprint, "The thumbprint to trust instead")->required();
}

void SetupShowConfiguration(cli::CommandTable& table) {
  auto o = std::make_shared<cli::InstanceOptions>();
  CLI::App* sub = table.Add("show-configuration", "Prints the instance's configuration as JSON (never the key)",
                            [o] { return RunShowConfiguration(*o); });
  cli::AddInstanceOptions(sub, o.get(), Product::kTentacle);
}

}  // namespace octo::tentacle
