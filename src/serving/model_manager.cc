#include "serving/model_manager.h"

#include <algorithm>
#include <cstdio>

#include "core/logging.h"

namespace isv {
namespace {

std::string Mb(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MB", bytes / 1e6);
  return buf;
}

double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

std::string_view ModelStateName(ModelState s) {
  switch (s) {
    case ModelState::kAvailable:
      return "available";
    case ModelState::kLoading:
      return "loading";
    case ModelState::kLoaded:
      return "loaded";
  }
  return "available";
}

ModelManager::Lease::~Lease() {
  // The manager outlives every lease (the server drains requests before destroying it).
  if (entry_ != nullptr) manager_->Release(*entry_);
}

ModelManager::Lease& ModelManager::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (entry_ != nullptr) manager_->Release(*entry_);
    manager_ = other.manager_;
    entry_ = std::move(other.entry_);
    generator_ = std::move(other.generator_);
    load_wait_ms_ = other.load_wait_ms_;
  }
  return *this;
}

void ModelManager::Release(Entry& entry) {
  std::lock_guard<std::mutex> lock(mu_);
  entry.last_used = Clock::now();
  --entry.active;
}

ModelManager::ModelManager(std::shared_ptr<const Registry> registry,
                           std::unique_ptr<ModelLoader> loader, const ModelManagerOptions& options)
    : registry_(std::move(registry)), loader_(std::move(loader)), options_(options) {
  for (const ModelSpec& spec : registry_->models()) {
    auto e = std::make_shared<Entry>();
    e->spec = &spec;
    entries_[spec.id] = e;
  }
}

ModelManager::~ModelManager() {
  {
    std::lock_guard<std::mutex> lock(reaper_mu_);
    stopping_ = true;
  }
  reaper_cv_.notify_all();
  if (reaper_.joinable()) reaper_.join();
}

double ModelManager::KeepAlive(const Entry& e) const {
  return e.spec->keep_alive_s >= 0 ? e.spec->keep_alive_s : options_.keep_alive_s;
}

uint64_t ModelManager::UsedLocked() const {
  uint64_t used = 0;
  for (const auto& [id, e] : entries_) {
    if (e->state != ModelState::kAvailable) used += e->bytes;
  }
  return used;
}

uint64_t ModelManager::used_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return UsedLocked();
}

Status ModelManager::MakeRoom(const Entry& for_entry, uint64_t need) {
  const uint64_t budget = options_.budget_bytes;
  if (need > budget) {
    return ResourceExhaustedError(
        "model '" + for_entry.spec->id + "' needs " + Mb(need) +
        " but the whole memory budget is " + Mb(budget) +
        " (INFERENCE_MEMORY_LIMIT_GB); it can never be loaded with this budget");
  }
  while (UsedLocked() + need > budget) {
    Entry* victim = nullptr;
    for (auto& [id, e] : entries_) {
      if (e->state != ModelState::kLoaded || e->active > 0) continue;
      if (victim == nullptr || e->last_used < victim->last_used) victim = e.get();
    }
    if (victim == nullptr) {
      std::string loaded;
      for (const auto& [id, e] : entries_) {
        if (e->state == ModelState::kAvailable) continue;
        if (!loaded.empty()) loaded += ", ";
        loaded += id + " (" + Mb(e->bytes) + (e->state == ModelState::kLoading ? ", loading" : "") +
                  (e->active > 0 ? ", in use" : "") + ")";
      }
      return ResourceExhaustedError("model '" + for_entry.spec->id + "' needs " + Mb(need) +
                                    " but the memory budget is " + Mb(budget) +
                                    " (INFERENCE_MEMORY_LIMIT_GB) and " + Mb(UsedLocked()) +
                                    " is in use by: " + (loaded.empty() ? "nothing" : loaded));
    }
    LogEvent(LogLevel::kInfo, "model_evicted",
             {{"model", victim->spec->id},
              {"reason", "lru"},
              {"freed_mb", victim->bytes / 1e6},
              {"for_model", for_entry.spec->id}});
    victim->generator.reset();
    victim->state = ModelState::kAvailable;
    victim->bytes = 0;
  }
  return OkStatus();
}

Status ModelManager::EnsureLoaded(std::unique_lock<std::mutex>& lock, Entry& e) {
  while (e.state == ModelState::kLoading) {
    uint64_t gen = e.load_generation;
    loaded_cv_.wait(lock,
                    [&] { return e.state != ModelState::kLoading || e.load_generation != gen; });
    if (e.state == ModelState::kAvailable && !e.last_error.ok()) return e.last_error;
  }
  if (e.state == ModelState::kLoaded) return OkStatus();

  const ModelSpec spec = *e.spec;
  lock.unlock();
  StatusOr<uint64_t> need = loader_->EstimateBytes(spec);
  lock.lock();
  if (!need.ok()) return need.status().WithContext("model '" + spec.id + "'");
  if (e.state != ModelState::kAvailable)
    return EnsureLoaded(lock, e);  // someone else started meanwhile
  ISV_RETURN_IF_ERROR(MakeRoom(e, *need));
  e.state = ModelState::kLoading;
  e.bytes = *need;
  e.last_error = OkStatus();
  ++e.load_generation;
  LogEvent(LogLevel::kInfo, "model_loading",
           {{"model", spec.id}, {"file", spec.path}, {"estimate_mb", *need / 1e6}});
  auto t0 = Clock::now();
  lock.unlock();
  StatusOr<std::shared_ptr<Generator>> g = loader_->Load(spec);
  lock.lock();
  if (!g.ok()) {
    e.state = ModelState::kAvailable;
    e.bytes = 0;
    // Whatever went wrong inside the file (unsupported architecture, corrupt tensor, ...), for the
    // client it is "this configured model cannot be loaded": DataLoss (HTTP 503 model_load_failed).
    const Status& cause = g.status();
    e.last_error = cause.code() == StatusCode::kResourceExhausted
                       ? cause.WithContext("loading model '" + spec.id + "'")
                       : Status(StatusCode::kDataLoss, "loading model '" + spec.id + "' failed: " + cause.ToString());
    LogEvent(LogLevel::kError, "model_load_failed",
             {{"model", spec.id}, {"error", e.last_error.message()}});
    loaded_cv_.notify_all();
    return e.last_error;
  }
  e.generator = std::move(*g);
  e.bytes = e.generator->memory_bytes() > 0 ? e.generator->memory_bytes() : *need;
  e.state = ModelState::kLoaded;
  e.last_used = Clock::now();
  LogEvent(LogLevel::kInfo, "model_loaded",
           {{"model", spec.id}, {"memory_mb", e.bytes / 1e6}, {"load_ms", MsSince(t0)}});
  loaded_cv_.notify_all();
  return OkStatus();
}

