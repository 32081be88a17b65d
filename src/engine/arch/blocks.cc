#include "engine/arch/blocks.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>

#include "engine/kernels/activation_kernels.h"
#include "engine/kernels/attention_kernels.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/matmul.h"
#include "engine/tensor/float16.h"

namespace isv {

namespace {

// Elementwise work below this many floats runs on the calling thread: waking the pool would cost
// more (decode steps, tiny models).
constexpr int64_t kMinParallelFloats = 1 << 15;

// Calls fn(begin, end) over [0, n) items of `cost` floats each: split over the pool when there is
// enough work, else inline. Items are independent, so the results never depend on the split.
void ForRange(ThreadPool* pool, int64_t n, int64_t cost, const std::function<void(int64_t, int64_t)>& fn) {
  if (pool == nullptr || pool->size() == 1 || n < 2 || n * cost < kMinParallelFloats) return fn(0, n);
  pool->ParallelFor(n, fn);
}

}  // namespace

void RmsNorm(const float* x, const TensorView& w, int64_t n_tokens, int64_t n, float eps, float* y,
             ThreadPool* pool) {
  const float* wd = static_cast<const float*>(w.data);
  const ActivationKernels& ak = GetActivationKernels();
  ForRange(pool, n_tokens, n, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) ak.rms_norm(n, x + t * n, wd, eps, y + t * n);
  });
}

void AddInPlace(float* x, const float* y, int64_t n, ThreadPool* pool) {
  ForRange(pool, n, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) x[i] += y[i];
  });
}

void SwiGluDown(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride, const TensorView& down,
                ForwardState& s) {
  const ActivationKernels& ak = GetActivationKernels();
  const int64_t n_ff = down.ne[0];
  MatMul(
      down, [&](int64_t t, float* row) { ak.swiglu(n_ff, gate + t * gate_stride, up + t * up_stride, row); },
      s.n_tokens, s.proj.data(), *s.pool, s.matmul, s.n_prefill);
}

void ComputeRope(const ModelParams& hp, const float* freq_factors, ForwardState& s) {
  const int32_t n_rot = hp.n_rot;
  const float theta_scale = std::pow(hp.rope_freq_base, -2.0f / n_rot);
  for (int32_t t = 0; t < s.n_tokens; ++t) {
    float* cs = s.rope_cs.data() + static_cast<size_t>(t) * n_rot;
    float theta = static_cast<float>(s.positions[t]);
    for (int32_t i = 0; i < n_rot / 2; ++i) {
      const float ff = freq_factors != nullptr ? freq_factors[i] : 1.0f;
      const float angle = hp.rope_freq_scale * (theta / ff);
      cs[2 * i] = std::cos(angle) * hp.rope_attn_factor;
      cs[2 * i + 1] = std::sin(angle) * hp.rope_attn_factor;
      theta *= theta_scale;
    }
  }
}

void RopeRow(const ModelParams& hp, const float* cs, float* x, int32_t n_heads) {
  const int32_t half = hp.n_rot / 2;
  for (int32_t h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<int64_t>(h) * hp.head_dim;
    for (int32_t i = 0; i < half; ++i) {
      // Normal: adjacent pair (2i, 2i+1). NeoX: pair (i, i + n_rot/2).
      const int32_t a = hp.rope_style == RopeStyle::kNormal ? 2 * i : i;
      const int32_t b = hp.rope_style == RopeStyle::kNormal ? 2 * i + 1 : i + half;
      const float c = cs[2 * i], sn = cs[2 * i + 1];
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * c - x1 * sn;
      v[b] = x0 * sn + x1 * c;
    }
  }
}

void BiasRopeStore(const ModelParams& hp, int32_t layer, const LayerWeights& l, ForwardState& s) {
  const int64_t n_q = hp.n_embd_q(), n_kv = hp.n_embd_kv();
  const int32_t n_head_kv = s.kv->n_head_kv(), hd = s.kv->head_dim();
  auto bias = [](const TensorView& b) { return b.valid() ? static_cast<const float*>(b.data) : nullptr; };
  const float* bq = bias(l.bq);
  const float* bk = bias(l.bk);
  const float* bv = bias(l.bv);
  const auto to_f16 = GetKernels(GgmlType::kF16).from_float;
  ForRange(s.pool, s.n_tokens, n_q + 2 * n_kv, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      float* q = s.q.data() + t * n_q;
      float* k = s.k.data() + t * n_kv;
      float* v = s.v.data() + t * n_kv;
      if (bq != nullptr) {
        for (int64_t i = 0; i < n_q; ++i) q[i] += bq[i];
      }
      if (bk != nullptr) {
        for (int64_t i = 0; i < n_kv; ++i) k[i] += bk[i];
      }
      if (bv != nullptr) {
        for (int64_t i = 0; i < n_kv; ++i) v[i] += bv[i];
      }
      const float* cs = s.rope_cs.data() + static_cast<size_t>(t) * hp.n_rot;
      RopeRow(hp, cs, q, hp.n_head);
      RopeRow(hp, cs, k, hp.n_head_kv);
      for (int32_t h = 0; h < n_head_kv; ++h) {
        to_f16(k + h * hd, s.kv->k(layer, h, s.cells[t]), hd);
        to_f16(v + h * hd, s.kv->v(layer, h, s.cells[t]), hd);
      }
    }
  });
}

