// Octopus.Server configure: the settings of the Server's communications and
// node that this project keeps (the real command has many more, about the
// web portal and the database, which are not ours).
#include <iostream>
#include <memory>

#include "common/base/file_util.h"
#include "common/base/net.h"
#include "common/base/encoding.h"
#include "frontend/service_command.h"
#include "server/commands.h"

namespace octo::server {
namespace {

inline constexpr char kHomeSetting[] = "Octopus.Home";
inline constexpr char kNodeNameSetting[] = "Octopus.Server.NodeName";

struct ConfigureOptions {
  cli::InstanceOptions instance;
  std::optional<std::string> home;
  std::optional<std::string> node_name;
  std::optional<int> comms_port;
  std::optional<std::string> comms_address;
};

int Run(const ConfigureOptions& o) {
  if (o.comms_port && (*o.comms_port < 1 || *o.comms_port > 65535)) {
    return cli::UsageError("--commsListenPort: " + std::to_string(*o.comms_port) + " is not a port number (1-65535)");
  }
  if (o.node_name && o.node_name->empty()) return cli::UsageError("--serverNodeName: the name is empty");
  std::optional<std::string> comms_address;
  if (o.comms_address) {
    auto parsed = ParseListenAddress(*o.comms_address);
    if (!parsed.ok()) return cli::UsageError("--commsListenAddress: " + parsed.status().message());
    comms_address = *parsed;
  }
  if (!o.home && !o.node_name && !o.comms_port && !comms_address) {
    return cli::UsageError("configure needs at least one setting to change (see 'Octopus.Server configure --help')");
  }
  auto inst = cli::OpenInstanceForUpdate(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  if (o.home && cli::ServiceRunning(*inst)) {  // its lock and pid files live in the home
    return cli::Fail(FailedPrecondition("the Octopus Server service for instance '" + inst->name() +
                                        "' is running: stop it before moving its home"));
  }
  ConfigFile& cfg = inst->config();
  if (o.home) cfg.Set(kHomeSetting, AbsolutePath(*o.home));
  if (o.node_name) cfg.Set(kNodeNameSetting, *o.node_name);
  if (o.comms_port) cfg.Set(keys::kServerCommsPort, *o.comms_port);
  if (comms_address) cfg.Set(keys::kServerCommsListenAddress, *comms_address);
  if (Status st = inst->Save(); !st.ok()) return cli::Fail(st);
  if (o.home) std::cout << "Home directory set to: " << AbsolutePath(*o.home) << std::endl;
  if (o.node_name) std::cout << "Server node name: " << *o.node_name << std::endl;
  if (o.comms_port) std::cout << "Communications listen port: " << *o.comms_port << std::endl;
  if (comms_address) {
    std::cout << "Communications listen address: " << (comms_address->empty() ? "any" : *comms_address) << std::endl;
  }
  std::cout << "These changes require a restart of the Octopus Server." << std::endl;
  return cli::kExitOk;
}

}  // namespace

void SetupConfigure(cli::CommandTable& table) {
  auto o = std::make_shared<ConfigureOptions>();
  table.Add(
      "configure", "Changes the Server's home, node name and communications port",
      [o] { return Run(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
        sub->add_option("--home,--homedir", o->home, "Home directory of the instance");
        sub->add_option("--serverNodeName", o->node_name, "Name of this Server node");
        sub->add_option("--commsListenPort", o->comms_port,
                        "TCP port polling Tentacles connect to (default 10943); setting it starts "
                        "the polling listener");
        sub->add_option("--commsListenAddress", o->comms_address,
                        "IP address the polling listener binds ('any' or empty: every address)");
      });
}

}  // namespace octo::server
