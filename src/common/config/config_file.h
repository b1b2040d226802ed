// ConfigFile: an instance's JSON configuration on disk.
//
// The document is kept whole, in the order it was read, so keys this version
// does not know survive a save. Typed getters report a value of the wrong
// type as Corrupt, naming the file and key. Saving is atomic (see
// WriteFileAtomic) and creates the file mode 0600. Not thread-safe.
#pragma once

#include <string>

#include "common/base/json.h"
#include "common/base/status.h"

namespace octo {

inline constexpr int kConfigSchemaVersion = 1;
inline constexpr char kSchemaVersionKey[] = "SchemaVersion";

class ConfigFile {
 public:
  // A new, empty document (with the schema version) that Save() writes to `path`.
  static ConfigFile New(const std::string& path);

  // Reads and parses `path`. NotFound / PermissionDenied from the OS; Corrupt
  // "PATH: line N: ..." when it is not JSON, not an object, or has a schema
  // version this build does not understand. Never modifies the file.
  static Result<ConfigFile> Load(const std::string& path);

  // Writes the document atomically, mode 0600, with a trailing newline.
  Status Save() const;
  // As Save, for a new file: AlreadyExists (and nothing written) if a file
  // is at the path already.
  Status SaveNew() const;

  const std::string& path() const { return path_; }
  Json& doc() { return doc_; }
  const Json& doc() const { return doc_; }

  bool Has(const std::string& key) const { return doc_.contains(key) && !doc_[key].is_null(); }
  Result<std::string> GetString(const std::string& key, const std::string& fallback = "") const;
  Result<int> GetInt(const std::string& key, int fallback) const;
  Result<bool> GetBool(const std::string& key, bool fallback) const;
  // The array under `key` (an empty one if absent); Corrupt if not an array.
  Result<Json> GetArray(const std::string& key) const;

  void Set(const std::string& key, Json value) { doc_[key] = std::move(value); }
  void Erase(const std::string& key) { doc_.erase(key); }

 private:
  ConfigFile(std::string path, Json doc) : path_(std::move(path)), doc_(std::move(doc)) {}
  Status TypeError(const std::string& key, const char* expected) const;

  std::string path_;
  Json doc_;
};

}  // namespace octo
