// Octopus.Server rotate-target-certificate: each chosen Tentacle makes a new
// certificate and presents it, with the target pinning both until a check
// proves the new one (rotation/target_rotation.h).
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include "common/base/parallel.h"
#include "common/config/target_store.h"
#include "common/crypto/thumbprint.h"
#include "common/crypto/tls.h"
#include "common/rotation/target_rotation.h"
#include "frontend/common_commands.h"
#include "server/commands.h"
#include "server/controlled_server.h"
#include "frontend/service_command.h"

namespace octo::server {
namespace {

struct RotateTargetsOptions {
  cli::InstanceOptions instance;
  std::vector<std::string> names;
  bool all = false;
  bool sha1_only = false;
  size_t parallel = 4;
  int timeout_seconds = 60;
  std::string format;
};

Json ResultJson(const TargetRotationResult& r) {
  Json j{{"Name", r.name},
         {"Address", r.address},
         {"Rotated", r.rotated},
         {"OldThumbprint", r.old_thumbprint},
         {"NewThumbprint", r.new_thumbprint},
         {"ElapsedMs", static_cast<int64_t>(r.elapsed_ms)}};
  if (!r.rotated) {
    j["FailedStep"] = r.failed_step;
    j["Error"] = r.error;
    j["Left"] = r.left;
  }
  if (!r.warning.empty()) j["Warning"] = r.warning;
  return j;
}

std::string ResultLine(const TargetRotationResult& r) {
  std::ostringstream line;
  line << r.name << " (" << r.address << "): ";
  if (r.rotated) {
    line << "rotated " << r.old_thumbprint << " -> " << r.new_thumbprint << " (" << std::fixed << std::setprecision(1)
         << r.elapsed_ms / 1000 << " s)";
    if (!r.warning.empty()) line << "; warning: " << r.warning;
  } else {
    line << "not rotated, failed at " << r.failed_step << ": " << r.error << "; " << r.left;
  }
  return line.str();
}

int Run(const RotateTargetsOptions& o) {
  const int chosen_ways = (o.names.empty() ? 0 : 1) + (o.all ? 1 : 0) + (o.sha1_only ? 1 : 0);
  if (chosen_ways != 1) return cli::UsageError("rotate-target-certificate needs one of --name, --all or --sha1-only");
  const bool json = o.format == "json";
  auto inst = cli::OpenInstance(Product::kServer, o.instance);
  if (!inst.ok()) return cli::Fail(inst.status());
  auto store = TargetStore::Open(inst->config_path());
  if (!store.ok()) return cli::Fail(store.status());
  const std::shared_ptr<const TargetSnapshot> snapshot = (*store)->Current();
  std::vector<Target> chosen;
  if (!o.names.empty()) {
    std::set<std::string> seen;
    for (const auto& n : o.names) {
      const Target* t = snapshot->Find(n);
      if (t == nullptr) return cli::UsageError("--name: there is no deployment target named '" + n + "'");
      if (seen.insert(n).second) chosen.push_back(*t);
    }
  } else {
    chosen = snapshot->targets;
  }
  // One rotation at a time (rotate-certificate takes the same lock).
  auto lock = LockRotation(*inst);
  if (!lock.ok()) return cli::Fail(lock.status());
  auto identity = inst->LoadIdentity();
  if (!identity.ok()) return cli::Fail(identity.status());
  auto ctx = MakeTlsContext(TlsRole::kClient, *identity);
  if (!ctx.ok()) return cli::Fail(ctx.status());
  TentacleClient client{ctx->get(), Thumbprint(identity->certificate.get()), {}, {}};
  client.options.timeout = std::chrono::seconds(o.timeout_seconds);
  // Each Tentacle is asked several things: over one connection while its
  // pins stay, a new one once they change (connection_pool.h).
  client.options.pool = std::make_shared<ConnectionPool>();
  client.relay = ControlSocketRelay(cli::PathsFor(*inst).socket);

  std::mutex out_mu;
  auto say = [&](const std::string& line) {
    if (json) return;
    std::lock_guard<std::mutex> lock(out_mu);
    std::cout << line << std::endl;
  };
  std::vector<TargetRotationResult> results;
  size_t unasked = 0;
  if (o.sha1_only) {
    // Only those whose Tentacle says it presents a SHA-1 certificate.
    std::vector<Result<CertificateStatusAnswer>> answers(chosen.size(), Result<CertificateStatusAnswer>(Internal("")));
    ForEachBounded(chosen.size(), std::max<size_t>(o.parallel, 32), [&](size_t i) { answers[i] = AskCertificateStatus(client, chosen[i]); });
    std::vector<Target> sha1;
    for (size_t i = 0; i < chosen.size(); ++i) {
      if (!answers[i].ok()) {
        TargetRotationResult r;
        r.name = chosen[i].name;
        r.address = chosen[i].address;
        r.failed_step = "status";
        r.error = answers[i].status().message();
        r.left = "nothing was changed (it could not be asked which certificate it presents)";
        say(ResultLine(r));
        results.push_back(r);
        ++unasked;
      } else if (answers[i]->current.signature_algorithm == "sha1RSA") {
        sha1.push_back(chosen[i]);
      }
    }
    say(std::to_string(sha1.size()) + " of " + std::to_string(chosen.size() - unasked) +
        " Tentacles asked present a SHA-1 certificate" +
        (unasked == 0 ? std::string(".") : "; " + std::to_string(unasked) + " could not be asked."));
    chosen = std::move(sha1);
  }
  const size_t first = results.size();
  results.resize(first + chosen.size());
  ForEachBounded(chosen.size(), o.parallel, [&](size_t i) {
    results[first + i] = RotateTargetCertificate(client, **store, chosen[i]);
    say(ResultLine(results[first + i]));
  });
  // The Server's log records what was asked of each Tentacle, when it runs.
  if (cli::ServiceRunning(*inst)) {
    std::vector<std::string> record;
    for (const auto& r : results) {
      record.push_back("Target certificate rotation: " + ResultLine(r) + "; presenting " + client.our_thumbprint);
    }
    ControlledServer(cli::PathsFor(*inst).socket, "rotate-target-certificate").Log(record);
  }
  size_t rotated = 0;
  std::string failed;
  Json arr = Json::array();
  for (const auto& r : results) {
    arr.push_back(ResultJson(r));
    if (r.rotated) {
      ++rotated;
    } else {
      failed += (failed.empty() ? "" : ", ") + r.name;
    }
  }
  if (json) {
    std::cout << Json{{"Rotated", rotated}, {"Failed", results.size() - rotated}, {"Targets", arr}}.dump(2) << std::endl;
  } else {
    std::cout << "Rotated " << rotated << " of " << results.size() << " Tentacle certificates"
              << (failed.empty() ? "." : "; not rotated: " + failed + ".") << std::endl;
  }
  return failed.empty() ? cli::kExitOk : cli::kExitFailed;
}

}  // namespace

void SetupRotateTargetCertificate(cli::CommandTable& table) {
  auto o = std::make_shared<RotateTargetsOptions>();
  table.Add(
      "rotate-target-certificate",
      "Rotates the certificates of Tentacles: each makes a new one, and its target pins both until "
      "a health check "
      "proves the new one (no failed check). Needs the Tentacles, not the Server's service",
      [o] { return Run(*o); },
      [o](CLI::App* sub) {
        cli::AddInstanceOptions(sub, &o->instance, Product::kServer);
        sub->add_option("--name", o->names, "Rotate this target's Tentacle (repeatable)")
            ->allow_extra_args(false)
            ->take_all();
        sub->add_flag("--all", o->all, "Rotate every target's Tentacle");
        sub->add_flag("--sha1-only", o->sha1_only,
                      "Rotate the Tentacles that present a SHA-1 certificate");
        sub->add_option("--parallel", o->parallel, "Tentacles rotated at once (default 4)")
            ->check(CLI::Range(1, 256));
        sub->add_option("--timeout", o->timeout_seconds,
                        "Seconds each call to a Tentacle may take (default 60)")
            ->check(CLI::Range(1, 3600));
        cli::AddFormatOption(sub, &o->format);
      });
}

}  // namespace octo::server
