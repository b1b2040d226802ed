// The control channel's messages, on every platform; the transport is
// control_posix.cc (a Unix socket) or control_win.cc (a named pipe).
#include "common/channel/control.h"

#include "common/channel/channel.h"

namespace octo {

std::string ControlPeer::Describe() const { return "pid " + std::to_string(pid) + ", " + account; }

std::string AnswerControlLine(const std::string& line, const ControlServer::Handler& handler, const ControlPeer& peer) {
  Json request = Json::parse(line, nullptr, false);
  Json reply = request.is_object() ? handler(request, peer) : Json{{"Error", "the request is not a JSON object"}};
  return reply.dump() + "\n";
}

Result<Json> ParseControlReply(const Result<std::string>& line) {
  if (!line.ok()) return line.status().WithContext("no answer from the service");
  Json reply = Json::parse(*line, nullptr, false);
  if (!reply.is_object()) return Corrupt("the service's answer is not JSON");
  if (reply.contains("Error")) return FailedPrecondition(StringField(reply, "Error", "the service reported an error"));
  return reply;
}

}  // namespace octo
