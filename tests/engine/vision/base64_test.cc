// Base64 (RFC 4648 test vectors) and data: URLs.
#include <gtest/gtest.h>

#include "engine/vision/base64.h"

namespace isv {
namespace {

std::string Ok(std::string_view text) {
  StatusOr<std::string> r = DecodeBase64(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? *r : "<error>";
}

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(Ok(""), "");
  EXPECT_EQ(Ok("Zg=="), "f");
  EXPECT_EQ(Ok("Zm8="), "fo");
  EXPECT_EQ(Ok("Zm9v"), "foo");
  EXPECT_EQ(Ok("Zm9vYg=="), "foob");
  EXPECT_EQ(Ok("Zm9vYmE="), "fooba");
  EXPECT_EQ(Ok("Zm9vYmFy"), "foobar");
}

TEST(Base64Test, UnpaddedWhitespaceUrlSafeAndBinary) {
  EXPECT_EQ(Ok("Zm9vYg"), "foob");
  EXPECT_EQ(Ok("Zm9v\r\nYmFy\n"), "foobar");
  EXPECT_EQ(Ok("+/+/"), std::string("\xfb\xff\xbf", 3));
  EXPECT_EQ(Ok("-_-_"), std::string("\xfb\xff\xbf", 3));
  EXPECT_EQ(Ok("AAEC/w=="), std::string("\x00\x01\x02\xff", 4));
}

TEST(Base64Test, Errors) {
  for (const char* bad : {"Zm9v!", "Z", "Zm9vY", "=Zm9", "Zg=", "Zg===", "Zg==Zg==", "Zm9vYmFy=", "Zm 9v\x80"}) {
    StatusOr<std::string> r = DecodeBase64(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
  StatusOr<std::string> r = DecodeBase64("Zm9v$mFy");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("offset 4"), std::string::npos) << r.status().message();
}

TEST(Base64Test, DataUrls) {
  StatusOr<DataUrl> u = ParseDataUrl("data:image/png;base64,Zm9vYmFy");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->media_type, "image/png");
  EXPECT_EQ(u->bytes, "foobar");
  u = ParseDataUrl("DATA:image/jpeg;name=x.jpg;BASE64,Zm9v");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->media_type, "image/jpeg");
  EXPECT_EQ(u->bytes, "foo");
  u = ParseDataUrl("data:;base64,");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->media_type, "");
  EXPECT_EQ(u->bytes, "");
  EXPECT_FALSE(ParseDataUrl("data:image/png,rawbytes").ok());
  EXPECT_FALSE(ParseDataUrl("data:image/png;base64").ok());
  EXPECT_FALSE(ParseDataUrl("http://example.com/a.png").ok());
  EXPECT_FALSE(ParseDataUrl("data:image/png;base64,Zm9v!").ok());
}

TEST(Base64Test, ImagePayloadIsDataUrlOrPlainBase64) {
  EXPECT_EQ(*DecodeImagePayload("data:image/png;base64,Zm9v"), "foo");
  EXPECT_EQ(*DecodeImagePayload("Zm9vYmFy"), "foobar");
  EXPECT_FALSE(DecodeImagePayload("data:image/png,xyz").ok());
}

}  // namespace
}  // namespace isv