namespace {

// Softmax of one row of n scores, in place (exact max, then exp_sum's exponentials and sum).
void Softmax(const AttentionKernels& ak, int32_t n, float* p) {
  const double sum = ak.exp_sum(n, ak.max_f32(n, p), p);
  ak.scale_f32(n, sum > 0.0 ? static_cast<float>(1.0 / sum) : 0.0f, p);
}

// Attention of token t for the query heads of KV head kvh (heads kvh * G ... kvh * G + G - 1, G =
// n_gqa, adjacent in q and in attn): out_h = sum_j softmax_j(q_h . k_j * scale) v_j over the cells
// visible to t. The kernels read each key and value row once for the G heads; every head's
// results are the bits of computing it alone (attention_kernels.h). scores: G x n_ctx floats.
void AttendGroup(int32_t layer, int32_t t, int32_t kvh, float* scores, ForwardState& s) {
  const ModelParams& hp = s.model->params();
  const int32_t hd = hp.head_dim;
  const int32_t group = hp.n_gqa();
  const size_t n_ctx = static_cast<size_t>(s.kv->n_ctx());
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const size_t first = static_cast<size_t>(t) * hp.n_embd_q() + static_cast<size_t>(kvh) * group * hd;
  const int32_t* cells = s.seq_cells[s.seq_slot[t]].data();
  const int32_t n = s.n_visible[t];
  const AttentionKernels& ak = GetAttentionKernels();
  const size_t kv_stride = static_cast<size_t>(hd);  // one KV head's rows (kv_cache.h)
  ak.scores_f16(hd, n, s.q.data() + first, s.kv->k(layer, kvh, 0), kv_stride, cells, scale, scores, group,
                static_cast<size_t>(hd), n_ctx);
  for (int32_t g = 0; g < group; ++g) Softmax(ak, n, scores + g * n_ctx);
  // out_h = sum_j p_j v_j over the first n cells (cell c's V row: v(layer, kvh, 0) + c * hd).
  ak.weighted_sum_f16(hd, n, scores, s.kv->v(layer, kvh, 0), kv_stride, cells, s.attn.data() + first, group, n_ctx,
                      static_cast<size_t>(hd));
}

// The same for the prompt tokens [t0, t1) of one tile (consecutive tokens of one sequence): the
// scores of all their query heads of KV head kvh in one scores_rows_f16 call, which converts each
// key once for the whole tile, then per token its softmax, then p . V of every token over its own
// visible cells in one weighted_sum_rows_f16 call, which converts each value once for the tile.
// A token's results do not depend on the tile it is in (the kernel's scores depend only on the
// query and the key). scores: (t1 - t0) x G rows of the tile's largest visible count.
void AttendPromptTile(int32_t layer, const ForwardState::PromptTile& tile, int32_t kvh, float* scores,
                      ForwardState& s) {
  const int32_t t0 = tile.first, t1 = tile.end, widest = tile.widest;
  const ModelParams& hp = s.model->params();
  const int32_t hd = hp.head_dim;
  const int32_t group = hp.n_gqa();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const size_t q_stride = static_cast<size_t>(hp.n_embd_q());
  const size_t head0 = static_cast<size_t>(kvh) * group * hd;
  const int32_t* cells = s.seq_cells[s.seq_slot[t0]].data();
  const size_t row = static_cast<size_t>(widest);
  const AttentionKernels& ak = GetAttentionKernels();
  const size_t kv_stride = static_cast<size_t>(hd);  // one KV head's rows (kv_cache.h)
  ak.scores_rows_f16(hd, widest, s.q.data() + t0 * q_stride + head0, t1 - t0, q_stride, group, s.kv->k(layer, kvh, 0),
                     kv_stride, cells, scale, scores, row);
  for (int32_t t = t0; t < t1; ++t) {
    float* p = scores + static_cast<size_t>(t - t0) * group * row;
    for (int32_t g = 0; g < group; ++g) Softmax(ak, s.n_visible[t], p + g * row);
  }
  ak.weighted_sum_rows_f16(hd, s.n_visible.data() + t0, scores, t1 - t0, row, group, s.kv->v(layer, kvh, 0), kv_stride,
                           cells, s.attn.data() + t0 * q_stride + head0, q_stride);
}

}  // namespace

