#include "engine/vision/clip_encoder.h"

#include <algorithm>
#include <cmath>

#include "engine/kernels/matmul.h"
#include "engine/vision/preprocess.h"

namespace isv {
namespace {

// Working buffers of one forward pass.
struct Scratch {
  MatMulScratch mm;
  std::vector<float> cur, q, k, v, attn, kh, vt, qh, scores, outh, ff;
};

// y = x W^T (+ b): n rows of w.ne[0] -> n rows of w.ne[1].
void Linear(const TensorView& w, const std::vector<float>& b, const float* x, int64_t n, std::vector<float>& y,
            ThreadPool& pool, Scratch& s) {
  const int64_t n_out = w.ne[1];
  y.resize(static_cast<size_t>(n * n_out));
  MatMul(w, x, n, y.data(), pool, s.mm);
  if (b.empty()) return;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < n_out; ++i) y[t * n_out + i] += b[i];
}

// LayerNorm of each row of x (n rows of `e`) into out, with optional weight / bias.
void LayerNorm(const float* x, int64_t n, int64_t e, const std::vector<float>& w, const std::vector<float>& b,
               float eps, float* out, ThreadPool& pool) {
  pool.ParallelFor(n, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* xr = x + t * e;
      float* yr = out + t * e;
      double sum = 0;
      for (int64_t i = 0; i < e; ++i) sum += xr[i];
      const float mean = static_cast<float>(sum / e);
      double sq = 0;
      for (int64_t i = 0; i < e; ++i) sq += static_cast<double>(xr[i] - mean) * (xr[i] - mean);
      const float scale = 1.0f / std::sqrt(static_cast<float>(sq / e) + eps);
      for (int64_t i = 0; i < e; ++i) {
        float v = (xr[i] - mean) * scale;
        if (!w.empty()) v *= w[i];
        if (!b.empty()) v += b[i];
        yr[i] = v;
      }
    }
  });
}

float Gelu(float x) { return 0.5f * x * (1.0f + std::tanh(0.7978845608f * x * (1.0f + 0.044715f * x * x))); }
float QuickGelu(float x) { return x / (1.0f + std::exp(-1.702f * x)); }
float Silu(float x) { return x / (1.0f + std::exp(-x)); }

void Activate(ClipActivation act, std::vector<float>& x, ThreadPool& pool) {
  pool.ParallelFor(static_cast<int64_t>(x.size()), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      x[i] = act == ClipActivation::kGelu ? Gelu(x[i]) : act == ClipActivation::kSilu ? Silu(x[i]) : QuickGelu(x[i]);
  });
}

// A float matrix (rows of ne0) as a MatMul weight.
TensorView F32Matrix(const std::vector<float>& data, int64_t ne0, int64_t ne1) {
  TensorView t;
  t.type = GgmlType::kF32;
  t.n_dims = 2;
  t.ne[0] = ne0;
  t.ne[1] = ne1;
  t.data = data.data();
  return t;
}

// Multi-head self-attention over all n positions of s.q / s.k / s.v (n x e each) into s.attn.
void Attention(const ClipHparams& h, int64_t n, ThreadPool& pool, Scratch& s) {
  const int64_t e = h.n_embd, d = h.head_dim();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  s.attn.assign(static_cast<size_t>(n * e), 0.0f);
  s.kh.resize(static_cast<size_t>(n * d));
  s.qh.resize(static_cast<size_t>(n * d));
  s.vt.resize(static_cast<size_t>(d * n));
  s.scores.resize(static_cast<size_t>(n * n));
  for (int hd = 0; hd < h.n_head; ++hd) {
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < d; ++i) {
        s.qh[t * d + i] = s.q[t * e + hd * d + i];
        s.kh[t * d + i] = s.k[t * e + hd * d + i];
        s.vt[i * n + t] = s.v[t * e + hd * d + i];
      }
    MatMul(F32Matrix(s.kh, d, n), s.qh.data(), n, s.scores.data(), pool, s.mm);
    pool.ParallelFor(n, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        float* row = s.scores.data() + r * n;
        float mx = -INFINITY;
        for (int64_t j = 0; j < n; ++j) mx = std::max(mx, row[j] * scale);
        double sum = 0;
        for (int64_t j = 0; j < n; ++j) {
          row[j] = std::exp(row[j] * scale - mx);
          sum += row[j];
        }
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t j = 0; j < n; ++j) row[j] *= inv;
      }
    });
    s.outh.resize(static_cast<size_t>(n * d));
    MatMul(F32Matrix(s.vt, n, d), s.scores.data(), n, s.outh.data(), pool, s.mm);
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < d; ++i) s.attn[t * e + hd * d + i] = s.outh[t * d + i];
  }
}

// One pre-LN block on x (n x e), in place.
void Block(const ClipHparams& h, const ClipLayer& l, std::vector<float>& x, int64_t n, ThreadPool& pool, Scratch& s) {
  const int64_t e = h.n_embd;
  s.cur.resize(x.size());
  LayerNorm(x.data(), n, e, l.ln1_w, l.ln1_b, h.eps, s.cur.data(), pool);
  Linear(l.q_w, l.q_b, s.cur.data(), n, s.q, pool, s);
  Linear(l.k_w, l.k_b, s.cur.data(), n, s.k, pool, s);
  Linear(l.v_w, l.v_b, s.cur.data(), n, s.v, pool, s);
  Attention(h, n, pool, s);
  Linear(l.o_w, l.o_b, s.attn.data(), n, s.cur, pool, s);
  for (size_t i = 0; i < x.size(); ++i) x[i] += s.cur[i];
  LayerNorm(x.data(), n, e, l.ln2_w, l.ln2_b, h.eps, s.cur.data(), pool);
  Linear(l.ffn_up_w, l.ffn_up_b, s.cur.data(), n, s.ff, pool, s);
  Activate(h.ffn_act, s.ff, pool);
  Linear(l.ffn_down_w, l.ffn_down_b, s.ff.data(), n, s.cur, pool, s);
  for (size_t i = 0; i < x.size(); ++i) x[i] += s.cur[i];
}

