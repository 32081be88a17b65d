// ModelManager: which registry models are loaded, within a memory budget.
//
// - Acquire(id) hands out a ModelLease for a request: the model is loaded on demand when
//   auto_load is on (else FailedPrecondition -> HTTP 409); concurrent requests for a model that is
//   loading wait for that one load. Never substitutes another model.
// - Before a load, the model's estimated bytes are checked against the budget; idle loaded models
//   (no lease) are evicted least-recently-used first; if it still does not fit, ResourceExhausted
//   names the budget, the need and what is loaded.
// - UnloadIdle() unloads models idle longer than their keep-alive (a background thread calls it).
//
// Loading runs outside the manager's lock, so listing and other models stay responsive.
// Models are produced by a ModelLoader (the engine in production, a fake in tests).
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "serving/generator.h"
#include "serving/registry.h"

namespace isv {

class ModelLoader {
 public:
  virtual ~ModelLoader() = default;
  // Estimated bytes the model will occupy once loaded.
  virtual StatusOr<uint64_t> EstimateBytes(const ModelSpec& spec) = 0;
  virtual StatusOr<std::shared_ptr<Generator>> Load(const ModelSpec& spec) = 0;
};

struct ModelManagerOptions {
  uint64_t budget_bytes = uint64_t{8} << 30;
  bool auto_load = true;
  double keep_alive_s = 0;  // default idle unload; 0 = never (models.yaml may override per model)
};

enum class ModelState { kAvailable, kLoading, kLoaded };
std::string_view ModelStateName(ModelState s);  // "available" | "loading" | "loaded"

struct ModelStatus {
  const ModelSpec* spec;
  ModelState state;
  uint64_t memory_bytes;  // loaded: the model's own figure; else the estimate (0 if unknown)
  int active;             // leases held by requests
  std::shared_ptr<const Generator> generator;  // loaded: the model (for Slots()); else null
};

class ModelManager {
  struct Entry;

 public:
  using Clock = std::chrono::steady_clock;

  // Holds a loaded model for one request; the model is not evicted while a lease exists.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&&) = default;
    Lease& operator=(Lease&& other) noexcept;
    ~Lease();
    Generator* operator->() const { return generator_.get(); }
    Generator& operator*() const { return *generator_; }
    double load_wait_ms() const { return load_wait_ms_; }

   private:
    friend class ModelManager;
    ModelManager* manager_ = nullptr;
    std::shared_ptr<Entry> entry_;
    std::shared_ptr<Generator> generator_;
    double load_wait_ms_ = 0;
  };

  ModelManager(std::shared_ptr<const Registry> registry, std::unique_ptr<ModelLoader> loader,
               const ModelManagerOptions& options);
  ~ModelManager();

  // NotFound for ids not in the registry (the message says why a disabled one is disabled).
  StatusOr<Lease> Acquire(const std::string& id);
  // Loads if needed and waits. *already_loaded (optional) says whether it was loaded before.
  Status Load(const std::string& id, bool* already_loaded = nullptr);
  // Unloads; in-flight requests finish on their lease. FailedPrecondition when not loaded.
  Status Unload(const std::string& id);
  // Loads every model of a preset (in order) and makes it the current preset.
  Status LoadPreset(const std::string& preset_id);
  // Unloads models idle longer than their keep-alive at time `now`; returns their ids.
  std::vector<std::string> UnloadIdle(Clock::time_point now);
  // Starts a thread calling UnloadIdle() every `period` (stopped by the destructor).
  void StartIdleReaper(std::chrono::milliseconds period);

  std::vector<ModelStatus> List() const;
  // Bytes the model occupies (loaded) or would occupy (the loader's estimate). NotFound for ids
  // not in the registry.
  StatusOr<uint64_t> EstimateBytes(const std::string& id) const;
  std::vector<std::string> LoadedIds() const;
  std::string current_preset() const;
  const Registry& registry() const { return *registry_; }
  uint64_t budget_bytes() const { return options_.budget_bytes; }
  uint64_t used_bytes() const;

 private:
  struct Entry {
    const ModelSpec* spec = nullptr;
    ModelState state = ModelState::kAvailable;
    std::shared_ptr<Generator> generator;
    uint64_t bytes = 0;  // reserved (loading) or occupied (loaded)
    int active = 0;
    Clock::time_point last_used;
    Status last_error;  // of the last failed load (waiters report it)
    uint64_t load_generation = 0;
  };

  // REQUIRES: mu_ held. Makes `entry` loaded (loading it, or waiting for the load in progress).
  Status EnsureLoaded(std::unique_lock<std::mutex>& lock, Entry& entry);
  // REQUIRES: mu_ held. Evicts idle models until `need` more bytes fit, or explains why not.
  Status MakeRoom(const Entry& for_entry, uint64_t need);
  uint64_t UsedLocked() const;
  double KeepAlive(const Entry& e) const;
  void Release(Entry& entry);

  std::shared_ptr<const Registry> registry_;
  std::unique_ptr<ModelLoader> loader_;
  ModelManagerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable loaded_cv_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::string current_preset_;

  std::mutex reaper_mu_;
  std::condition_variable reaper_cv_;
  bool stopping_ = false;
  std::thread reaper_;
};

}  // namespace isv
