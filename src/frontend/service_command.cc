#include "frontend/service_command.h"

#ifndef _WIN32
#include <pwd.h>
#endif

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "common/channel/channel.h"
#include "common/channel/control.h"
#include "common/base/file_util.h"
#include "common/service/supervisor.h"
#include "common/config/trust.h"
#include "common/service/systemd_unit.h"
#ifdef _WIN32
#include "common/service/windows_service.h"
#endif

namespace octo::cli {
namespace {

struct ServiceOptions {
  InstanceOptions instance;
  bool start = false, stop = false, restart = false, status = false, reload = false;
  bool install = false, uninstall = false, reconfigure = false;
  std::optional<std::string> username;   // --username/--user, or $OCTOPUS_SERVICE_USERNAME
  std::optional<std::string> password;   // --password, or $OCTOPUS_SERVICE_PASSWORD: no use on Linux
  std::optional<std::string> depend_on;  // --dependOn
  int timeout_seconds = 60;
  std::string format = "text";           // of --status
};

const char* ServiceName(Product p) { return Traits(p).display_name; }

std::string Describe(Product p, const std::string& instance) {
  return std::string("the ") + ServiceName(p) + " service for instance '" + instance + "'";
}

// Runs the actions of one `service` call for one instance, in the real
// product's order: restart, stop, uninstall, install, reconfigure, start
// (then our --status). Stops at the first action that fails.
class ServiceRunner {
 public:
  ServiceRunner(Product product, const ServiceOptions& o, const Instance& inst, std::string unit_name)
      : product_(product), o_(o), inst_(inst), paths_(PathsFor(inst)), exe_(SelfExecutable()),
        unit_name_(std::move(unit_name)), unit_path_(UnitDirectory() + "/" + unit_name_),
        legacy_name_(LegacyUnitName(product, inst.name())), legacy_path_(UnitDirectory() + "/" + legacy_name_) {}

  int Run() {
    struct Step {
      bool wanted;
      int (ServiceRunner::*action)();
    };
    const Step steps[] = {
        {o_.restart, &ServiceRunner::Restart},     {o_.stop, &ServiceRunner::Stop},
        {o_.uninstall, &ServiceRunner::Uninstall}, {o_.install, &ServiceRunner::Install},
        {o_.reconfigure, &ServiceRunner::Install}, {o_.start, &ServiceRunner::Start},
        {o_.reload, &ServiceRunner::Reload},       {o_.status, &ServiceRunner::Query},
    };
    int rc = kExitOk;
    bool installed_once = false;
    for (const Step& step : steps) {
      if (!step.wanted) continue;
      if (step.action == &ServiceRunner::Install) {  // --install --reconfigure writes the unit once
        if (installed_once) continue;
        installed_once = true;
      }
      rc = (this->*step.action)();
      if (rc != kExitOk) return rc;
    }
    return rc;
  }

 private:
  // The unit systemd runs this instance with: ours under the real name, or
  // one written by an earlier version under the old name; "" when none.
  std::string InstalledUnit() const {
#ifdef _WIN32
    return WindowsServiceExists(scm_name_) ? scm_name_ : "";  // the Service Control Manager's
#endif
    if (FileExists(unit_path_)) {
      auto text = ReadFile(unit_path_);
      if (text.ok() && UnitRunsInstance(*text, product_, inst_.name())) return unit_name_;
    }
    if (FileExists(legacy_path_)) return legacy_name_;
    return "";
  }
  // "Tentacle" for Tentacle.service: the name the real product prints.
  static std::string Short(const std::string& unit) { return unit.substr(0, unit.size() - 8); }

  int Systemctl(const std::string& verb, const std::string& unit) {
    auto rc = RunProgram({SystemctlProgram(), verb, unit});
    if (!rc.ok()) return Fail(rc.status());
    if (*rc != 0) {
      return Fail(octo::Status(octo::StatusCode::kInternal,
                               "systemctl " + verb + " " + unit + " failed with exit code " + std::to_string(*rc)));
    }
    return kExitOk;
  }
  bool Active(const std::string& unit) {
    auto rc = RunProgram({SystemctlProgram(), "is-active", "--quiet", unit});
    return rc.ok() && *rc == 0;
  }

