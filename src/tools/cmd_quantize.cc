// `inference-service quantize IN.gguf OUT.gguf TYPE`: llama-quantize's job (F32/F16/BF16 in,
// a quantization mix out), byte-compatible with llama-quantize without an importance matrix.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "engine/quant/model_quantizer.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace isv {
namespace {

struct QuantizeCliOptions {
  std::string in;
  std::string out;
  std::string type;
  int32_t threads = 0;
  bool quiet = false;
};

int RunQuantize(const QuantizeCliOptions& opt) {
  std::optional<FileType> ftype = FileTypeFromName(opt.type);
  if (!ftype) {
    std::fprintf(stderr, "error: unknown type '%s' (known: %s)\n", opt.type.c_str(), FileTypeNames().c_str());
    return 1;
  }
  if (opt.in == opt.out) {
    std::fprintf(stderr, "error: input and output are the same file\n");
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  StatusOr<QuantizeResult> r = QuantizeGguf(opt.in, opt.out, {*ftype, opt.threads});
  if (!r.ok()) {
    std::fprintf(stderr, "error: %s\n", r.status().message().c_str());
    std::remove(opt.out.c_str());
    return 1;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!opt.quiet) {
    for (const QuantizedTensor& t : r->tensors)
      std::printf("%-36s %-7s -> %-7s %10.2f MiB\n", t.name.c_str(), std::string(TypeName(t.from)).c_str(),
                  std::string(TypeName(t.to)).c_str(), t.bytes_out / 1048576.0);
  }
  std::printf("%s: %s, tensor data %.2f MiB -> %.2f MiB in %.2f s\n", opt.out.c_str(),
              std::string(FileTypeName(*ftype)).c_str(), r->bytes_in / 1048576.0, r->bytes_out / 1048576.0, secs);
  return 0;
}

}  // namespace

void AddQuantizeCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<QuantizeCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quantize", "Quantize an F32/F16/BF16 GGUF model to a llama.cpp mix (same tensor types and bytes as llama-quantize)");
  cmd->add_option("input", opt->in, "Input GGUF file (F32, F16 or BF16 weights)")->required();
  cmd->add_option("output", opt->out, "Output GGUF file (overwritten)")->required();
  cmd->add_option("type", opt->type, "Target mix: " + FileTypeNames())->required();
  AddThreadsOption(cmd, &opt->threads);
  cmd->add_flag("-q,--quiet", opt->quiet, "Print only the summary line, not every tensor");
  cmd->callback([opt, exit_code] { *exit_code = RunQuantize(*opt); });
}

}  // namespace isv
