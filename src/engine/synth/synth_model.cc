#include "engine/synth/synth_model.h"

#include <algorithm>
#include <memory>
#include <sys/stat.h>

#include "core/thread_pool.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_stream_writer.h"
#include "engine/quant/row_quantizer.h"
#include "engine/synth/normal_fill.h"
#include "engine/synth/synth_vocab.h"

namespace isv {
namespace {

constexpr int64_t kBlockElements = 65536;        // elements per random stream (rounded to rows)
constexpr int64_t kChunkElements = int64_t{16} << 20;  // elements generated per step

GgufValue U32(uint64_t v) { return GgufValue(GgufType::kUint32, v); }
GgufValue F32(float v) { return GgufValue(GgufType::kFloat32, double{v}); }
GgufValue Str(std::string v) { return GgufValue(GgufType::kString, std::move(v)); }

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// general.* and the architecture's keys (without general.file_type).
std::vector<std::pair<std::string, GgufValue>> ModelKeys(const SynthShape& s, uint64_t seed) {
  const std::string a(s.arch);
  std::vector<std::pair<std::string, GgufValue>> kv;
  kv.emplace_back("general.architecture", Str(a));
  kv.emplace_back("general.type", Str("model"));
  kv.emplace_back("general.name", Str(std::string(s.name) + " (random weights)"));
  kv.emplace_back("general.description",
                  Str("random weights (seed " + std::to_string(seed) + ") at the shape of " + std::string(s.name) +
                      ", not a trained model; made by inference-service synth for tests and benchmarks"));
  kv.emplace_back(a + ".context_length", U32(s.n_ctx));
  kv.emplace_back(a + ".embedding_length", U32(s.n_embd));
  kv.emplace_back(a + ".feed_forward_length", U32(s.n_ff));
  kv.emplace_back(a + ".block_count", U32(s.n_layer));
  kv.emplace_back(a + ".attention.head_count", U32(s.n_head));
  kv.emplace_back(a + ".attention.head_count_kv", U32(s.n_head_kv));
  kv.emplace_back(a + ".rope.dimension_count", U32(s.head_dim()));
  kv.emplace_back(a + ".rope.freq_base", F32(s.rope_base));
  kv.emplace_back(a + ".attention.layer_norm_rms_epsilon", F32(s.rms_eps));
  if (s.arch == "llama") kv.emplace_back(a + ".vocab_size", U32(s.n_vocab));
  if (s.arch == "phi3") kv.emplace_back(a + ".rope.scaling.original_context_length", U32(s.n_ctx));
  return kv;
}

// Buffers reused from tensor to tensor.
struct Scratch {
  std::vector<float> values;
  std::vector<uint8_t> packed;
};

// Writes the values of tensor t (converted to `type`) through w.
Status WriteTensor(ThreadPool& pool, const SynthTensor& t, GgmlType type, uint64_t seed, GgufStreamWriter& w,
                   const SynthShape& shape, Scratch& scratch) {
  const int64_t ne0 = t.ne[0];
  int64_t rows = 1;
  for (size_t i = 1; i < t.ne.size(); ++i) rows *= t.ne[i];
  if (t.init == SynthInit::kRopeFreqs) {
    std::vector<float> f = Llama3RopeFactors(shape.head_dim(), shape.rope_base);
    return w.Append(f.data(), f.size() * sizeof(float));
  }
  RowQuantizeFn quantize = nullptr;
  if (type != GgmlType::kF32) {
    ISV_ASSIGN_OR_RETURN(quantize, FileQuantizer(type));
  }
  const int64_t rows_per_block = std::max<int64_t>(1, kBlockElements / ne0);
  const int64_t blocks_per_chunk = std::max<int64_t>(1, kChunkElements / (rows_per_block * ne0));
  const int64_t rows_per_chunk = rows_per_block * blocks_per_chunk;
  std::vector<float>& values = scratch.values;
  std::vector<uint8_t>& packed = scratch.packed;
  values.resize(std::max(values.size(), static_cast<size_t>(std::min(rows, rows_per_chunk) * ne0)));
  if (type != GgmlType::kF32)
    packed.resize(std::max(packed.size(), RowSize(type, ne0) * static_cast<size_t>(std::min(rows, rows_per_chunk))));
  for (int64_t r0 = 0; r0 < rows; r0 += rows_per_chunk) {
    const int64_t n_rows = std::min(rows_per_chunk, rows - r0);
    const int64_t first_block = r0 / rows_per_block;
    const int64_t n_blocks = (n_rows + rows_per_block - 1) / rows_per_block;
    pool.ParallelFor(n_blocks, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t row = b * rows_per_block;
        const int64_t n = std::min(rows_per_block, n_rows - row) * ne0;
        float* out = values.data() + row * ne0;
        FillNormal(StreamSeed(seed, t.name, static_cast<uint64_t>(first_block + b)), out, n);
        const float offset = t.init == SynthInit::kNorm ? 1.0f : 0.0f;
        for (int64_t i = 0; i < n; ++i) out[i] = offset + t.scale * out[i];
      }
    });
    if (type == GgmlType::kF32) {
      ISV_RETURN_IF_ERROR(w.Append(values.data(), static_cast<size_t>(n_rows * ne0) * sizeof(float)));
    } else {
      QuantizeRows(pool, quantize, type, values.data(), packed.data(), n_rows, ne0);
      ISV_RETURN_IF_ERROR(w.Append(packed.data(), RowSize(type, ne0) * static_cast<size_t>(n_rows)));
    }
  }
  return OkStatus();
}

}  // namespace

