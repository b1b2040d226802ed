// Secrets are wiped before their memory is freed: this binary replaces the
// global operator new/delete so that every block freed while a test watches
// is searched for the secret first. (OpenSSL's own allocations are watched
// in pkcs12_test.cc.)
#include <malloc.h>
#include <string.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include <gtest/gtest.h>

#include "common/base/encoding.h"
#include "frontend/certificate_io.h"
#include "support/temp_dir.h"

// The replacements below pair malloc with free, which GCC cannot see through.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {

std::atomic<bool> watching{false};
const std::string* needle = nullptr;
std::atomic<int> found{0};

void Look(void* p) {
  if (p == nullptr || !watching.load() || needle == nullptr) return;
  const size_t n = ::malloc_usable_size(p);
  if (::memmem(p, n, needle->data(), needle->size()) != nullptr) ++found;
}

}  // namespace

void* operator new(std::size_t n) {
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept {
  Look(p);
  std::free(p);
}
void operator delete[](void* p) noexcept { ::operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { ::operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { ::operator delete(p); }

namespace octo {
namespace {

// Counts the freed blocks holding `secret` while `run` runs.
template <typename F>
int FreedCopies(const std::string& secret, F run) {
  needle = &secret;
  found = 0;
  watching = true;
  run();
  watching = false;
  needle = nullptr;
  return found.load();
}

// Stands for a private key in the clear: long enough to live on the heap.
const std::string kPlain = "-----PRIVATE KEY MATERIAL THAT MUST NOT OUTLIVE ITS USE 0123456789!-----";

TEST(Wipe, Base64DecodeWipesWhatItDecodedBeforeAnError) {
  ASSERT_EQ(kPlain.size() % 3, 0u);  // no padding: the error comes after every byte is decoded
  const std::string text = Base64Encode(kPlain) + "*";
  Status status;
  const int copies = FreedCopies(kPlain, [&] { status = Base64Decode(text).status(); });
  EXPECT_EQ(status.message(), "not valid base64");
  EXPECT_EQ(copies, 0) << "the decoded bytes were freed without being wiped";
}

TEST(Wipe, AFailedImportWipesTheFileItRead) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/key.b64";
  const std::string text = Base64Encode(kPlain) + "*";
  testing::WriteTestFile(path, text);
  Status status;
  const int copies = FreedCopies(text, [&] { status = cli::ReadPfxFile(path, Secret()).status(); });
  EXPECT_EQ(status.message(), "cannot import " + path + ": it is not a PFX (PKCS#12) file, nor base64 text of one");
  EXPECT_EQ(copies, 0) << "the file's bytes were freed without being wiped";
  const int decoded = FreedCopies(kPlain, [&] { (void)cli::ReadPfxFile(path, Secret()); });
  EXPECT_EQ(decoded, 0) << "the decoded bytes were freed without being wiped";
}

}  // namespace
}  // namespace octo
