#include "frontend/service_command.h"

#include <iostream>
#include <memory>

#include "common/file_util.h"
#include "common/supervisor.h"
#include "common/systemd_unit.h"

namespace octo::cli {
namespace {

struct ServiceOptions {
  InstanceOptions instance;
  bool start = false, stop = false, restart = false, status = false;
  bool install = false, uninstall = false, reconfigure = false;
  int timeout_seconds = 60;
};

const char* ServiceName(Product p) { return p == Product::kServer ? "Octopus Server" : "Tentacle"; }

std::string Describe(Product p, const std::string& instance) {
  return std::string("the ") + ServiceName(p) + " service for instance '" + instance + "'";
}

class ServiceRunner {
 public:
  ServiceRunner(Product product, const ServiceOptions& o, const Instance& inst)
      : product_(product), o_(o), inst_(inst), paths_(PathsFor(inst)), exe_(SelfExecutable()),
        unit_(UnitDirectory() + "/" + UnitName(product, inst.name())) {}

  int Run() {
    if (o_.install || o_.reconfigure) return Install();
    if (o_.uninstall) return Uninstall();
    if (o_.status) return Query();
    if (o_.stop) return Stop();
    if (o_.restart) {
      if (Installed()) {
        int rc = Systemctl("restart");
        if (rc == kExitOk) std::cout << "Service restarted: " << UnitName(product_, inst_.name()) << std::endl;
        return rc;
      }
      int rc = Stop();
      return rc == kExitOk ? Start() : rc;
    }
    return Start();
  }

 private:
  bool Installed() const { return FileExists(unit_); }

  int Systemctl(const std::string& verb) {
    auto rc = RunProgram({SystemctlProgram(), verb, UnitName(product_, inst_.name())});
    if (!rc.ok()) return Fail(rc.status());
    if (*rc != 0) {
      return Fail(octo::Status(octo::StatusCode::kInternal, "systemctl " + verb + " " + UnitName(product_, inst_.name()) +
                                                          " failed with exit code " + std::to_string(*rc)));
    }
    return kExitOk;
  }

  int Start() {
    if (Installed()) {
      int rc = Systemctl("start");
      if (rc == kExitOk) std::cout << "Service started: " << UnitName(product_, inst_.name()) << std::endl;
      return rc;
    }
    if (auto pid = RunningPid(paths_.pid_file, exe_)) {
      std::cout << "The " << ServiceName(product_) << " service for instance '" << inst_.name()
                << "' is already running (pid " << *pid << ")." << std::endl;
      return kExitOk;
    }
    if (Status st = MakeDirectories(DirName(paths_.output_log), 0700); !st.ok()) return Fail(st);
    ServiceProcess proc;
    proc.argv = {exe_, "run", "--instance", inst_.name()};
    if (o_.instance.config) proc.argv.insert(proc.argv.end(), {"--config", inst_.config_path()});
    proc.pid_file = paths_.pid_file;
    proc.log_file = paths_.output_log;
    auto pid = StartService(proc, std::chrono::seconds(o_.timeout_seconds));
    if (!pid.ok()) return Fail(pid.status().WithContext(Describe(product_, inst_.name()) + " could not start"));
    std::cout << "The " << ServiceName(product_) << " service for instance '" << inst_.name()
              << "' has started (pid " << *pid << ")." << std::endl;
    return kExitOk;
  }

  int Stop() {
    if (Installed()) {
      int rc = Systemctl("stop");
      if (rc == kExitOk) std::cout << "Service stopped: " << UnitName(product_, inst_.name()) << std::endl;
      return rc;
    }
    auto was = StopService(paths_.pid_file, exe_, std::chrono::seconds(o_.timeout_seconds));
    if (!was.ok()) return Fail(was.status());
    std::cout << "The " << ServiceName(product_) << " service for instance '" << inst_.name()
              << (*was ? "' has stopped." : "' is not running.") << std::endl;
    return kExitOk;
  }

