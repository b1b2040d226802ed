// `service`: start, stop, restart and query an instance's service with the
// built-in supervisor, or install it as a systemd unit (then start, stop and
// restart go through systemctl). Shared by both executables.
#pragma once

#include <functional>
#include <string>

#include "common/config/instance.h"
#include "common/service/supervisor.h"
#include "frontend/cli.h"

namespace octo::cli {

// Where an instance's running service keeps its files.
struct ServicePaths {
  std::string home;
  std::string pid_file;     // <home>/service.pid (for people; never trusted)
  std::string lock_file;    // <home>/service.lock, held by the running service
  std::string output_log;   // <home>/Logs/service-output.log (standard output and error)
  std::string socket;       // <home>/service.sock (the control socket, control.h)
  std::string log_file;     // <home>/Logs/OctopusServer.txt | OctopusTentacle.txt
};
ServicePaths PathsFor(const Instance& instance);

// Exit code of `service --status` for a stopped service.
inline constexpr int kExitStopped = 3;

void SetupService(CommandTable& table);

// Whether the instance's service is running now (built-in supervisor or
// systemd, as far as its pid file tells).
bool ServiceRunning(const Instance& instance);

// The thumbprint of the certificate the instance's running service presents,
// asked of the service itself; nullopt when it does not run (or answer).
std::optional<std::string> RunningThumbprint(const Instance& instance);

// Prints the one "not running" error of the Server's commands that need its
// service ("Error: the Octopus Server service for instance 'X' is not
// running; start it with: ...") and returns kExitStopped.
int ServerNotRunning(const Instance& instance);

// Runs `body`, the service process of `run`/`agent`: on Windows, as the
// Service Control Manager's service when the SCM started this process
// (windows_service.h); else as it is.
int RunServiceProcess(Product product, const InstanceOptions& instance, const std::function<int()>& body);

// For `run`/`agent`, before they bind anything: takes the instance's service
// lock for the life of the process. AlreadyExists "the ... service for
// instance 'X' is already running (pid N)" when another process holds it.
Result<ServiceLock> LockInstanceService(const Instance& instance);

}  // namespace octo::cli
