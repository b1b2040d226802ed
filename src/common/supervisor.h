// The built-in service supervisor: runs a service process detached, knows
// whether it is running, and stops it gracefully. POSIX.
//
// Start-up handshake: the supervisor passes the write end of a pipe to the
// service in the environment variable OCTO_READY_FD. The service writes
// "READY <pid>\n" once it is serving, or "ERROR <one line>\n" if it cannot
// start; the supervisor waits for one of these (or the pipe closing) until a
// deadline. The service keeps a pid file while it runs. It gets a minimal
// environment (PATH, HOME, LANG, LC_*, TZ, USER, OCTOPUS_*, sanitizer options).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace octo {

inline constexpr char kReadyFdVariable[] = "OCTO_READY_FD";

struct ServiceProcess {
  std::vector<std::string> argv;  // argv[0] is the executable's path
  std::string pid_file;
  std::string log_file;           // standard output and error are appended here
};

// Starts the process detached (new session, reparented away from the
// caller) and waits for its readiness line. Returns its pid, or the reason
// it failed (the service's own ERROR line when it sent one). FailedPrecondition
// if it is already running.
Result<int> StartService(const ServiceProcess& service, std::chrono::milliseconds timeout);

// The pid of the running service, or nullopt if it is not running (a stale
// pid file, a dead or zombie process, or a pid now used by another program
// count as not running).
std::optional<int> RunningPid(const std::string& pid_file, const std::string& executable);

// Sends SIGTERM and waits until the process is gone; after `grace`, SIGKILL.
// OK if it was not running. Returns whether it was running.
Result<bool> StopService(const std::string& pid_file, const std::string& executable,
                         std::chrono::milliseconds grace);

// In the service process: tells a waiting supervisor the outcome (no-op when
// not started by one), and writes/removes the pid file.
void NotifyReady();
void NotifyFailed(const std::string& message);
Status WritePidFile(const std::string& path);

// The path of the running executable (/proc/self/exe).
std::string SelfExecutable();

}  // namespace octo

namespace octo {
// True when this process was started by StartService (and has not yet
// reported): it then logs to its file only.
bool StartedBySupervisor();
}  // namespace octo
