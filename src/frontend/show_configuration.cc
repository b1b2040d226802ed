#include "frontend/show_configuration.h"

#include <iostream>
#include <memory>

#include "common/base/file_util.h"
#include "common/config/certificate_slots.h"

namespace octo::cli {
namespace {

struct ShowConfigurationOptions {
  InstanceOptions instance;
  std::string format;
  std::optional<std::string> file;
};

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

int Run(Product product, const ShowConfigurationOptions& o) {
  auto inst = OpenInstance(product, o.instance);
  if (!inst.ok()) return Fail(inst.status());
  Json flat = inst->config().doc();
  // The sealed private keys are never shown (nor the public certificates'
  // long base64, nor the summaries kept for show-thumbprint): the current
  // one, and a staged or previous one.
  for (CertificateSlot slot : {CertificateSlot::kCurrent, CertificateSlot::kStaged, CertificateSlot::kPrevious}) {
    const SlotKeys keys = CertificateSlotKeys(product, slot);
    flat.erase(keys.sealed);
    flat.erase(keys.public_der);
    flat.erase(keys.summary);
  }
  std::string text;
  if (o.format == "xml") {
    text = ConfigurationAsXml(flat);
  } else if (o.format == "json") {
    text = flat.dump(2) + "\n";
  } else {
    text = ConfigurationHierarchical(flat).dump(2) + "\n";
  }
  if (o.file) {
    if (Status st = WriteFileAtomic(AbsolutePath(*o.file), text, 0600); !st.ok()) return Fail(st);
    std::cerr << "The configuration has been written to " << *o.file << "." << std::endl;
    return kExitOk;
  }
  std::cout << text;
  return kExitOk;
}

}  // namespace

std::string ConfigurationAsXml(const Json& flat) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<octopus-settings xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n";
  for (const auto& [key, value] : flat.items()) {
    std::string v;
    if (value.is_string()) {
      v = value.get<std::string>();
    } else if (value.is_boolean()) {
      v = value.get<bool>() ? "True" : "False";  // as .NET writes them
    } else {
      v = value.dump();
    }
    out += "  <set key=\"" + XmlEscape(key) + "\">" + XmlEscape(v) + "</set>\n";
  }
  return out + "</octopus-settings>\n";
}

// {"Tentacle.Services.PortNumber": 1} -> {"Tentacle": {"Services": {"PortNumber": 1}}}
Json ConfigurationHierarchical(const Json& flat) {
  Json out = Json::object();
  for (const auto& [key, value] : flat.items()) {
    Json* node = &out;
    size_t start = 0;
    for (size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', start)) {
      std::string part = key.substr(start, dot - start);
      if (!(*node)[part].is_object()) (*node)[part] = Json::object();
      node = &(*node)[part];
      start = dot + 1;
    }
    (*node)[key.substr(start)] = value;
  }
  return out;
}

void SetupShowConfiguration(CommandTable& table) {
  auto o = std::make_shared<ShowConfigurationOptions>();
  Product p = table.product();
  table.Add(
      "show-configuration", "Prints the instance's configuration (never the certificate)",
      [p, o] { return Run(p, *o); },
      [o, p](CLI::App* sub) {
        AddInstanceOptions(sub, &o->instance, p);
        const std::string def = Traits(p).show_configuration_format;
        o->format = def;
        sub->add_option("--format", o->format,
                        "xml, json or json-hierarchical (default " + def + ")")
            ->check(CLI::IsMember({"xml", "json", "json-hierarchical"}, CLI::ignore_case))
            ->transform([](std::string s) {
              for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
              return s;
            })
            ->default_str(def);
        sub->add_option("--file", o->file,
                        "Write the configuration to this file (mode 0600) instead of the console");
      });
}

}  // namespace octo::cli