StatusOr<ModelManager::Lease> ModelManager::Acquire(const std::string& id) {
  auto t0 = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    std::string why = registry_->DisabledReason(id);
    return NotFoundError(why.empty() ? "model '" + id + "' does not exist (see GET /v1/models)"
                                     : "model '" + id + "' is disabled: " + why);
  }
  std::shared_ptr<Entry> e = it->second;
  if (e->state == ModelState::kAvailable && !options_.auto_load) {
    return FailedPreconditionError("model '" + id +
                                   "' is not loaded; load it with POST /v1/models/" + id +
                                   "/load (INFERENCE_AUTO_LOAD is off)");
  }
  ISV_RETURN_IF_ERROR(EnsureLoaded(lock, *e));
  Lease lease;
  lease.manager_ = this;
  lease.entry_ = e;
  lease.generator_ = e->generator;
  lease.load_wait_ms_ = MsSince(t0);
  ++e->active;
  e->last_used = Clock::now();
  return lease;
}

Status ModelManager::Load(const std::string& id, bool* already_loaded) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    std::string why = registry_->DisabledReason(id);
    return NotFoundError(why.empty() ? "model '" + id + "' does not exist"
                                     : "model '" + id + "' is disabled: " + why);
  }
  if (already_loaded) *already_loaded = it->second->state == ModelState::kLoaded;
  return EnsureLoaded(lock, *it->second);
}

Status ModelManager::Unload(const std::string& id) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return NotFoundError("model '" + id + "' does not exist");
  Entry& e = *it->second;
  while (e.state == ModelState::kLoading) loaded_cv_.wait(lock);
  if (e.state != ModelState::kLoaded)
    return FailedPreconditionError("model '" + id + "' is not loaded");
  e.generator.reset();  // requests in flight keep their own reference until they finish
  e.state = ModelState::kAvailable;
  e.bytes = 0;
  LogEvent(LogLevel::kInfo, "model_unloaded", {{"model", id}, {"reason", "request"}});
  return OkStatus();
}

Status ModelManager::LoadPreset(const std::string& preset_id) {
  const PresetSpec* p = registry_->FindPreset(preset_id);
  if (p == nullptr) {
    std::string why = registry_->DisabledPresetReason(preset_id);
    return NotFoundError(why.empty()
                             ? "preset '" + preset_id + "' does not exist (see GET /v1/presets)"
                             : "preset '" + preset_id + "' is disabled: " + why);
  }
  for (const std::string& m : p->models) ISV_RETURN_IF_ERROR(Load(m));
  std::lock_guard<std::mutex> lock(mu_);
  current_preset_ = preset_id;
  return OkStatus();
}

std::vector<std::string> ModelManager::UnloadIdle(Clock::time_point now) {
  std::vector<std::string> unloaded;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, e] : entries_) {
    double keep = KeepAlive(*e);
    if (e->state != ModelState::kLoaded || e->active > 0 || keep <= 0) continue;
    double idle_s = std::chrono::duration<double>(now - e->last_used).count();
    if (idle_s < keep) continue;
    e->generator.reset();
    e->state = ModelState::kAvailable;
    e->bytes = 0;
    unloaded.push_back(id);
    LogEvent(LogLevel::kInfo, "model_unloaded",
             {{"model", id}, {"reason", "keep_alive"}, {"idle_s", idle_s}});
  }
  return unloaded;
}

void ModelManager::StartIdleReaper(std::chrono::milliseconds period) {
  reaper_ = std::thread([this, period] {
    std::unique_lock<std::mutex> lock(reaper_mu_);
    while (!reaper_cv_.wait_for(lock, period, [&] { return stopping_; })) UnloadIdle(Clock::now());
  });
}

std::vector<ModelStatus> ModelManager::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ModelStatus> out;
  for (const ModelSpec& spec : registry_->models()) {
    const Entry& e = *entries_.at(spec.id);
    out.push_back({&spec, e.state, e.bytes, e.active, e.generator});
  }
  return out;
}

StatusOr<uint64_t> ModelManager::EstimateBytes(const std::string& id) const {
  const ModelSpec* spec = registry_->FindModel(id);
  if (!spec) return NotFoundError("model '" + id + "' does not exist");
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Entry& e = *entries_.at(id);
    if (e.state == ModelState::kLoaded && e.bytes > 0) return e.bytes;
  }
  return loader_->EstimateBytes(*spec);
}

std::vector<std::string> ModelManager::LoadedIds() const {
  std::vector<std::string> ids;
  for (const ModelStatus& s : List()) {
    if (s.state == ModelState::kLoaded) ids.push_back(s.spec->id);
  }
  return ids;
}

std::string ModelManager::current_preset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_preset_;
}

}  // namespace isv
