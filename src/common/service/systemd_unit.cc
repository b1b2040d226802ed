#include "common/service/systemd_unit.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/base/file_util.h"

namespace octo {
namespace {

// Quotes a word for ExecStart= (systemd's C-like quoting).
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '%') {
      out += "%%";
      continue;
    }
    if (c == '$') {
      out += "$$";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

std::string UnitDirectory() {
  const char* v = std::getenv("OCTOPUS_SYSTEMD_UNIT_DIR");
  return v != nullptr && *v != '\0' ? AbsolutePath(v) : "/etc/systemd/system";
}

std::string SystemctlProgram() {
  const char* v = std::getenv("OCTOPUS_SYSTEMCTL");
  return v != nullptr && *v != '\0' ? v : "systemctl";
}

Result<std::string> UnitName(const std::string& instance) {
  std::string name;
  bool in_space = false;
  for (char c : instance) {
    if (c == '/') continue;
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!in_space) name.push_back('-');
      in_space = true;
      continue;
    }
    in_space = false;
    name.push_back(c);
  }
  if (name.empty() || name[0] == '-') {
    return InvalidArgument("the instance name '" + instance +
                           "' cannot name a systemd unit (it would start with '-'); use another instance name");
  }
  return name + ".service";
}

std::string LegacyUnitName(Product product, const std::string& instance) {
  std::string escaped;
  for (size_t i = 0; i < instance.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(instance[i]);
    bool ok = std::isalnum(c) || c == '_' || c == ':' || (c == '.' && i != 0) || c == '-';
    if (ok) {
      escaped.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      escaped += buf;
    }
  }
  return std::string(Traits(product).old_unit_prefix) + escaped + ".service";
}

namespace {

// ExecStart= words: quoted only when they must be, so a usual unit reads as
// the real one does.
std::string Word(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == '\\' || c == '%' ||
        c == '$' || c == ';') {
      plain = false;
    }
  }
  return plain ? s : Quote(s);
}

// Splits an ExecStart value into words, undoing Quote.
std::vector<std::string> SplitWords(const std::string& s) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false, quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\' && i + 1 < s.size()) {
        cur.push_back(s[++i]);
      } else if (c == '"') {
        quoted = false;
      } else {
        cur.push_back(c);
      }
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(cur);
      cur.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '"') {
      quoted = true;
    } else {
      cur.push_back(c);
    }
  }
  if (in_word) words.push_back(cur);
  for (auto& w : words) {  // %% and $$ as Quote wrote them
    for (size_t p = 0; (p = w.find("%%", p)) != std::string::npos; ++p) w.erase(p, 1);
    for (size_t p = 0; (p = w.find("$$", p)) != std::string::npos; ++p) w.erase(p, 1);
  }
  return words;
}

std::vector<std::string> SearchPath() {
  const char* v = std::getenv("OCTOPUS_SYSTEMD_SEARCH_PATH");
  std::string list;
  if (v != nullptr) {
    list = v;
  } else if (UnitDirectory() == "/etc/systemd/system") {
    list = "/run/systemd/system:/usr/local/lib/systemd/system:/usr/lib/systemd/system:/lib/systemd/system";
  }
  std::vector<std::string> dirs;
  size_t start = 0;
  while (start <= list.size()) {
    size_t colon = list.find(':', start);
    std::string dir = list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty()) dirs.push_back(dir);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return dirs;
}

}  // namespace

std::string RenderUnit(Product product, const std::string& instance, const std::string& executable,
                       const UnitSettings& settings) {
  const bool server = product == Product::kServer;
  std::string exec = Word(executable) + " run " + Word("--instance=" + instance);
  if (!settings.config_path.empty()) exec += " " + Word("--config=" + settings.config_path);
  exec += " --noninteractive";
  std::string after = "network.target";
  if (!settings.depend_on.empty()) after += " " + settings.depend_on;
  return std::string("[Unit]\n") + "Description=" +
         (server ? "Octopus Deploy: Octopus Server" : "Octopus Deploy: Tentacle deployment agent") + " (instance " +
         instance + ")\n" + "After=" + after + "\n" +
         "\n"
         "[Service]\n"
         "Type=simple\n"
         "User=" + settings.user + "\n" +
         "ExecStart=" + exec + "\n"
         "Restart=always\n"
         "RestartSec=5\n"
         "TimeoutStopSec=30\n"
         "KillMode=mixed\n"
         "\n"
         "[Install]\n"
         "WantedBy=multi-user.target\n";
}

bool UnitRunsInstance(const std::string& unit_text, Product product, const std::string& instance) {
  const std::string exe_name = Traits(product).executable;
  size_t pos = 0;
  while (pos < unit_text.size()) {
    size_t end = unit_text.find('\n', pos);
    std::string line = unit_text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? unit_text.size() : end + 1;
    if (line.rfind("ExecStart=", 0) != 0) continue;
    std::vector<std::string> words = SplitWords(line.substr(10));
    if (words.size() < 2) continue;
    const std::string& exe = words[0];
    const std::string base = exe.substr(exe.find_last_of('/') == std::string::npos ? 0 : exe.find_last_of('/') + 1);
    if (base != exe_name && base != exe_name + ".exe") continue;
    for (size_t i = 1; i < words.size(); ++i) {
      if (words[i] == "--instance=" + instance) return true;
      if (words[i] == "--instance" && i + 1 < words.size() && words[i + 1] == instance) return true;
    }
  }
  return false;
}

std::optional<ExistingUnit> FindUnit(const std::string& unit_name, Product product, const std::string& instance) {
  std::vector<std::string> dirs = {UnitDirectory()};
  for (const auto& d : SearchPath()) dirs.push_back(d);
  for (const auto& dir : dirs) {
    const std::string path = dir + "/" + unit_name;
    if (!FileExists(path)) continue;
    auto text = ReadFile(path);
    ExistingUnit unit;
    unit.path = path;
    unit.ours = text.ok() && UnitRunsInstance(*text, product, instance);
    return unit;
  }
  return std::nullopt;
}

}  // namespace octo
