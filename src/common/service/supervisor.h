// The built-in service supervisor: runs a service process detached, knows
// whether it is running, and stops it gracefully (supervisor_posix.cc,
// supervisor_win.cc).
//
// Start-up handshake: the supervisor passes the write end of a pipe to the
// service in the environment variable OCTO_READY_FD. The service writes
// "READY <pid>\n" once it is serving, or "ERROR <code> <one line>\n" if it
// cannot start (<code> is StatusCodeName's, so the starter gets the
// service's Status back whole); the supervisor waits for one of these (or the pipe closing) until a
// deadline. It gets a minimal environment: PATH, HOME, LANG, LC_*, TZ, USER,
// OCTOPUS_CONFIG_ROOT and the sanitizers' options, nothing else (a password
// kept in OCTOPUS_PFX_PASSWORD for --pfx-password-env does not follow it).
//
// Identity: the running service holds an exclusive POSIX record lock
// (fcntl F_SETLK) on its instance's lock file for its whole life, taken
// before it binds anything. Whether a service runs, and its pid, come from
// the kernel's answer about that lock (F_GETLK) and nothing else: a stale or
// forged pid file can never make `service --stop` signal another process.
// The pid file is still written, for people and tools that read it.
//
// On Windows the pipe is an anonymous pipe whose inherited handle is in
// OCTO_READY_FD; the service is created detached (no console, its own
// process group) with its output appended to the log. The lock is a
// LockFileEx byte-range lock far past the file's end, and the holder writes
// its pid at the file's start, since Windows cannot say who holds a lock.
// The environment is the caller's without OCTOPUS_PFX_PASSWORD. StopService
// sets the service's stop event (StopEventName) and, after the grace
// period, terminates it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace octo {

inline constexpr char kReadyFdVariable[] = "OCTO_READY_FD";

struct ServiceProcess {
  std::vector<std::string> argv;  // argv[0] is the executable's path
  std::string lock_file;          // the instance's service lock (see above)
  std::string log_file;           // standard output and error are appended here
};

// The lock a running service holds. Move-only; released when destroyed or
// when the process exits. The service must never open and close its lock
// file again while it holds the lock (POSIX record locks are per process).
class ServiceLock {
 public:
  ServiceLock() = default;
  explicit ServiceLock(std::intptr_t fd) : fd_(fd) {}
  ServiceLock(ServiceLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ServiceLock& operator=(ServiceLock&& o) noexcept;
  ServiceLock(const ServiceLock&) = delete;
  ServiceLock& operator=(const ServiceLock&) = delete;
  ~ServiceLock();

 private:
  std::intptr_t fd_ = -1;  // a descriptor on POSIX, a HANDLE on Windows
};

// Takes the lock (the file is made 0600, never through a symlink).
// AlreadyExists "it is already running (pid N)" when another process holds
// it (that code means exactly this to callers of the service functions).
Result<ServiceLock> LockService(const std::string& lock_file);

// Starts the process detached (new session, reparented away from the
// caller) and waits for its readiness line. Returns its pid, or the reason
// it failed: the service's own Status when it sent an ERROR line (its code
// and message; AlreadyExists when it lost a race to another start), else
// FailedPrecondition. AlreadyExists if it is already running.
Result<int> StartService(const ServiceProcess& service, std::chrono::milliseconds timeout);

// The pid of the process holding the service lock, or nullopt if none does.
std::optional<int> RunningPid(const std::string& lock_file);

// Sends SIGTERM to the lock's holder and waits until it has let go; after
// `grace`, SIGKILL. Removes the pid file. Returns whether it was running.
Result<bool> StopService(const std::string& lock_file, const std::string& pid_file,
                         std::chrono::milliseconds grace);

// In the service process: tells a waiting supervisor the outcome (no-op when
// not started by one), and writes/removes the pid file. After NotifyFailed
// the supervisor waits for this process to exit before it reports.
void NotifyReady();
void NotifyFailed(const Status& status);
// The Status an "ERROR <code> <message>" line carries; a line without a
// known code is FailedPrecondition with the whole text.
Status ParseErrorLine(const std::string& line);
Status WritePidFile(const std::string& path);

// Runs a program to completion (standard output and error inherited),
// returning its exit code; NotFound when it cannot be run. POSIX searches
// PATH (execvp); Windows does as CreateProcessW does.
Result<int> RunProgram(const std::vector<std::string>& argv);

// The path of the running executable (/proc/self/exe; GetModuleFileNameW).
std::string SelfExecutable();

#ifdef _WIN32
// The event a service waits on for its stop (set by StopService, by the
// Service Control Manager's stop, or by Ctrl+C): "Local\\OctopusStop-<pid>".
std::string StopEventName(int pid);
#endif

}  // namespace octo

namespace octo {
// True when this process was started by StartService (and has not yet
// reported): it then logs to its file only.
bool StartedBySupervisor();
}  // namespace octo
