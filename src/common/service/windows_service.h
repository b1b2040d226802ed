// The Windows Service Control Manager, for `service --install/--uninstall/
// --start/--stop/--restart/--status` of an installed instance, and for the
// `run` process the SCM starts. Windows only (windows_service_win.cc).
//
// Names as the real products name their services: "OctopusDeploy Tentacle"
// for the default Tentacle instance, "OctopusDeploy Tentacle: NAME" for
// another; "OctopusDeploy" and "OctopusDeploy: NAME" for the Server. A
// service runs `"EXE" run --instance="NAME"` (or --config="PATH"), starts
// automatically, and depends on LanmanWorkstation and TCPIP (and --dependOn).
#pragma once

#ifdef _WIN32

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/config/instance.h"

namespace octo {

std::string WindowsServiceName(Product product, const std::string& instance);

// "Octopus Deploy: Tentacle deployment agent" / "Octopus Deploy: Octopus Server".
std::string WindowsServiceDescription(Product product);

enum class ServiceState { kAbsent, kStopped, kStartPending, kStopPending, kRunning, kOther };
// "Stopped", "Running"... as the real products print a ServiceControllerStatus.
const char* ServiceStateName(ServiceState state);

struct WindowsServiceStatus {
  ServiceState state = ServiceState::kAbsent;
  int pid = 0;  // while it runs
};
// kAbsent when no service has that name; an error when the SCM cannot be asked.
Result<WindowsServiceStatus> QueryWindowsService(const std::string& name);

struct WindowsServiceSettings {
  std::string executable;                 // the .exe the service runs
  std::vector<std::string> arguments;     // after the executable: run --instance=NAME
  std::string description;
  std::vector<std::string> dependencies;  // LanmanWorkstation, TCPIP, and --dependOn
  std::string username;                   // "" for LocalSystem
  std::string password;
};

// Creates the service, or (reconfigure) changes an existing one to these
// settings. PermissionDenied with the real products' elevation message when
// the SCM refuses.
Status InstallWindowsService(const std::string& name, const WindowsServiceSettings& settings, bool reconfigure);
Status UninstallWindowsService(const std::string& name);
// Start or stop, waiting up to `timeout` for Running or Stopped.
Status StartWindowsService(const std::string& name, std::chrono::milliseconds timeout);
Status StopWindowsService(const std::string& name, std::chrono::milliseconds timeout);

// Whether a service of this name exists (dependencies are checked so).
bool WindowsServiceExists(const std::string& name);

// Whether the account ("user", ".\\user", "DOMAIN\\user", "user@domain") exists.
bool WindowsAccountExists(const std::string& account);

// "This command requires elevation. Please re-run from an elevated shell /
// as a user that is a member of the local administrators group."
Status ElevationRequired();

// In `run`: when the SCM started this process as service `name`, runs
// `body` as that service (reporting Start Pending, then Running at
// NotifyReady, Stop Pending at the SCM's stop, Stopped with body's exit code
// at the end) and returns its exit code; nullopt, at once, when this process
// was not started by the SCM (a console, the built-in supervisor).
std::optional<int> RunAsWindowsService(const std::string& name, const std::function<int()>& body);

// True inside RunAsWindowsService's body.
bool RunningAsWindowsService();

// Called by NotifyReady/NotifyFailed: reports Running (or Stopped) to the
// SCM when this process runs as its service; no-op otherwise.
void ReportWindowsServiceStarted(bool ok);

}  // namespace octo

#endif  // _WIN32