  int Start() {
#ifdef _WIN32
    if (!InstalledUnit().empty()) return ScmStart();
#endif
    if (std::string unit = InstalledUnit(); !unit.empty()) {
      int rc = Systemctl("start", unit);
      if (rc == kExitOk) std::cout << "Service started: " << Short(unit) << std::endl;
      return rc;
    }
    if (auto pid = RunningPid(paths_.lock_file)) {
      std::cout << "The " << ServiceName(product_) << " service for instance '" << inst_.name()
                << "' is already running (pid " << *pid << ")." << std::endl;
      return kExitOk;
    }
    if (Status st = MakeDirectories(DirName(paths_.output_log), 0700); !st.ok()) return Fail(st);
    ServiceProcess proc;
    proc.argv = {exe_, "run", "--instance", inst_.name()};
    if (o_.instance.config) proc.argv.insert(proc.argv.end(), {"--config", inst_.config_path()});
    proc.lock_file = paths_.lock_file;
    proc.log_file = paths_.output_log;
    auto pid = StartService(proc, std::chrono::seconds(o_.timeout_seconds));
    if (!pid.ok()) {
      // Another start won the race (our service found the lock taken): it
      // runs, which is what was asked. Any other failure is reported, even
      // while the failing process still holds the lock on its way out.
      auto running = pid.status().code() == StatusCode::kAlreadyExists
                         ? RunningPid(paths_.lock_file)
                         : std::nullopt;
      if (running) {
        std::cout << "The " << ServiceName(product_) << " service for instance '" << inst_.name()
                  << "' is already running (pid " << *running << ")." << std::endl;
        return kExitOk;
      }
      return Fail(pid.status().WithContext(Describe(product_, inst_.name()) + " could not start"));
    }
    std::cout << "The " << ServiceName(product_) << " service for instance '" << inst_.name()
              << "' has started (pid " << *pid << ")." << std::endl;
    return kExitOk;
  }

  int Stop() {
#ifdef _WIN32
    if (!InstalledUnit().empty()) return ScmStop() < 0 ? kExitFailed : kExitOk;
#endif
    if (std::string unit = InstalledUnit(); !unit.empty()) {
      std::cout << "Stopping service: " << Short(unit) << std::endl;
      int rc = Systemctl("stop", unit);
      if (rc == kExitOk) std::cout << "Service stopped" << std::endl;
      return rc;
    }
    auto was = StopService(paths_.lock_file, paths_.pid_file, std::chrono::seconds(o_.timeout_seconds));
    if (!was.ok()) return Fail(was.status());
    std::cout << "The " << ServiceName(product_) << " service for instance '" << inst_.name()
              << (*was ? "' has stopped." : "' is not running.") << std::endl;
    return kExitOk;
  }

  int Restart() {
#ifdef _WIN32
    if (!InstalledUnit().empty()) return ScmRestart();
#endif
    if (std::string unit = InstalledUnit(); !unit.empty()) {
      std::cout << "Restarting service: " << Short(unit) << std::endl;
      int rc = Systemctl("restart", unit);
      if (rc == kExitOk) std::cout << "Service has been restarted" << std::endl;
      return rc;
    }
    int rc = Stop();
    return rc == kExitOk ? Start() : rc;
  }

  // --reload: the running service takes the stored certificate (and, for
  // the Tentacle, the stored trust) without a restart.
  int Reload() {
    if (!RunningPid(paths_.lock_file)) {
      return Fail(FailedPrecondition(Describe(product_, inst_.name()) +
                                     " is not running: nothing to reload (start it, and it uses what is stored)"));
    }
    auto reply = SendControlRequest(paths_.socket, Json{{"Command", "reload"}, {"By", "service --reload"}},
                                    DeadlineIn(std::chrono::seconds(o_.timeout_seconds)));
    if (!reply.ok()) return Fail(reply.status().WithContext(Describe(product_, inst_.name()) + " could not reload"));
    const std::string now = StringField(*reply, "Thumbprint");
    const std::string before = StringField(*reply, "PreviousThumbprint");
    std::cout << "The " << ServiceName(product_) << " service for instance '" << inst_.name() << "' has reloaded: ";
    if (now != before) {
      std::cout << "it presents the certificate " << now << " from now on (was " << before << ")." << std::endl;
    } else {
      std::cout << "its certificate " << now << " is unchanged." << std::endl;
    }
    return kExitOk;
  }

