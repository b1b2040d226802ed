// Tentacle configure, update-trust and show-configuration: the trust list and
// the listening settings.
#include <algorithm>
#include <cstring>
#include <iostream>
#include <memory>

#include "common/channel/control.h"
#include "common/base/file_util.h"
#include "common/base/net.h"
#include "common/base/encoding.h"
#include "frontend/service_command.h"
#include "common/crypto/thumbprint.h"
#include "common/config/polling.h"
#include "common/config/trust.h"
#include "common/config/trust_store.h"
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
  std::optional<std::string> polling_count;
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

// Asks the instance's running agent, if one runs, to apply the trust just
// saved. True when it confirmed; the saved change stands either way (an
// agent that cannot be reached picks it up from the file, or at restart).
bool ApplyTrustLive(const Instance& inst, const std::string& command) {
  const cli::ServicePaths paths = cli::PathsFor(inst);
  auto reply = SendControlRequest(paths.socket, Json{{"Command", "reload-trust"}, {"By", "Tentacle " + command}},
                                  DeadlineIn(std::chrono::seconds(5)));
  if (reply.ok()) return true;
  if (reply.status().code() != StatusCode::kUnavailable) {
    cli::Warn("the running Tentacle did not confirm the change (" + reply.status().message() +
              "); it applies the saved configuration when it next reads it, or at restart");
  }
  return false;
}

