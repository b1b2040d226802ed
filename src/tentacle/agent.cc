// Tentacle agent (alias run): the listening service process, in the foreground.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>

#include "common/base/file_util.h"
#include "common/service/service_log.h"
#include "common/base/version.h"
#include "common/service/supervisor.h"
#include "common/channel/channel.h"
#include "common/channel/control.h"
#include "common/channel/live_trust.h"
#include "common/channel/tentacle_admin.h"
#include "common/channel/tentacle_agent.h"
#include "common/config/trust_store.h"
#include "frontend/certificate_io.h"
#include "frontend/service_command.h"
#include "frontend/signals.h"
#include "tentacle/commands.h"

namespace octo::tentacle {
namespace {

int StartupFailure(const Status& st) {
  NotifyFailed(st);
  return cli::Fail(st);
}

Json ToJson(const std::set<std::string>& s) { return Json(std::vector<std::string>(s.begin(), s.end())); }

// The polling retry bounds (5 s and 2 min, as Halibut's) can be changed
// with OCTOPUS_POLLING_RETRY_MIN_MS and OCTOPUS_POLLING_RETRY_MAX_MS (tests
// and demos use short ones).
PollingClientOptions PollingOptionsFromEnvironment() {
  PollingClientOptions p;
  auto read = [](const char* name, std::chrono::milliseconds* out) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return;
    char* end = nullptr;
    const long long n = std::strtoll(v, &end, 10);
    if (end != nullptr && *end == '\0' && n > 0) *out = std::chrono::milliseconds(n);
  };
  read("OCTOPUS_POLLING_RETRY_MIN_MS", &p.retry_min);
  read("OCTOPUS_POLLING_RETRY_MAX_MS", &p.retry_max);
  if (p.retry_max < p.retry_min) p.retry_max = p.retry_min;
  return p;
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
  auto store = TrustStore::Open(inst->config_path());
  if (!store.ok()) return StartupFailure(store.status());
  const auto trusted = (*store)->Current();
  auto port = inst->config().GetInt(keys::kPort, kDefaultTentaclePort);
  auto ip = inst->config().GetString(keys::kListenIp);
  auto no_listen = inst->config().GetBool(keys::kNoListen, false);
  if (!port.ok()) return StartupFailure(port.status());
  if (!ip.ok()) return StartupFailure(ip.status());
  if (!no_listen.ok()) return StartupFailure(no_listen.status());

  (*log)->info("Tentacle version {} starting, instance '{}', certificate {}", ProjectVersion(), inst->name(),
               Thumbprint(id->certificate.get()));
  if (trusted->thumbprints.empty()) (*log)->info("The agent is not configured to trust any Octopus Servers.");
  for (const auto& tp : trusted->thumbprints) (*log)->info("Agent will trust Octopus Servers with the thumbprint: {}", tp);

