#include "server/controlled_server.h"

#include "common/channel/channel.h"
#include "common/channel/control.h"

namespace octo::server {

Result<std::string> ControlledServer::Reload() {
  auto reply = Ask(Json{{"Command", "reload"}, {"By", by_}}, std::chrono::seconds(30));
  if (!reply.ok()) return reply.status();
  return StringField(*reply, "Thumbprint");
}

void ControlledServer::Log(const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  (void)Ask(Json{{"Command", "log"}, {"By", by_}, {"Lines", lines}}, std::chrono::seconds(10));
}

Result<std::vector<HealthResult>> ControlledServer::CheckAll() {
  auto reply = Ask(Json{{"Command", "health-check"}, {"Names", Json::array()}}, std::chrono::seconds(600));
  if (!reply.ok()) return reply.status();
  std::vector<HealthResult> out;
  if (reply->contains("Results") && (*reply)["Results"].is_array()) {
    for (const auto& j : (*reply)["Results"]) out.push_back(HealthResult::FromJson(j));
  }
  return out;
}

Result<Json> ControlledServer::Ask(const Json& request, std::chrono::seconds bound) {
  auto reply = SendControlRequest(socket_, request, DeadlineIn(bound));
  if (!reply.ok()) return reply.status();
  if (reply->contains("Error")) return FailedPrecondition(StringField(*reply, "Error"));
  return reply;
}

Result<FileLock> LockRotation(const Instance& instance) {
  auto lock = LockFile(instance.config_path() + ".rotation", std::chrono::milliseconds(0));
  if (!lock.ok() && lock.status().code() == StatusCode::kFailedPrecondition) {
    return FailedPrecondition("another rotation is running for instance '" + instance.name() +
                              "'; wait for it to finish, or see rotate-certificate --status");
  }
  return lock;
}

}  // namespace octo::server
