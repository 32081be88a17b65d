#include "engine/quant/model_quantizer.h"

#include <algorithm>
#include <memory>

#include "core/thread_pool.h"
#include "engine/gguf/gguf_stream_writer.h"
#include "engine/quant/row_quantizer.h"

namespace isv {
namespace {

// Elements converted and quantized per step (bounds the scratch memory to ~64 MiB of floats).
constexpr int64_t kChunkElements = int64_t{16} << 20;

bool IsFloatType(GgmlType t) { return t == GgmlType::kF32 || t == GgmlType::kF16 || t == GgmlType::kBF16; }

bool SkipKey(const std::string& key) {
  return key == "general.file_type" || key == "general.quantization_version" || key == "general.alignment" ||
         key.rfind("split.", 0) == 0;
}

// Buffers reused from tensor to tensor (sized for the current tensor's chunk, never shrunk).
struct Scratch {
  std::vector<float> f32;
  std::vector<uint8_t> out;
};

// Converts one tensor from `view` to type `to`, appending its bytes to `w`.
Status WriteConverted(ThreadPool& pool, const TensorView& view, GgmlType to, GgufStreamWriter& w, Scratch& scratch) {
  if (view.type == to) return w.Append(view.data, view.n_bytes());
  if (!IsFloatType(view.type))
    return UnimplementedError("tensor " + view.name + ": requantizing " + std::string(TypeName(view.type)) +
                              " is not supported (input must be F32, F16 or BF16)");
  ISV_ASSIGN_OR_RETURN(RowQuantizeFn quantize, FileQuantizer(to));
  const int64_t ne0 = view.ne[0];
  const int64_t rows_per_chunk = std::min(view.n_rows(), std::max<int64_t>(1, kChunkElements / ne0));
  std::vector<float>& f32 = scratch.f32;
  std::vector<uint8_t>& out = scratch.out;
  if (view.type != GgmlType::kF32) f32.resize(std::max(f32.size(), static_cast<size_t>(rows_per_chunk * ne0)));
  out.resize(std::max(out.size(), RowSize(to, ne0) * static_cast<size_t>(rows_per_chunk)));
  for (int64_t r0 = 0; r0 < view.n_rows(); r0 += rows_per_chunk) {
    const int64_t rows = std::min(rows_per_chunk, view.n_rows() - r0);
    const float* src;
    if (view.type == GgmlType::kF32) {
      src = reinterpret_cast<const float*>(view.row(r0));
    } else {
      const size_t in_row = view.row_bytes();
      const uint8_t* in = view.row(r0);
      float* dst = f32.data();
      pool.ParallelFor(rows, [&](int64_t b, int64_t e) {
        // RowsToFloat only fails for types without kernels, which IsFloatType excluded.
        (void)RowsToFloat(view.type, in + b * in_row, dst + b * ne0, (e - b) * ne0);
      });
      src = f32.data();
    }
    QuantizeRows(pool, quantize, to, src, out.data(), rows, ne0);
    ISV_RETURN_IF_ERROR(w.Append(out.data(), RowSize(to, ne0) * static_cast<size_t>(rows)));
  }
  return OkStatus();
}

}  // namespace

StatusOr<MixModelInfo> ReadMixModelInfo(const GgufFile& file) {
  MixModelInfo info;
  info.arch = file.architecture();
  if (info.arch.empty()) return InvalidArgumentError(file.path() + ": general.architecture is missing");
  ISV_ASSIGN_OR_RETURN(int64_t n_layer, file.GetIntOr(info.arch + ".block_count", 0));
  ISV_ASSIGN_OR_RETURN(int64_t n_head, file.GetIntOr(info.arch + ".attention.head_count", 1));
  ISV_ASSIGN_OR_RETURN(int64_t n_head_kv, file.GetIntOr(info.arch + ".attention.head_count_kv", n_head));
  info.n_layer = static_cast<int>(n_layer);
  info.n_head = static_cast<int>(std::max<int64_t>(1, n_head));
  info.n_head_kv = static_cast<int>(std::max<int64_t>(1, n_head_kv));
  return info;
}

StatusOr<QuantizeResult> PlanQuantization(const GgufFile& file, FileType ftype) {
  ISV_ASSIGN_OR_RETURN(MixModelInfo info, ReadMixModelInfo(file));
  const std::vector<TensorView>& views = file.tensors();
  std::vector<std::string> names;
  for (const TensorView& v : views) names.push_back(v.name);
  const std::vector<size_t> order = LlamaQuantizeOrder(names);
  std::vector<MixTensor> mix;
  for (size_t i : order) mix.push_back({views[i].name, views[i].type, views[i].n_dims, views[i].ne[0]});
  ISV_ASSIGN_OR_RETURN(std::vector<GgmlType> types, ChooseTensorTypes(ftype, info, mix));
  QuantizeResult plan;
  for (size_t k = 0; k < order.size(); ++k) {
    const TensorView& v = views[order[k]];
    if (types[k] != v.type && !IsFloatType(v.type))
      return UnimplementedError("tensor " + v.name + ": requantizing " + std::string(TypeName(v.type)) +
                                " is not supported (input must be F32, F16 or BF16)");
    const size_t out = RowSize(types[k], v.ne[0]) * static_cast<size_t>(v.n_rows());
    plan.tensors.push_back({v.name, v.type, types[k], v.n_bytes(), out});
    plan.bytes_in += v.n_bytes();
    plan.bytes_out += out;
  }
  return plan;
}

StatusOr<QuantizeResult> QuantizeGguf(const std::string& in_path, const std::string& out_path,
                                      const QuantizeOptions& options) {
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::Open(in_path));
  if (file->tensors().empty())
    return InvalidArgumentError(in_path + ": the file has no tensors to quantize (a vocabulary-only file?)");
  ISV_ASSIGN_OR_RETURN(QuantizeResult plan, PlanQuantization(*file, options.ftype));
  for (const QuantizedTensor& t : plan.tensors)
    if (t.from != t.to) ISV_RETURN_IF_ERROR(FileQuantizer(t.to).status());

  GgufStreamWriter w;
  for (const auto& [key, value] : file->metadata())
    if (!SkipKey(key)) w.AddKv(key, value);
  w.AddKv("general.quantization_version", GgufValue(GgufType::kUint32, uint64_t{2}));
  w.AddKv("general.file_type", GgufValue(GgufType::kUint32, static_cast<uint64_t>(options.ftype)));
  for (const QuantizedTensor& t : plan.tensors) {
    const TensorView* v = file->FindTensor(t.name);
    w.AddTensorInfo(t.name, t.to, std::vector<int64_t>(v->ne, v->ne + std::max(1, v->n_dims)));
  }
  ISV_RETURN_IF_ERROR(w.Open(out_path));
  ThreadPool pool(options.n_threads);
  Scratch scratch;
  for (const QuantizedTensor& t : plan.tensors)
    ISV_RETURN_IF_ERROR(WriteConverted(pool, *file->FindTensor(t.name), t.to, w, scratch).WithContext(out_path));
  ISV_RETURN_IF_ERROR(w.Close());
  return plan;
}

}  // namespace isv
