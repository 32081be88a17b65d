// Context::Create refuses a KV cache it cannot allocate with a Status instead of throwing.
#include <gtest/gtest.h>

#include <memory>

#include "engine/model/context.h"
#include "engine/model/golden_testutil.h"
#include "engine/model/model.h"

namespace isv {
namespace {

using golden::TestdataDir;
using golden::TestdataPresent;

TEST(ContextCreate, ImpossibleKvCacheIsResourceExhausted) {
  if (!TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  StatusOr<std::unique_ptr<Model>> model = Model::Load(TestdataDir() + "/models/stories260K.gguf");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  // 5 layers x 2^30 cells x 32 KV values x 2 (K and V) x 2 bytes = 640 GiB: refused before allocating.
  StatusOr<std::unique_ptr<Context>> ctx = Context::Create(**model, {.n_ctx = 1 << 30, .n_threads = 1});
  ASSERT_FALSE(ctx.ok());
  EXPECT_EQ(ctx.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(ctx.status().message().find("KV cache"), std::string::npos) << ctx.status().message();
}

TEST(ContextCreate, NegativeContextIsInvalid) {
  if (!TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  StatusOr<std::unique_ptr<Model>> model = Model::Load(TestdataDir() + "/models/stories260K.gguf");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  StatusOr<std::unique_ptr<Context>> ctx = Context::Create(**model, {.n_ctx = -4, .n_threads = 1});
  EXPECT_EQ(ctx.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace isv
