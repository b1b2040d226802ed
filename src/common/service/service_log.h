// Loggers for the service processes: a rotating file in the instance home
// (10 MiB x 5) and, when run in the foreground, the console too. Lines never
// hold a key or password: callers log thumbprints and addresses only.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>

#include "common/base/status.h"

namespace octo {

Result<std::shared_ptr<spdlog::logger>> MakeServiceLogger(const std::string& name, const std::string& file,
                                                          bool console);

}  // namespace octo
