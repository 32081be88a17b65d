#include "serving/registry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace isv {
namespace {

namespace fs = std::filesystem;

// A models dir with two (empty) model files.
class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("isv_registry_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "m");
    std::ofstream(dir_ / "m" / "a.gguf") << "x";
    std::ofstream(dir_ / "m" / "b.gguf") << "x";
  }
  void TearDown() override { fs::remove_all(dir_); }
  StatusOr<Registry> Parse(const std::string& models, const std::string& presets = "") {
    return Registry::Parse(models, presets, (dir_ / "m").string(), dir_.string());
  }
  fs::path dir_;
};

constexpr const char* kModels = R"(
models:
  a:
    name: Model A
    description: first
    file: a.gguf
    size_gb: 1.5
    context_length: 4096
    quantization: Q4_K_M
    roles: [primary, coder]
    gpu_layers: 35
    keep_alive: 5m
  b:
    file: b.gguf
    size_gb: 2.0
)";

TEST_F(RegistryTest, ParsesTheSeedShape) {
  StatusOr<Registry> r = Parse(kModels, R"(
presets:
  D1:
    name: A + B
    models: [a, b]
    total_memory_gb: 3.6
    orchestration_mode: single
    target: mac-16gb
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->models().size(), 2u);
  const ModelSpec* a = r->FindModel("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "Model A");
  EXPECT_EQ(a->size_gb, 1.5);
  EXPECT_EQ(a->context_length, 4096);
  EXPECT_EQ(a->roles, (std::vector<std::string>{"primary", "coder"}));
  EXPECT_EQ(a->gpu_layers, 35);
  EXPECT_EQ(a->keep_alive_s, 300);
  EXPECT_EQ(a->path, (dir_ / "m" / "a.gguf").string());
  EXPECT_EQ(r->FindModel("b")->name, "b");  // name defaults to the id
  EXPECT_EQ(r->FindModel("b")->keep_alive_s, -1);
  ASSERT_NE(r->FindPreset("D1"), nullptr);
  EXPECT_EQ(r->FindPreset("D1")->target, "mac-16gb");
  EXPECT_TRUE(r->problems().empty());
}

TEST_F(RegistryTest, PresetOrchestrationDefaultsBecomeJson) {
  StatusOr<Registry> r = Parse("models:\n  a: {file: a.gguf}\n", R"(
presets:
  P:
    models: [a]
    orchestration_mode: critique
    orchestration: {rounds: 2, stage_timeout_s: 1.5, on_failure: error, models: [a, a],
                    stages: [{role: coder, instruction: "Write it"}], flag: true, quoted: "3"}
  Q: {models: [a]}
  R: {models: [a], orchestration: [1, 2]}
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const PresetSpec* p = r->FindPreset("P");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->orchestration_mode, "critique");
  EXPECT_EQ(p->orchestration, nlohmann::ordered_json::parse(R"({"rounds":2,"stage_timeout_s":1.5,
      "on_failure":"error","models":["a","a"],"stages":[{"role":"coder","instruction":"Write it"}],
      "flag":true,"quoted":"3"})"));
  EXPECT_TRUE(r->FindPreset("Q")->orchestration.is_null());
  EXPECT_EQ(r->FindPreset("R"), nullptr);  // not a mapping: the preset is disabled
  EXPECT_NE(r->DisabledPresetReason("R").find("orchestration"), std::string::npos);
}

TEST_F(RegistryTest, MissingFileDisablesOnlyThatModel) {
  StatusOr<Registry> r = Parse("models:\n  a: {file: a.gguf}\n  gone: {file: nope.gguf}\n");
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->FindModel("a"), nullptr);
  EXPECT_EQ(r->FindModel("gone"), nullptr);
  EXPECT_NE(r->DisabledReason("gone").find("nope.gguf not found"), std::string::npos);
  ASSERT_EQ(r->problems().size(), 1u);
  EXPECT_NE(r->problems()[0].find("model 'gone' disabled"), std::string::npos);
}

