#include "common/crypto/thumbprint.h"

#include <gtest/gtest.h>

namespace octo {
namespace {

constexpr char kTp[] = "0123456789ABCDEF0123456789ABCDEF01234567";

struct GoodCase {
  const char* input;
};

class ThumbprintAccepts : public ::testing::TestWithParam<GoodCase> {};

TEST_P(ThumbprintAccepts, NormalisesToUpperCase) {
  auto r = ParseThumbprint(GetParam().input);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, kTp);
}

INSTANTIATE_TEST_SUITE_P(
    Forms, ThumbprintAccepts,
    ::testing::Values(GoodCase{"0123456789ABCDEF0123456789ABCDEF01234567"},
                      GoodCase{"0123456789abcdef0123456789abcdef01234567"},
                      GoodCase{"  0123456789abcdef0123456789ABCDEF01234567\n"},
                      GoodCase{"\"0123456789ABCDEF0123456789ABCDEF01234567\""},
                      GoodCase{"01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67"},
                      GoodCase{"01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67"},
                      GoodCase{"SHA1 Fingerprint=01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67"},
                      GoodCase{"sha1 Fingerprint=0123456789ABCDEF0123456789ABCDEF01234567"}));

struct BadCase {
  const char* input;
  const char* message;
};

class ThumbprintRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ThumbprintRejects, WithAMessageNamingTheValue) {
  auto r = ParseThumbprint(GetParam().input);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, ThumbprintRejects,
    ::testing::Values(
        BadCase{"", "the thumbprint is empty"}, BadCase{"   ", "the thumbprint is empty"},
        BadCase{"ABC", "the thumbprint 'ABC' has 3 hexadecimal characters; a thumbprint has exactly 40"},
        BadCase{"0123456789ABCDEF0123456789ABCDEF012345678",
                "the thumbprint '0123456789ABCDEF0123456789ABCDEF012345678' has 41 hexadecimal characters; a "
                "thumbprint has exactly 40"},
        BadCase{"0123456789ABCDEF0123456789ABCDEF0123456G",
                "the thumbprint '0123456789ABCDEF0123456789ABCDEF0123456G' contains 'G', which is not a "
                "hexadecimal digit"},
        BadCase{"0123456789ABCDEF 0123456789ABCDEF01234567",
                "the thumbprint '0123456789ABCDEF 0123456789ABCDEF01234567' contains ' ', which is not a "
                "hexadecimal digit"},
        BadCase{"01:23:45", "the thumbprint '01:23:45' has 6 hexadecimal characters; a thumbprint has exactly 40"},
        BadCase{"0:123", "the thumbprint '0:123' contains ':', which is not a hexadecimal digit"},
        BadCase{"012:34", "the thumbprint '012:34' is not 40 hexadecimal characters"}));

TEST(HexUpper, WithAndWithoutSeparator) {
  EXPECT_EQ(HexUpper(std::string("\x01\xab\xff", 3)), "01ABFF");
  EXPECT_EQ(HexUpper(std::string("\x01\xab\xff", 3), ':'), "01:AB:FF");
  EXPECT_EQ(HexUpper(""), "");
}

}  // namespace
}  // namespace octo