  AgentOptions options;
  options.listen_ip = *ip;
  options.port = *port;
  options.trusted_thumbprints = trusted->thumbprints;
  options.polling = PollingOptionsFromEnvironment();
  // Destroyed explicitly at the end, before `live` and `admin`: its
  // destructor waits for the connection threads that use them.
  auto agent_holder = std::make_unique<TentacleAgent>(options, std::move(id).value(), *log);
  TentacleAgent& agent = *agent_holder;
  LiveTrust live(**store, agent, *log);
  // The trust and certificate methods change this instance's configuration
  // (under its lock) and publish to the agent: trust through `live`, a
  // switched certificate through SetIdentity.
  auto admin = std::make_shared<StoredTentacleAdmin>(inst->name(), inst->config_path(), live, agent);
  agent.SetAdmin(admin);
  const std::string started_at = UtcNowIso8601();
  std::mutex reload_mu;
  ControlServer control;
  Status control_started = control.Start(paths.socket, [&](const Json& request, const ControlPeer& peer) -> Json {
    const std::string command = StringField(request, "Command");
    if (command == "status") {
      return Json{{"Thumbprint", agent.thumbprint()}, {"Pid", ::getpid()}, {"StartedAt", started_at},
                  {"Trusted", ToJson(*agent.trusted())}};
    }
    if (command == "reload-trust") {
      const std::string by = StringField(request, "By", "a local command");
      auto applied = live.Reload(by + " (" + peer.Describe() + ")");
      if (!applied.ok()) return Json{{"Error", applied.status().message()}};
      const TrustChange& change = applied->change;
      return Json{{"Trusted", ToJson(change.now->thumbprints)}, {"Added", change.added},
                  {"Removed", change.removed},     {"Closed", applied->closed},
                  {"Generation", change.now->generation}};
    }
    if (command == "reload") {
      // The certificate (and the trust) as stored now, without a restart:
      // new connections present it; open ones finish with the old one.
      std::lock_guard<std::mutex> lock(reload_mu);
      auto certificates = admin->LockCertificates();  // not interleaved with a SwitchCertificate
      const std::string who = StringField(request, "By", "a local command") + " (" + peer.Describe() + ")";
      auto applied = live.Reload(who);
      if (!applied.ok()) return Json{{"Error", applied.status().message()}};
      auto fresh = cli::OpenInstance(Product::kTentacle, o);
      if (!fresh.ok()) return Json{{"Error", fresh.status().message()}};
      auto next = cli::LoadIdentityForCommand(*fresh);
      if (!next.ok()) return Json{{"Error", next.status().message()}};
      const std::string before = agent.thumbprint();
      if (Status st = agent.SetIdentity(*next); !st.ok()) return Json{{"Error", st.message()}};
      const std::string now = agent.thumbprint();
      if (now != before) {
        (*log)->info("Reloaded: new connections are presented the certificate {} (was {}), asked by {}", now, before,
                     who);
      } else {
        (*log)->info("Reloaded: the certificate {} is unchanged, asked by {}", now, who);
      }
      return Json{{"Thumbprint", now}, {"PreviousThumbprint", before},
                  {"Trusted", ToJson(applied->change.now->thumbprints)}};
    }
    return Json{{"Error", "unknown command '" + command + "'"}};
  });
  if (!control_started.ok()) {
    (*log)->error("The agent could not start: {}", control_started.message());
    return StartupFailure(control_started);
  }
  const int connections = PollingConnections(*trusted);
  for (const auto& ep : trusted->polling) {
    (*log)->info("Polling {} as {} ({} connection(s)), accepting the Octopus Server thumbprint(s) {}", ep.address,
                 ep.subscription_id, connections, JoinSet(ep.thumbprints));
  }
  if (Status st = agent.SetPolling(trusted->polling, connections); !st.ok()) {
    (*log)->error("The agent could not start: {}", st.message());
    return StartupFailure(st);
  }
  if (!*no_listen) {
    if (Status st = agent.Start(); !st.ok()) {
      (*log)->error("The agent could not start: {}", st.message());
      return StartupFailure(st);
    }
  }
  // The pid file comes before the announcement: whoever waits for the line can rely on it.
  if (Status st = WritePidFile(paths.pid_file); !st.ok()) return StartupFailure(st);
  if (*no_listen && !trusted->polling.empty()) {
    (*log)->info("The agent is configured not to listen (--noListen); it polls {} Octopus Server address(es).",
                 trusted->polling.size());
  } else if (*no_listen) {
    (*log)->info("The agent is configured not to listen (--noListen); it has nothing to serve here.");
  } else {
    const std::string where = ip->empty() ? "[::]" : (ip->find(':') != std::string::npos ? "[" + *ip + "]" : *ip);
    (*log)->info("Agent listening on: {}:{}", where, agent.port());
  }
  live.StartWatch();
  NotifyReady();
  int sig = cli::WaitForStopSignal();
  (*log)->info("Stopping (signal {})...", sig);
  live.Stop();
  control.Stop();
  agent.Stop();
  agent_holder.reset();
  (void)RemoveFile(paths.pid_file);
  (*log)->info("The agent has stopped.");
  return cli::kExitOk;
}

}  // namespace

void SetupAgent(cli::CommandTable& table) {
  auto o = std::make_shared<cli::InstanceOptions>();
  table.Add(
      "agent", "Runs the Tentacle service in the foreground (Ctrl+C or SIGTERM stops it)",
      [o] { return cli::RunServiceProcess(Product::kTentacle, *o, [o] { return RunAgent(*o); }); },
      [o](CLI::App* sub) { cli::AddInstanceOptions(sub, o.get(), Product::kTentacle); }, "run");
}

}  // namespace octo::tentacle
