#include "engine/quant/quant_mix.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <numeric>

namespace isv {
namespace {

struct FileTypeEntry {
  FileType type;
  std::string_view name;
  GgmlType default_type;
};

constexpr FileTypeEntry kFileTypes[] = {
    {FileType::kAllF32, "F32", GgmlType::kF32},     {FileType::kF16, "F16", GgmlType::kF16},
    {FileType::kBF16, "BF16", GgmlType::kBF16},     {FileType::kQ8_0, "Q8_0", GgmlType::kQ8_0},
    {FileType::kQ4_0, "Q4_0", GgmlType::kQ4_0},     {FileType::kQ4_1, "Q4_1", GgmlType::kQ4_1},
    {FileType::kQ5_0, "Q5_0", GgmlType::kQ5_0},     {FileType::kQ5_1, "Q5_1", GgmlType::kQ5_1},
    {FileType::kQ2_K, "Q2_K", GgmlType::kQ2_K},     {FileType::kQ3_K_S, "Q3_K_S", GgmlType::kQ3_K},
    {FileType::kQ3_K_M, "Q3_K_M", GgmlType::kQ3_K}, {FileType::kQ3_K_L, "Q3_K_L", GgmlType::kQ3_K},
    {FileType::kQ4_K_S, "Q4_K_S", GgmlType::kQ4_K}, {FileType::kQ4_K_M, "Q4_K_M", GgmlType::kQ4_K},
    {FileType::kQ5_K_S, "Q5_K_S", GgmlType::kQ5_K}, {FileType::kQ5_K_M, "Q5_K_M", GgmlType::kQ5_K},
    {FileType::kQ6_K, "Q6_K", GgmlType::kQ6_K},     {FileType::kIQ4_NL, "IQ4_NL", GgmlType::kIQ4_NL},
    {FileType::kIQ4_XS, "IQ4_XS", GgmlType::kIQ4_XS},
};

const FileTypeEntry& Entry(FileType t) {
  for (const FileTypeEntry& e : kFileTypes)
    if (e.type == t) return e;
  return kFileTypes[0];
}

bool Contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

enum class Category { kTokenEmbd, kOutput, kAttnV, kAttnK, kAttnQ, kAttnOutput, kFfnUp, kFfnGate, kFfnDown, kOther };

Category CategoryOf(const std::string& name) {
  if (name == "output.weight") return Category::kOutput;
  if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") return Category::kTokenEmbd;
  // attn_qkv and attn_kv_b are treated as attn_v (they hold the V projection).
  if (Contains(name, "attn_qkv.weight") || Contains(name, "attn_kv_b.weight") || Contains(name, "attn_v.weight"))
    return Category::kAttnV;
  if (Contains(name, "attn_k.weight")) return Category::kAttnK;
  if (Contains(name, "attn_q.weight")) return Category::kAttnQ;
  if (Contains(name, "attn_output.weight")) return Category::kAttnOutput;
  if (Contains(name, "ffn_up")) return Category::kFfnUp;
  if (Contains(name, "ffn_gate")) return Category::kFfnGate;
  if (Contains(name, "ffn_down")) return Category::kFfnDown;
  return Category::kOther;
}

// Q6_K in the first and last eighth of the layers and in every third layer between.
bool UseMoreBits(int i_layer, int n_layers) {
  return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

int64_t BlockSize(GgmlType t) { return TypeTraits(t).block_size; }

struct MixState {
  FileType ftype;
  const MixModelInfo& model;
  bool tied = true;  // no output.weight seen
  int n_attn_v = 0, i_attn_v = 0, i_ffn_down = 0;
};

// The mix rules proper (before the row-length fallback); `t` is the mix's default type.
GgmlType MixRule(MixState& s, const MixTensor& tensor, Category cat, GgmlType t) {
  const FileType f = s.ftype;
  const bool falcon = s.model.arch == "falcon";
  if (cat == Category::kOutput || (s.tied && cat == Category::kTokenEmbd)) {
    if (falcon || tensor.ne0 % BlockSize(t) != 0) return GgmlType::kQ8_0;
    return t == GgmlType::kQ8_0 ? t : GgmlType::kQ6_K;
  }
  if (cat == Category::kTokenEmbd) return t;
  if (cat == Category::kAttnV) {
    const int i = s.i_attn_v++;
    const int gqa = s.model.n_gqa();
    if (f == FileType::kQ2_K) return gqa >= 4 ? GgmlType::kQ4_K : GgmlType::kQ3_K;
    if (f == FileType::kQ3_K_M) return i < 2 ? GgmlType::kQ5_K : GgmlType::kQ4_K;
    if (f == FileType::kQ3_K_L) return GgmlType::kQ5_K;
    if ((f == FileType::kIQ4_NL || f == FileType::kIQ4_XS) && gqa >= 4) return GgmlType::kQ5_K;
    if ((f == FileType::kQ4_K_M || f == FileType::kQ5_K_M) && UseMoreBits(i, s.n_attn_v)) return GgmlType::kQ6_K;
    if (f == FileType::kQ4_K_S && i < 4) return GgmlType::kQ5_K;
    return t;
  }
  if (cat == Category::kFfnDown) {
    const int i = s.i_ffn_down++;
    const int n = s.model.n_layer;
    if (f == FileType::kQ2_K) return GgmlType::kQ3_K;
    if (f == FileType::kQ3_K_M) {
      if (i < n / 16) return GgmlType::kQ5_K;
      return !falcon || UseMoreBits(i, n) ? GgmlType::kQ4_K : GgmlType::kQ3_K;
    }
    if (f == FileType::kQ3_K_L) return falcon ? GgmlType::kQ4_K : GgmlType::kQ5_K;
    if (f == FileType::kQ4_K_M) {
      if (falcon) return i < n / 16 ? GgmlType::kQ6_K : UseMoreBits(i, n) ? GgmlType::kQ5_K : GgmlType::kQ4_K;
      return UseMoreBits(i, n) ? GgmlType::kQ6_K : t;
    }
    if (i < n / 8 && (f == FileType::kIQ4_NL || f == FileType::kIQ4_XS)) return GgmlType::kQ5_K;
    if (f == FileType::kQ5_K_M && UseMoreBits(i, n)) return GgmlType::kQ6_K;
    if (f == FileType::kQ4_K_S && !falcon && i < n / 8) return GgmlType::kQ5_K;
    return t;
  }
  if (cat == Category::kAttnOutput) {
    if (falcon) return f == FileType::kQ3_K_L ? GgmlType::kQ4_K : t;
    if (f == FileType::kQ2_K) return GgmlType::kQ3_K;
    if (f == FileType::kQ3_K_M) return GgmlType::kQ4_K;
    if (f == FileType::kQ3_K_L) return GgmlType::kQ5_K;
    return t;
  }
  return t;
}

// A type whose block does not divide the row length is replaced by one that does.
StatusOr<GgmlType> Fallback(const MixTensor& tensor, GgmlType t) {
  if (tensor.ne0 % BlockSize(t) == 0) return t;
  GgmlType r;
  switch (t) {
    case GgmlType::kIQ4_XS: r = GgmlType::kIQ4_NL; break;
    case GgmlType::kQ2_K:
    case GgmlType::kQ3_K: r = GgmlType::kQ4_0; break;
    case GgmlType::kQ4_K: r = GgmlType::kQ5_0; break;
    case GgmlType::kQ5_K: r = GgmlType::kQ5_1; break;
    case GgmlType::kQ6_K: r = GgmlType::kQ8_0; break;
    default:
      return InvalidArgumentError("tensor " + tensor.name + ": row length " + std::to_string(tensor.ne0) +
                                  " is not a multiple of the " + std::string(TypeName(t)) +
                                  " block and no fallback type is defined");
  }
  if (tensor.ne0 % BlockSize(r) != 0) r = GgmlType::kF16;
  return r;
}

int LayerOf(const std::string& name) {
  int layer = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
  return layer;
}

}  // namespace

std::optional<FileType> FileTypeFromName(std::string_view name) {
  for (const FileTypeEntry& e : kFileTypes) {
    if (e.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = std::toupper(static_cast<unsigned char>(name[i])) == e.name[i];
    if (same) return e.type;
  }
  return std::nullopt;
}

std::string_view FileTypeName(FileType t) { return Entry(t).name; }

std::string FileTypeNames() {
  std::string out;
  for (const FileTypeEntry& e : kFileTypes) {
    if (!out.empty()) out += ", ";
    out += e.name;
  }
  return out;
}

GgmlType DefaultTensorType(FileType t) { return Entry(t).default_type; }

bool TensorAllowsQuantization(const MixTensor& t) {
  if (t.n_dims < 2) return false;
  const std::string& n = t.name;
  if (n.size() < 6 || n.compare(n.size() - 6, 6, "weight") != 0) return false;
  for (std::string_view skip :
       {"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
        "ssm_conv1d", "shortconv.conv.weight", "time_mix_", "attn_rel_b.weight", ".position_embd", ".rel_pos",
        ".patch_embd", ".patch_merger", "indexer.k_proj.weight", "indexer.q_proj.weight"})
    if (Contains(n, skip)) return false;
  return n != "position_embd.weight" && n != "token_types.weight";
}

StatusOr<std::vector<GgmlType>> ChooseTensorTypes(FileType ftype, const MixModelInfo& model,
                                                  const std::vector<MixTensor>& tensors) {
  MixState s{ftype, model};
  for (const MixTensor& t : tensors) {
    const Category c = CategoryOf(t.name);
    if (c == Category::kAttnV) ++s.n_attn_v;
    if (c == Category::kOutput) s.tied = false;
  }
  const GgmlType def = DefaultTensorType(ftype);
  const bool quantized_mix = TypeTraits(def).quantized;
  std::vector<GgmlType> out;
  out.reserve(tensors.size());
  for (const MixTensor& t : tensors) {
    if (!TensorAllowsQuantization(t)) {
      out.push_back(t.type);
      continue;
    }
    GgmlType type = def;
    if (quantized_mix) {
      type = MixRule(s, t, CategoryOf(t.name), def);
      ISV_ASSIGN_OR_RETURN(type, Fallback(t, type));
    }
    out.push_back(type);
  }
  return out;
}

std::vector<size_t> LlamaQuantizeOrder(const std::vector<std::string>& names) {
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::vector<int> layer(names.size());
  for (size_t i = 0; i < names.size(); ++i) layer[i] = LayerOf(names[i]);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (layer[a] != layer[b]) return layer[a] < layer[b];
    return names[a] < names[b];
  });
  return order;
}

}  // namespace isv
