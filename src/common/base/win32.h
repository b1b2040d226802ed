// Small Win32 helpers the Windows seams share (file_util_win.cc,
// control_win.cc). Windows only; include it only from *_win.cc files, not
// from a file that also includes OpenSSL's headers (<windows.h> defines
// X509_NAME and others).
#pragma once

#ifndef _WIN32
#error win32.h is for the Windows build only
#endif

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <string>
#include <vector>

namespace octo {

// UTF-8 (the library's paths and names) to UTF-16 (the OS's), and back.
inline std::wstring Wide(const std::string& s) {
  if (s.empty()) return {};
  int n = ::MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring w(static_cast<size_t>(n), L'\0');
  ::MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), w.data(), n);
  return w;
}

inline std::string Narrow(const std::wstring& w) {
  if (w.empty()) return {};
  int n = ::WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), nullptr, 0, nullptr, nullptr);
  std::string s(static_cast<size_t>(n), '\0');
  ::WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), s.data(), n, nullptr, nullptr);
  return s;
}

// One argument quoted for a command line, as CommandLineToArgvW and the C
// runtime split it back: quotes only when needed, backslashes doubled only
// before a quote.
inline std::wstring QuoteArgument(const std::wstring& arg) {
  if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring::npos) return arg;
  std::wstring out = L"\"";
  size_t backslashes = 0;
  for (wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    out.append(c == L'"' ? backslashes * 2 + 1 : backslashes, L'\\');
    backslashes = 0;
    out.push_back(c);
  }
  out.append(backslashes * 2, L'\\');
  out.push_back(L'"');
  return out;
}

// A command line for CreateProcessW and the SCM: each argument quoted as
// QuoteArgument does, separated by spaces.
inline std::wstring CommandLine(const std::vector<std::string>& argv) {
  std::wstring line;
  for (const auto& a : argv) {
    if (!line.empty()) line.push_back(L' ');
    line += QuoteArgument(Wide(a));
  }
  return line;
}

// Owns a HANDLE (INVALID_HANDLE_VALUE or null: none), closed on destruction.
class WinHandle {
 public:
  explicit WinHandle(HANDLE h = INVALID_HANDLE_VALUE) : h_(h) {}
  ~WinHandle() { close(); }
  WinHandle(const WinHandle&) = delete;
  WinHandle& operator=(const WinHandle&) = delete;
  bool valid() const { return h_ != INVALID_HANDLE_VALUE && h_ != nullptr; }
  HANDLE get() const { return h_; }
  void close() {
    if (valid()) ::CloseHandle(h_);
    h_ = INVALID_HANDLE_VALUE;
  }

 private:
  HANDLE h_;
};

}  // namespace octo