  int Query() {
    std::optional<int> pid;
    std::string unit = InstalledUnit();
    bool running;
    if (!unit.empty()) {
#ifdef _WIN32
      auto st = QueryWindowsService(unit);
      running = st.ok() && st->state == ServiceState::kRunning;
#else
      running = Active(unit);
#endif
      pid = RunningPid(paths_.lock_file);
    } else {
      pid = RunningPid(paths_.lock_file);
      running = pid.has_value();
    }
    // What the running service uses, from itself (its control socket), and
    // what is stored: they differ until a reload or a restart.
    Json live = Json::object();
    if (running) {
      auto reply = SendControlRequest(paths_.socket, Json{{"Command", "status"}}, DeadlineIn(std::chrono::seconds(5)));
      if (reply.ok()) live = *reply;
    }
    const std::string stored_tp = inst_.StoredThumbprint();
    const std::string live_tp = StringField(live, "Thumbprint");
    const bool tentacle = product_ == Product::kTentacle;
    std::vector<std::string> stored_trust, live_trust;
    if (tentacle) {
      if (auto t = TrustedThumbprints(inst_.config()); t.ok()) stored_trust = *t;
      std::sort(stored_trust.begin(), stored_trust.end());
      // A polled Server has an entry per address; the live set has it once.
      stored_trust.erase(std::unique(stored_trust.begin(), stored_trust.end()), stored_trust.end());
      if (live.contains("Trusted") && live["Trusted"].is_array()) {
        for (const auto& e : live["Trusted"]) {
          if (e.is_string()) live_trust.push_back(e.get<std::string>());
        }
      }
    }
    const bool known = !live_tp.empty();
    const bool certificate_differs = known && live_tp != stored_tp;
    const bool trust_differs = known && tentacle && live_trust != stored_trust;

    if (o_.format == "json") {
      Json j{{"Instance", inst_.name()}, {"Running", running}, {"Pid", pid ? Json(*pid) : Json(nullptr)},
             {"Unit", unit.empty() ? Json(nullptr) : Json(unit)},
             {"Thumbprint", known ? Json(live_tp) : Json(nullptr)}, {"StoredThumbprint", stored_tp}};
      if (tentacle) {
        j["Trusted"] = known ? Json(live_trust) : Json(nullptr);
        j["StoredTrusted"] = stored_trust;
      } else {
        // The running Server's connection pool (docs/protocol.md, "Connection reuse").
        j["KeptConnections"] = live.contains("KeptConnections") ? live["KeptConnections"] : Json(nullptr);
      }
      j["ReloadOrRestartNeeded"] = certificate_differs || trust_differs;
      std::cout << j.dump() << std::endl;
      return running ? kExitOk : kExitStopped;
    }
    std::cout << "The " << ServiceName(product_) << " service for instance '" << inst_.name() << "'";
#ifdef _WIN32
    if (!unit.empty()) std::cout << " (Windows service " << unit << ")";
#else
    if (!unit.empty()) std::cout << " (systemd unit " << unit << ")";
#endif
    if (running && unit.empty()) {
      std::cout << " is running (pid " << *pid << ")." << std::endl;
    } else {
      std::cout << " is " << (running ? "running." : "stopped.") << std::endl;
    }
    if (known) {
      std::cout << "Certificate in use: " << live_tp << std::endl;
      if (tentacle) {
        std::string list;
        for (const auto& tp : live_trust) list += (list.empty() ? "" : ", ") + tp;
        std::cout << "Trusted Octopus Servers in use: " << (list.empty() ? "none" : list) << std::endl;
      }
      if (certificate_differs) {
        std::cout << "The stored certificate is " << stored_tp << ": reload or restart needed to use it." << std::endl;
      }
      if (trust_differs) {
        std::cout << "The stored trusted Octopus Servers differ from those in use: reload or restart needed."
                  << std::endl;
      }
    }
    return running ? kExitOk : kExitStopped;
  }

