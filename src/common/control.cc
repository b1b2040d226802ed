#include "common/control.h"

#include "common/channel.h"

namespace octo {

Result<Json> SendControlRequest(const std::string& socket_path, const Json& request, Deadline deadline) {
  auto fd = ConnectUnix(socket_path, deadline);
  if (!fd.ok()) {
    if (fd.status().code() == StatusCode::kNotFound || fd.status().message().find("Connection refused") != std::string::npos) {
      return NotFound("the service is not running (nothing listens on " + socket_path + ")");
    }
    return fd.status();
  }
  OCTO_RETURN_IF_ERROR(WriteAllFd(fd->get(), request.dump() + "\n", deadline));
  auto line = ReadLineFd(fd->get(), kMaxControlLine, deadline);
  if (!line.ok()) return line.status().WithContext("no answer from the service");
  Json reply = Json::parse(*line, nullptr, false);
  if (!reply.is_object()) return Corrupt("the service's answer is not JSON");
  if (reply.contains("Error")) return FailedPrecondition(StringField(reply, "Error", "the service reported an error"));
  return reply;
}

}  // namespace octo
