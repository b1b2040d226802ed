// PFX passwords from the command line, a file, an environment variable,
// standard input, or (only when standard input is a terminal) a prompt.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "common/base/secret.h"
#include "common/base/status.h"

namespace octo::cli {

struct PasswordOptions {
  std::optional<std::string> value;  // --pfx-password / --pw
  std::optional<std::string> file;   // --pfx-password-file
  std::optional<std::string> env;    // --pfx-password-env
  bool from_stdin = false;           // --pfx-password-stdin
  ~PasswordOptions();
};

void AddPasswordOptions(CLI::App* sub, PasswordOptions* opts);

enum class PasswordNeed {
  kRequired,  // exporting: a non-empty password must be given (or typed twice)
  kOptional,  // importing: none means "no password"
};

// The password from the one source given. With no source: kOptional returns
// an empty Secret; kRequired prompts when standard input is a terminal and
// is an InvalidArgument (a usage error) otherwise. More than one source, an
// unset variable or an unreadable file are InvalidArgument too.
Result<Secret> ResolvePassword(const PasswordOptions& opts, PasswordNeed need);

// For commands where exporting is optional (new-certificate): the password
// when `exporting`, an empty Secret otherwise; InvalidArgument (a usage
// error) when a password is given without anything to export.
Result<Secret> ResolveExportPassword(bool exporting, const PasswordOptions& opts);

// True when any source was given.
bool PasswordGiven(const PasswordOptions& opts);

// Reads a password from the terminal without echo; nullopt when standard
// input is not a terminal.
std::optional<Secret> PromptPassword(const std::string& prompt);
// --noninteractive: PromptPassword never asks, even on a terminal.
void NeverPrompt();

}  // namespace octo::cli
