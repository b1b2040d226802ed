// CliTest: a fixture whose instances live under a fresh temporary
// OCTOPUS_CONFIG_ROOT, with helpers that run the built executables there.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace octo::testing {

class CliTest : public ::testing::Test {
 protected:
  // Runs Octopus.Server / Tentacle with `args` and OCTOPUS_CONFIG_ROOT set.
  ProcessResult Server(std::vector<std::string> args, ProcessOptions options = {}) {
    return Run(ServerBin(), std::move(args), std::move(options));
  }
  ProcessResult Tentacle(std::vector<std::string> args, ProcessOptions options = {}) {
    return Run(TentacleBin(), std::move(args), std::move(options));
  }
  ProcessResult Run(const std::string& bin, std::vector<std::string> args, ProcessOptions options) {
    args.insert(args.begin(), bin);
    options.env["OCTOPUS_CONFIG_ROOT"] = root_.path();
    const std::string wrapper = ProgramWrapper();
    if (wrapper.empty()) return RunProcess(args, options);
    // The Windows executables under wine: the same checks, on what a
    // Windows console shows (CRLF lines, compared without the CR).
    args.insert(args.begin(), wrapper);
    options.env["WINEDEBUG"] = "-all";
    ProcessResult r = RunProcess(args, options);
    std::erase(r.out, '\r');
    std::erase(r.err, '\r');
    return r;
  }

  // Runs a command that must succeed, failing the test with its output if not.
  ProcessResult MustServer(std::vector<std::string> args, ProcessOptions options = {}) {
    auto r = Server(args, std::move(options));
    EXPECT_EQ(r.exit_code, 0) << "Octopus.Server failed:\n" << r.out << r.err;
    return r;
  }
  ProcessResult MustTentacle(std::vector<std::string> args, ProcessOptions options = {}) {
    auto r = Tentacle(args, std::move(options));
    EXPECT_EQ(r.exit_code, 0) << "Tentacle failed:\n" << r.out << r.err;
    return r;
  }

  // The Windows executables under wine (OCTO_TEST_PROGRAM_WRAPPER).
  static bool UnderWine() { return !ProgramWrapper().empty(); }
  // `path` as the program under test prints it: itself on Linux; under
  // wine, a Windows path on the drive wine maps / to ("Z:\\tmp\\...").
  static std::string Shown(const std::string& path) {
    if (!UnderWine() || path.empty() || path[0] != '/') return path;
    std::string out = "Z:" + path;
    std::replace(out.begin(), out.end(), '/', '\\');
    return out;
  }
  // Whether `mode` is what a file written with mode 0600 shows: 0600 on
  // Linux. Under wine the file has a DACL that allows only the user, SYSTEM
  // and Administrators; wine 8.0 keeps no DACL but a Unix mode made from it:
  // the user's bits, given to the group too, less the wineserver's umask,
  // and no bits for others ("Everyone"), which is what this checks there.
  static bool IsPrivateFileMode(unsigned mode) {
    return UnderWine() ? (mode & 0606u) == 0600u && (mode & 0111u) == 0 : mode == 0600u;
  }

  const std::string& root() const { return root_.path(); }
  // The test's own scratch directory, where Path() names files.
  const std::string& work() const { return work_.path(); }
  std::string Path(const std::string& name) const { return work_.Path(name); }

  // Paths of the default instances' files (see src/common/instance.h).
  std::string ServerConfig(const std::string& name = "OctopusServer") const {
    return root_.path() + "/OctopusServer/" + name + "/octopusserver-" + name + ".config";
  }
  std::string ServerKey(const std::string& name = "OctopusServer") const {
    return root_.path() + "/OctopusServer/" + name + "/" + name + ".masterkey";
  }
  std::string TentacleConfig(const std::string& name = "Tentacle") const {
    return root_.path() + "/Tentacle/" + name + "/tentacle-" + name + ".config";
  }
  std::string TentacleKey(const std::string& name = "Tentacle") const {
    return root_.path() + "/Tentacle/" + name + "/" + name + ".machinekey";
  }

  // The thumbprint `show-thumbprint --format json` reports.
  std::string ServerThumbprint(const std::string& instance = "OctopusServer");
  std::string TentacleThumbprint(const std::string& instance = "Tentacle");

 private:
  TempDir root_;
  TempDir work_;
};

// A CliTest whose service commands always use the built-in supervisor: the
// systemd unit directory points at an empty place and systemctl at `false`,
// so the machine's systemd is never touched. S() and T() run the programs so.
class SupervisedServiceTest : public CliTest {
 protected:
  ProcessOptions Env() {
    ProcessOptions o;
    o.env["OCTOPUS_SYSTEMD_UNIT_DIR"] = Path("no-units");
    o.env["OCTOPUS_SYSTEMCTL"] = "false";
    o.timeout_seconds = 90;
    return o;
  }
  ProcessResult S(std::vector<std::string> args) { return Server(std::move(args), Env()); }
  ProcessResult T(std::vector<std::string> args) { return Tentacle(std::move(args), Env()); }
};

// The "Thumbprint" value of a JSON object printed on one line.
std::string JsonField(const std::string& json, const std::string& key);

}  // namespace octo::testing
