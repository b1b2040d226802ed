// TempDir: a fresh directory under $TMPDIR, removed with everything in it
// when the object dies.
#pragma once

#include <string>

namespace octo::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // `name` inside the directory, with the platform's separator (as the
  // library joins paths: file_util.h JoinPath).
  std::string Path(const std::string& name) const {
#ifdef _WIN32
    return path_ + "\\" + name;
#else
    return path_ + "/" + name;
#endif
  }

 private:
  std::string path_;
};

// Writes `contents` to `path` (mode 0644), failing the test on error.
void WriteTestFile(const std::string& path, const std::string& contents);
// Reads a whole file; "" (and a test failure) if it cannot.
std::string ReadTestFile(const std::string& path);
// SHA-256 of a file's bytes, hex; "" if it cannot be read.
std::string HashFile(const std::string& path);

// setenv/unsetenv, also on Windows (_putenv_s).
void SetEnv(const std::string& name, const std::string& value);
void UnsetEnv(const std::string& name);

}  // namespace octo::testing
