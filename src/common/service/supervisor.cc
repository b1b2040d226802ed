// What the built-in supervisor does the same way on every platform: the
// start-up report's lines and the pid file. The processes, the lock and the
// stop are in supervisor_posix.cc and supervisor_win.cc.
#include "common/service/supervisor.h"

#include "common/base/file_util.h"
#include "common/service/supervisor_os.h"

namespace octo {

Status ParseErrorLine(const std::string& line) {
  std::string rest = line.rfind("ERROR ", 0) == 0 ? line.substr(6) : line;
  while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r')) rest.pop_back();
  const auto space = rest.find(' ');
  const auto code = StatusCodeFromName(rest.substr(0, space));
  if (!code || *code == StatusCode::kOk) return FailedPrecondition(rest);  // no code: a service of another version
  return Status(*code, space == std::string::npos ? std::string() : rest.substr(space + 1));
}

void NotifyReady() { NotifySupervisor("READY " + std::to_string(CurrentPid()) + "\n", true); }

void NotifyFailed(const Status& status) {
  std::string one_line = status.message();
  for (auto& c : one_line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  const StatusCode code = status.ok() ? StatusCode::kInternal : status.code();
  NotifySupervisor(std::string("ERROR ") + StatusCodeName(code) + " " + one_line + "\n", false);
}

Status WritePidFile(const std::string& path) {
  return WriteFileAtomic(path, std::to_string(CurrentPid()) + "\n", 0644);
}

}  // namespace octo
