// The vision encoder against an independent reference written here: straight loops in double
// over the file's tensors (own F32 / F16 / Q8_0 decoding, direct convolution, explicit attention),
// on the synth mmproj shapes; and the loader's errors on broken files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <set>

#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/synth/normal_fill.h"
#include "engine/synth/synth_mmproj.h"
#include "engine/tensor/float16.h"
#include "engine/vision/clip_encoder.h"

namespace isv {
namespace {

using Mat = std::vector<std::vector<double>>;  // rows

// ---- reference ---------------------------------------------------------------------------------

std::vector<double> Load(const GgufFile& f, const std::string& name) {
  const TensorView* t = f.FindTensor(name);
  if (t == nullptr) return {};
  const int64_t n = t->n_elements();
  std::vector<double> out(static_cast<size_t>(n));
  const uint8_t* p = static_cast<const uint8_t*>(t->data);
  if (t->type == GgmlType::kF32) {
    for (int64_t i = 0; i < n; ++i) {
      float v;
      std::memcpy(&v, p + 4 * i, 4);
      out[i] = v;
    }
  } else if (t->type == GgmlType::kF16) {
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out[i] = Fp16ToFp32(h);
    }
  } else if (t->type == GgmlType::kQ8_0) {  // blocks: fp16 scale, 32 x int8
    for (int64_t b = 0; b < n / 32; ++b) {
      uint16_t h;
      std::memcpy(&h, p + 34 * b, 2);
      for (int i = 0; i < 32; ++i) out[b * 32 + i] = double{Fp16ToFp32(h)} * static_cast<int8_t>(p[34 * b + 2 + i]);
    }
  } else {
    ADD_FAILURE() << "reference: type of " << name;
  }
  return out;
}

// x W^T + b for W stored as rows of `in` (ggml [in, out]).
Mat Lin(const GgufFile& f, const std::string& w_name, const std::string& b_name, const Mat& x) {
  const std::vector<double> w = Load(f, w_name), b = Load(f, b_name);
  const size_t in = x[0].size(), out = w.size() / in;
  EXPECT_EQ(w.size(), in * out) << w_name;
  Mat y(x.size(), std::vector<double>(out));
  for (size_t t = 0; t < x.size(); ++t)
    for (size_t o = 0; o < out; ++o) {
      double s = b.empty() ? 0 : b[o];
      for (size_t i = 0; i < in; ++i) s += w[o * in + i] * x[t][i];
      y[t][o] = s;
    }
  return y;
}

Mat Norm(const GgufFile& f, const std::string& prefix, const Mat& x, double eps) {
  const std::vector<double> w = Load(f, prefix + ".weight"), b = Load(f, prefix + ".bias");
  Mat y = x;
  for (auto& r : y) {
    double mean = 0, var = 0;
    for (double v : r) mean += v;
    mean /= r.size();
    for (double v : r) var += (v - mean) * (v - mean);
    var /= r.size();
    for (size_t i = 0; i < r.size(); ++i) r[i] = (r[i] - mean) / std::sqrt(var + eps) * w[i] + (b.empty() ? 0 : b[i]);
  }
  return y;
}

double GeluTanh(double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }

struct RefOptions {
  bool llamacpp_order = false;
};

std::vector<double> Reference(const GgufFile& f, const std::vector<float>& chw, RefOptions o = {}) {
  const int S = static_cast<int>(*f.GetInt("clip.vision.image_size"));
  const int p = static_cast<int>(*f.GetInt("clip.vision.patch_size"));
  const int e = static_cast<int>(*f.GetInt("clip.vision.embedding_length"));
  const int n_head = static_cast<int>(*f.GetInt("clip.vision.attention.head_count"));
  const int n_layer = static_cast<int>(*f.GetInt("clip.vision.block_count"));
  const double eps = *f.GetFloat("clip.vision.attention.layer_norm_epsilon");
  const bool gelu = f.GetBoolOr("clip.use_gelu", false).value();
  const int side = S / p, np = side * side;
  const std::vector<double> cls = Load(f, "v.class_embd");
  const int n = np + (cls.empty() ? 0 : 1);

  // Direct convolution, stride p.
  const std::vector<double> w = Load(f, "v.patch_embd.weight"), pb = Load(f, "v.patch_embd.bias");
  Mat patches(np, std::vector<double>(e));
  for (int py = 0; py < side; ++py)
    for (int px = 0; px < side; ++px)
      for (int oc = 0; oc < e; ++oc) {
        double s = pb.empty() ? 0 : pb[oc];
        for (int c = 0; c < 3; ++c)
          for (int ky = 0; ky < p; ++ky)
            for (int kx = 0; kx < p; ++kx)
              s += w[((static_cast<size_t>(oc) * 3 + c) * p + ky) * p + kx] *
                   chw[(static_cast<size_t>(c) * S + py * p + ky) * S + px * p + kx];
        patches[py * side + px][oc] = s;
      }
  Mat x(n);
  if (cls.empty()) {
    x = patches;
  } else if (!o.llamacpp_order) {
    x[0] = cls;
    for (int i = 0; i < np; ++i) x[1 + i] = patches[i];
  } else {
    for (int i = 0; i < np; ++i) x[i] = patches[i];
    x[np] = cls;
  }
  const std::vector<double> pos = Load(f, "v.position_embd.weight");
  for (int t = 0; t < n; ++t)
    for (int i = 0; i < e; ++i) x[t][i] += pos[static_cast<size_t>(t) * e + i];
  if (f.FindTensor("v.pre_ln.weight") != nullptr) x = Norm(f, "v.pre_ln", x, eps);

  std::vector<Mat> hs = {x};
  const int d = e / n_head;
  for (int il = 0; il < n_layer; ++il) {
    const std::string b = "v.blk." + std::to_string(il) + ".";
    Mat h = Norm(f, b + "ln1", x, eps);
    const Mat q = Lin(f, b + "attn_q.weight", b + "attn_q.bias", h);
    const Mat k = Lin(f, b + "attn_k.weight", b + "attn_k.bias", h);
    const Mat v = Lin(f, b + "attn_v.weight", b + "attn_v.bias", h);
    Mat a(n, std::vector<double>(e, 0.0));
    for (int hd = 0; hd < n_head; ++hd)
      for (int t = 0; t < n; ++t) {
        std::vector<double> sc(n);
        double mx = -1e300;
        for (int u = 0; u < n; ++u) {
          double s = 0;
          for (int i = 0; i < d; ++i) s += q[t][hd * d + i] * k[u][hd * d + i];
          sc[u] = s / std::sqrt(double(d));
          mx = std::max(mx, sc[u]);
        }
        double z = 0;
        for (double& s : sc) z += (s = std::exp(s - mx));
        for (int u = 0; u < n; ++u)
          for (int i = 0; i < d; ++i) a[t][hd * d + i] += sc[u] / z * v[u][hd * d + i];
      }
    const Mat att = Lin(f, b + "attn_out.weight", b + "attn_out.bias", a);
    for (int t = 0; t < n; ++t)
      for (int i = 0; i < e; ++i) x[t][i] += att[t][i];
    h = Norm(f, b + "ln2", x, eps);
    // Up is whichever of the two FFN matrices takes n_embd inputs.
    std::string up = b + "ffn_up", down = b + "ffn_down";
    if (f.FindTensor(up + ".weight")->ne[0] != e) std::swap(up, down);
    Mat ff = Lin(f, up + ".weight", up + ".bias", h);
    for (auto& r : ff)
      for (double& val : r) val = gelu ? GeluTanh(val) : val / (1 + std::exp(-1.702 * val));
    const Mat dn = Lin(f, down + ".weight", down + ".bias", ff);
    for (int t = 0; t < n; ++t)
      for (int i = 0; i < e; ++i) x[t][i] += dn[t][i];
    hs.push_back(x);
  }
  // Feature states: hidden state n_layer - 1 (llava's "second to last"), or the listed ones;
  // the deepest one goes through the post-LayerNorm.
  std::vector<int> layers = {n_layer - 1};
  if (f.Find("clip.vision.feature_layer") != nullptr) {
    std::vector<int64_t> l = *f.GetIntArray("clip.vision.feature_layer");
    std::set<int> uniq(l.begin(), l.end());
    layers.assign(uniq.begin(), uniq.end());
  }
  std::vector<Mat> states;
  for (int l : layers) states.push_back(hs[l]);
  if (f.FindTensor("v.post_ln.weight") != nullptr) states.back() = Norm(f, "v.post_ln", states.back(), eps);
  const int r0 = cls.empty() ? 0 : 1;
  Mat tokens(np);
  for (int t = 0; t < np; ++t)
    for (const Mat& s : states) tokens[t].insert(tokens[t].end(), s[r0 + t].begin(), s[r0 + t].end());
  Mat y = Lin(f, "mm.0.weight", "mm.0.bias", tokens);
  for (auto& r : y)
    for (double& val : r) val = GeluTanh(val);
  if (f.FindTensor("mm.2.weight") != nullptr) y = Lin(f, "mm.2.weight", "mm.2.bias", y);
  std::vector<double> flat;
  for (auto& r : y) flat.insert(flat.end(), r.begin(), r.end());
  return flat;
}

// ---- helpers -----------------------------------------------------------------------------------

std::string Synth(const std::string& shape, GgmlType type, int text_embd = 256) {
  SynthMmprojOptions o;
  o.shape = shape;
  o.type = type;
  o.n_embd_text = text_embd;
  StatusOr<std::string> bytes = SerializeSynthMmproj(o);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return bytes.ok() ? *bytes : "";
}

StatusOr<std::unique_ptr<ClipVisionModel>> Load(const std::string& bytes) {
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> f, GgufFile::FromBytes(bytes, "mmproj.gguf"));
  return ClipVisionModel::FromGguf(std::move(f));
}

