#include "tools/cli_common.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include "engine/kv/kv_cache.h"
#include "engine/model/model.h"

namespace isv {

void AddThreadsOption(CLI::App* cmd, int32_t* threads) {
  cmd->add_option("--threads,-t", *threads,
                  "Worker threads, 1 to " + std::to_string(kMaxThreads) + " (0, the default: all cores)")
      ->check(CLI::Range(0, kMaxThreads));
}

Status CheckContextFits(const Model& model, int64_t n_ctx) {
  if (n_ctx < 1 || n_ctx > kMaxContext)
    return InvalidArgumentError("context size " + std::to_string(n_ctx) + " is not in [1, " +
                                std::to_string(kMaxContext) + "]");
  const ModelParams& hp = model.params();
  const uint64_t kv_bytes = KvCache::BytesFor(hp.n_layer, n_ctx, hp.n_embd_kv());
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return OkStatus();  // unknown: let the allocation decide
  const uint64_t ram = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
  if (kv_bytes > ram)
    return ResourceExhaustedError("a context of " + std::to_string(n_ctx) + " tokens needs a KV cache of " +
                                  std::to_string(kv_bytes >> 20) + " MiB; this machine has " +
                                  std::to_string(ram >> 20) + " MiB (use a smaller --ctx)");
  return OkStatus();
}

StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) return NotFoundError(path + ": cannot open: no such file");
  if (!std::filesystem::is_regular_file(st)) return InvalidArgumentError(path + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return InvalidArgumentError(path + ": read error");
  return ss.str();
}

int ReportError(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return 1;
}

}  // namespace isv