  // --install and --reconfigure: writes the unit (under the real name) and
  // enables it. A service that was running keeps running, now under systemd.
  int Install() {
#ifdef _WIN32
    return ScmInstall();
#endif
    if (auto clash = FindUnit(unit_name_, product_, inst_.name()); clash && !clash->ours) {
      return Fail(FailedPrecondition("the systemd unit " + unit_name_ + " already exists (" + clash->path +
                                     ") and does not run this " + ServiceName(product_) +
                                     " instance; nothing was changed (use another instance name)"));
    }
    const bool existed = InstalledUnit() == unit_name_;
    const bool legacy = FileExists(legacy_path_);  // written by an earlier version: moved to the real name
    bool keep_running = false;
    if (legacy) {
      keep_running = Active(legacy_name_);
    } else if (existed) {
      keep_running = Active(unit_name_);
    } else if (auto pid = RunningPid(paths_.lock_file)) {
      // From now on systemd runs the service: a process running outside it
      // (built-in supervisor, or in the foreground) would be left unmanaged.
      auto was = StopService(paths_.lock_file, paths_.pid_file, std::chrono::seconds(o_.timeout_seconds));
      if (!was.ok()) return Fail(was.status());
      keep_running = true;
      std::cout << "Stopped the running service (pid " << *pid << ") so that systemd runs it from now on."
                << std::endl;
    }
    if (Status st = MakeDirectories(UnitDirectory(), 0755); !st.ok()) return Fail(st);
    UnitSettings settings;
    settings.user = o_.username.value_or("root");
    settings.depend_on = o_.depend_on.value_or("");
    if (o_.instance.config) settings.config_path = inst_.config_path();
    std::string unit = RenderUnit(product_, inst_.name(), exe_, settings);
    if (Status st = WriteFileAtomic(unit_path_, unit, 0644); !st.ok()) return Fail(st);
    int rc = SystemctlPlain({"daemon-reload"});
    if (rc == kExitOk) rc = Systemctl("enable", unit_name_);
    if (rc != kExitOk) {
      // No half-installed unit is left behind, and an old one stays as it was.
      if (!existed) (void)RemoveFile(unit_path_);
      return rc;
    }
    if (legacy) {  // the new unit is in place: now the old one goes
      (void)RunProgram({SystemctlProgram(), "stop", legacy_name_});
      (void)RunProgram({SystemctlProgram(), "disable", legacy_name_});
      if (Status st = RemoveFile(legacy_path_); !st.ok()) return Fail(st);
      (void)RunProgram({SystemctlProgram(), "daemon-reload"});
      std::cout << "Removed the systemd unit " << legacy_name_ << " (the name used before this version)."
                << std::endl;
    }
    std::cout << "Service installed: " << Short(unit_name_) << std::endl;
    if (keep_running) {
      int restarted = Systemctl(existed ? "restart" : "start", unit_name_);
      if (restarted == kExitOk) std::cout << "Service started: " << Short(unit_name_) << std::endl;
      return restarted;
    }
    return kExitOk;
  }

