// FakeSystemctl: a stand-in for systemctl that records its calls, so that
// `service --install/--start/...` and the packages' maintainer scripts can
// run against it and never against the real systemd. Point the executables
// at it with OCTOPUS_SYSTEMCTL=path() (with OCTOPUS_SYSTEMD_UNIT_DIR set to a
// temporary directory too).
//
// Every call appends its arguments, joined by single spaces, as one line of
// a log; `is-active` exits 0 while SetActive(true) holds and 3 otherwise,
// every other call exits 0, unless FailWith() says otherwise. Not
// thread-safe; files live in the directory given to the constructor, which
// must outlive the object.
#pragma once

#include <string>
#include <vector>

namespace octo::testing {

class FakeSystemctl {
 public:
  // Writes DIR/systemctl (mode 0700); its log is DIR/systemctl.log.
  explicit FakeSystemctl(const std::string& dir);

  const std::string& path() const { return path_; }
  // The calls so far, oldest first (empty before the first).
  std::vector<std::string> Calls() const;
  void ClearCalls() const;
  void SetActive(bool active) const;
  // From now on every call (is-active too) is still recorded but exits with
  // `exit_code`; FailWith(0) restores the answers above.
  void FailWith(int exit_code) const;

 private:
  std::string path_;
  std::string log_;
  std::string active_marker_;
  std::string fail_marker_;  // holds the exit code FailWith() asked for
};

}  // namespace octo::testing
