#include "core/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include <map>

namespace isv {
namespace {

StatusOr<ServeConfig> FromMap(const std::map<std::string, std::string>& env) {
  return ServeConfig::FromEnv([&](const char* k) -> const char* {
    auto it = env.find(k);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(ServeConfig, SeedDefaults) {
  StatusOr<ServeConfig> c = FromMap({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 8085);
  EXPECT_EQ(c->host, "0.0.0.0");
  EXPECT_EQ(c->log_level, "INFO");
  EXPECT_EQ(c->environment, "development");
  EXPECT_EQ(c->models_dir, "/app/models");
  EXPECT_EQ(c->config_dir, "/app/config");
  EXPECT_EQ(c->gpu_layers, -1);
  EXPECT_EQ(c->default_preset, "");
  EXPECT_EQ(c->orchestration_mode, "single");
  EXPECT_EQ(c->vision_model_id, "vikhyatk/moondream2");
  EXPECT_EQ(c->vision_model_revision, "2025-01-09");
  EXPECT_TRUE(c->auto_load);
  EXPECT_EQ(c->keep_alive_s, 0);
  EXPECT_GT(c->MemoryBudgetBytes(), 0u);
}

TEST(ServeConfig, SchedulerVariables) {
  StatusOr<ServeConfig> d = FromMap({});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->max_queue, 64);
  EXPECT_EQ(d->queue_timeout_s, 0);
  EXPECT_EQ(d->max_running, 0);
  EXPECT_TRUE(d->prefix_cache);
  EXPECT_FALSE(d->mmap);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(d->parallel, std::clamp(2 * cores, 4, 16));
  StatusOr<ServeConfig> c = FromMap({{"INFERENCE_PARALLEL", "3"},
                                     {"INFERENCE_QUEUE_TIMEOUT_S", "2.5"},
                                     {"INFERENCE_MAX_RUNNING", "6"},
                                     {"INFERENCE_STEP_TOKENS", "64"},
                                     {"INFERENCE_PRIORITY_AGING_S", "0"},
                                     {"INFERENCE_PREFIX_CACHE", "false"},
                                     {"INFERENCE_MMAP", "true"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->parallel, 3);
  EXPECT_EQ(c->queue_timeout_s, 2.5);
  EXPECT_EQ(c->max_running, 6);
  EXPECT_EQ(c->step_tokens, 64);
  EXPECT_EQ(c->priority_aging_s, 0);
  EXPECT_FALSE(c->prefix_cache);
  EXPECT_TRUE(c->mmap);
  EXPECT_FALSE(FromMap({{"INFERENCE_MMAP", "sometimes"}}).ok());
  EXPECT_EQ(FromMap({{"INFERENCE_PARALLEL", "0"}})->parallel, d->parallel);
  EXPECT_FALSE(FromMap({{"INFERENCE_STEP_TOKENS", "2"}}).ok());
  EXPECT_FALSE(FromMap({{"INFERENCE_QUEUE_TIMEOUT_S", "-1"}}).ok());
}

TEST(ServeConfig, ReadsVariables) {
  StatusOr<ServeConfig> c = FromMap({{"INFERENCE_PORT", "9000"},
                                     {"INFERENCE_LOG_LEVEL", "debug"},
                                     {"INFERENCE_MEMORY_LIMIT_GB", "12.5"},
                                     {"INFERENCE_AUTO_LOAD", "false"},
                                     {"INFERENCE_KEEP_ALIVE", "5m"},
                                     {"INFERENCE_API_KEY", "k"},
                                     {"INFERENCE_DEFAULT_PRESET", "D3"},
                                     {"INFERENCE_GPU_LAYERS", "35"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->port, 9000);
  EXPECT_EQ(c->log_level, "DEBUG");
  EXPECT_EQ(c->MemoryBudgetBytes(), 12'500'000'000u);
  EXPECT_FALSE(c->auto_load);
  EXPECT_EQ(c->keep_alive_s, 300);
  EXPECT_EQ(c->api_key, "k");
  EXPECT_EQ(c->default_preset, "D3");
  EXPECT_EQ(c->gpu_layers, 35);
}

TEST(ServeConfig, BadValuesNameTheVariable) {
  for (auto [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"INFERENCE_PORT", "http"},
                                                        {"INFERENCE_PORT", "70000"},
                                                        {"INFERENCE_AUTO_LOAD", "maybe"},
                                                        {"INFERENCE_KEEP_ALIVE", "5 weeks"},
                                                        {"INFERENCE_MEMORY_LIMIT_GB", "-1"},
                                                        {"INFERENCE_LOG_LEVEL", "LOUD"}}) {
    StatusOr<ServeConfig> c = FromMap({{k, v}});
    ASSERT_FALSE(c.ok()) << k << "=" << v;
    EXPECT_NE(c.status().message().find(k), std::string::npos) << c.status().message();
  }
}

TEST(ParseDuration, Units) {
  EXPECT_EQ(*ParseDuration("30"), 30);
  EXPECT_EQ(*ParseDuration("30s"), 30);
  EXPECT_EQ(*ParseDuration("2m"), 120);
  EXPECT_EQ(*ParseDuration("1h"), 3600);
  EXPECT_EQ(*ParseDuration("-1"), 0);
  EXPECT_FALSE(ParseDuration("soon").ok());
  EXPECT_FALSE(ParseDuration("").ok());
}

}  // namespace
}  // namespace isv
