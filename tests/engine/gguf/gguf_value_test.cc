// GgufArray's compact storage: what goes in comes back out, element by element, for every element
// type (the file round trips in gguf_file_test.cc compare two arrays that share this storage, so
// they alone would not catch an encoding that is wrong both ways).
#include "engine/gguf/gguf_value.h"

#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/gguf/gguf_writer.h"

namespace isv {
namespace {

TEST(GgufArray, IntegersKeepTheirValuesAtTheLimitsOfEachType) {
  struct Case {
    GgufType type;
    int64_t lo;
    uint64_t hi;
  };
  const Case cases[] = {
      {GgufType::kUint8, 0, 255},
      {GgufType::kInt8, -128, 127},
      {GgufType::kUint16, 0, 65535},
      {GgufType::kInt16, -32768, 32767},
      {GgufType::kUint32, 0, 4294967295u},
      {GgufType::kInt32, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()},
      {GgufType::kUint64, 0, std::numeric_limits<uint64_t>::max()},
      {GgufType::kInt64, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(GgufTypeName(c.type)));
    const bool is_signed = c.lo < 0;
    GgufArray a(c.type);
    a.push_back(is_signed ? GgufValue(c.type, c.lo) : GgufValue(c.type, static_cast<uint64_t>(c.lo)));
    a.push_back(is_signed ? GgufValue(c.type, static_cast<int64_t>(c.hi)) : GgufValue(c.type, c.hi));
    a.push_back(is_signed ? GgufValue(c.type, int64_t{-1}) : GgufValue(c.type, uint64_t{7}));
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(a.element_type(), c.type);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a.at(i).type(), c.type);
    if (is_signed) {
      EXPECT_EQ(a.at(0).AsInt(), c.lo);
      EXPECT_EQ(a.at(1).AsInt(), static_cast<int64_t>(c.hi));
      EXPECT_EQ(a.at(2).AsInt(), -1);
    } else {
      EXPECT_EQ(a.at(0).AsUint(), static_cast<uint64_t>(c.lo));
      EXPECT_EQ(a.at(1).AsUint(), c.hi);
      EXPECT_EQ(a.at(2).AsUint(), 7u);
    }
  }
}

TEST(GgufArray, FloatsAndBools) {
  GgufArray f32(GgufType::kFloat32);
  f32.push_back(GgufValue(GgufType::kFloat32, double{-0.1f}));
  f32.push_back(GgufValue(GgufType::kFloat32, double{std::numeric_limits<float>::max()}));
  EXPECT_EQ(f32.at(0).AsDouble(), double{-0.1f});
  EXPECT_EQ(f32.at(1).AsDouble(), double{std::numeric_limits<float>::max()});
  GgufArray f64(GgufType::kFloat64);
  f64.push_back(GgufValue(GgufType::kFloat64, 3.141592653589793));
  EXPECT_EQ(f64.at(0).AsDouble(), 3.141592653589793);
  GgufArray b(GgufType::kBool);
  b.push_back(GgufValue(GgufType::kBool, true));
  b.push_back(GgufValue(GgufType::kBool, false));
  EXPECT_TRUE(b.at(0).AsBool());
  EXPECT_FALSE(b.at(1).AsBool());
}

TEST(GgufArray, StringsIncludingEmptyAndEmbeddedNul) {
  const std::vector<std::string> in = {"", "h\xc3\xa9llo", std::string("a\0b", 3), "", "Ġthe"};
  GgufArray a(GgufType::kString);
  for (const std::string& s : in) a.push_back(GgufValue(GgufType::kString, s));
  ASSERT_EQ(a.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(a.string_at(i), in[i]) << i;
    EXPECT_EQ(a.at(i).AsString(), in[i]) << i;
  }
}

TEST(GgufArray, ArraysOfArrays) {
  GgufArray inner(GgufType::kInt16);
  inner.push_back(GgufValue(GgufType::kInt16, int64_t{-300}));
  GgufArray outer(GgufType::kArray);
  outer.push_back(GgufValue(GgufType::kArray, inner));
  outer.push_back(GgufValue(GgufType::kArray, GgufArray(GgufType::kString)));
  ASSERT_EQ(outer.size(), 2u);
  EXPECT_EQ(outer.at(0).AsArray().at(0).AsInt(), -300);
  EXPECT_EQ(outer.at(1).AsArray().element_type(), GgufType::kString);
  EXPECT_TRUE(outer.at(1).AsArray().empty());
}

// The writer's bytes for an array follow the GGUF spec: element type (u32), count (u64), then each
// element little-endian (strings: u64 length + bytes).
TEST(GgufArray, WrittenAsTheSpecSays) {
  GgufArray a(GgufType::kInt16);
  a.push_back(GgufValue(GgufType::kInt16, int64_t{-2}));
  a.push_back(GgufValue(GgufType::kInt16, int64_t{0x1234}));
  std::string out;
  GgufWriter::PutValue(out, GgufValue(GgufType::kArray, a));
  const std::string want("\x03\x00\x00\x00" "\x02\x00\x00\x00\x00\x00\x00\x00" "\xfe\xff" "\x34\x12", 16);
  EXPECT_EQ(out, want);

  GgufArray s(GgufType::kString);
  s.push_back(GgufValue(GgufType::kString, std::string("ab")));
  out.clear();
  GgufWriter::PutValue(out, GgufValue(GgufType::kArray, s));
  const std::string want_s("\x08\x00\x00\x00" "\x01\x00\x00\x00\x00\x00\x00\x00" "\x02\x00\x00\x00\x00\x00\x00\x00" "ab",
                           22);
  EXPECT_EQ(out, want_s);
}

}  // namespace
}  // namespace isv
