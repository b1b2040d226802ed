#include "common/config/config_file.h"

#include "common/base/file_util.h"

namespace octo {

ConfigFile ConfigFile::New(const std::string& path) {
  Json doc = Json::object();
  doc[kSchemaVersionKey] = kConfigSchemaVersion;
  return ConfigFile(path, std::move(doc));
}

Result<ConfigFile> ConfigFile::Load(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  Json doc;
  try {
    doc = Json::parse(*text);
  } catch (const Json::parse_error& e) {
    size_t byte = e.byte > 0 ? e.byte - 1 : 0;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < byte && i < text->size(); ++i) {
      if ((*text)[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string what = e.what();
    // nlohmann's message is "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ...".
    auto colon = what.find(": ", what.find("parse error"));
    std::string detail = colon != std::string::npos ? what.substr(colon + 2) : what;
    return Corrupt(path + ": line " + std::to_string(line) + ", column " + std::to_string(col) +
                   ": not valid JSON (" + detail + ")");
  } catch (const Json::exception& e) {
    // Valid syntax that nlohmann cannot hold: a number beyond a double's range
    // ("1e400") is out_of_range.406, not a parse_error, and has no position.
    std::string what = e.what();
    auto bracket = what.find("] ");
    std::string detail = bracket != std::string::npos ? what.substr(bracket + 2) : what;
    return Corrupt(path + ": not valid JSON (" + detail + ")");
  }
  if (!doc.is_object()) return Corrupt(path + ": line 1: the configuration must be a JSON object");
  if (!doc.contains(kSchemaVersionKey)) {
    doc[kSchemaVersionKey] = kConfigSchemaVersion;  // written on the next save
  } else {
    const Json& v = doc[kSchemaVersionKey];
    if (!v.is_number_integer()) return Corrupt(path + ": \"SchemaVersion\" must be a whole number");
    if (v.get<int>() > kConfigSchemaVersion || v.get<int>() < 1) {
      return Corrupt(path + ": schema version " + std::to_string(v.get<long long>()) +
                     " is not supported by this version (it reads version " +
                     std::to_string(kConfigSchemaVersion) + ")");
    }
  }
  return ConfigFile(path, std::move(doc));
}

Status ConfigFile::Save() const {
  return WriteFileAtomic(path_, doc_.dump(2) + "\n", 0600);
}

Status ConfigFile::SaveNew() const {
  return WriteFileExclusive(path_, doc_.dump(2) + "\n", 0600);
}

Status ConfigFile::TypeError(const std::string& key, const char* expected) const {
  return Corrupt(path_ + ": \"" + key + "\" must be " + expected);
}

Result<std::string> ConfigFile::GetString(const std::string& key, const std::string& fallback) const {
  if (!Has(key)) return fallback;
  const Json& v = doc_[key];
  if (!v.is_string()) return TypeError(key, "a string");
  return v.get<std::string>();
}

Result<int> ConfigFile::GetInt(const std::string& key, int fallback) const {
  if (!Has(key)) return fallback;
  const Json& v = doc_[key];
  if (!v.is_number_integer()) return TypeError(key, "a whole number");
  long long n = v.get<long long>();
  if (n < INT32_MIN || n > INT32_MAX) return TypeError(key, "a whole number in range");
  return static_cast<int>(n);
}

Result<bool> ConfigFile::GetBool(const std::string& key, bool fallback) const {
  if (!Has(key)) return fallback;
  const Json& v = doc_[key];
  if (!v.is_boolean()) return TypeError(key, "true or false");
  return v.get<bool>();
}

Result<Json> ConfigFile::GetArray(const std::string& key) const {
  if (!Has(key)) return Json::array();
  const Json& v = doc_[key];
  if (!v.is_array()) return TypeError(key, "an array");
  return v;
}

}  // namespace octo