StatusOr<SynthPlan> PlanSynthModel(const SynthOptions& o) {
  std::optional<SynthShape> found = FindSynthShape(o.shape);
  if (!found) return InvalidArgumentError("unknown shape '" + o.shape + "' (known: " + SynthShapeNames() + ")");
  SynthPlan plan;
  plan.shape = *found;
  if (o.n_layer < 0 || o.n_layer > 1000) return InvalidArgumentError("layers must be between 1 and 1000");
  if (o.n_layer > 0) plan.shape.n_layer = o.n_layer;
  if (o.n_vocab < 0) return InvalidArgumentError("vocabulary size must be positive");
  if (o.n_vocab > 0) plan.shape.n_vocab = o.n_vocab;
  plan.ftype = o.ftype.value_or(FileType::kAllF32);
  const bool converter_layout = plan.ftype == FileType::kAllF32;
  plan.tensors = SynthTensors(plan.shape);
  plan.types.assign(plan.tensors.size(), GgmlType::kF32);
  if (!converter_layout) {
    std::vector<std::string> names;
    for (const SynthTensor& t : plan.tensors) names.push_back(t.name);
    const std::vector<size_t> order = LlamaQuantizeOrder(names);
    std::vector<SynthTensor> sorted;
    std::vector<MixTensor> mix;
    for (size_t i : order) {
      sorted.push_back(plan.tensors[i]);
      const SynthTensor& t = plan.tensors[i];
      mix.push_back({t.name, GgmlType::kF32, static_cast<int>(t.ne.size()), t.ne[0]});
    }
    plan.tensors = std::move(sorted);
    const SynthShape& s = plan.shape;
    const MixModelInfo info{std::string(s.arch), s.n_layer, s.n_head, s.n_head_kv};
    ISV_ASSIGN_OR_RETURN(plan.types, ChooseTensorTypes(plan.ftype, info, mix));
  }
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const std::vector<int64_t>& ne = plan.tensors[i].ne;
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    plan.n_params += n;
    plan.tensor_bytes += RowSize(plan.types[i], ne[0]) * static_cast<size_t>(n / ne[0]);
  }
  return plan;
}

StatusOr<SynthResult> WriteSynthModel(const SynthOptions& o) {
  ISV_ASSIGN_OR_RETURN(SynthPlan plan, PlanSynthModel(o));
  const SynthShape& shape = plan.shape;
  for (GgmlType t : plan.types)
    if (t != GgmlType::kF32) ISV_RETURN_IF_ERROR(FileQuantizer(t).status());

  SynthResult result;
  result.n_params = plan.n_params;
  result.tensor_bytes = plan.tensor_bytes;
  std::string vocab_path = o.vocab_path;
  if (vocab_path.empty() && o.n_vocab == 0) {
    for (const std::string& dir : o.vocab_search_dirs) {
      const std::string candidate = dir + "/testdata/" + std::string(shape.vocab_file);
      if (FileExists(candidate)) {
        vocab_path = candidate;
        break;
      }
    }
  }
  GgufKvList tokenizer;
  if (!vocab_path.empty()) {
    ISV_ASSIGN_OR_RETURN(tokenizer, CopyTokenizerKeys(vocab_path, shape.n_vocab));
    result.vocab_source = vocab_path;
  } else {
    ISV_ASSIGN_OR_RETURN(tokenizer, ByteLevelVocab(shape.n_vocab));
    result.vocab_source = "generated byte-level vocabulary";
  }

  const bool converter_layout = plan.ftype == FileType::kAllF32;
  GgufStreamWriter w;
  for (auto& [key, value] : ModelKeys(shape, o.seed)) {
    w.AddKv(key, value);
    if (converter_layout && key == "general.description") w.AddKv("general.file_type", U32(0));
  }
  for (auto& [key, value] : tokenizer) w.AddKv(key, value);
  if (!converter_layout) {
    w.AddKv("general.quantization_version", U32(2));
    w.AddKv("general.file_type", U32(static_cast<uint64_t>(plan.ftype)));
  }
  for (size_t i = 0; i < plan.tensors.size(); ++i) w.AddTensorInfo(plan.tensors[i].name, plan.types[i], plan.tensors[i].ne);
  ISV_RETURN_IF_ERROR(w.Open(o.out_path));
  ThreadPool pool(o.n_threads);
  Scratch scratch;
  for (size_t i = 0; i < plan.tensors.size(); ++i)
    ISV_RETURN_IF_ERROR(
        WriteTensor(pool, plan.tensors[i], plan.types[i], o.seed, w, shape, scratch).WithContext(o.out_path));
  ISV_RETURN_IF_ERROR(w.Close());
  return result;
}

}  // namespace isv
