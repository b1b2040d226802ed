// Tentacle agent (alias run): the listening service process, in the foreground.
#include <iostream>
#include <memory>

#include "common/file_util.h"
#include "common/service_log.h"
#include "common/version.h"
#include "common/supervisor.h"
#include "common/tentacle_agent.h"
#include "common/trust.h"
#include "frontend/certificate_io.h"
#include "frontend/service_command.h"
#include "frontend/signals.h"
#include "tentacle/commands.h"

namespace octo::tentacle {
namespace {

int StartupFailure(const Status& st) {
  NotifyFailed(st.message());
  return cli::Fail(st);
}

int RunAgent(const cli::InstanceOptions& o) {
  cli::BlockStopSignals();
  const bool console = !StartedBySupervisor();
  auto inst = cli::OpenInstance(Product::kTentacle, o);
  if (!inst.ok()) return StartupFailure(inst.status());
  const cli::ServicePaths paths = cli::PathsFor(*inst);
  // The service's identity: held for the whole life of this process, taken
  // before anything is bound (a second start stops here).
  auto lock = cli::LockInstanceService(*inst);
  if (!lock.ok()) return StartupFailure(lock.status());
  auto log = MakeServiceLogger("tentacle", paths.log_file, console);
  if (!log.ok()) return StartupFailure(log.status());
  auto id = cli::LoadIdentityForCommand(*inst);
  if (!id.ok()) return StartupFailure(id.status());
  auto trusted = TrustedThumbprints(inst->config());
  if (!trusted.ok()) return StartupFailure(trusted.status());
  auto port = inst->config().GetInt(keys::kPort, kDefaultTentaclePort);
  auto ip = inst->config().GetString(keys::kListenIp);
  auto no_listen = inst->config().GetBool(keys::kNoListen, false);
  if (!port.ok()) return StartupFailure(port.status());
  if (!ip.ok()) return StartupFailure(ip.status());
  if (!no_listen.ok()) return StartupFailure(no_listen.status());

  (*log)->info("Tentacle version {} starting, instance '{}', certificate {}", ProjectVersion(), inst->name(),
               Thumbprint(id->certificate.get()));
  if (trusted->empty()) (*log)->info("The agent is not configured to trust any Octopus Servers.");
  for (const auto& tp : *trusted) (*log)->info("Agent will trust Octopus Servers with the thumbprint: {}", tp);

  AgentOptions options;
  options.listen_ip = *ip;
  options.port = *port;
  options.trusted_thumbprints = {trusted->begin(), trusted->end()};
  TentacleAgent agent(options, std::move(id).value(), *log);
  if (!*no_listen) {
    if (Status st = agent.Start(); !st.ok()) {
      (*log)->error("The agent could not start: {}", st.message());
      return StartupFailure(st);
    }
  }
  // The pid file comes before the announcement: whoever waits for the line can rely on it.
  if (Status st = WritePidFile(paths.pid_file); !st.ok()) return StartupFailure(st);
  if (*no_listen) {
    (*log)->info("The agent is configured not to listen (--noListen); it has nothing to serve here.");
  } else {
    const std::string where = ip->empty() ? "[::]" : (ip->find(':') != std::string::npos ? "[" + *ip + "]" : *ip);
    (*log)->info("Agent listening on: {}:{}", where, agent.port());
  }
  NotifyReady();
  int sig = cli::WaitForStopSignal();
  (*log)->info("Stopping (signal {})...", sig);
  agent.Stop();
  (void)RemoveFile(paths.pid_file);
  (*log)->info("The agent has stopped.");
  return cli::kExitOk;
}

}  // namespace

void SetupAgent(cli::CommandTable& table) {
  auto o = std::make_shared<cli::InstanceOptions>();
  CLI::App* sub = table.Add("agent", "Runs the Tentacle service in the foreground (Ctrl+C or SIGTERM stops it)",
                            [o] { return RunAgent(*o); }, "run");
  cli::AddInstanceOptions(sub, o.get(), Product::kTentacle);
}

}  // namespace octo::tentacle