// The patch rows (n_patches x 3 p p, ordered channel, row, column) of a CHW image.
std::vector<float> Patches(const ClipHparams& h, const std::vector<float>& chw) {
  const int p = h.patch_size, side = h.n_patches_side(), size = h.image_size;
  const int64_t k = 3 * p * p;
  std::vector<float> out(static_cast<size_t>(h.n_patches() * k));
  for (int py = 0; py < side; ++py)
    for (int px = 0; px < side; ++px) {
      float* row = out.data() + (py * side + px) * k;
      for (int c = 0; c < 3; ++c)
        for (int ky = 0; ky < p; ++ky)
          for (int kx = 0; kx < p; ++kx)
            *row++ = chw[(static_cast<size_t>(c) * size + py * p + ky) * size + px * p + kx];
    }
  return out;
}

}  // namespace

std::vector<float> PreprocessImage(const ClipVisionModel& model, const RgbImage& image) {
  const ClipHparams& h = model.hparams();
  const RgbImage square = ResizeWithPadding(image, h.image_size, h.image_size, h.resize_algo, h.pad_color);
  return NormalizeToChw(square, h.image_mean, h.image_std);
}

StatusOr<ImageEmbedding> EncodeImage(const ClipVisionModel& model, const std::vector<float>& chw, ThreadPool& pool,
                                     const ClipEncodeOptions& options) {
  const ClipHparams& h = model.hparams();
  const int64_t e = h.n_embd, n_patches = h.n_patches(), n = h.n_pos();
  if (chw.size() != static_cast<size_t>(3) * h.image_size * h.image_size)
    return InvalidArgumentError("vision encoder: expected a 3x" + std::to_string(h.image_size) + "x" +
                                std::to_string(h.image_size) + " image, got " + std::to_string(chw.size()) + " values");
  Scratch s;
  const std::vector<float> patches = Patches(h, chw);
  std::vector<float> emb;
  Linear(model.patch_w(), model.patch_b(), patches.data(), n_patches, emb, pool, s);

  // Sequence: class token first (HF) or last (llama.cpp b10176), plus position rows in order.
  std::vector<float> x(static_cast<size_t>(n * e));
  const bool cls = h.has_class_embd;
  const int64_t first_patch = cls && !options.llamacpp_class_token_order ? 1 : 0;
  std::copy(emb.begin(), emb.end(), x.begin() + first_patch * e);
  if (cls) {
    const int64_t cls_row = options.llamacpp_class_token_order ? n_patches : 0;
    std::copy(model.class_embd().begin(), model.class_embd().end(), x.begin() + cls_row * e);
  }
  for (size_t i = 0; i < x.size(); ++i) x[i] += model.pos_embd()[i];
  if (!model.pre_ln_w().empty()) LayerNorm(x.data(), n, e, model.pre_ln_w(), model.pre_ln_b(), h.eps, x.data(), pool);

  std::vector<std::vector<float>> features;
  auto is_feature = [&](int il) { return std::binary_search(h.feature_layers.begin(), h.feature_layers.end(), il); };
  for (int il = 0; il < h.n_layer_run; ++il) {
    if (is_feature(il)) features.push_back(x);
    Block(h, model.layers()[il], x, n, pool, s);
  }
  if (!model.post_ln_w().empty())
    LayerNorm(x.data(), n, e, model.post_ln_w(), model.post_ln_b(), h.eps, x.data(), pool);
  if (is_feature(h.n_layer_run)) features.push_back(x);
  if (features.empty()) features.push_back(std::move(x));

  // Image tokens: rows [cls ? 1 : 0, + n_patches) of the concatenated feature states.
  const int64_t n_feat = static_cast<int64_t>(features.size()) * e;
  const int64_t row0 = cls ? 1 : 0;
  std::vector<float> tokens(static_cast<size_t>(n_patches * n_feat));
  for (int64_t t = 0; t < n_patches; ++t)
    for (size_t f = 0; f < features.size(); ++f)
      std::copy_n(features[f].begin() + (row0 + t) * e, e, tokens.begin() + t * n_feat + f * e);

  ImageEmbedding out;
  Linear(model.mm0_w(), model.mm0_b(), tokens.data(), n_patches, out.data, pool, s);
  Activate(ClipActivation::kGelu, out.data, pool);
  if (const TensorView* mm2 = model.mm2_w(); mm2 != nullptr) {
    std::vector<float> hidden = std::move(out.data);
    Linear(*mm2, model.mm2_b(), hidden.data(), n_patches, out.data, pool, s);
  }
  out.n_tokens = static_cast<int>(n_patches);
  out.n_embd = h.n_embd_out;
  return out;
}

StatusOr<ImageEmbedding> EmbedImage(const ClipVisionModel& model, const RgbImage& image, ThreadPool& pool,
                                    const ClipEncodeOptions& options) {
  return EncodeImage(model, PreprocessImage(model, image), pool, options);
}

}  // namespace isv
