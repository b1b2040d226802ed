#include "common/channel/live_trust.h"

#include <chrono>

namespace octo {

LiveTrust::Applied LiveTrust::Apply(TrustChange change, const std::string& who) {
  // The store's current set, not the change's: when another publication
  // (a reload) came between, this is the later of the two either way.
  const size_t closed = agent_.SetTrusted(store_.Current()->thumbprints);
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
