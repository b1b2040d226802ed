// ControlledServer: the running Octopus Server as the rotation commands
// see it (rotation/server_rotation.h's RunningServer), through its control
// socket: reload, health-check every target, and log lines.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/rotation/server_rotation.h"

namespace octo::server {

class ControlledServer : public RunningServer {
 public:
  // `by`: the command, named in the Server's log.
  ControlledServer(std::string socket, std::string by) : socket_(std::move(socket)), by_(std::move(by)) {}

  Result<std::string> Reload() override;
  Result<std::vector<HealthResult>> CheckAll() override;
  void Log(const std::vector<std::string>& lines) override;

 private:
  Result<Json> Ask(const Json& request, std::chrono::seconds bound);

  std::string socket_;
  std::string by_;
};

// Takes the instance's rotation lock (<config>.rotation.lock) for the rest of
// the command, without waiting: one rotate-certificate or
// rotate-target-certificate at a time. FailedPrecondition, in one line
// naming the instance, when another holds it.
Result<FileLock> LockRotation(const Instance& instance);

}  // namespace octo::server
