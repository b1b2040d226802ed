// Octopus.Server run: the Server's service process, and health-check, which
// asks the running service to check its deployment targets now.
#include <algorithm>
#include <iostream>
#include <memory>

#include "common/channel/control.h"
#include "common/config/instance.h"
#include "common/config/polling.h"
#include "common/base/file_util.h"
#include "common/service/server_service.h"
#include "common/service/service_log.h"
#include "common/service/supervisor.h"
#include "common/base/version.h"
#include "frontend/certificate_io.h"
#include "frontend/common_commands.h"
#include "frontend/service_command.h"
#include "frontend/signals.h"
#include "server/commands.h"

namespace octo::server {
namespace {

inline constexpr char kIntervalKey[] = "Octopus.Server.HealthCheckIntervalSeconds";
inline constexpr char kParallelismKey[] = "Octopus.Server.HealthCheckParallelism";
inline constexpr char kPoolIdleKey[] = "Octopus.Server.PooledConnectionIdleSeconds";
inline constexpr char kPoolPerTargetKey[] = "Octopus.Server.PooledConnectionsPerTarget";
inline constexpr char kPoolMaxKey[] = "Octopus.Server.MaxPooledConnections";

// A whole-number setting within [lo, hi]; InvalidArgument naming the key otherwise.
Result<int> IntSetting(const ConfigFile& config, const char* key, int fallback, int lo, int hi) {
  auto v = config.GetInt(key, fallback);
  if (!v.ok()) return v.status();
  if (*v < lo || *v > hi) {
    return InvalidArgument("The setting " + std::string(key) + " is " + std::to_string(*v) + ": it must be from " +
                           std::to_string(lo) + " to " + std::to_string(hi));
  }
  return v;
}

struct RunOptions {
  cli::InstanceOptions instance;
  std::optional<int> interval;
};

int StartupFailure(const Status& st) {
  NotifyFailed(st);
  return cli::Fail(st);
}

int RunServer(const RunOptions& o) {
  cli::BlockStopSignals();
  const bool console = !StartedBySupervisor();
  auto inst = cli::OpenInstance(Product::kServer, o.instance);
  if (!inst.ok()) return StartupFailure(inst.status());
  const cli::ServicePaths paths = cli::PathsFor(*inst);
  // The service's identity: held for the whole life of this process, taken
  // before anything is bound (a second start stops here).
  auto lock = cli::LockInstanceService(*inst);
  if (!lock.ok()) return StartupFailure(lock.status());
  auto log = MakeServiceLogger("server", paths.log_file, console);
  if (!log.ok()) return StartupFailure(log.status());
  (*log)->info("{}", cli::kCheckingMasterKey);
  auto id = cli::LoadIdentityForCommand(*inst);
  if (!id.ok()) return StartupFailure(id.status());
  auto interval = inst->config().GetInt(kIntervalKey, 60);
  if (!interval.ok()) return StartupFailure(interval.status());

  // Connections to Tentacles: how many checks at once, and how many
  // authenticated connections are kept, for how long (docs/config-format.md).
  auto parallelism = IntSetting(inst->config(), kParallelismKey, 32, 1, 1024);
  if (!parallelism.ok()) return StartupFailure(parallelism.status());
  auto pool_idle = IntSetting(inst->config(), kPoolIdleKey, 540, 1, 86400);
  if (!pool_idle.ok()) return StartupFailure(pool_idle.status());
  auto pool_per_target = IntSetting(inst->config(), kPoolPerTargetKey, 5, 0, 64);
  if (!pool_per_target.ok()) return StartupFailure(pool_per_target.status());
  auto pool_max = IntSetting(inst->config(), kPoolMaxKey, 10000, 0, 1000000);
  if (!pool_max.ok()) return StartupFailure(pool_max.status());
  const size_t descriptors = RaiseDescriptorLimit();

  ServerServiceOptions options;
  options.check.parallelism = static_cast<size_t>(*parallelism);
  options.pool.idle_timeout = std::chrono::seconds(*pool_idle);
  options.pool.max_idle_per_target = static_cast<size_t>(*pool_per_target);
  // Kept connections may take at most half of the descriptors this process
  // may open: the checks under way and the polling listener need the rest.
  options.pool.max_idle = std::min(static_cast<size_t>(*pool_max), descriptors / 2);
  options.config_path = inst->config_path();
  options.socket_path = paths.socket;
  options.interval = std::chrono::seconds(o.interval.value_or(*interval));
  options.load_identity = [instance = o.instance]() -> Result<Identity> {
    auto fresh = cli::OpenInstance(Product::kServer, instance);
    if (!fresh.ok()) return fresh.status();
    return cli::LoadIdentityForCommand(*fresh);
  };
  // The polling listener: on when the comms port is configured (else it
  // starts, on 10943, with the first polling target).
  auto comms_port = inst->config().GetInt(keys::kServerCommsPort, kDefaultServerCommsPort);
  if (!comms_port.ok()) return StartupFailure(comms_port.status());
  auto comms_address = inst->config().GetString(keys::kServerCommsListenAddress);
  if (!comms_address.ok()) return StartupFailure(comms_address.status());
  options.polling.port = *comms_port;
  options.polling.listen_ip = *comms_address;
  options.polling_configured = inst->config().Has(keys::kServerCommsPort);
  const std::string tp = Thumbprint(id->certificate.get());
  ServerService service(options, std::move(id).value(), *log);
  if (Status st = service.Start(); !st.ok()) return StartupFailure(st);
  if (Status st = WritePidFile(paths.pid_file); !st.ok()) return StartupFailure(st);
  (*log)->info("Octopus Server version {} started, instance '{}'", ProjectVersion(), inst->name());
  (*log)->info("The Octopus Server is using the certificate with thumbprint: {}", tp);
  if (options.interval.count() > 0) {
    (*log)->info("Health checks run every {} seconds; control socket {}", options.interval.count(), paths.socket);
  } else {
    (*log)->info("Periodic health checks are off; control socket {}", paths.socket);
  }
  NotifyReady();
  int sig = cli::WaitForStopSignal();
  (*log)->info("Stopping (signal {})...", sig);
  service.Stop();
  (void)RemoveFile(paths.pid_file);
  (*log)->info("The Octopus Server has stopped.");
  return cli::kExitOk;
}

struct HealthCheckOptions {
  cli::InstanceOptions instance;
  std::vector<std::string> names;
  std::string format;
  int timeout_seconds = 120;
  bool last = false;
};

// ", presenting pinned thumbprint T (2 of 3)" when the target pins more
// than one, so that a rotation shows which certificate the Tentacle uses;
// "" with one pin (the line as before pin sets).
std::string WhichPin(const HealthResult& r) {
  if (r.pinned.size() < 2 || r.thumbprint.empty()) return "";
  auto at = std::find(r.pinned.begin(), r.pinned.end(), r.thumbprint);
  if (at == r.pinned.end()) return ", presenting thumbprint " + r.thumbprint;
  return ", presenting pinned thumbprint " + r.thumbprint + " (" + std::to_string(at - r.pinned.begin() + 1) + " of " +
         std::to_string(r.pinned.size()) + ")";
}

int RunHealthCheck(const HealthCheckOptions& o) {
  auto inst = cli::OpenInstance(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  const cli::ServicePaths paths = cli::PathsFor(*inst);
  Json request = o.last ? Json{{"Command", "last-results"}} : Json{{"Command", "health-check"}, {"Names", o.names}};
  auto reply = SendControlRequest(paths.socket, request, DeadlineIn(std::chrono::seconds(o.timeout_seconds)));
  if (!reply.ok()) {
    if (reply.status().code() == StatusCode::kUnavailable) return cli::ServerNotRunning(*inst);
    return cli::Fail(reply.status());
  }
  bool all_healthy = true;
  Json out = Json::array();
  for (const auto& j : (*reply)["Results"]) {
    HealthResult r = HealthResult::FromJson(j);
    if (o.last && !o.names.empty() && std::find(o.names.begin(), o.names.end(), r.name) == o.names.end()) continue;
    all_healthy = all_healthy && r.healthy;
    out.push_back(r.ToJson());
    if (o.format == "json") continue;
    const std::string when = o.last ? " (checked " + r.checked_at + ")" : "";
    if (r.healthy) {
      std::cout << r.name << " (" << r.address << "): healthy" << when << WhichPin(r) << std::endl;
    } else {
      std::cout << r.name << " (" << r.address << "): unhealthy" << when << ": " << r.reason << std::endl;
    }
  }
  if (o.format == "json") std::cout << out.dump(2) << std::endl;
  if (out.empty() && o.format != "json") {
    std::cout << (o.last ? "No health check has run yet." : "There are no deployment targets to check.") << std::endl;
  }
  return all_healthy ? cli::kExitOk : cli::kExitFailed;
}

}  // namespace

void SetupRun(cli::CommandTable& table) {
  auto o = std::make_shared<RunOptions>();
  table.Add(
      "run", "Runs the Octopus Server service in the foreground (Ctrl+C or SIGTERM stops it)",
      [o] { return cli::RunServiceProcess(Product::kServer, o->instance, [o] { return RunServer(*o); }); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
        sub->add_option(
               "--health-check-interval", o->interval,
               "Seconds between periodic health checks (0: only on request; default: the config's "
               "Octopus.Server.HealthCheckIntervalSeconds, else 60)")
            ->check(CLI::Range(0, 86400));
      });
}

void SetupHealthCheck(cli::CommandTable& table) {
  auto o = std::make_shared<HealthCheckOptions>();
  table.Add(
      "health-check", "Asks the running service to check its deployment targets now",
      [o] { return RunHealthCheck(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
        sub->add_option("--name", o->names, "Check only this target (repeatable)")
            ->allow_extra_args(false)
            ->take_all();
        cli::AddFormatOption(sub, &o->format);
        sub->add_option("--timeout", o->timeout_seconds, "Seconds to wait for the results")
            ->check(CLI::Range(1, 3600));
        sub->add_flag(
            "--last", o->last,
            "Show the last result of each target (periodic or requested) without checking now");
      });
}

}  // namespace octo::server
