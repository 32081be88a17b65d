// The vision endpoints' pure parts: request parsing, the classification read from an answer and
// the image_path rule (inside INFERENCE_VISION_IMAGE_DIR after resolving symlinks and "..").
#include "api/vision_request.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace isv {
namespace {

namespace fs = std::filesystem;

TEST(VisionRequest, ParseClassification) {
  EXPECT_EQ(ParseClassification("Technical").label, "technical");
  EXPECT_EQ(ParseClassification(" discard.").label, "discard");
  EXPECT_EQ(ParseClassification("This is technical, do not discard").label, "technical");
  EXPECT_EQ(ParseClassification("DISCARD, not technical").label, "discard");
  Classification none = ParseClassification("a cat on a sofa");
  EXPECT_EQ(none.label, "discard");
  EXPECT_FALSE(none.parsed);
  EXPECT_TRUE(ParseClassification("technical").parsed);
}

TEST(VisionRequest, ParseClassifyRequestDefaultsAndFields) {
  auto r = ParseClassifyRequest(R"({"image_base64": "aGk=", "prompt": "p", "max_tokens": 7, "temperature": 0.5,
                                   "resize_image": false, "unknown": 1})");
  ASSERT_TRUE(std::holds_alternative<ClassifyRequest>(r));
  const ClassifyRequest& c = std::get<ClassifyRequest>(r);
  EXPECT_EQ(c.image_base64, "aGk=");
  EXPECT_EQ(c.prompt, "p");
  EXPECT_EQ(c.max_tokens, 7);
  EXPECT_DOUBLE_EQ(c.temperature, 0.5);
  EXPECT_FALSE(c.resize_image);
  auto d = ParseClassifyRequest(R"({"image_path": "x.png"})");
  ASSERT_TRUE(std::holds_alternative<ClassifyRequest>(d));
  EXPECT_EQ(std::get<ClassifyRequest>(d).max_tokens, 512);
  EXPECT_EQ(std::get<ClassifyRequest>(d).prompt, kDefaultClassifyPrompt);
  auto bad = ParseClassifyRequest(R"({"image_path": 3})");
  ASSERT_TRUE(std::holds_alternative<ApiError>(bad));
  EXPECT_EQ(std::get<ApiError>(bad).param, "image_path");
  auto batch = ParseBatchClassifyRequest(R"({"image_paths": ["a", 2]})");
  ASSERT_TRUE(std::holds_alternative<ApiError>(batch));
  EXPECT_EQ(std::get<ApiError>(batch).param, "image_paths[1]");
}

TEST(VisionRequest, ReadImageUnderKeepsInsideTheDirectory) {
  const fs::path root = fs::temp_directory_path() / ("isv_vision_request_" + std::to_string(::getpid()));
  fs::create_directories(root / "imgs" / "sub");
  std::ofstream(root / "imgs" / "sub" / "a.png") << "A";
  std::ofstream(root / "outside.png") << "O";
  fs::create_symlink(root / "outside.png", root / "imgs" / "escape.png");
  fs::create_directories(root / "imgs2");
  std::ofstream(root / "imgs2" / "b.png") << "B";
  const std::string dir = (root / "imgs").string();

  StatusOr<std::string> a = ReadImageUnder(dir, "sub/a.png");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, "A");
  EXPECT_TRUE(ReadImageUnder(dir, (root / "imgs" / "sub" / "a.png").string()).ok());
  EXPECT_TRUE(ReadImageUnder(dir, "sub/../sub/a.png").ok());
  EXPECT_EQ(ReadImageUnder(dir, "../outside.png").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ReadImageUnder(dir, "escape.png").status().code(), StatusCode::kPermissionDenied);
  // A sibling whose name starts with the directory's name is outside too.
  EXPECT_EQ(ReadImageUnder(dir, "../imgs2/b.png").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ReadImageUnder(dir, "sub").status().code(), StatusCode::kNotFound);  // a directory
  EXPECT_EQ(ReadImageUnder(dir, "none.png").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadImageUnder("", "sub/a.png").status().code(), StatusCode::kPermissionDenied);
  fs::remove_all(root);
}

}  // namespace
}  // namespace isv
