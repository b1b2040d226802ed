#include "common/base/encoding.h"

#include <gtest/gtest.h>

namespace octo {
namespace {

struct Case {
  std::string plain;
  std::string encoded;
};

class Base64Vectors : public ::testing::TestWithParam<Case> {};

TEST_P(Base64Vectors, EncodeAndDecode) {  // RFC 4648 section 10
  EXPECT_EQ(Base64Encode(GetParam().plain), GetParam().encoded);
  auto d = Base64Decode(GetParam().encoded);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, GetParam().plain);
}

INSTANTIATE_TEST_SUITE_P(Rfc4648, Base64Vectors,
                         ::testing::Values(Case{"f", "Zg=="}, Case{"fo", "Zm8="}, Case{"foo", "Zm9v"},
                                           Case{"foob", "Zm9vYg=="}, Case{"fooba", "Zm9vYmE="},
                                           Case{"foobar", "Zm9vYmFy"}, Case{std::string("\0\xff", 2), "AP8="}));

TEST(Base64Decode, IgnoresWhiteSpaceAndLineBreaks) {
  auto d = Base64Decode("Zm9v\nYmFy\r\n  ");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "foobar");
}

TEST(Base64Decode, RejectsWhatIsNotBase64) {
  EXPECT_FALSE(Base64Decode("not base64!").ok());
  EXPECT_FALSE(Base64Decode("").ok());
  EXPECT_FALSE(Base64Decode("Z").ok());
  EXPECT_FALSE(Base64Decode("Zg==Zg").ok());
}

}  // namespace
}  // namespace octo
