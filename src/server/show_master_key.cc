// Octopus.Server show-master-key: prints the Master Key (base64) so that it
// can be kept somewhere safe. Without it the stored certificate is lost.
#include <iostream>
#include <memory>

#include "common/base/encoding.h"
#include "frontend/common_commands.h"
#include "server/commands.h"

namespace octo::server {
namespace {

struct ShowMasterKeyOptions {
  cli::InstanceOptions instance;
  std::string format;
};

int Run(const ShowMasterKeyOptions& o) {
  auto inst = cli::OpenInstance(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  auto key = inst->LoadKey();
  if (!key.ok()) return cli::Fail(key.status());
  Secret b64(Base64Encode(key->value()));
  if (o.format == "json") {
    std::cout << "{\"MasterKey\":\"" << b64.value() << "\"}" << std::endl;
  } else {
    std::cout << b64.value() << std::endl;
  }
  return cli::kExitOk;
}

}  // namespace

void SetupShowMasterKey(cli::CommandTable& table) {
  auto o = std::make_shared<ShowMasterKeyOptions>();
  table.Add(
      "show-master-key", "Prints the Octopus Master Key (keep it secret, keep it safe)",
      [o] { return Run(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
        cli::AddFormatOption(sub, &o->format);
      });
}

}  // namespace octo::server
