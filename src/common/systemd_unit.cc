#include "common/systemd_unit.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/file_util.h"

namespace octo {
namespace {

// Quotes a word for ExecStart= (systemd's C-like quoting).
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '%') {
      out += "%%";
      continue;
    }
    if (c == '$') {
      out += "$$";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

std::string UnitDirectory() {
  const char* v = std::getenv("OCTOPUS_SYSTEMD_UNIT_DIR");
  return v != nullptr && *v != '\0' ? AbsolutePath(v) : "/etc/systemd/system";
}

std::string SystemctlProgram() {
  const char* v = std::getenv("OCTOPUS_SYSTEMCTL");
  return v != nullptr && *v != '\0' ? v : "systemctl";
}

std::string UnitName(Product product, const std::string& instance) {
  std::string escaped;
  for (size_t i = 0; i < instance.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(instance[i]);
    bool ok = std::isalnum(c) || c == '_' || c == ':' || (c == '.' && i != 0) || c == '-';
    if (ok) {
      escaped.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      escaped += buf;
    }
  }
  return std::string(product == Product::kServer ? "octopus-server-" : "tentacle-") + escaped + ".service";
}

std::string RenderUnit(Product product, const std::string& instance, const std::string& executable,
                       const std::string& config_path) {
  const bool server = product == Product::kServer;
  std::string exec = Quote(executable) + " run " + Quote("--instance=" + instance);
  if (!config_path.empty()) exec += " " + Quote("--config=" + config_path);
  return std::string("[Unit]\n") + "Description=" + (server ? "Octopus Server" : "Octopus Tentacle") +
         " (instance " + instance + ")\n" +
         "After=network-online.target\n"
         "Wants=network-online.target\n"
         "\n"
         "[Service]\n"
         "Type=simple\n"
         "ExecStart=" + exec + "\n"
         "Restart=always\n"
         "RestartSec=5\n"
         "TimeoutStopSec=30\n"
         "KillMode=mixed\n"
         "\n"
         "[Install]\n"
         "WantedBy=multi-user.target\n";
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

}  // namespace octo
