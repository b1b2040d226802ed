#include "common/service/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "common/base/file_util.h"
#include "common/base/net.h"
#include "common/service/supervisor_os.h"

namespace octo {
namespace {

int ReadyFd() {
  const char* v = std::getenv(kReadyFdVariable);
  if (v == nullptr) return -1;
  int fd = std::atoi(v);
  ::unsetenv(kReadyFdVariable);
  return fd > 2 ? fd : -1;
}

int g_ready_fd = -2;  // -2: not looked up yet

// Writes the one start-up report. After READY the pipe is closed: the
// service goes on. After ERROR it is kept open (but not passed to any child)
// so that it closes only as this process exits: the starter waits for that,
// and a failed start never leaves a process on its way out behind it.
void Notify(const std::string& line, bool close_now) {
  if (g_ready_fd == -2) g_ready_fd = ReadyFd();
  if (g_ready_fd < 0) return;
  (void)!::write(g_ready_fd, line.data(), line.size());
  if (close_now) {
    ::close(g_ready_fd);
  } else {
    (void)::fcntl(g_ready_fd, F_SETFD, FD_CLOEXEC);
  }
  g_ready_fd = -1;
}

std::string ReadLink(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return "";
  buf[n] = '\0';
  std::string s = buf;
  const std::string deleted = " (deleted)";
  if (s.size() > deleted.size() && s.compare(s.size() - deleted.size(), deleted.size(), deleted) == 0) {
    s.resize(s.size() - deleted.size());
  }
  return s;
}

bool Alive(int pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = content.rfind(')');
  if (close != std::string::npos && close + 2 < content.size()) {
    char state = content[close + 2];
    if (state == 'Z' || state == 'X') return false;
  }
  return true;
}

}  // namespace

std::string SelfExecutable() { return ReadLink("/proc/self/exe"); }

int CurrentPid() { return static_cast<int>(::getpid()); }

void NotifySupervisor(const std::string& line, bool close_now) { Notify(line, close_now); }

ServiceLock& ServiceLock::operator=(ServiceLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(static_cast<int>(fd_));
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

ServiceLock::~ServiceLock() {
  if (fd_ >= 0) ::close(static_cast<int>(fd_));
}

Result<ServiceLock> LockService(const std::string& lock_file) {
  int fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return PosixError("cannot open the service lock " + lock_file, errno);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd, F_SETLK, &fl) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EACCES || e == EAGAIN) {
      auto holder = RunningPid(lock_file);
      return AlreadyExists("it is already running" +
                                (holder ? " (pid " + std::to_string(*holder) + ")" : std::string()));
    }
    return PosixError("cannot lock " + lock_file, e);
  }
  return ServiceLock(fd);
}

std::optional<int> RunningPid(const std::string& lock_file) {
  int fd = ::open(lock_file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  const int rc = ::fcntl(fd, F_GETLK, &fl);
  ::close(fd);
  if (rc != 0 || fl.l_type == F_UNLCK || fl.l_pid <= 0) return std::nullopt;
  return static_cast<int>(fl.l_pid);
}

namespace {

// Signals `pid` only while it still holds the lock: through a pidfd taken
// before the check, so a pid reused in between is never signalled.
bool SignalHolder(const std::string& lock_file, int pid, int sig) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    bool sent = false;
    if (RunningPid(lock_file) == pid) {
      sent = ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0;
    }
    ::close(pidfd);
    return sent;
  }
  if (errno != ENOSYS) return false;  // gone already
  return RunningPid(lock_file) == pid && ::kill(pid, sig) == 0;
}

}  // namespace