TEST_F(RegistryTest, MmprojResolvesAgainstTheModelsDirAndMustExist) {
  StatusOr<Registry> r = Parse("models:\n  v: {file: a.gguf, mmproj: b.gguf}\n  w: {file: a.gguf, mmproj: no.gguf}\n");
  ASSERT_TRUE(r.ok());
  const ModelSpec* v = r->FindModel("v");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->mmproj, "b.gguf");
  EXPECT_EQ(v->mmproj_path, (dir_ / "m" / "b.gguf").lexically_normal().string());
  EXPECT_EQ(r->FindModel("w"), nullptr);
  EXPECT_NE(r->DisabledReason("w").find("mmproj"), std::string::npos) << r->DisabledReason("w");
  EXPECT_NE(r->DisabledReason("w").find("no.gguf not found"), std::string::npos);
}

TEST_F(RegistryTest, WrongFieldTypeNamesTheField) {
  StatusOr<Registry> r =
      Parse("models:\n  a: {file: a.gguf, size_gb: big}\n  b: {file: b.gguf, roles: primary}\n");
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->DisabledReason("a").find("size_gb"), std::string::npos);
  EXPECT_NE(r->DisabledReason("b").find("roles"), std::string::npos);
  EXPECT_TRUE(r->models().empty());
}

TEST_F(RegistryTest, DuplicateIdsDisableBothEntries) {
  StatusOr<Registry> r =
      Parse("models:\n  a: {file: a.gguf}\n  a: {file: b.gguf}\n  b: {file: b.gguf}\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->FindModel("a"), nullptr);
  EXPECT_NE(r->DisabledReason("a").find("more than once"), std::string::npos);
  EXPECT_NE(r->FindModel("b"), nullptr);
}

TEST_F(RegistryTest, PresetWithUnknownOrDisabledModelIsDisabled) {
  StatusOr<Registry> r =
      Parse("models:\n  a: {file: a.gguf}\n  gone: {file: nope.gguf}\n",
            "presets:\n  S1: {models: [a]}\n  S2: {models: [a, phi-4]}\n  S3: {models: [gone]}\n");
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->FindPreset("S1"), nullptr);
  EXPECT_EQ(r->FindPreset("S2"), nullptr);
  EXPECT_NE(r->DisabledPresetReason("S2").find("'phi-4' is not in models.yaml"), std::string::npos);
  EXPECT_NE(r->DisabledPresetReason("S3").find("is disabled"), std::string::npos);
}

TEST_F(RegistryTest, InconsistentPresetTotalIsAWarning) {
  StatusOr<Registry> r = Parse(kModels, "presets:\n  D1: {models: [a, b], total_memory_gb: 1.0}\n");
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->FindPreset("D1"), nullptr);  // still usable
  ASSERT_EQ(r->problems().size(), 1u);
  EXPECT_NE(r->problems()[0].find("total_memory_gb 1 is inconsistent"), std::string::npos);
}

TEST_F(RegistryTest, MalformedYamlIsAnError) {
  EXPECT_FALSE(Parse("models: [unclosed").ok());
  EXPECT_FALSE(Parse("not_models: {}").ok());
  StatusOr<Registry> r = Registry::Load((dir_ / "nowhere").string(), dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("models.yaml"), std::string::npos);
}

TEST_F(RegistryTest, ShippedConfigsParse) {
  // The example config names files that are not here: every model is disabled for that reason,
  // and nothing else is wrong with it.
  for (const char* sub : {"config", "config/test"}) {
    fs::path cfg = fs::path(__FILE__).parent_path().parent_path().parent_path() / sub;
    StatusOr<Registry> r = Registry::Load(cfg.string(), (dir_ / "m").string());
    ASSERT_TRUE(r.ok()) << sub << ": " << r.status().ToString();
    for (const std::string& p : r->problems()) {
      EXPECT_TRUE(p.find("not found") != std::string::npos ||
                  p.find("is disabled") != std::string::npos)
          << sub << ": " << p;
    }
  }
}

}  // namespace
}  // namespace isv
