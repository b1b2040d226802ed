#include "frontend/password.h"

#ifdef _WIN32
#include <io.h>

#include "common/base/win32.h"
#else
#include <termios.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iostream>

#include "common/base/file_util.h"

namespace octo::cli {
namespace {

void StripNewline(std::string& s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (!s.empty() && s.back() == '\r') s.pop_back();
}

// Reads one line from `fd` straight into a Secret, a byte at a time: no
// stream buffer keeps a copy, and when the line outgrows the buffer the old
// one is wiped before it is freed. The newline is not kept.
#ifdef _WIN32
int ReadByte(int fd, char* c) { return ::_read(fd, c, 1); }
constexpr int kStdin = 0;
bool InteractiveStdin() { return ::_isatty(kStdin) != 0; }

// Turns the console's echo off until destroyed.
class QuietInput {
 public:
  QuietInput() : in_(::GetStdHandle(STD_INPUT_HANDLE)) {
    restore_ = ::GetConsoleMode(in_, &old_) != 0;
    if (restore_) ::SetConsoleMode(in_, old_ & ~static_cast<DWORD>(ENABLE_ECHO_INPUT));
  }
  ~QuietInput() {
    if (restore_) ::SetConsoleMode(in_, old_);
  }

 private:
  HANDLE in_;
  DWORD old_ = 0;
  bool restore_ = false;
};
#else
ssize_t ReadByte(int fd, char* c) { return ::read(fd, c, 1); }
constexpr int kStdin = STDIN_FILENO;
bool InteractiveStdin() { return ::isatty(kStdin) != 0; }

// Turns the terminal's echo off until destroyed.
class QuietInput {
 public:
  QuietInput() {
    restore_ = ::tcgetattr(kStdin, &old_) == 0;
    if (restore_) {
      termios quiet = old_;
      quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
      ::tcsetattr(kStdin, TCSANOW, &quiet);
    }
  }
  ~QuietInput() {
    if (restore_) ::tcsetattr(kStdin, TCSANOW, &old_);
  }

 private:
  termios old_{};
  bool restore_ = false;
};
#endif

Secret ReadSecretLine(int fd) {
  Secret line;
  std::string& v = line.mutable_value();
  v.reserve(256);
  for (;;) {
    char c = 0;
    auto n = ReadByte(fd, &c);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    if (v.size() == v.capacity()) {
      Secret bigger;
      bigger.mutable_value().reserve(v.capacity() * 2);
      bigger.mutable_value().assign(v);
      line = std::move(bigger);  // the old buffer is wiped
    }
    line.mutable_value().push_back(c);
    c = 0;
  }
  StripNewline(line.mutable_value());
  return line;
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

namespace {
bool g_never_prompt = false;
}  // namespace

void NeverPrompt() { g_never_prompt = true; }

std::optional<Secret> PromptPassword(const std::string& prompt) {
  if (g_never_prompt || !InteractiveStdin()) return std::nullopt;
  Secret line;
  {
    // Echo off before the prompt shows: what is typed once it shows is
    // never echoed (and wine's console drops what came before the change).
    QuietInput quiet;
    std::cerr << prompt << std::flush;
    line = ReadSecretLine(kStdin);
  }
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
    all.mutable_value().resize(std::min(all.size(), all.value().find('\n')));  // same buffer, no copy
    StripNewline(all.mutable_value());
    pw = std::move(all);
  } else if (o.env) {
    const char* v = std::getenv(o.env->c_str());
    if (v == nullptr) return InvalidArgument("the environment variable " + *o.env + " is not set");
    pw = Secret(v);
  } else if (o.from_stdin) {
    pw = ReadSecretLine(kStdin);
  } else if (need == PasswordNeed::kRequired) {
    auto first = PromptPassword("PFX password: ");
    if (!first) {
      return InvalidArgument(std::string("a PFX password is required: give ") + kSources +
                             (g_never_prompt ? " (--noninteractive: there is no prompt)"
                                             : " (standard input is not a terminal, so there is no prompt)"));
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
