#include "common/service/service_log.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/base/file_util.h"

namespace octo {

Result<std::shared_ptr<spdlog::logger>> MakeServiceLogger(const std::string& name, const std::string& file,
                                                          bool console) {
  OCTO_RETURN_IF_ERROR(MakeDirectories(DirName(file), 0700));
  // The directory is private to us, so nobody else can put a link in the
  // log's place; and a link found there is refused, never followed.
  OCTO_RETURN_IF_ERROR(CheckPrivateDirectory(DirName(file)));
  if (IsNonRegularFile(file)) {
    return PermissionDenied("the log file " + file + " is not a regular file (a symbolic link?); remove it");
  }
  std::vector<spdlog::sink_ptr> sinks;
  try {
    sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(file, 10 * 1024 * 1024, 5));
  } catch (const spdlog::spdlog_ex& e) {
    return Internal(std::string("cannot open the log file ") + file + ": " + e.what());
  }
  if (console) {
    auto out = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    out->set_pattern("%v");
    sinks.push_back(out);
  }
  auto log = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
  sinks[0]->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  log->set_level(spdlog::level::info);
  log->flush_on(spdlog::level::info);
  return log;
}

}  // namespace octo