void Attention(int32_t layer, ForwardState& s) {
  const ModelParams& hp = s.model->params();
  const int32_t n_head_kv = hp.n_head_kv;
  const int32_t n_plain = s.n_tokens - s.n_prefill;
  const int64_t n_tiles = static_cast<int64_t>(s.prompt_tiles.size());
  // Work items, claimed in this order: each prompt tile x KV head, the last (widest) tiles first,
  // then each plain token x KV head.
  const int64_t n_items = (n_tiles + n_plain) * n_head_kv;
  const size_t per_worker = s.ScoresPerWorker();
  std::atomic<int64_t> next{0};
  auto work = [&](int ith, int) {
    float* scores = s.scores.data() + static_cast<size_t>(ith) * per_worker;
    for (int64_t item = next.fetch_add(1, std::memory_order_relaxed); item < n_items;
         item = next.fetch_add(1, std::memory_order_relaxed)) {
      const int32_t kvh = static_cast<int32_t>(item % n_head_kv);
      const int64_t unit = item / n_head_kv;
      if (unit < n_tiles) {
        AttendPromptTile(layer, s.prompt_tiles[n_tiles - 1 - unit], kvh, scores, s);
      } else {
        AttendGroup(layer, static_cast<int32_t>(unit - n_tiles), kvh, scores, s);
      }
    }
  };
  // Tiny jobs (small models, short contexts) cost less than waking the workers.
  size_t max_cells = 0;
  for (const std::vector<int32_t>& c : s.seq_cells) max_cells = std::max(max_cells, c.size());
  constexpr int64_t kMinParallelWork = 1 << 15;  // multiply-adds
  if (static_cast<int64_t>(s.n_tokens) * hp.n_head * static_cast<int64_t>(max_cells) * hp.head_dim < kMinParallelWork) {
    work(0, 1);
  } else {
    s.pool->Run(work);
  }
}

void SelfAttentionResidual(int32_t layer, const LayerWeights& l, ForwardState& s) {
  const ModelParams& hp = s.model->params();
  const int64_t n = s.n_tokens;
  BiasRopeStore(hp, layer, l, s);
  Attention(layer, s);
  MatMul(l.wo, s.attn.data(), n, s.proj.data(), *s.pool, s.matmul, s.n_prefill);
  AddInPlace(s.x.data(), s.proj.data(), n * hp.n_embd, s.pool);
}

void SwiGluFfnResidual(const TensorView& ffn_norm, const TensorView& gate, const TensorView& up,
                       const TensorView& down, ForwardState& s) {
  const ModelParams& hp = s.model->params();
  const int64_t n = s.n_tokens;
  RmsNorm(s.x.data(), ffn_norm, n, hp.n_embd, hp.rms_eps, s.xn.data(), s.pool);
  MatMulShared({{&gate, s.gate.data()}, {&up, s.up.data()}}, s.xn.data(), n, *s.pool, s.matmul, s.n_prefill);
  SwiGluDown(s.gate.data(), hp.n_ff, s.up.data(), hp.n_ff, down, s);
  AddInPlace(s.x.data(), s.proj.data(), n * hp.n_embd, s.pool);
}

void ComputeLogits(ForwardState& s) {
  const ModelParams& hp = s.model->params();
  const ModelWeights& w = s.model->weights();
  const int64_t n_out = static_cast<int64_t>(s.output_rows.size());
  for (int64_t r = 0; r < n_out; ++r) {
    const float* src = s.x.data() + static_cast<size_t>(s.output_rows[r]) * hp.n_embd;
    std::copy(src, src + hp.n_embd, s.out_x.data() + r * hp.n_embd);
  }
  RmsNorm(s.out_x.data(), w.output_norm, n_out, hp.n_embd, hp.rms_eps, s.out_x.data());
  MatMul(w.output, s.out_x.data(), n_out, s.logits.data(), *s.pool, s.matmul, s.n_out_prefill);
}

}  // namespace isv
