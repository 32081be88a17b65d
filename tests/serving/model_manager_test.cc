#include "serving/model_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

namespace isv {
namespace {

namespace fs = std::filesystem;
constexpr uint64_t kMb = 1000000;

class FakeGenerator : public Generator {
 public:
  explicit FakeGenerator(uint64_t bytes) : bytes_(bytes) {}
  StatusOr<Prompt> PreparePrompt(const PromptInput&) const override { return Prompt{}; }
  StatusOr<GenerationResult> Generate(const Prompt&, const GenerationParams&, const TextCallback&,
                                      const TokenTimeCallback&) override {
    return GenerationResult{};
  }
  int32_t n_ctx() const override { return 128; }
  uint64_t memory_bytes() const override { return bytes_; }

 private:
  uint64_t bytes_;
};

// Sizes come from the model's size_gb; loads can be made slow or failing.
class FakeLoader : public ModelLoader {
 public:
  StatusOr<uint64_t> EstimateBytes(const ModelSpec& spec) override {
    return static_cast<uint64_t>(spec.size_gb * 1000 * kMb);
  }
  StatusOr<std::shared_ptr<Generator>> Load(const ModelSpec& spec) override {
    ++loads;
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (spec.id == fail_id) return InvalidArgumentError("architecture mamba is not supported");
    return std::shared_ptr<Generator>(
        std::make_shared<FakeGenerator>(static_cast<uint64_t>(spec.size_gb * 1000 * kMb)));
  }
  std::atomic<int> loads{0};
  int delay_ms = 0;
  std::string fail_id;
};

class ModelManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("isv_mm_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    for (const char* f : {"a", "b", "c", "big"})
      std::ofstream(dir_ / (std::string(f) + ".gguf")) << "x";
    // Sizes in GB: a 0.010, b 0.020, c 0.030 (= 10, 20, 30 MB); big 1.0; c keeps alive 2 s.
    StatusOr<Registry> r =
        Registry::Parse(R"(
models:
  a: {file: a.gguf, size_gb: 0.010}
  b: {file: b.gguf, size_gb: 0.020}
  c: {file: c.gguf, size_gb: 0.030, keep_alive: 2}
  big: {file: big.gguf, size_gb: 1.0}
)",
                        "presets:\n  P: {models: [a, b]}\n", dir_.string(), dir_.string());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::make_shared<const Registry>(std::move(*r));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<ModelManager> Make(uint64_t budget_mb, bool auto_load = true,
                                     double keep_alive = 0) {
    auto loader = std::make_unique<FakeLoader>();
    loader_ = loader.get();
    return std::make_unique<ModelManager>(
        registry_, std::move(loader), ModelManagerOptions{budget_mb * kMb, auto_load, keep_alive});
  }
  static ModelState StateOf(const ModelManager& m, const std::string& id) {
    for (const ModelStatus& s : m.List()) {
      if (s.spec->id == id) return s.state;
    }
    return ModelState::kAvailable;
  }

  fs::path dir_;
  std::shared_ptr<const Registry> registry_;
  FakeLoader* loader_ = nullptr;
};

TEST_F(ModelManagerTest, UnknownModelIsNotFound) {
  auto m = Make(100);
  StatusOr<ModelManager::Lease> l = m->Acquire("phi-4");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kNotFound);
}

TEST_F(ModelManagerTest, AutoLoadOffGivesFailedPrecondition) {
  auto m = Make(100, /*auto_load=*/false);
  StatusOr<ModelManager::Lease> l = m->Acquire("a");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(m->Load("a").ok());
  EXPECT_TRUE(m->Acquire("a").ok());
}

TEST_F(ModelManagerTest, LoadOnDemandThenReuse) {
  auto m = Make(100);
  { ASSERT_TRUE(m->Acquire("a").ok()); }
  { ASSERT_TRUE(m->Acquire("a").ok()); }
  EXPECT_EQ(loader_->loads, 1);
  EXPECT_EQ(StateOf(*m, "a"), ModelState::kLoaded);
  EXPECT_EQ(m->used_bytes(), 10 * kMb);
}

