#include "support/fake_systemctl.h"

#include <filesystem>

#include "support/process.h"
#include "support/temp_dir.h"

namespace octo::testing {

FakeSystemctl::FakeSystemctl(const std::string& dir)
    : path_(dir + "/systemctl"),
      log_(dir + "/systemctl.log"),
      active_marker_(dir + "/systemctl.active"),
      fail_marker_(dir + "/systemctl.fail") {
  WriteTestFile(
      path_,
      "#!/bin/sh\n"
      "# Stand-in for systemctl: records its arguments; is-active answers per a marker file;\n"
      "# a fail file holds the exit code of every call.\n"
      "echo \"$*\" >> '" +
          log_ +
          "'\n"
          "if [ -e '" +
          fail_marker_ + "' ]; then exit \"$(cat '" + fail_marker_ +
          "')\"; fi\n"
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

void FakeSystemctl::FailWith(int exit_code) const {
  if (exit_code != 0) {
    WriteTestFile(fail_marker_, std::to_string(exit_code) + "\n");
  } else {
    std::filesystem::remove(fail_marker_);
  }
}

void FakeSystemctl::SetActive(bool active) const {
  if (active) {
    WriteTestFile(active_marker_, "");
  } else {
    std::filesystem::remove(active_marker_);
  }
}

}  // namespace octo::testing
