// octo_fleet_host: many Tentacle agents in one process, for the fleet-scale
// benchmarks (bench/octobench/scale.py). The agents are the Tentacle's own
// code (TentacleAgent), listening on loopback, sharing one Reactor and one
// WorkerPool as the agent's design allows; each presents a certificate from
// a cache of PFX files, so that a run is not dominated by key generation.
//
//   octo_fleet_host --cache DIR --distinct K
//       makes sure DIR holds tentacle-0.pfx .. tentacle-(K-1).pfx (password
//       "bench"; new RSA-2048 keys for the missing ones, two at a time), and
//       prints their thumbprints as a JSON array.
//   octo_fleet_host --cache DIR --distinct K --count N --trust THUMBPRINT [--first I]
//       hosts N agents, agent j presenting tentacle-((I + j) mod K); prints
//       one JSON line [{"Port":P,"Thumbprint":T}, ...] once all listen, then
//       answers lines on stdin: "stats" -> {"RssKiB","Threads","Descriptors",
//       "Idle","Served"}; end of input stops every agent and exits.
//   octo_fleet_host --keygen N
//       generates N RSA-2048 keys (key generation alone, nothing written),
//       one thread per core, and prints {"Keys","Threads","WallS","CpuS"}:
//       the lower bound of rotating N Tentacles' certificates on this machine.
// The open-file limit is raised to its hard limit (each agent holds its
// listening socket and the connections the Server keeps).
#include <dirent.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <spdlog/logger.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/base/file_util.h"
#include "common/base/json.h"
#include "common/base/net.h"
#include "common/base/reactor.h"
#include "common/channel/tentacle_agent.h"
#include "common/crypto/certificate.h"
#include "common/crypto/pkcs12.h"

namespace {

using namespace octo;

const Secret kPassword{"bench"};

std::string PfxPath(const std::string& dir, size_t i) { return dir + "/tentacle-" + std::to_string(i) + ".pfx"; }

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Makes the missing PFX files, two key generations at a time.
int MakeCache(const std::string& dir, size_t distinct) {
  ::mkdir(dir.c_str(), 0700);
  std::vector<size_t> missing;
  for (size_t i = 0; i < distinct; ++i) {
    if (!Exists(PfxPath(dir, i))) missing.push_back(i);
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (size_t k = next++; k < missing.size(); k = next++) {
      auto id = GenerateIdentity(kTentacleCommonName);
      auto pfx = id.ok() ? WritePfx(*id, kPassword, PfxEncoding::kModern) : Result<Secret>(id.status());
      if (!pfx.ok() || !WriteFileAtomic(PfxPath(dir, missing[k]), pfx->value(), 0600).ok()) failed = true;
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  if (failed) {
    std::cerr << "fleet_host: cannot write the certificate cache in " << dir << std::endl;
    return 1;
  }
  return 0;
}

Result<Identity> LoadCached(const std::string& dir, size_t i) {
  auto bytes = ReadFile(PfxPath(dir, i));
  if (!bytes.ok()) return bytes.status();
  auto pfx = ReadPfx(*bytes, kPassword);
  if (!pfx.ok()) return pfx.status();
  return std::move(pfx->identity);
}

size_t CountEntries(const char* dir) {
  size_t n = 0;
  if (DIR* d = ::opendir(dir)) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n >= 2 ? n - 2 : 0;
}

double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// N RSA-2048 key generations, one thread per core: the bound of a rotation
// of N Tentacles' certificates, which cannot do less than that.
int KeygenBound(size_t n) {
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  const double cpu0 = CpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      while (next++ < n) {
        EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
        if (key == nullptr) failed = true;
        EVP_PKEY_free(key);
      }
    });
  }
  for (auto& t : pool) t.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (failed) {
    std::cerr << "fleet_host: RSA key generation failed" << std::endl;
    return 1;
  }
  std::cout << Json{{"Keys", n}, {"Threads", threads}, {"WallS", wall}, {"CpuS", CpuSeconds() - cpu0}}.dump()
            << std::endl;
  return 0;
}

long RssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  std::string cache, trust;
  size_t distinct = 0, count = 0, first = 0, keygen = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--cache") cache = value;
    else if (flag == "--distinct") distinct = std::stoul(value);
    else if (flag == "--count") count = std::stoul(value);
    else if (flag == "--trust") trust = value;
    else if (flag == "--first") first = std::stoul(value);
    else if (flag == "--keygen") keygen = std::stoul(value);
    else {
      std::cerr << "fleet_host: unknown option " << flag << std::endl;
      return 2;
    }
  }
  if (keygen > 0) return KeygenBound(keygen);
  if (cache.empty() || distinct == 0) {
    std::cerr << "usage: octo_fleet_host --cache DIR --distinct K [--count N --trust THUMBPRINT [--first I]]\n"
                 "       octo_fleet_host --keygen N"
              << std::endl;
    return 2;
  }
  if (count == 0) {
    if (int rc = MakeCache(cache, distinct); rc != 0) return rc;
    Json tps = Json::array();
    for (size_t i = 0; i < distinct; ++i) {
      auto id = LoadCached(cache, i);
      if (!id.ok()) {
        std::cerr << "fleet_host: " << id.status().message() << std::endl;
        return 1;
      }
      tps.push_back(Thumbprint(id->certificate.get()));
    }
    std::cout << tps.dump() << std::endl;
    return 0;
  }
  const size_t limit = RaiseDescriptorLimit();
  if (limit < 2 * count + 64) {
    std::cerr << "fleet_host: " << count << " agents need about " << 2 * count + 64
              << " open files; the limit is " << limit << std::endl;
    return 1;
  }
  // The identities this host uses, each loaded once and shared by its agents.
  std::vector<Identity> ids;
  const size_t used = std::min(distinct, count);
  for (size_t k = 0; k < used; ++k) {
    auto id = LoadCached(cache, (first + k) % distinct);
    if (!id.ok()) {
      std::cerr << "fleet_host: " << PfxPath(cache, (first + k) % distinct) << ": " << id.status().message()
                << " (make the cache first)" << std::endl;
      return 1;
    }
    ids.push_back(std::move(id).value());
  }
  auto reactor = std::make_shared<Reactor>();
  auto workers = std::make_shared<WorkerPool>();
  auto log = std::make_shared<spdlog::logger>("fleet");  // no sink: the agents' lines go nowhere
  std::vector<std::unique_ptr<TentacleAgent>> agents;
  agents.reserve(count);
  Json listening = Json::array();
  for (size_t j = 0; j < count; ++j) {
    AgentOptions o;
    o.listen_ip = "127.0.0.1";
    o.port = 0;
    o.trusted_thumbprints = {trust};
    o.reactor = reactor;
    o.workers = workers;
    const Identity& id = ids[j % used];
    agents.push_back(std::make_unique<TentacleAgent>(o, ShareIdentity(id), log));
    if (Status st = agents.back()->Start(); !st.ok()) {
      std::cerr << "fleet_host: agent " << j << ": " << st.message() << std::endl;
      return 1;
    }
    listening.push_back(Json{{"Port", agents.back()->port()}, {"Thumbprint", agents.back()->thumbprint()}});
  }
  std::cout << listening.dump() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line != "stats") continue;
    size_t idle = 0, served = 0;
    for (const auto& a : agents) {
      idle += a->idle();
      served += a->served();
    }
    std::cout << Json{{"RssKiB", RssKiB()},
                      {"Threads", CountEntries("/proc/self/task")},
                      {"Descriptors", CountEntries("/proc/self/fd")},
                      {"Idle", idle},
                      {"Served", served}}
                     .dump()
              << std::endl;
  }
  for (auto& a : agents) a->Stop(std::chrono::milliseconds(500));
  agents.clear();
  return 0;
}
