#include "common/channel/live_trust.h"

#include <algorithm>
#include <cstdlib>

#include <chrono>

namespace octo {

int PollingConnections(const TrustSnapshot& trust) {
  // The real Tentacle's order: the environment variable, then the config, then 1; 1-512.
  if (const char* env = std::getenv("TentaclePollingConnectionCount"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != nullptr && *end == '\0') return static_cast<int>(std::clamp(n, 1L, 512L));
  }
  return trust.polling_connections;
}

std::string JoinSet(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

LiveTrust::Applied LiveTrust::Apply(TrustChange change, const std::string& who) {
  // The store's current set, not the change's: when another publication
  // (a reload) came between, this is the later of the two either way.
  const std::shared_ptr<const TrustSnapshot> current = store_.Current();
  const size_t closed = agent_.SetTrusted(current->thumbprints);
  if (change.polling_changed) {
    if (Status st = agent_.SetPolling(current->polling, PollingConnections(*current)); !st.ok()) {
      log_->error("Could not apply the polling endpoints asked by {}: {}", who, st.message());
    }
    for (const auto& ep : current->polling) {
      log_->info("Polling {} as {} ({} connection(s)), accepting the Octopus Server thumbprint(s) {} (asked by {})",
                 ep.address, ep.subscription_id, PollingConnections(*current), JoinSet(ep.thumbprints), who);
    }
    if (current->polling.empty()) log_->info("The agent polls no Octopus Server (asked by {})", who);
  }
  for (const auto& tp : change.added) log_->info("Agent will trust Octopus Servers with the thumbprint: {} (asked by {})", tp, who);
  for (const auto& tp : change.removed) {
    log_->info("Agent no longer trusts Octopus Servers with the thumbprint: {} (asked by {})", tp, who);
  }
  if (closed > 0) log_->info("Closed {} connection(s) authenticated by a thumbprint no longer trusted", closed);
  if (change.now->thumbprints.empty()) log_->info("The agent is not configured to trust any Octopus Servers.");
  return Applied{std::move(change), closed};
}

Result<LiveTrust::Applied> LiveTrust::Reload(const std::string& who) {
  std::lock_guard<std::mutex> lock(mu_);
  auto change = store_.Reload();
  if (!change.ok()) {
    log_->error("Could not apply the trust asked by {}: {}", who, change.status().message());
    return change.status();
  }
  if (!change->changed()) return Applied{std::move(change).value(), 0};
  return Apply(std::move(change).value(), who);
}

Result<LiveTrust::Applied> LiveTrust::Edit(const std::function<Status(ConfigFile& config, bool* save)>& edit,
                                           const std::string& who) {
  std::lock_guard<std::mutex> lock(mu_);
  auto change = store_.Edit(edit);
  if (!change.ok()) return change.status();
  if (!change->changed()) return Applied{std::move(change).value(), 0};
  return Apply(std::move(change).value(), who);
}

void LiveTrust::StartWatch() {
  watcher_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(watch_mu_);
    while (!watch_cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; })) {
      lock.unlock();
      if (store_.FileChanged()) (void)Reload("a change to " + store_.config_path());
      lock.lock();
    }
  });
}

void LiveTrust::Stop() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

}  // namespace octo