std::vector<float> RandomImage(int size, uint64_t seed) {
  std::vector<float> chw(static_cast<size_t>(3) * size * size);
  FillNormal(seed, chw.data(), static_cast<int64_t>(chw.size()));
  return chw;
}

// max |a - b| / max(1, max |b|).
double RelDiff(const std::vector<float>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0, scale = 1;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::fabs(a[i] - b[i]));
    scale = std::max(scale, std::fabs(b[i]));
  }
  return worst / scale;
}

struct EditableTensor {
  std::string name;
  GgmlType type;
  std::vector<int64_t> ne;
  std::string data;
};

// Rebuilds a GGUF image after `edit` changed its metadata (through the writer: set keys first)
// or its tensors.
std::string Rewrite(const std::string& bytes, const std::set<std::string>& drop_keys,
                    const std::function<void(GgufWriter&)>& add_keys,
                    const std::function<void(std::vector<EditableTensor>&)>& edit_tensors) {
  std::unique_ptr<GgufFile> f = std::move(GgufFile::FromBytes(bytes).value());
  GgufWriter w;
  for (const auto& [key, value] : f->metadata())
    if (!drop_keys.count(key)) w.AddKv(key, value);
  if (add_keys) add_keys(w);
  std::vector<EditableTensor> ts;
  for (size_t i = 0; i < f->tensor_infos().size(); ++i) {
    const GgufTensorInfo& info = f->tensor_infos()[i];
    const TensorView& v = f->tensors()[i];
    ts.push_back({info.name, info.type, std::vector<int64_t>(info.ne, info.ne + info.n_dims),
                  std::string(static_cast<const char*>(v.data), info.n_bytes)});
  }
  if (edit_tensors) edit_tensors(ts);
  for (EditableTensor& t : ts) w.AddTensor(t.name, t.type, t.ne, t.data);
  return w.Serialize();
}

