#include "api/api_error.h"

#include <gtest/gtest.h>

namespace isv {
namespace {

TEST(ApiError, StatusCodesMapToHttpStatuses) {
  struct Case {
    StatusCode code;
    int http;
    bool retriable;
  };
  for (const Case& c : std::vector<Case>{{StatusCode::kInvalidArgument, 400, false},
                                         {StatusCode::kOutOfRange, 400, false},
                                         {StatusCode::kUnauthenticated, 401, false},
                                         {StatusCode::kNotFound, 404, false},
                                         {StatusCode::kFailedPrecondition, 409, true},
                                         {StatusCode::kResourceExhausted, 503, true},
                                         {StatusCode::kUnavailable, 503, true},
                                         {StatusCode::kUnimplemented, 501, false},
                                         {StatusCode::kInternal, 500, false},
                                         {StatusCode::kDataLoss, 503, false}}) {
    ApiError e = ApiError::FromStatus(Status(c.code, "m"));
    EXPECT_EQ(e.http_status, c.http) << StatusCodeName(c.code);
    EXPECT_EQ(e.retriable, c.retriable) << StatusCodeName(c.code);
    EXPECT_EQ(e.message, "m");
    EXPECT_FALSE(e.type.empty());
    EXPECT_FALSE(e.code.empty());
  }
}

TEST(ApiError, BusyErrorsCarryRetryAfter) {
  EXPECT_GT(ApiError::FromStatus(UnavailableError("busy")).retry_after_s, 0);
  EXPECT_GT(ApiError::FromStatus(ResourceExhaustedError("full")).retry_after_s, 0);
  EXPECT_EQ(ApiError::FromStatus(InvalidArgumentError("bad")).retry_after_s, 0);
}

TEST(ApiError, JsonIsTheSeedSchema) {
  ApiError e = ApiError::FromStatus(NotFoundError("model 'x' does not exist"), "model");
  nlohmann::ordered_json j = e.ToJson();
  ASSERT_TRUE(j.contains("error"));
  const auto& err = j["error"];
  EXPECT_EQ(err["message"], "model 'x' does not exist");
  EXPECT_EQ(err["type"], "not_found_error");
  EXPECT_EQ(err["code"], "model_not_found");
  EXPECT_EQ(err["param"], "model");
  EXPECT_EQ(err["retriable"], false);
  EXPECT_EQ(err.size(), 5u);
  EXPECT_TRUE(ApiError::FromStatus(InternalError("bug")).ToJson()["error"]["param"].is_null());
}

}  // namespace
}  // namespace isv
