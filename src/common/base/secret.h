// Secret: a string for passwords, keys and plaintext PFX bytes that wipes
// its memory (OPENSSL_cleanse) when it is destroyed or reassigned.
#pragma once

#include <openssl/crypto.h>

#include <string>
#include <utility>

namespace octo {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret& o) : value_(o.value_) {}
  Secret(Secret&& o) noexcept : value_(std::move(o.value_)) { o.Wipe(); }
  Secret& operator=(Secret o) noexcept {
    Wipe();
    value_.swap(o.value_);
    return *this;
  }
  ~Secret() { Wipe(); }

  const std::string& value() const { return value_; }
  std::string& mutable_value() { return value_; }
  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }

  // Clears the whole buffer, not only the characters in use: what a
  // shortened value left behind (a stripped newline, say) goes too.
  void Wipe() {
    value_.resize(value_.capacity());  // never reallocates
    if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
    value_.clear();
  }

 private:
  std::string value_;
};

}  // namespace octo