std::string F32Random(int64_t n, uint64_t seed, float scale) {
  std::vector<float> v(static_cast<size_t>(n));
  FillNormal(seed, v.data(), n);
  for (float& x : v) x *= scale;
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

void ExpectMatchesReference(const std::string& bytes, double tol, ClipEncodeOptions eo = {}) {
  StatusOr<std::unique_ptr<ClipVisionModel>> m = Load(bytes);
  ASSERT_TRUE(m.ok()) << m.status().message();
  const ClipHparams& h = (*m)->hparams();
  ThreadPool pool(2);
  for (uint64_t seed : {1, 2}) {
    const std::vector<float> chw = RandomImage(h.image_size, seed);
    StatusOr<ImageEmbedding> emb = EncodeImage(**m, chw, pool, eo);
    ASSERT_TRUE(emb.ok()) << emb.status().message();
    EXPECT_EQ(emb->n_tokens, h.n_patches());
    EXPECT_EQ(emb->n_embd, h.n_embd_out);
    ASSERT_EQ(emb->data.size(), static_cast<size_t>(emb->n_tokens) * emb->n_embd);
    const double d = RelDiff(emb->data, Reference((*m)->file(), chw, {eo.llamacpp_class_token_order}));
    EXPECT_LT(d, tol) << "seed " << seed;
    std::printf("[ relative max diff %.3g (tolerance %.3g) ]\n", d, tol);
  }
}

// ---- tests -------------------------------------------------------------------------------------

TEST(ClipEncoderTest, ClipTinyF32MatchesReference) { ExpectMatchesReference(Synth("clip-tiny", GgmlType::kF32), 1e-5); }

// F16 weights take F16 activations (as ggml does), so a few 1e-4 relative per matmul.
TEST(ClipEncoderTest, ClipTinyF16MatchesReference) { ExpectMatchesReference(Synth("clip-tiny", GgmlType::kF16), 1e-2); }

// Q8_0 weights take Q8_0 activations.
TEST(ClipEncoderTest, ClipTinyQ8_0MatchesReference) {
  ExpectMatchesReference(Synth("clip-tiny", GgmlType::kQ8_0), 3e-2);
}

TEST(ClipEncoderTest, SiglipTinyMatchesReference) {
  const std::string bytes = Synth("siglip-tiny", GgmlType::kF32, 96);
  ExpectMatchesReference(bytes, 1e-5);
  StatusOr<std::unique_ptr<ClipVisionModel>> m = Load(bytes);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE((*m)->hparams().has_class_embd);
  EXPECT_EQ((*m)->hparams().n_layer_run, 3);
  EXPECT_EQ((*m)->hparams().n_embd_out, 96);
  EXPECT_EQ((*m)->hparams().ffn_act, ClipActivation::kGelu);
}

TEST(ClipEncoderTest, LlamaCppClassTokenOrderOption) {
  const std::string bytes = Synth("clip-tiny", GgmlType::kF32);
  ClipEncodeOptions eo;
  eo.llamacpp_class_token_order = true;
  ExpectMatchesReference(bytes, 1e-5, eo);
  // And it is a different result from CLIP's order.
  StatusOr<std::unique_ptr<ClipVisionModel>> m = Load(bytes);
  ASSERT_TRUE(m.ok());
  ThreadPool pool(1);
  const std::vector<float> chw = RandomImage(32, 3);
  const std::vector<float> a = EncodeImage(**m, chw, pool).value().data;
  const std::vector<float> b = EncodeImage(**m, chw, pool, eo).value().data;
  std::vector<double> bd(b.begin(), b.end());
  EXPECT_GT(RelDiff(a, bd), 1e-2);
}

TEST(ClipEncoderTest, MultipleFeatureLayersAreConcatenated) {
  // Hidden states 1 and 3 (after one block, and after all three with the post-LayerNorm, which the
  // file gains here) feed a projector of 2 x 64 inputs.
  const std::string bytes = Rewrite(
      Synth("clip-tiny", GgmlType::kF32), {},
      [](GgufWriter& w) { w.AddInt32Array("clip.vision.feature_layer", {3, 1}); },
      [](std::vector<EditableTensor>& ts) {
        for (EditableTensor& t : ts)
          if (t.name == "mm.0.weight") {
            t.ne = {128, 256};
            t.type = GgmlType::kF32;
            t.data = F32Random(128 * 256, 7, 0.09f);
          }
        ts.push_back({"v.post_ln.weight", GgmlType::kF32, {64}, F32Random(64, 8, 1.0f)});
        ts.push_back({"v.post_ln.bias", GgmlType::kF32, {64}, F32Random(64, 9, 0.1f)});
      });
  StatusOr<std::unique_ptr<ClipVisionModel>> m = Load(bytes);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ((*m)->hparams().n_layer_run, 3);
  EXPECT_EQ((*m)->hparams().feature_layers, (std::vector<int>{1, 3}));
  ExpectMatchesReference(bytes, 1e-5);
}

TEST(ClipEncoderTest, LegacySwappedFfnNamesAreRecognised) {
  const std::string bytes = Synth("clip-tiny", GgmlType::kF32);
  const std::string swapped = Rewrite(bytes, {}, nullptr, [](std::vector<EditableTensor>& ts) {
    for (EditableTensor& t : ts) {
      const size_t up = t.name.find("ffn_up"), down = t.name.find("ffn_down");
      if (up != std::string::npos) t.name.replace(up, 6, "ffn_down");
      else if (down != std::string::npos) t.name.replace(down, 8, "ffn_up");
    }
  });
  ThreadPool pool(1);
  const std::vector<float> chw = RandomImage(32, 4);
  StatusOr<ImageEmbedding> a = EncodeImage(*Load(bytes).value(), chw, pool);
  StatusOr<ImageEmbedding> b = EncodeImage(*Load(swapped).value(), chw, pool);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->data, b->data);
}