TEST_F(ModelManagerTest, EvictsLeastRecentlyUsedIdleModel) {
  auto m = Make(55);  // a + b = 30; adding c (30) needs 5 more freed
  ASSERT_TRUE(m->Load("a").ok());
  ASSERT_TRUE(m->Load("b").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  { ASSERT_TRUE(m->Acquire("a").ok()); }  // a used last: b is LRU
  ASSERT_TRUE(m->Load("c").ok());
  EXPECT_EQ(StateOf(*m, "a"), ModelState::kLoaded);
  EXPECT_EQ(StateOf(*m, "b"), ModelState::kAvailable);
  EXPECT_EQ(StateOf(*m, "c"), ModelState::kLoaded);
  EXPECT_EQ(m->used_bytes(), 40 * kMb);
}

TEST_F(ModelManagerTest, ModelsInUseAreNotEvicted) {
  auto m = Make(45);
  StatusOr<ModelManager::Lease> a = m->Acquire("a");
  StatusOr<ModelManager::Lease> b = m->Acquire("b");
  ASSERT_TRUE(a.ok() && b.ok());
  Status s = m->Load("c");  // 30 + 30 > 45 and both a and b are leased
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("needs 30.0 MB"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("budget is 45.0 MB"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("b (20.0 MB, in use)"), std::string::npos) << s.message();
  *b = ModelManager::Lease();  // release b: now c fits after evicting it
  EXPECT_TRUE(m->Load("c").ok());
  EXPECT_EQ(StateOf(*m, "b"), ModelState::kAvailable);
  EXPECT_EQ(StateOf(*m, "a"), ModelState::kLoaded);
}

TEST_F(ModelManagerTest, ModelLargerThanBudgetFailsAndKeepsOthers) {
  auto m = Make(100);
  ASSERT_TRUE(m->Load("a").ok());
  Status s = m->Load("big");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("needs 1000.0 MB"), std::string::npos);
  EXPECT_NE(s.message().find("whole memory budget is 100.0 MB"), std::string::npos);
  EXPECT_EQ(loader_->loads, 1);
  EXPECT_EQ(StateOf(*m, "a"), ModelState::kLoaded);  // nothing evicted for a hopeless load
}

TEST_F(ModelManagerTest, ConcurrentRequestsWaitForOneLoad) {
  auto m = Make(100);
  loader_->delay_ms = 100;
  std::vector<std::future<bool>> f;
  for (int i = 0; i < 4; ++i) {
    f.push_back(std::async(std::launch::async, [&] { return m->Acquire("b").ok(); }));
  }
  // The first caller's load takes 100 ms; wait for it to start (a fixed sleep could end before the
  // threads ran on a loaded machine) and see the state the others wait on.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (StateOf(*m, "b") == ModelState::kAvailable && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(StateOf(*m, "b"), ModelState::kLoading);
  for (auto& x : f) EXPECT_TRUE(x.get());
  EXPECT_EQ(loader_->loads, 1);
}

TEST_F(ModelManagerTest, FailedLoadIsReportedToAllWaitersAndRetried) {
  auto m = Make(100);
  loader_->fail_id = "a";
  loader_->delay_ms = 50;
  auto f1 = std::async(std::launch::async, [&] { return m->Acquire("a").status(); });
  auto f2 = std::async(std::launch::async, [&] { return m->Acquire("a").status(); });
  Status s1 = f1.get(), s2 = f2.get();
  EXPECT_EQ(s1.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s2.code(), StatusCode::kDataLoss);
  EXPECT_NE(s1.message().find("architecture mamba is not supported"), std::string::npos);
  // A load failure is the model's problem, not the request's: DataLoss (503), not InvalidArgument (400).
  EXPECT_EQ(StateOf(*m, "a"), ModelState::kAvailable);
  EXPECT_EQ(m->used_bytes(), 0u);
  loader_->fail_id.clear();
  EXPECT_TRUE(m->Acquire("a").ok());
}

TEST_F(ModelManagerTest, UnloadKeepsInFlightLeaseAlive) {
  auto m = Make(100);
  StatusOr<ModelManager::Lease> l = m->Acquire("a");
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(m->Unload("a").ok());
  EXPECT_EQ(StateOf(*m, "a"), ModelState::kAvailable);
  EXPECT_EQ((*l)->n_ctx(), 128);  // the generator is still usable by its request
  EXPECT_EQ(m->Unload("a").code(), StatusCode::kFailedPrecondition);
}

TEST_F(ModelManagerTest, KeepAliveUnloadsIdleModelsOnly) {
  auto m = Make(100, true, /*keep_alive=*/10);
  ASSERT_TRUE(m->Load("a").ok());  // global keep-alive 10 s
  ASSERT_TRUE(m->Load("c").ok());  // own keep-alive 2 s
  StatusOr<ModelManager::Lease> busy = m->Acquire("b");
  auto now = ModelManager::Clock::now();
  EXPECT_TRUE(m->UnloadIdle(now + std::chrono::seconds(1)).empty());
  EXPECT_EQ(m->UnloadIdle(now + std::chrono::seconds(3)), std::vector<std::string>{"c"});
  EXPECT_EQ(m->UnloadIdle(now + std::chrono::seconds(11)),
            std::vector<std::string>{"a"});  // b is leased
  EXPECT_EQ(StateOf(*m, "b"), ModelState::kLoaded);
}

TEST_F(ModelManagerTest, KeepAliveZeroNeverUnloads) {
  auto m = Make(100);
  ASSERT_TRUE(m->Load("a").ok());
  EXPECT_TRUE(m->UnloadIdle(ModelManager::Clock::now() + std::chrono::hours(100)).empty());
}

TEST_F(ModelManagerTest, PresetLoadsItsModels) {
  auto m = Make(100);
  ASSERT_TRUE(m->LoadPreset("P").ok());
  EXPECT_EQ(m->LoadedIds(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(m->current_preset(), "P");
  EXPECT_EQ(m->LoadPreset("nope").code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace isv