Result<int> StartService(const ServiceProcess& service, std::chrono::milliseconds timeout) {
  if (auto pid = RunningPid(service.lock_file)) {
    return AlreadyExists("it is already running (pid " + std::to_string(*pid) + ")");
  }
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return PosixError("pipe", errno);
  if (Status st = CheckPrivateDirectory(DirName(service.log_file)); !st.ok()) return st;
  int log = ::open(service.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (log < 0) {
    int e = errno;
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return PosixError("cannot open the log file " + service.log_file, e);
  }
  pid_t child = ::fork();
  if (child < 0) {
    int e = errno;
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    ::close(log);
    return PosixError("fork", e);
  }
  if (child == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);  // the grandchild is the service, reparented away from us
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    int ready = ::dup(pipefd[1]);  // without O_CLOEXEC: it survives exec
    // A minimal environment: whatever the caller's shell held (a password in
    // an environment variable, say) does not follow the service.
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string var = *e;
      std::string name = var.substr(0, var.find('='));
      if (name == "PATH" || name == "HOME" || name == "LANG" || name == "TZ" || name == "USER" ||
          name.rfind("LC_", 0) == 0 || name == "OCTOPUS_CONFIG_ROOT" || name == "ASAN_OPTIONS" ||
          name == "UBSAN_OPTIONS" || name == "LSAN_OPTIONS" || name == "TSAN_OPTIONS" ||
          // The polling settings a service reads from its environment (no secrets).
          name == "TentaclePollingConnectionCount" || name == "OCTOPUS_POLLING_RETRY_MIN_MS" ||
          name == "OCTOPUS_POLLING_RETRY_MAX_MS") {
        env.push_back(var);
      }
    }
    env.push_back(std::string(kReadyFdVariable) + "=" + std::to_string(ready));
    std::vector<char*> envp;
    for (auto& v : env) envp.push_back(v.data());
    envp.push_back(nullptr);
    std::vector<char*> args;
    for (const auto& a : service.argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execve(args[0], args.data(), envp.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(pipefd[1]);
  ::close(log);
  int status = 0;
  ::waitpid(child, &status, 0);  // the intermediate child exits at once
  Fd reader(pipefd[0]);
  SetNonBlocking(reader.get());
  Deadline deadline = DeadlineIn(timeout);
  std::string got;
  for (;;) {
    Status w = WaitFd(reader.get(), POLLIN, deadline);
    if (!w.ok()) return FailedPrecondition("it did not report ready within " + std::to_string(timeout.count() / 1000) +
                                           " seconds (see " + service.log_file + ")");
    char buf[512];
    ssize_t n = ::read(reader.get(), buf, sizeof buf);
    if (n > 0) {
      got.append(buf, static_cast<size_t>(n));
      if (got.find('\n') != std::string::npos) break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    break;  // closed without a word: it exited
  }
  if (got.rfind("READY ", 0) == 0) return std::atoi(got.c_str() + 6);
  if (got.rfind("ERROR ", 0) == 0) {
    // The failed service holds its end until it exits: wait for that (for a
    // bounded time), so the caller never sees a second process of the
    // instance after being told the start failed or lost a race.
    Deadline exit_deadline = std::min(deadline, DeadlineIn(std::chrono::milliseconds(5000)));
    for (;;) {
      if (!WaitFd(reader.get(), POLLIN, exit_deadline).ok()) break;
      char buf[512];
      ssize_t n = ::read(reader.get(), buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
    }
    return ParseErrorLine(got);
  }
  return FailedPrecondition("it exited during start-up (see " + service.log_file + ")");
}

Result<int> RunProgram(const std::vector<std::string>& argv) {
  pid_t pid = ::fork();
  if (pid < 0) return PosixError("fork", errno);
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);  // reported by the parent, as one line
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return PosixError("waitpid", errno);
  }
  if (!WIFEXITED(status)) return Internal(argv[0] + " was killed by a signal");
  if (WEXITSTATUS(status) == 127) return NotFound("cannot run " + argv[0] + " (not found, or not executable)");
  return WEXITSTATUS(status);
}


Result<bool> StopService(const std::string& lock_file, const std::string& pid_file,
                         std::chrono::milliseconds grace) {
  auto pid = RunningPid(lock_file);
  if (!pid) {
    (void)RemoveFile(pid_file);  // stale: whatever pid it names is not ours to signal
    return false;
  }
  auto held = [&] { return RunningPid(lock_file) == *pid; };
  if (!SignalHolder(lock_file, *pid, SIGTERM) && held()) {
    return PosixError("cannot stop pid " + std::to_string(*pid), errno);
  }
  Deadline deadline = DeadlineIn(grace);
  while (held() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (held()) {
    (void)SignalHolder(lock_file, *pid, SIGKILL);
    Deadline hard = DeadlineIn(std::chrono::milliseconds(5000));
    while (held() && Clock::now() < hard) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The lock is let go as the process exits; wait for the exit itself too,
  // so that its port and files are free when we return.
  Deadline gone = DeadlineIn(std::chrono::milliseconds(5000));
  while (Alive(*pid) && Clock::now() < gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  (void)RemoveFile(pid_file);
  return true;
}

}  // namespace octo

namespace octo {
bool StartedBySupervisor() {
  if (g_ready_fd == -2) g_ready_fd = ReadyFd();
  return g_ready_fd >= 0;
}
}  // namespace octo