TEST(ClipEncoderTest, ResultDoesNotDependOnThreadCount) {
  StatusOr<std::unique_ptr<ClipVisionModel>> m = Load(Synth("clip-tiny", GgmlType::kF16));
  ASSERT_TRUE(m.ok());
  const std::vector<float> chw = RandomImage(32, 5);
  ThreadPool one(1), three(3);
  EXPECT_EQ(EncodeImage(**m, chw, one).value().data, EncodeImage(**m, chw, three).value().data);
}

TEST(ClipEncoderTest, EmbedImagePreprocessesThenEncodes) {
  StatusOr<std::unique_ptr<ClipVisionModel>> m = Load(Synth("clip-tiny", GgmlType::kF32));
  ASSERT_TRUE(m.ok());
  RgbImage img;
  img.width = 45;
  img.height = 20;
  for (int i = 0; i < 45 * 20 * 3; ++i) img.pixels.push_back(static_cast<uint8_t>(i * 7 % 251));
  ThreadPool pool(2);
  const std::vector<float> chw = PreprocessImage(**m, img);
  ASSERT_EQ(chw.size(), 3u * 32 * 32);
  // Padding rows (the image is 32 x 15 after scaling, at rows 8..22) hold the pad colour, normalized.
  EXPECT_FLOAT_EQ(chw[0], (122 / 255.0f - 0.48145466f) / 0.26862954f);
  StatusOr<ImageEmbedding> a = EmbedImage(**m, img, pool);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->data, EncodeImage(**m, chw, pool).value().data);
  EXPECT_LT(RelDiff(a->data, Reference((*m)->file(), chw)), 1e-5);
}

