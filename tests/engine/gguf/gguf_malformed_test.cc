// GgufFile against malformed files: every prefix of a valid file, lying counts, bad types, bad
// shapes, misplaced tensor data. Each must give a non-OK Status naming the file and the problem,
// and nothing may crash (this suite is also run under ASan/UBSan by scripts/asan.sh).
#include <string>

#include <gtest/gtest.h>

#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_test_util.h"
#include "engine/gguf/gguf_writer.h"

namespace isv {
namespace {

using testing::Array;
using testing::RawGguf;
using testing::RawTensorInfo;
using testing::Str;
using testing::U32;

constexpr char kName[] = "bad.gguf";
constexpr uint32_t kF32 = 0;
constexpr uint32_t kQ4_0 = 2;

// Parses `bytes` and checks it is refused with `code`, a message starting with the file name and
// an offset, and containing `what`.
void ExpectRefused(const std::string& bytes, const std::string& what, StatusCode code = StatusCode::kDataLoss) {
  StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::FromBytes(bytes, kName);
  ASSERT_FALSE(f.ok()) << "accepted; expected: " << what;
  EXPECT_EQ(f.status().code(), code) << f.status().ToString();
  const std::string m = f.status().message();
  EXPECT_EQ(m.rfind(std::string(kName) + ": offset ", 0), 0u) << m;
  EXPECT_NE(m.find(what), std::string::npos) << "message: " << m << "\nexpected to contain: " << what;
}

void ExpectAccepted(const std::string& bytes) {
  StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::FromBytes(bytes, kName);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
}

// A small valid file: three kvs (string, uint32 array, float32) and two tensors.
RawGguf SmallFile() {
  RawGguf g;
  g.AddKv("general.architecture", Str("llama"));
  g.AddKv("ids", Array(GgufType::kUint32, {U32(1), U32(2), U32(3)}));
  g.AddKv("eps", GgufValue(GgufType::kFloat32, 0.5));
  g.tensors.push_back({"w", {4, 2}, {}, kF32, 0});       // 32 bytes at 0
  g.tensors.push_back({"q", {32}, {}, kQ4_0, 32});       // 18 bytes at 32
  g.data = std::string(50, '\x11');
  return g;
}

// One-tensor file whose tensor info is `t`, with `data_bytes` bytes of data.
std::string OneTensor(RawTensorInfo t, size_t data_bytes = 64) {
  RawGguf g;
  g.tensors.push_back(std::move(t));
  g.data = std::string(data_bytes, '\0');
  return g.Serialize();
}

TEST(GgufMalformedTest, SmallFileIsValid) {
  RawGguf g = SmallFile();
  const std::string bytes = g.Serialize();
  StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::FromBytes(bytes, kName);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->tensors().size(), 2u);
  EXPECT_EQ((*f)->FindTensor("q")->type, GgmlType::kQ4_0);
}

// Every prefix of the small file: refused with DATA_LOSS naming the file and an offset, except the
// prefixes that still hold every tensor byte (only trailing data is missing), which stay valid.
TEST(GgufMalformedTest, EveryPrefixIsRefusedOrStillValid) {
  RawGguf g = SmallFile();
  const std::string bytes = g.Serialize();
  const size_t data_end = g.data_start + 32 + 18;
  int refused = 0;
  for (size_t n = 0; n <= bytes.size(); ++n) {
    SCOPED_TRACE("prefix of " + std::to_string(n) + " bytes");
    StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::FromBytes(bytes.substr(0, n), kName);
    if (n >= data_end) {
      EXPECT_TRUE(f.ok()) << f.status().ToString();
      continue;
    }
    ASSERT_FALSE(f.ok());
    ++refused;
    EXPECT_EQ(f.status().code(), StatusCode::kDataLoss) << f.status().ToString();
    EXPECT_EQ(f.status().message().rfind(std::string(kName) + ": offset ", 0), 0u) << f.status().message();
  }
  EXPECT_EQ(refused, static_cast<int>(data_end));
}

// Truncation exactly at each section boundary, with the specific complaint.
TEST(GgufMalformedTest, TruncatedAtSectionBoundaries) {
  RawGguf g = SmallFile();
  const std::string bytes = g.Serialize();
  ExpectRefused(bytes.substr(0, 0), "offset 0: file truncated while reading magic");
  ExpectRefused(bytes.substr(0, 4), "offset 4: file truncated while reading version");
  ExpectRefused(bytes.substr(0, 8), "file truncated while reading tensor count");
  ExpectRefused(bytes.substr(0, 16), "file truncated while reading metadata count");
  ExpectRefused(bytes.substr(0, g.header_end()), "metadata count 3 cannot fit in the file");
  ExpectRefused(bytes.substr(0, g.kv_end()), "file truncated while reading tensor name");
  ExpectRefused(bytes.substr(0, g.infos_end), "file ends before its tensor data section");
  ExpectRefused(bytes.substr(0, g.data_start), "tensor 'w': its 32 bytes of data extend past the end of the file");
  ExpectRefused(bytes.substr(0, g.data_start + 32), "tensor 'q': its 18 bytes of data extend past the end");

  // Inside the metadata of a file without tensors (so the count check passes): first entry 8 + 1
  // key bytes, 4 type bytes, 8 + 3 string bytes = 24; second key 9 bytes, then its type is missing.
  RawGguf h;
  h.AddKv("a", Str("xyz"));
  h.AddKv("b", U32(1));
  ExpectRefused(h.Serialize().substr(0, 24 + 24 + 9), "offset 57: file truncated while reading metadata value type");
  ExpectRefused(h.Serialize().substr(0, 24 + 24 + 9 + 4 + 2), "offset 61: file truncated while reading uint32 value");
}

TEST(GgufMalformedTest, BadMagicAndVersions) {
  std::string bytes = SmallFile().Serialize();
  std::string bad = bytes;
  bad[0] = 'X';
  ExpectRefused(bad, "not a GGUF file (bad magic)");
  RawGguf g = SmallFile();
  g.version = 0x03000000;  // 00 00 00 03 on disk: a big-endian v3 file
  ExpectRefused(g.Serialize(), "big-endian GGUF files are not supported", StatusCode::kUnimplemented);
  g.version = 1;
  ExpectRefused(g.Serialize(), "GGUF version 1 is not supported", StatusCode::kUnimplemented);
  g.version = 4;
  ExpectRefused(g.Serialize(), "unknown GGUF version 4", StatusCode::kUnimplemented);
  g.version = 2;
  ExpectAccepted(g.Serialize());
}

TEST(GgufMalformedTest, LyingCounts) {
  RawGguf g = SmallFile();
  g.n_kv_field = uint64_t{1} << 60;
  ExpectRefused(g.Serialize(), "metadata count 1152921504606846976 cannot fit in the file");
  g.n_kv_field = ~uint64_t{0};
  ExpectRefused(g.Serialize(), "cannot fit in the file");
  g = SmallFile();
  g.n_tensors_field = uint64_t{1} << 62;
  ExpectRefused(g.Serialize(), "tensor count 4611686018427387904 cannot fit in the file");
  // One tensor too many: the third "tensor info" is read from the padding and data.
  g.n_tensors_field = 3;
  ExpectRefused(g.Serialize(), "tensor '': dimension count 0 is not in 1..4");
  // One kv too many: the next "kv" is read from the tensor directory (key "w", n_dims 2 read as
  // type uint16), and the tensor directory from the wrong place.
  g = SmallFile();
  g.n_kv_field = 4;
  ExpectRefused(g.Serialize(), "tensor name: string length");
  // One kv too many in a file without tensors: runs into the end of the file.
  RawGguf h;
  h.AddKv("a", Str(std::string(40, 'x')));  // 61 bytes, room for the 26 that two entries need at least
  h.n_kv_field = 2;
  ExpectRefused(h.Serialize(), "offset 85: file truncated while reading metadata key");
}

TEST(GgufMalformedTest, LyingArrayAndStringLengths) {
  const std::string ids = RawGguf::Encode(Array(GgufType::kUint32, {U32(1), U32(2), U32(3)}));
  auto with_len = [&](uint64_t n) {
    std::string v = ids;
    for (int i = 0; i < 8; ++i) v[4 + i] = static_cast<char>((n >> (8 * i)) & 0xFF);
    RawGguf g;
    g.AddRawKv("ids", static_cast<uint32_t>(GgufType::kArray), v);
    return g.Serialize();
  };
  ExpectAccepted(with_len(3));
  ExpectRefused(with_len(4), "offset 43: key 'ids': array length 4 of uint32 cannot fit in the 12 bytes left");
  ExpectRefused(with_len(~uint64_t{0}), "array length 18446744073709551615 of uint32 cannot fit");
  ExpectRefused(with_len(uint64_t{1} << 61), "cannot fit");

  auto string_value = [](uint64_t len, const std::string& s) {
    std::string v;
    GgufWriter::PutU64(v, len);
    v += s;
    RawGguf g;
    g.AddRawKv("name", static_cast<uint32_t>(GgufType::kString), v);
    return g.Serialize();
  };
  ExpectAccepted(string_value(5, "hello"));
  ExpectRefused(string_value(6, "hello"), "value of key 'name': string length 6 exceeds the 5 bytes left");
  ExpectRefused(string_value(~uint64_t{0}, "hello"), "string length 18446744073709551615 exceeds");
  // A key whose length lies.
  std::string key_lie;
  GgufWriter::PutU32(key_lie, testing::kGgufMagic);
  GgufWriter::PutU32(key_lie, 3);
  GgufWriter::PutU64(key_lie, 0);
  GgufWriter::PutU64(key_lie, 1);
  GgufWriter::PutU64(key_lie, 1000);
  key_lie += "abcdefghijklm";
  ExpectRefused(key_lie, "offset 24: metadata key: string length 1000 exceeds the 13 bytes left");
  // An array of strings whose count is plausible but whose strings run out.
  RawGguf g;
  std::string arr;
  GgufWriter::PutU32(arr, static_cast<uint32_t>(GgufType::kString));
  GgufWriter::PutU64(arr, 2);
  GgufWriter::PutString(arr, "abc");
  GgufWriter::PutU64(arr, 4);
  arr += "de";
  g.AddRawKv("toks", static_cast<uint32_t>(GgufType::kArray), arr);
  ExpectRefused(g.Serialize(), "value of key 'toks': string length 4 exceeds the 2 bytes left");
}

TEST(GgufMalformedTest, UnknownValueTypes) {
  RawGguf g;
  g.AddRawKv("x", 13, std::string(8, '\0'));
  ExpectRefused(g.Serialize(), "offset 33: key 'x': unknown metadata value type 13");
  RawGguf h;
  h.AddRawKv("x", 0xFFFFFFFF, std::string(8, '\0'));
  ExpectRefused(h.Serialize(), "unknown metadata value type 4294967295");
  RawGguf a;
  std::string arr;
  GgufWriter::PutU32(arr, 42);
  GgufWriter::PutU64(arr, 1);
  arr += std::string(8, '\0');
  a.AddRawKv("arr", static_cast<uint32_t>(GgufType::kArray), arr);
  ExpectRefused(a.Serialize(), "offset 39: key 'arr': unknown array element type 42");
}

TEST(GgufMalformedTest, BoolMustBeZeroOrOne) {
  RawGguf g;
  g.AddRawKv("flag", static_cast<uint32_t>(GgufType::kBool), std::string(1, '\x01'));
  ExpectAccepted(g.Serialize());
  RawGguf h;
  h.AddRawKv("flag", static_cast<uint32_t>(GgufType::kBool), std::string(1, '\x02'));
  ExpectRefused(h.Serialize(), "offset 40: key 'flag': bool value 2 is neither 0 nor 1");
  RawGguf a;  // inside an array too
  a.AddRawKv("flags", static_cast<uint32_t>(GgufType::kArray),
             RawGguf::Encode(Array(GgufType::kBool, {GgufValue(GgufType::kBool, true)})).substr(0, 12) + "\xff");
  ExpectRefused(a.Serialize(), "key 'flags': bool value 255");
}

// Arrays nested `depth` levels deep (depth 1 = a plain array of uint8 holding one zero byte).
std::string Nested(int depth) {
  std::string v;
  for (int i = 1; i < depth; ++i) {
    GgufWriter::PutU32(v, static_cast<uint32_t>(GgufType::kArray));
    GgufWriter::PutU64(v, 1);
  }
  GgufWriter::PutU32(v, static_cast<uint32_t>(GgufType::kUint8));
  GgufWriter::PutU64(v, 1);
  v += '\0';
  RawGguf g;
  g.AddRawKv("deep", static_cast<uint32_t>(GgufType::kArray), v);
  return g.Serialize();
}

TEST(GgufMalformedTest, DeeplyNestedArrays) {
  ExpectAccepted(Nested(8));
  ExpectRefused(Nested(9), "key 'deep': arrays nested deeper than 8");
  ExpectRefused(Nested(100000), "arrays nested deeper than 8");  // no stack overflow
}

TEST(GgufMalformedTest, DuplicateKeysAndTensorNames) {
  RawGguf g = SmallFile();
  g.AddKv("eps", U32(1));
  ExpectRefused(g.Serialize(), "key 'eps': duplicate metadata key");
  RawGguf t = SmallFile();
  t.tensors[1].name = "w";
  ExpectRefused(t.Serialize(), "tensor 'w': duplicate tensor name");
}

TEST(GgufMalformedTest, BadAlignment) {
  for (uint32_t a : {0u, 3u, 48u}) {
    RawGguf g = SmallFile();
    g.AddKv("general.alignment", U32(a));
    ExpectRefused(g.Serialize(), "key 'general.alignment': " + std::to_string(a) + " is not a power of two");
  }
  RawGguf g = SmallFile();
  g.AddKv("general.alignment", GgufValue(GgufType::kUint64, uint64_t{32}));
  ExpectRefused(g.Serialize(), "key 'general.alignment': expected uint32, got uint64");
  RawGguf s = SmallFile();
  s.AddKv("general.alignment", Str("32"));
  ExpectRefused(s.Serialize(), "expected uint32, got string");
  // Alignment 64: the tensor at offset 32 is now misaligned.
  RawGguf m = SmallFile();
  m.AddKv("general.alignment", U32(64));
  m.alignment = 64;
  ExpectRefused(m.Serialize(), "tensor 'q': data offset 32 is not a multiple of the alignment 64");
  // ... and valid once it moves to 64.
  m.tensors[1].offset = 64;
  m.data = std::string(64 + 18, '\0');
  ExpectAccepted(m.Serialize());
}

TEST(GgufMalformedTest, BadTensorDims) {
  ExpectRefused(OneTensor({"t", {}, 0u, kF32, 0}), "tensor 't': dimension count 0 is not in 1..4");
  ExpectRefused(OneTensor({"t", {1, 1, 1, 1, 1}, {}, kF32, 0}), "tensor 't': dimension count 5 is not in 1..4");
  ExpectRefused(OneTensor({"t", {}, 1000000u, kF32, 0}), "dimension count 1000000");
  ExpectRefused(OneTensor({"t", {4, -5}, {}, kF32, 0}), "tensor 't': negative dimension -5");
  ExpectRefused(OneTensor({"t", {int64_t{1} << 32, int64_t{1} << 32}, {}, kF32, 0}),
                "tensor 't': element count overflows 64 bits");
  // A zero dim makes the element count 0, but the other dims must still not overflow as rows.
  ExpectRefused(OneTensor({"t", {0, int64_t{1} << 62, 4}, {}, kF32, 0}), "element count overflows 64 bits");
  ExpectRefused(OneTensor({"t", {int64_t{1} << 62}, {}, kF32, 0}), "tensor 't': byte size overflows 64 bits");
  ExpectAccepted(OneTensor({"t", {0, 7}, {}, kF32, 0}, 0));  // an empty tensor is fine
  ExpectAccepted(OneTensor({"t", {4, 4}, {}, kF32, 0}));
}

TEST(GgufMalformedTest, BadTensorTypes) {
  ExpectRefused(OneTensor({"t", {32}, {}, 4, 0}), "tensor 't': unknown tensor type 4");  // removed Q4_2
  ExpectRefused(OneTensor({"t", {32}, {}, 1000, 0}), "unknown tensor type 1000");
  ExpectRefused(OneTensor({"t", {33, 2}, {}, kQ4_0, 0}), "tensor 't': row length 33 is not a multiple of the q4_0 block size 32");
  ExpectRefused(OneTensor({"t", {128}, {}, 12, 0}, 256), "row length 128 is not a multiple of the q4_K block size 256");
  ExpectAccepted(OneTensor({"t", {64}, {}, kQ4_0, 0}));
}

TEST(GgufMalformedTest, MisplacedTensorData) {
  ExpectRefused(OneTensor({"t", {4}, {}, kF32, 16}), "tensor 't': data offset 16 is not a multiple of the alignment 32");
  ExpectRefused(OneTensor({"t", {17}, {}, kF32, 0}), "tensor 't': its 68 bytes of data extend past the end of the file");
  ExpectAccepted(OneTensor({"t", {16}, {}, kF32, 0}));  // exactly 64 bytes
  ExpectRefused(OneTensor({"t", {4}, {}, kF32, 64}), "extend past the end of the file");
  ExpectRefused(OneTensor({"t", {4}, {}, kF32, uint64_t{1} << 63}),
                "offset 64: tensor 't': data offset 9223372036854775808 is past the end of the 64-byte data section");
  ExpectRefused(OneTensor({"t", {4}, {}, kF32, ~uint64_t{31}}), "data offset 18446744073709551584 is past the end");

  RawGguf g = SmallFile();
  g.tensors[1] = {"q", {64}, {}, kF32, 0};  // 256 bytes at 0 overlaps w
  g.data = std::string(256, '\0');
  ExpectRefused(g.Serialize(), "data overlaps tensor 'w'");
  RawGguf same = SmallFile();
  same.tensors[1].offset = 0;  // both at 0
  ExpectRefused(same.Serialize(), "overlaps tensor");
  RawGguf empty = SmallFile();  // an empty tensor at the same offset as a real one does not overlap
  empty.tensors.push_back({"e", {0}, {}, kF32, 0});
  ExpectAccepted(empty.Serialize());
}

}  // namespace
}  // namespace isv
