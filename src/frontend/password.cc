#include "frontend/password.h"

#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "common/file_util.h"

namespace octo::cli {
namespace {

void StripNewline(std::string& s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (!s.empty() && s.back() == '\r') s.pop_back();
}

constexpr char kSources[] =
    "--pfx-password, --pfx-password-file, --pfx-password-env or --pfx-password-stdin";

}  // namespace

PasswordOptions::~PasswordOptions() {
  if (value) OPENSSL_cleanse(value->data(), value->size());
}

void AddPasswordOptions(CLI::App* sub, PasswordOptions* opts) {
  sub->add_option("--pfx-password,--pw", opts->value, "Password of the PFX file (visible in ps: prefer the next three)");
  sub->add_option("--pfx-password-file", opts->file, "Read the PFX password from the first line of this file");
  sub->add_option("--pfx-password-env", opts->env, "Read the PFX password from this environment variable");
  sub->add_flag("--pfx-password-stdin", opts->from_stdin, "Read the PFX password from the first line of standard input");
}

bool PasswordGiven(const PasswordOptions& o) {
  return o.value.has_value() || o.file.has_value() || o.env.has_value() || o.from_stdin;
}

std::optional<Secret> PromptPassword(const std::string& prompt) {
  if (!::isatty(STDIN_FILENO)) return std::nullopt;
  std::cerr << prompt << std::flush;
  termios old {};
  bool restore = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  Secret line;
  std::getline(std::cin, line.mutable_value());
  if (restore) ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << std::endl;
  StripNewline(line.mutable_value());
  return line;
}

Result<Secret> ResolveExportPassword(bool exporting, const PasswordOptions& opts) {
  if (exporting) return ResolvePassword(opts, PasswordNeed::kRequired);
  if (PasswordGiven(opts)) return InvalidArgument("a PFX password is only used with --export-pfx");
  return Secret();
}

Result<Secret> ResolvePassword(const PasswordOptions& o, PasswordNeed need) {
  int sources = (o.value ? 1 : 0) + (o.file ? 1 : 0) + (o.env ? 1 : 0) + (o.from_stdin ? 1 : 0);
  if (sources > 1) return InvalidArgument(std::string("give the PFX password one way only: ") + kSources);
  Secret pw;
  if (o.value) {
    pw = Secret(*o.value);
  } else if (o.file) {
    auto text = ReadFile(*o.file);
    if (!text.ok()) return InvalidArgument("cannot read the password file: " + text.status().message());
    Secret all(std::move(text).value());
    pw = Secret(all.value().substr(0, all.value().find('\n')));
    StripNewline(pw.mutable_value());
  } else if (o.env) {
    const char* v = std::getenv(o.env->c_str());
    if (v == nullptr) return InvalidArgument("the environment variable " + *o.env + " is not set");
    pw = Secret(v);
  } else if (o.from_stdin) {
    std::getline(std::cin, pw.mutable_value());
    StripNewline(pw.mutable_value());
  } else if (need == PasswordNeed::kRequired) {
    auto first = PromptPassword("PFX password: ");
    if (!first) {
      return InvalidArgument(std::string("a PFX password is required: give ") + kSources +
                             " (standard input is not a terminal, so there is no prompt)");
    }
    auto second = PromptPassword("Repeat the PFX password: ");
    if (!second || second->value() != first->value()) return InvalidArgument("the two passwords typed differ");
    pw = std::move(*first);
  }
  if (need == PasswordNeed::kRequired && pw.empty()) {
    return InvalidArgument("the PFX password must not be empty");
  }
  return pw;
}

}  // namespace octo::cli