TEST(ClipEncoderTest, WrongInputSizeIsAnError) {
  StatusOr<std::unique_ptr<ClipVisionModel>> m = Load(Synth("clip-tiny", GgmlType::kF32));
  ASSERT_TRUE(m.ok());
  ThreadPool pool(1);
  StatusOr<ImageEmbedding> r = EncodeImage(**m, std::vector<float>(3 * 32 * 31), pool);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

struct BadCase {
  const char* what;
  std::set<std::string> drop_keys;
  std::function<void(GgufWriter&)> add_keys;
  std::function<void(std::vector<EditableTensor>&)> edit;
  StatusCode code;
  const char* message_part;
};

void DropTensor(std::vector<EditableTensor>& ts, const std::string& name) {
  ts.erase(std::remove_if(ts.begin(), ts.end(), [&](const EditableTensor& t) { return t.name == name; }), ts.end());
}

TEST(ClipEncoderTest, BadMmprojFilesAreClearErrors) {
  const std::string good = Synth("clip-tiny", GgmlType::kF32);
  ASSERT_TRUE(Load(good).ok());
  const std::vector<BadCase> cases = {
      {"other projector", {"clip.projector_type"}, [](GgufWriter& w) { w.AddString("clip.projector_type", "ldp"); },
       nullptr, StatusCode::kUnimplemented, "'ldp' is not supported"},
      {"unknown projector", {"clip.projector_type"}, [](GgufWriter& w) { w.AddString("clip.projector_type", "zzz"); },
       nullptr, StatusCode::kInvalidArgument, "unknown projector type 'zzz'"},
      {"no projector", {"clip.projector_type"}, nullptr, nullptr, StatusCode::kInvalidArgument, "projector_type"},
      {"no vision", {"clip.has_vision_encoder"},
       [](GgufWriter& w) { w.AddBool("clip.has_vision_encoder", false); }, nullptr, StatusCode::kInvalidArgument,
       "no vision encoder"},
      {"anyres", {}, [](GgufWriter& w) { w.AddInt32Array("clip.vision.image_grid_pinpoints", {336, 672}); }, nullptr,
       StatusCode::kUnimplemented, "image_grid_pinpoints"},
      {"image size", {"clip.vision.image_size"}, [](GgufWriter& w) { w.AddUint32("clip.vision.image_size", 36); },
       nullptr, StatusCode::kInvalidArgument, "not a multiple of patch_size"},
      {"no image size", {"clip.vision.image_size"}, nullptr, nullptr, StatusCode::kNotFound, "image_size"},
      {"mean", {"clip.vision.image_mean"}, [](GgufWriter& w) { w.AddFloat32Array("clip.vision.image_mean", {0.5f}); },
       nullptr, StatusCode::kInvalidArgument, "image_mean"},
      {"feature layer", {}, [](GgufWriter& w) { w.AddInt32Array("clip.vision.feature_layer", {4}); }, nullptr,
       StatusCode::kInvalidArgument, "feature_layer 4"},
      {"missing q", {}, nullptr, [](auto& ts) { DropTensor(ts, "v.blk.1.attn_q.weight"); },
       StatusCode::kInvalidArgument, "v.blk.1.attn_q.weight"},
      {"missing projector", {}, nullptr, [](auto& ts) { DropTensor(ts, "mm.0.weight"); },
       StatusCode::kInvalidArgument, "mm.0.weight"},
      {"short positions", {}, nullptr,
       [](auto& ts) {
         for (EditableTensor& t : ts)
           if (t.name == "v.position_embd.weight") {
             t.ne = {64, 16};
             t.data.resize(64 * 16 * 4);
           }
       },
       StatusCode::kInvalidArgument, "v.position_embd.weight has shape [64, 16]"},
      {"projector width", {}, nullptr,
       [](auto& ts) {
         for (EditableTensor& t : ts)
           if (t.name == "mm.0.weight") {
             t.ne = {32, 512};
           }
       },
       StatusCode::kInvalidArgument, "mm.0.weight has shape [32, 512], expected [64, 512]"},
      {"patch kernel", {}, nullptr,
       [](auto& ts) {
         for (EditableTensor& t : ts)
           if (t.name == "v.patch_embd.weight") t.ne = {8, 8, 1, 192};
       },
       StatusCode::kInvalidArgument, "v.patch_embd.weight"},
      {"bias length", {}, nullptr,
       [](auto& ts) {
         for (EditableTensor& t : ts)
           if (t.name == "v.blk.0.attn_k.bias") {
             t.ne = {32};
             t.data.resize(32 * 4);
           }
       },
       StatusCode::kInvalidArgument, "v.blk.0.attn_k.bias"},
  };
  for (const BadCase& c : cases) {
    StatusOr<std::unique_ptr<ClipVisionModel>> m = Load(Rewrite(good, c.drop_keys, c.add_keys, c.edit));
    ASSERT_FALSE(m.ok()) << c.what;
    EXPECT_EQ(m.status().code(), c.code) << c.what << ": " << m.status().message();
    EXPECT_NE(m.status().message().find(c.message_part), std::string::npos) << c.what << ": " << m.status().message();
  }
  EXPECT_FALSE(ClipVisionModel::Open("/nonexistent/mmproj.gguf").ok());
}

}  // namespace
}  // namespace isv
