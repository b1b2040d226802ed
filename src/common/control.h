// The local control channel between the CLI and a running Server service: a
// Unix domain socket in the instance home, mode 0600 (only its owner can
// use it). One JSON object per line each way.
#pragma once

#include <chrono>
#include <string>

#include "common/config_file.h"
#include "common/net.h"

namespace octo {

inline constexpr size_t kMaxControlLine = 4 * 1024 * 1024;

// Sends `request` and reads the reply. NotFound when nothing listens there
// (the service is not running).
Result<Json> SendControlRequest(const std::string& socket_path, const Json& request, Deadline deadline);

}  // namespace octo