  int Query() {
    if (Installed()) {
      auto rc = RunProgram({SystemctlProgram(), "is-active", "--quiet", UnitName(product_, inst_.name())});
      if (!rc.ok()) return Fail(rc.status());
      std::cout << "The " << ServiceName(product_) << " service for instance '" << inst_.name() << "' (systemd unit "
                << UnitName(product_, inst_.name()) << ") is " << (*rc == 0 ? "running." : "stopped.") << std::endl;
      return *rc == 0 ? kExitOk : kExitStopped;
    }
    if (auto pid = RunningPid(paths_.pid_file, exe_)) {
      std::cout << "The " << ServiceName(product_) << " service for instance '" << inst_.name()
                << "' is running (pid " << *pid << ")." << std::endl;
      return kExitOk;
    }
    std::cout << "The " << ServiceName(product_) << " service for instance '" << inst_.name() << "' is stopped."
              << std::endl;
    return kExitStopped;
  }

  int Install() {
    const bool existed = Installed();
    bool was_running = false;
    if (!existed) {
      // From now on systemd runs the service: a process running outside it
      // (built-in supervisor, or in the foreground) would be left unmanaged.
      if (auto pid = RunningPid(paths_.pid_file, exe_)) {
        auto was = StopService(paths_.pid_file, exe_, std::chrono::seconds(o_.timeout_seconds));
        if (!was.ok()) return Fail(was.status());
        was_running = true;
        std::cout << "Stopped the running service (pid " << *pid << ") so that systemd runs it from now on."
                  << std::endl;
      }
    }
    if (Status st = MakeDirectories(UnitDirectory(), 0755); !st.ok()) return Fail(st);
    std::string unit = RenderUnit(product_, inst_.name(), exe_, o_.instance.config ? inst_.config_path() : "");
    if (Status st = WriteFileAtomic(unit_, unit, 0644); !st.ok()) return Fail(st);
    int rc = SystemctlPlain({"daemon-reload"});
    if (rc == kExitOk && !existed) rc = Systemctl("enable");
    if (rc != kExitOk) {
      if (!existed) (void)RemoveFile(unit_);  // no half-installed unit is left behind
      return rc;
    }
    std::cout << (existed ? "Updated the systemd unit " : "Installed the systemd unit ") << unit_ << std::endl;
    if (was_running) {  // it was running before: keep it running, now under systemd
      int started = Systemctl("start");
      if (started == kExitOk) std::cout << "Service started: " << UnitName(product_, inst_.name()) << std::endl;
      return started;
    }
    if (!existed) return kExitOk;
    if (o_.reconfigure) {
      auto active = RunProgram({SystemctlProgram(), "is-active", "--quiet", UnitName(product_, inst_.name())});
      if (active.ok() && *active == 0) return Systemctl("restart");
    }
    return kExitOk;
  }

  int Uninstall() {
    if (!Installed()) {
      std::cout << "The systemd unit " << unit_ << " is not installed." << std::endl;
      return kExitOk;
    }
    (void)RunProgram({SystemctlProgram(), "stop", UnitName(product_, inst_.name())});
    (void)RunProgram({SystemctlProgram(), "disable", UnitName(product_, inst_.name())});
    if (Status st = RemoveFile(unit_); !st.ok()) return Fail(st);
    std::cout << "Removed the systemd unit " << unit_ << std::endl;
    return SystemctlPlain({"daemon-reload"});
  }

