// Tentacle server-comms, poll-server and set-polling-connection-count: the
// configuration of a polling Tentacle (OctopusTentacle Commands/
// ServerCommsCommand.cs, PollCommand.cs, SetPollingConnectionCountCommand.cs).
// They write the trusted-server entries and the connection count through
// the TrustStore, under the config's lock; nothing here opens a connection.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>

#include "common/base/net.h"
#include "common/base/encoding.h"
#include "common/config/polling.h"
#include "common/config/trust.h"
#include "common/config/trust_store.h"
#include "common/crypto/thumbprint.h"
#include "tentacle/commands.h"

namespace octo::tentacle {
namespace {

constexpr char kNoWebSockets[] =
    "WebSocket polling (wss://) is not supported by this Tentacle; use --host and --port (https)";

// " --instance NAME", as the real error texts add it for a named instance
// (ours always names it, the default "Tentacle" too, so the hint is exact).
std::string InstanceArg(const cli::InstanceOptions& o) {
  return o.instance.empty() ? "" : " --instance " + o.instance;
}

// Runs `edit` on the instance's configuration under its lock and saves it
// when the document changed.
Status EditConfig(const cli::InstanceOptions& instance, const std::function<Status(ConfigFile&)>& edit) {
  auto inst = cli::OpenInstanceForUpdate(Product::kTentacle, instance);
  if (!inst.ok()) return inst.status();
  auto store = TrustStore::Open(inst->config_path(), inst->file_lock());
  if (!store.ok()) return store.status();
  auto edited = (*store)->Edit([&](ConfigFile& cfg, bool* save) {
    const Json before = cfg.doc();
    OCTO_RETURN_IF_ERROR(edit(cfg));
    *save = cfg.doc() != before;
    return Status::Ok();
  });
  return edited.ok() ? Status::Ok() : edited.status();
}

struct ServerCommsOptions {
  cli::InstanceOptions instance;
  std::string thumbprint;
  std::string style;
  std::string host;
  int port = kDefaultServerCommsPort;
  std::optional<std::string> web_socket;
};

int RunServerComms(const ServerCommsOptions& o) {
  if (o.web_socket) return cli::UsageError(std::string("--web-socket: ") + kNoWebSockets);
  std::string thumbprint;
  if (!o.thumbprint.empty()) {
    auto tp = ParseThumbprint(o.thumbprint);
    if (!tp.ok()) return cli::UsageError("--thumbprint: " + tp.status().message());
    thumbprint = *tp;
  }
  const bool active = EqualsIgnoreCase(o.style, "TentacleActive");
  if (!active && !EqualsIgnoreCase(o.style, "TentaclePassive")) {
    return cli::UsageError("Please specify a valid communications style, e.g. --style=TentaclePassive");
  }
  std::string address;
  if (active) {
    if (o.host.empty()) {
      return cli::UsageError("Please provide either the server hostname or websocket address, e.g. --host=OCTOPUS");
    }
    auto a = PollingAddress(o.host, o.port);
    if (!a.ok()) return cli::UsageError(a.status().message());
    address = *a;
  }
  Status edited = EditConfig(o.instance, [&](ConfigFile& cfg) -> Status {
    OCTO_ASSIGN_OR_RETURN(std::vector<std::string> trusted, TrustedThumbprints(cfg));
    std::sort(trusted.begin(), trusted.end());
    trusted.erase(std::unique(trusted.begin(), trusted.end()), trusted.end());
    if (trusted.empty()) {
      return FailedPrecondition(
          "Before server communications can be modified, trust must be established with the configure command");
    }
    if (thumbprint.empty()) {
      if (trusted.size() != 1) {
        return FailedPrecondition(
            "More than one server is trusted; please provide the thumbprint of the server to configure, e.g. "
            "--thumbprint=...");
      }
      thumbprint = trusted.front();
    }
    if (!std::binary_search(trusted.begin(), trusted.end(), thumbprint)) {
      return NotFound("No trusted server was found with the supplied thumbprint");
    }
    if (!active) return SetListeningComms(cfg, thumbprint);
    auto id = SetPollingComms(cfg, thumbprint, address, GeneratePollingSubscriptionId);
    return id.ok() ? Status::Ok() : id.status();
  });
  if (!edited.ok()) return cli::Fail(edited);
  std::cout << "Updated server communications configuration" << std::endl;
  std::cout << kRestartNeeded << std::endl;
  return cli::kExitOk;
}

struct PollServerOptions {
  cli::InstanceOptions instance;
  std::string comms_address;
  std::optional<int> comms_port;
  std::optional<std::string> web_socket;
  std::optional<std::string> reuse_thumbprint;  // "" when given with no value
};

int RunPollServer(const PollServerOptions& o) {
  if (o.web_socket) return cli::UsageError(std::string("--server-web-socket: ") + kNoWebSockets);
  if (!o.reuse_thumbprint) {
    return cli::UsageError(
        "poll-server needs --reuse-server-thumbprint: this Tentacle cannot ask the Octopus Server's API for its "
        "thumbprint (--server and --apiKey are not supported)");
  }
  std::string thumbprint;
  if (!o.reuse_thumbprint->empty()) {
    auto tp = ParseThumbprint(*o.reuse_thumbprint);
    if (!tp.ok()) return cli::UsageError("--reuse-server-thumbprint: " + tp.status().message());
    thumbprint = *tp;
  }
  if (o.comms_address.empty()) {
    return cli::UsageError("--server-comms-address is required, e.g. --server-comms-address https://octopus:10943");
  }
  auto address = PollingAddressFromUrl(o.comms_address, o.comms_port);
  if (!address.ok()) return cli::UsageError(address.status().message());
  const std::string host = address->substr(8, address->rfind(':') - 8);  // of "https://HOST:PORT"

  Status edited = EditConfig(o.instance, [&](ConfigFile& cfg) -> Status {
    if (thumbprint.empty()) {  // the switch alone: the first trusted Server, as the real one
      OCTO_ASSIGN_OR_RETURN(std::vector<std::string> trusted, TrustedThumbprints(cfg));
      if (trusted.empty()) {
        return FailedPrecondition(
            "Before server communications can be modified, trust must be established with the configure command");
      }
      thumbprint = trusted.front();
    }
    auto id = AddPollingAddress(cfg, thumbprint, *address);
    if (id.ok()) return Status::Ok();
    const std::string instance = InstanceArg(o.instance);
    switch (id.status().code()) {
      case StatusCode::kNotFound:
        return NotFound("The Octopus Server with the thumbprint '" + thumbprint + "' is not yet trusted. " +
                        "Trust this Octopus Server using 'Tentacle configure --trust=\"" + thumbprint + "\"" +
                        instance + "'");
      case StatusCode::kFailedPrecondition:
        return FailedPrecondition(
            "This Tentacle has not been configured to connect to the specified Octopus Server as a polling Tentacle. "
            "Reconfigure this Tentacle to poll the server using 'Tentacle server-comms --thumbprint=\"" +
            thumbprint + "\" --style=TentacleActive" + instance + " --host " + host + "'");
      default:
        return id.status();
    }
  });
  if (!edited.ok()) return cli::Fail(edited);
  std::cout << "Polling endpoint configured" << std::endl;
  std::cout << kRestartNeeded << std::endl;
  return cli::kExitOk;
}

struct PollingCountOptions {
  cli::InstanceOptions instance;
  std::optional<std::string> count;
};

int RunSetPollingConnectionCount(const PollingCountOptions& o) {
  if (!o.count) {
    return cli::UsageError("Please specify the number of polling connections, e.g. --pollingConnectionCount=5");
  }
  auto count = ParsePollingConnectionCount(*o.count);
  if (!count.ok()) return cli::UsageError(count.status().message());
  Status edited = EditConfig(o.instance, [&](ConfigFile& cfg) {
    SetPollingConnectionCount(cfg, *count);
    return Status::Ok();
  });
  if (!edited.ok()) return cli::Fail(edited);
  std::cout << "Polling connection count set to: " << *count << std::endl;
  std::cout << kRestartNeeded << std::endl;
  return cli::kExitOk;
}

}  // namespace

void SetupServerComms(cli::CommandTable& table) {
  auto o = std::make_shared<ServerCommsOptions>();
  table.Add(
      "server-comms", "Switches a trusted Octopus Server between listening and polling",
      [o] { return RunServerComms(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kTentacle);
        sub->add_option("--thumbprint", o->thumbprint,
                        "The thumbprint of the Octopus Server to configure; may be omitted when "
                        "only one is trusted");
        sub->add_option("--style", o->style,
                        "TentacleActive (polling) or TentaclePassive (listening)");
        sub->add_option("--host", o->host,
                        "With TentacleActive: the host name of the Octopus Server");
        sub->add_option("--port", o->port,
                        "With TentacleActive: the Octopus Server's comms port (default 10943)");
        sub->add_option("--web-socket", o->web_socket, "Not supported: WebSocket polling (wss://)");
      });
}

void SetupPollServer(cli::CommandTable& table) {
  auto o = std::make_shared<PollServerOptions>();
  table.Add(
      "poll-server", "Adds another polling address for an already trusted Octopus Server",
      [o] { return RunPollServer(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kTentacle);
        sub->add_option("--server-comms-address", o->comms_address,
                        "The Octopus Server's comms address, e.g. https://octopus:10943");
        sub->add_option("--server-comms-port", o->comms_port,
                        "The comms port; takes precedence over a port in --server-comms-address");
        sub->add_option("--reuse-server-thumbprint", o->reuse_thumbprint,
                        "The trusted Octopus Server's thumbprint (alone: the first trusted one)")
            ->expected(0, 1);
        sub->add_option("--server-web-socket", o->web_socket,
                        "Not supported: WebSocket polling (wss://)");
      });
}

void SetupSetPollingConnectionCount(cli::CommandTable& table) {
  auto o = std::make_shared<PollingCountOptions>();
  table.Add(
      "set-polling-connection-count",
      "Sets how many connections a polling Tentacle opens to each Octopus Server",
      [o] { return RunSetPollingConnectionCount(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kTentacle);
        sub->add_option("--pollingConnectionCount", o->count, kPollingConnectionCountHelp);
      });
}

}  // namespace octo::tentacle