  int Uninstall() {
#ifdef _WIN32
    return ScmUninstall();
#endif
    std::string unit = InstalledUnit();
    if (unit.empty()) {
      std::cout << "The systemd unit " << unit_path_ << " is not installed." << std::endl;
      return kExitOk;
    }
    std::cout << "Removing systemd service: " << Short(unit) << std::endl;
    (void)RunProgram({SystemctlProgram(), "stop", unit});
    (void)RunProgram({SystemctlProgram(), "disable", unit});
    if (Status st = RemoveFile(UnitDirectory() + "/" + unit); !st.ok()) return Fail(st);
    std::cout << "Service uninstalled" << std::endl;
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

#ifdef _WIN32
  // The Service Control Manager's side, with the real products' messages
  // (their WindowsServiceConfigurator).
  std::chrono::milliseconds Timeout() const { return std::chrono::seconds(o_.timeout_seconds); }

  // Stops the installed service if it runs: 1 stopped, 0 was not running, -1 failed (reported).
  int ScmStop() {
    auto st = QueryWindowsService(scm_name_);
    if (!st.ok()) {
      Fail(st.status());
      return -1;
    }
    if (st->state == ServiceState::kStopped || st->state == ServiceState::kStopPending) return 0;
    std::cout << "Stopping service..." << std::endl;
    if (Status stop = StopWindowsService(scm_name_, Timeout()); !stop.ok()) {
      std::cout << "The service could not be stopped" << std::endl;
      Fail(stop);
      return -1;
    }
    std::cout << "Service stopped" << std::endl;
    return 1;
  }

  int ScmStart() {
    auto st = QueryWindowsService(scm_name_);
    if (!st.ok()) return Fail(st.status());
    if (st->state == ServiceState::kRunning) return kExitOk;
    if (Status start = StartWindowsService(scm_name_, Timeout()); !start.ok()) {
      return Fail(start.WithContext(Describe(product_, inst_.name()) + " could not start"));
    }
    std::cout << "Service started" << std::endl;
    return kExitOk;
  }

  int ScmRestart() {
    std::cout << "Restarting service " << scm_name_ << std::endl;
    const int stopped = ScmStop();
    if (stopped < 0) return kExitFailed;
    if (stopped == 0) {
      std::cout << "Service " << scm_name_ << " wasn't restarted as it is not running." << std::endl;
      return kExitOk;
    }
    return ScmStart();
  }

  int ScmInstall() {
    const bool existed = WindowsServiceExists(scm_name_);
    bool keep_running = false;
    if (!existed) {
      if (auto pid = RunningPid(paths_.lock_file)) {
        // From now on the SCM runs the service: a process running outside
        // it would be left unmanaged.
        auto was = StopService(paths_.lock_file, paths_.pid_file, Timeout());
        if (!was.ok()) return Fail(was.status());
        keep_running = true;
        std::cout << "Stopped the running service (pid " << *pid
                  << ") so that the Service Control Manager runs it from now on." << std::endl;
      }
    }
    WindowsServiceSettings settings;
    settings.executable = exe_;
    settings.arguments = {"run", o_.instance.config ? "--config=" + inst_.config_path() : "--instance=" + inst_.name()};
    settings.description = WindowsServiceDescription(product_);
    settings.dependencies = {"LanmanWorkstation", "TCPIP"};
    if (o_.depend_on) settings.dependencies.push_back(*o_.depend_on);
    settings.username = o_.username.value_or("");
    settings.password = o_.password.value_or(std::getenv("OCTOPUS_SERVICE_PASSWORD") != nullptr
                                                 ? std::getenv("OCTOPUS_SERVICE_PASSWORD")
                                                 : "");
    if (Status st = InstallWindowsService(scm_name_, settings, existed || o_.reconfigure); !st.ok()) return Fail(st);
    std::cout << (existed || (o_.reconfigure && !o_.install) ? "Service reconfigured" : "Service installed")
              << std::endl;
    if (!settings.username.empty()) std::cout << "Service credentials set" << std::endl;
    return keep_running ? ScmStart() : kExitOk;
  }

  int ScmUninstall() {
    if (!WindowsServiceExists(scm_name_)) {
      std::cout << "The Windows service " << scm_name_ << " is not installed." << std::endl;
      return kExitOk;
    }
    if (ScmStop() < 0) return kExitFailed;
    if (Status st = UninstallWindowsService(scm_name_); !st.ok()) return Fail(st);
    std::cout << "Service uninstalled" << std::endl;
    return kExitOk;
  }

#endif

  Product product_;
  const ServiceOptions& o_;
  const Instance& inst_;
  ServicePaths paths_;
  std::string exe_;
  std::string unit_name_, unit_path_;
  std::string legacy_name_, legacy_path_;
#ifdef _WIN32
  std::string scm_name_ = WindowsServiceName(product_, inst_.name());  // after product_ and inst_
#endif
};

// Checks --username, --password and --dependOn; warns about what does not
// apply on Linux. Returns a usage message or "".
std::string CheckAccountOptions(ServiceOptions& o) {
  const bool writes_unit = o.install || o.reconfigure;
  // The real product's environment variables count only where they are used.
  if (!o.username && writes_unit) {
    if (const char* v = std::getenv("OCTOPUS_SERVICE_USERNAME"); v != nullptr && *v != '\0') o.username = v;
  }
  const bool password_env = writes_unit && std::getenv("OCTOPUS_SERVICE_PASSWORD") != nullptr;
  if (o.username) {
    const std::string& u = *o.username;
#ifdef _WIN32
    if (u.empty() || u.find_first_of("\t\r\n\"/:") != std::string::npos) return "--username: '" + u + "' is not a user name";
    if (writes_unit && !WindowsAccountExists(u)) return "--username: there is no user '" + u + "' here";
#else
    if (u.find('\\') != std::string::npos || u.find('@') != std::string::npos) {
      return "--username: '" + u + "' is a Windows account; on Linux give the name of a local user";
    }
    if (u.empty() || u.find_first_of(" \t\r\n:/") != std::string::npos) {
      return "--username: '" + u + "' is not a user name";
    }
    if (writes_unit && ::getpwnam(u.c_str()) == nullptr) return "--username: there is no user '" + u + "' here";
#endif
  }
  if (o.depend_on) {
    std::string& d = *o.depend_on;
#ifdef _WIN32
    if (d.empty() || d.find_first_of("\t\r\n/\\\"") != std::string::npos) {
      return "--dependOn: '" + d + "' is not a Windows service name";
    }
    if (writes_unit && !WindowsServiceExists(d)) {
      return "Unable to set dependency on service '" + d + "' as no service was found with that name.";
    }
#else
    if (d.empty() || d.find_first_of(" \t\r\n/\\\"'") != std::string::npos) {
      return "--dependOn: '" + d + "' is not a systemd unit name";
    }
    if (d.find('.') == std::string::npos) d += ".service";
#endif
  }
  if (!writes_unit && (o.username || o.depend_on || o.password)) {
    Warn("--username, --password and --dependOn are used only with --install or --reconfigure; ignored");
  } else if (o.password || password_env) {
#ifndef _WIN32
    Warn("--password is not used on Linux: systemd starts the service as the --username account, no password needed");
#endif
  }
  return "";
}

int RunService(Product product, ServiceOptions o) {
  if (!(o.start || o.stop || o.restart || o.status || o.reload || o.install || o.uninstall || o.reconfigure)) {
    return UsageError(
        "service needs at least one of --start, --stop, --restart, --reload, --status, --install, --uninstall, "
        "--reconfigure");
  }
  if (auto m = CheckAccountOptions(o); !m.empty()) return UsageError(m);
  std::vector<std::string> names;
  if (o.instance.instance == "*") {
    if (o.install || o.uninstall || o.reconfigure) {
      return UsageError("--instance * works with --start, --stop, --restart, --reload and --status only");
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
    auto unit = UnitName(name);
    int rc = !inst.ok()   ? Fail(inst.status())
             : !unit.ok() ? Fail(unit.status())
                          : ServiceRunner(product, o, *inst, *unit).Run();
    if (rank(rc) > rank(worst)) worst = rc;
  }
  return worst;
}

}  // namespace

int RunServiceProcess(Product product, const InstanceOptions& instance, const std::function<int()>& body) {
#ifdef _WIN32
  auto as_service = [&]() -> int {
    // No console: what the process prints goes where the built-in
    // supervisor puts it, <home>\Logs\service-output.log.
    if (auto inst = OpenInstance(product, instance); inst.ok()) {
      const std::string out = PathsFor(*inst).output_log;
      if (MakeDirectories(DirName(out), 0700).ok()) {
        std::FILE* f = nullptr;
        f = std::freopen(out.c_str(), "a", stdout);
        if (f != nullptr) f = std::freopen(out.c_str(), "a", stderr);
        if (f != nullptr) {
          std::setvbuf(stdout, nullptr, _IONBF, 0);
          std::setvbuf(stderr, nullptr, _IONBF, 0);
        }
      }
    }
    return body();
  };
  if (auto rc = RunAsWindowsService(WindowsServiceName(product, instance.instance), as_service)) return *rc;
#else
  (void)product;
  (void)instance;
#endif
  return body();
}

std::optional<std::string> RunningThumbprint(const Instance& instance) {
  const ServicePaths paths = PathsFor(instance);
  if (!RunningPid(paths.lock_file)) return std::nullopt;
  auto reply = SendControlRequest(paths.socket, Json{{"Command", "status"}}, DeadlineIn(std::chrono::seconds(5)));
  if (!reply.ok()) return std::nullopt;
  std::string tp = StringField(*reply, "Thumbprint");
  if (tp.empty()) return std::nullopt;
  return tp;
}

int ServerNotRunning(const Instance& instance) {
  std::cerr << "Error: the Octopus Server service for instance '" << instance.name()
            << "' is not running; start it with: Octopus.Server service --instance " << instance.name() << " --start"
            << std::endl;
  return kExitStopped;
}

ServicePaths PathsFor(const Instance& instance) {
  ServicePaths p;
  auto home = instance.config().GetString(keys::kHome);
  p.home = home.ok() && !home->empty() ? *home : DirName(instance.config_path());
  p.pid_file = p.home + "/service.pid";
  p.lock_file = p.home + "/service.lock";
  p.output_log = p.home + "/Logs/service-output.log";
  p.socket = p.home + "/service.sock";
  p.log_file = p.home + "/Logs/" + Traits(instance.product()).log_file;
  return p;
}

bool ServiceRunning(const Instance& instance) { return RunningPid(PathsFor(instance).lock_file).has_value(); }

Result<ServiceLock> LockInstanceService(const Instance& instance) {
  const ServicePaths paths = PathsFor(instance);
  // The service (often root) writes its lock, pid file and logs here: a home
  // someone else owns or can write to would let them redirect those writes.
  if (Status st = CheckPrivateDirectory(paths.home); !st.ok()) {
    return st.WithContext(Describe(instance.product(), instance.name()) + " cannot start");
  }
  if (FileExists(DirName(paths.log_file))) {
    if (Status st = CheckPrivateDirectory(DirName(paths.log_file)); !st.ok()) {
      return st.WithContext(Describe(instance.product(), instance.name()) + " cannot start");
    }
  }
  auto lock = LockService(paths.lock_file);
  if (!lock.ok() && lock.status().code() == StatusCode::kAlreadyExists) {
    // "it is already running (pid N)" -> "the ... service for instance 'X' is already running (pid N)"
    return AlreadyExists(Describe(instance.product(), instance.name()) + lock.status().message().substr(2));
  }
  return lock;
}

void SetupService(CommandTable& table) {
  auto o = std::make_shared<ServiceOptions>();
  Product p = table.product();
  table.Add(
      "service", "Starts, stops, restarts or installs the instance's service",
      [p, o] { return RunService(p, *o); },
      [o, p](CLI::App* sub) {
        o->instance.instance = Traits(p).default_instance;
        sub->add_option("--instance", o->instance.instance,
                        "Name of the instance, or * for every instance")
            ->default_str(Traits(p).default_instance)
            ->check(CLI::Validator(
                [](std::string& name) {
                  if (name == "*") return std::string();
                  Status st = ValidateInstanceName(name);
                  return st.ok() ? std::string() : st.message();
                },
                "NAME|*", "instance name"));
        sub->add_option("--config", o->instance.config,
                        "Path of the instance's configuration file");
        sub->add_flag("--start", o->start, "Start the service and wait until it is ready");
        sub->add_flag("--stop", o->stop,
                      "Stop the service (gracefully, then forcibly after the timeout)");
        sub->add_flag("--restart", o->restart, "Stop, then start the service");
        sub->add_flag(
            "--reload", o->reload,
            "Make the running service use the stored certificate (and trust) without a restart");
        sub->add_flag("--status", o->status,
                      "Say whether the service runs (exit 0) or not (exit 3), and the certificate "
                      "(and trust) it uses");
        sub->add_option("--format", o->format, "Output of --status: text or json")
            ->check(CLI::IsMember({"text", "json"}, CLI::ignore_case))
            ->default_str("text");
#ifdef _WIN32
        sub->add_flag("--install", o->install,
                      "Install the Windows service (OctopusDeploy Tentacle[: NAME] / OctopusDeploy[: NAME]), "
                      "starting automatically");
        sub->add_flag("--uninstall", o->uninstall, "Stop and remove the Windows service");
        sub->add_flag("--reconfigure", o->reconfigure, "Reconfigure the Windows service");
        sub->add_option("--username,--user", o->username,
                        "Account the Windows service runs as (default LocalSystem; also "
                        "%OCTOPUS_SERVICE_USERNAME%)");
        sub->add_option("--password", o->password,
                        "Password of --username (also %OCTOPUS_SERVICE_PASSWORD%)");
        sub->add_option("--dependOn", o->depend_on, "A Windows service this one depends on");
#else
        sub->add_flag("--install", o->install,
                      "Install the systemd unit <instance>.service and enable it");
        sub->add_flag("--uninstall", o->uninstall, "Stop, disable and remove the systemd unit");
        sub->add_flag("--reconfigure", o->reconfigure,
                      "Rewrite the systemd unit (and restart it if it runs)");
        sub->add_option("--username,--user", o->username,
                        "User the systemd unit runs the service as (default root; also "
                        "$OCTOPUS_SERVICE_USERNAME)");
        sub->add_option("--password", o->password,
                        "Accepted for scripts written for Windows; not used on Linux");
        sub->add_option("--dependOn", o->depend_on,
                        "A unit the service starts after (added to After=)");
#endif
        sub->add_option("--timeout", o->timeout_seconds,
                        "Seconds to wait for start-up or shut-down")
            ->check(CLI::Range(1, 3600))
            ->default_str("60");
      });
}

}  // namespace octo::cli