  int SystemctlPlain(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {SystemctlProgram()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto rc = RunProgram(argv);
    if (!rc.ok()) return Fail(rc.status());
    if (*rc != 0) return Fail(octo::Status(octo::StatusCode::kInternal, "systemctl " + args[0] + " failed"));
    return kExitOk;
  }

  Product product_;
  const ServiceOptions& o_;
  const Instance& inst_;
  ServicePaths paths_;
  std::string exe_;
  std::string unit_;
};

int RunService(Product product, const ServiceOptions& o) {
  int actions = o.start + o.stop + o.restart + o.status + o.install + o.uninstall + o.reconfigure;
  if (actions != 1) {
    return UsageError(
        "service needs exactly one of --start, --stop, --restart, --status, --install, --uninstall, --reconfigure");
  }
  std::vector<std::string> names;
  if (o.instance.instance == "*") {
    if (o.install || o.uninstall || o.reconfigure) {
      return UsageError("--instance * works with --start, --stop, --restart and --status only");
    }
    if (o.instance.config) return UsageError("--config names one instance: it cannot go with --instance *");
    auto list = InstanceRegistry(product).List();
    if (!list.ok()) return Fail(list.status());
    for (const auto& r : *list) {
      if (r.error.empty()) {
        names.push_back(r.name);
      } else {
        Warn("instance '" + r.name + "' is skipped: " + r.error);
      }
    }
    if (names.empty()) {
      std::cout << "There are no " << Traits(product).display_name << " instances." << std::endl;
      return kExitOk;
    }
  } else {
    names.push_back(o.instance.instance);
  }
  // A failure (1) outranks "stopped" (3), which outranks success.
  auto rank = [](int rc) { return rc == kExitOk ? 0 : rc == kExitStopped ? 1 : 2; };
  int worst = kExitOk;
  const bool all = o.instance.instance == "*";
  for (const auto& name : names) {
    auto inst = Instance::Open(product, name, all ? std::nullopt : o.instance.config);
    int rc = inst.ok() ? ServiceRunner(product, o, *inst).Run() : Fail(inst.status());
    if (rank(rc) > rank(worst)) worst = rc;
  }
  return worst;
}

}  // namespace

ServicePaths PathsFor(const Instance& instance) {
  ServicePaths p;
  auto home = instance.config().GetString(keys::kHome);
  p.home = home.ok() && !home->empty() ? *home : DirName(instance.config_path());
  p.pid_file = p.home + "/service.pid";
  p.output_log = p.home + "/Logs/service-output.log";
  p.socket = p.home + "/service.sock";
  p.log_file = p.home + "/Logs/" + (instance.product() == Product::kServer ? "OctopusServer.txt" : "OctopusTentacle.txt");
  return p;
}

Status RefuseIfRunning(const Instance& instance) {
  if (auto pid = RunningPid(PathsFor(instance).pid_file, SelfExecutable())) {
    return FailedPrecondition(Describe(instance.product(), instance.name()) + " is already running (pid " +
                              std::to_string(*pid) + ")");
  }
  return Status::Ok();
}

void SetupService(CommandTable& table) {
  auto o = std::make_shared<ServiceOptions>();
  Product p = table.product();
  CLI::App* sub = table.Add("service", "Starts, stops, restarts or installs the instance's service",
                            [p, o] { return RunService(p, *o); });
  o->instance.instance = Traits(p).default_instance;
  sub->add_option("--instance", o->instance.instance, "Name of the instance, or * for every instance")
      ->default_str(Traits(p).default_instance)
      ->check(CLI::Validator(
          [](std::string& name) {
            if (name == "*") return std::string();
            Status st = ValidateInstanceName(name);
            return st.ok() ? std::string() : st.message();
          },
          "NAME|*", "instance name"));
  sub->add_option("--config", o->instance.config, "Path of the instance's configuration file");
  sub->add_flag("--start", o->start, "Start the service and wait until it is ready");
  sub->add_flag("--stop", o->stop, "Stop the service (gracefully, then forcibly after the timeout)");
  sub->add_flag("--restart", o->restart, "Stop, then start the service");
  sub->add_flag("--status", o->status, "Say whether the service runs (exit 0) or not (exit 3)");
  sub->add_flag("--install", o->install, "Install a systemd unit for the service and enable it");
  sub->add_flag("--uninstall", o->uninstall, "Stop, disable and remove the systemd unit");
  sub->add_flag("--reconfigure", o->reconfigure, "Rewrite the systemd unit (and restart it if it runs)");
  sub->add_option("--timeout", o->timeout_seconds, "Seconds to wait for start-up or shut-down")
      ->check(CLI::Range(1, 3600))
      ->default_str("60");
}

}  // namespace octo::cli
