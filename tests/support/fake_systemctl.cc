#include "support/fake_systemctl.h"

#include <filesystem>

#include "support/process.h"
#include "support/temp_dir.h"

namespace octo::testing {

FakeSystemctl::FakeSystemctl(const std::string& dir)
    : path_(dir + "/systemctl"),
      log_(dir + "/systemctl.log"),
      active_marker_(dir + "/systemctl.active") {
  WriteTestFile(
      path_,
      "#!/bin/sh\n"
      "# Stand-in for systemctl: records its arguments; is-active answers per a marker file.\n"
      "echo \"$*\" >> '" +
          log_ +
          "'\n"
          "if [ \"$1\" = is-active ]; then\n"
          "  [ -e '" +
          active_marker_ +
          "' ] && exit 0\n"
          "  exit 3\n"
          "fi\n"
          "exit 0\n");
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all);
}

std::vector<std::string> FakeSystemctl::Calls() const {
  return std::filesystem::exists(log_) ? SplitLines(ReadTestFile(log_))
                                       : std::vector<std::string>{};
}

void FakeSystemctl::ClearCalls() const { std::filesystem::remove(log_); }

void FakeSystemctl::SetActive(bool active) const {
  if (active) {
    WriteTestFile(active_marker_, "");
  } else {
    std::filesystem::remove(active_marker_);
  }
}

}  // namespace octo::testing