// The address in its usual written form (`0:0::1` is `::1`), as the real
// command prints and stores it; nullopt if `s` is no IPv4 or IPv6 address.
int RunConfigure(const ConfigureOptions& o) {
  // Check every input before touching anything.
  auto add = ParseAll(o.trust, "--trust");
  if (!add.ok()) return cli::UsageError(add.status().message());
  auto remove = ParseAll(o.remove_trust, "--remove-trust");
  if (!remove.ok()) return cli::UsageError(remove.status().message());
  if (o.port && (*o.port < 1 || *o.port > 65535)) {
    return cli::UsageError("--port: " + std::to_string(*o.port) + " is not a port number (1-65535)");
  }
  // "any" (any case) or empty: every address, as the real one; else an IP address.
  std::optional<std::string> listen_ip;
  if (o.listen_ip) {
    auto parsed = ParseListenAddress(*o.listen_ip);
    if (!parsed.ok()) return cli::UsageError("--listenIpAddress: " + parsed.status().message());
    listen_ip = *parsed;
  }
  std::optional<bool> no_listen;
  if (o.no_listen) {
    auto b = ParseBool(*o.no_listen);
    if (!b.ok()) return cli::UsageError(b.status().message());
    no_listen = *b;
  }
  std::optional<int> polling_count;
  if (o.polling_count) {
    auto n = ParsePollingConnectionCount(*o.polling_count);
    if (!n.ok()) return cli::UsageError(n.status().message());
    polling_count = *n;
  }
  if (!o.reset_trust && add->empty() && remove->empty() && !o.port && !listen_ip && !no_listen && !polling_count &&
      !o.home && !o.app) {
    return cli::UsageError("configure needs at least one setting to change (see 'Tentacle configure --help')");
  }

  auto inst = cli::OpenInstanceForUpdate(Product::kTentacle, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  if (o.home && cli::ServiceRunning(*inst)) {  // its lock and pid files live in the home
    return cli::Fail(FailedPrecondition("the Tentacle service for instance '" + inst->name() +
                                        "' is running: stop it before moving its home"));
  }
  auto store = TrustStore::Open(inst->config_path(), inst->file_lock());
  if (!store.ok()) return cli::Fail(store.status());
  // The trust changes and the other settings go into one write, under the
  // config's lock, made from the file as it is then.
  TrustReport trust_report;
  bool changed = false;
  auto edited = (*store)->Edit([&](ConfigFile& cfg, bool* save) {
    auto report = ApplyTrustChanges(cfg, TrustChanges{o.reset_trust, *remove, *add});
    if (!report.ok()) return report.status();
    trust_report = std::move(report).value();
    changed = trust_report.Changed();
    if (o.port) {
      cfg.Set(keys::kPort, *o.port);
      changed = true;
    }
    if (listen_ip) {
      cfg.Set(keys::kListenIp, *listen_ip);
      changed = true;
    }
    if (no_listen) {
      cfg.Set(keys::kNoListen, *no_listen);
      changed = true;
    }
    if (polling_count) {
      SetPollingConnectionCount(cfg, *polling_count);
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
    // As the real command, the directories are made if they are missing (the
    // home private to the service, as create-instance makes it).
    if (o.home) OCTO_RETURN_IF_ERROR(MakeDirectories(AbsolutePath(*o.home), 0700));
    if (o.app) OCTO_RETURN_IF_ERROR(MakeDirectories(AbsolutePath(*o.app), 0755));
    *save = changed;
    return Status::Ok();
  });
  if (!edited.ok()) return cli::Fail(edited.status());

  if (trust_report.reset) std::cout << "Removing all trusted Octopus Servers..." << std::endl;
  for (const auto& tp : trust_report.not_trusted) {
    std::cout << "The Octopus Server with thumbprint " << tp << " is not trusted; nothing to remove." << std::endl;
  }
  if (!trust_report.removed.empty()) {
    std::cout << "Removing " << trust_report.removed.size() << " trusted Octopus Servers" << std::endl;
  }
  for (const auto& tp : trust_report.already_trusted) {
    std::cout << "The Octopus Server with thumbprint " << tp << " is already trusted." << std::endl;
  }
  if (!trust_report.added.empty()) {
    std::cout << "Adding " << trust_report.added.size() << " trusted Octopus Servers" << std::endl;
  }
  if (o.port) std::cout << "Services listen port: " << *o.port << std::endl;
  if (listen_ip) {  // the real texts
    if (listen_ip->empty()) {
      std::cout << "Listen on any IP address" << std::endl;
    } else {
      std::cout << "Listen on IP address: " << *listen_ip << std::endl;
    }
  }
  if (no_listen) {
    std::cout << (*no_listen ? "Tentacle will not listen on a port" : "Tentacle will listen on a TCP port")
              << std::endl;
  }
  if (polling_count) std::cout << "Polling connection count set to: " << *polling_count << std::endl;
  if (o.home) std::cout << "Home directory set to: " << AbsolutePath(*o.home) << std::endl;
  if (o.app) std::cout << "Application directory set to: " << AbsolutePath(*o.app) << std::endl;
  // Trust applies live; the listening settings and the home still need a restart.
  const bool others_changed = o.port || listen_ip || no_listen || polling_count || o.home || o.app;
  const bool live = trust_report.Changed() && ApplyTrustLive(*inst, "configure");
  if (live) std::cout << kAppliedLive << std::endl;
  if (changed && (others_changed || !live)) std::cout << kRestartNeeded << std::endl;
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
  auto store = TrustStore::Open(inst->config_path(), inst->file_lock());
  if (!store.ok()) return cli::Fail(store.status());
  std::vector<TrustedServer> servers;  // as they were before the change
  bool done = false;
  auto edited = (*store)->Edit([&](ConfigFile& cfg, bool* save) {
    auto before = TrustedServers(cfg);
    if (!before.ok()) return before.status();
    servers = std::move(before).value();
    auto trusts = [&](const std::string& tp) {
      return std::any_of(servers.begin(), servers.end(), [&](const TrustedServer& s) { return s.thumbprint == tp; });
    };
    // Already done (a script run twice): say so and succeed. Neither trusted:
    // the real command changes nothing silently; we refuse, naming the cause.
    done = trusts(*new_tp) && (!trusts(*old_tp) || *old_tp == *new_tp);
    if (done) return Status::Ok();
    OCTO_RETURN_IF_ERROR(UpdateTrust(cfg, *old_tp, *new_tp));
    *save = true;
    return Status::Ok();
  });
  if (!edited.ok()) return cli::Fail(edited.status());
  // The real command's lines (Configuration/TentacleConfiguration.cs).
  std::cout << "Updating Octopus servers thumbprint from " << *old_tp << " to " << *new_tp << std::endl;
  std::cout << "Finding existing Octopus Server registrations trusting the thumbprint " << *old_tp
            << " and updating them to trust the thumbprint " << *new_tp << ":" << std::endl;
  for (const auto& s : servers) {
    const char* style = s.communication_style == kCommunicationStylePolling ? "polling tentacle" : "listening tentacle";
    if (s.thumbprint == *old_tp) {
      std::cout << "Updating " << style << " " << s.address << " " << s.thumbprint << " - changing to trust "
                << *new_tp << std::endl;
    } else {
      std::cout << "Ignoring " << style << " " << s.address << " " << s.thumbprint
                << " - does not match old thumbprint" << std::endl;
    }
  }
  if (done) {
    std::cout << "The Octopus Server with thumbprint " << *new_tp << " is already trusted; nothing changed."
              << std::endl;
    return cli::kExitOk;
  }
  std::cout << (ApplyTrustLive(*inst, "update-trust") ? kAppliedLive : kRestartNeeded) << std::endl;
  return cli::kExitOk;
}

}  // namespace

void SetupConfigure(cli::CommandTable& table) {
  auto o = std::make_shared<ConfigureOptions>();
  table.Add(
      "configure", "Changes the trusted Octopus Servers and the listening settings",
      [o] { return RunConfigure(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kTentacle);
        sub->add_option("--trust", o->trust,
                        "Trust the Octopus Server with this thumbprint (repeatable)")
            ->allow_extra_args(false)
            ->take_all();
        sub->add_option("--remove-trust", o->remove_trust,
                        "Stop trusting this thumbprint (repeatable)")
            ->allow_extra_args(false)
            ->take_all();
        sub->add_flag("--reset-trust", o->reset_trust, "Remove every trusted Octopus Server first");
        sub->add_option("--port", o->port, "TCP port the Tentacle listens on (default 10933)");
        sub->add_option("--listenIpAddress", o->listen_ip,
                        "IP address to listen on ('any' or empty: every address)");
        sub->add_option("--noListen", o->no_listen, "true: do not listen (polling Tentacle)")
            ->expected(0, 1);
        sub->add_option("--pollingConnectionCount", o->polling_count, kPollingConnectionCountHelp);
        sub->add_option("--home,--homedir", o->home, "Home directory of the instance");
        sub->add_option("--app,--appdir", o->app, "Directory applications are deployed to");
      });
}

void SetupUpdateTrust(cli::CommandTable& table) {
  auto o = std::make_shared<UpdateTrustOptions>();
  table.Add(
      "update-trust", "Replaces one trusted thumbprint with another, keeping its settings",
      [o] { return RunUpdateTrust(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kTentacle);
        sub->add_option("--oldThumbprint", o->old_thumbprint, "The thumbprint trusted now")
            ->required();
        sub->add_option("--newThumbprint", o->new_thumbprint, "The thumbprint to trust instead")
            ->required();
      });
}

}  // namespace octo::tentacle
