// Running a program as a user would: arguments, extra environment, standard
// input; capturing exit code, standard output and standard error. Every run
// has a deadline; a program still running then is killed and the result says
// so.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace octo::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 if it did not exit normally (killed, timed out)
  bool timed_out = false;
  int term_signal = 0;  // the signal that ended it, if one did
  std::string out;
  std::string err;

  // Standard output split into lines, without the newlines.
  std::vector<std::string> OutLines() const;
  std::vector<std::string> ErrLines() const;
};

struct ProcessOptions {
  std::map<std::string, std::string> env;  // set (added to the inherited environment)
  std::vector<std::string> unset_env;
  std::string stdin_data;
  int timeout_seconds = 60;
};

ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Splits text into lines (no trailing empty line).
std::vector<std::string> SplitLines(const std::string& text);

// The path of the built executables.
// The executables under test: the build's, or OCTO_TEST_SERVER_BIN and
// OCTO_TEST_TENTACLE_BIN (the Windows ones, say), run through
// OCTO_TEST_PROGRAM_WRAPPER when it is set (wine64): see CliTest::Run.
std::string ServerBin();
std::string TentacleBin();
std::string ProgramWrapper();

// Whether a program is on PATH.
bool HaveProgram(const std::string& name);

// A TCP port on 127.0.0.1 that was free a moment ago (it may be taken by the
// time it is used: callers that start a service on it retry on failure).
int FreeLoopbackPort();

}  // namespace octo::testing
