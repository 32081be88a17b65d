// Phi-3 / Phi-4: the llama block with fused projections — one attn_qkv matrix whose output rows
// are Q | K | V, and one ffn_up matrix whose output rows are gate | up — NeoX-style RoPE, and
// LongRoPE frequency factors (long / short) with an attention factor on cos/sin.
//
//   q|k|v = Wqkv·norm(x)
//   h     = x + Wo · Attention(RoPE(q), RoPE(k), v)
//   g|u   = Wup·norm(h)
//   out   = h + Wdown · (silu(g) * u)
#include <algorithm>

#include "engine/arch/arch.h"
#include "engine/arch/blocks.h"

namespace isv {
namespace {

// Splits the fused [n_tokens, n_q + 2 n_kv] projection into s.q, s.k, s.v.
void SplitQkv(const ModelParams& hp, ForwardState& s) {
  const int64_t n_q = hp.n_embd_q(), n_kv = hp.n_embd_kv(), row = n_q + 2 * n_kv;
  for (int32_t t = 0; t < s.n_tokens; ++t) {
    const float* src = s.qkv.data() + t * row;
    std::copy(src, src + n_q, s.q.data() + t * n_q);
    std::copy(src + n_q, src + n_q + n_kv, s.k.data() + t * n_kv);
    std::copy(src + n_q + n_kv, src + row, s.v.data() + t * n_kv);
  }
}

}  // namespace

void ForwardPhi3(ForwardState& s) {
  const ModelParams& hp = s.model->params();
  const int64_t n = s.n_tokens;
  for (int32_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& l = s.model->weights().layers[il];

    // Self-attention.
    RmsNorm(s.x.data(), l.attn_norm, n, hp.n_embd, hp.rms_eps, s.xn.data(), s.pool);
    MatMul(l.wqkv, s.xn.data(), n, s.qkv.data(), *s.pool, s.matmul, s.n_prefill);
    SplitQkv(hp, s);
    SelfAttentionResidual(il, l, s);

    // Feed-forward: gate and up come out of one matmul, side by side in each row.
    RmsNorm(s.x.data(), l.ffn_norm, n, hp.n_embd, hp.rms_eps, s.xn.data(), s.pool);
    MatMul(l.ffn_up, s.xn.data(), n, s.gate.data(), *s.pool, s.matmul, s.n_prefill);
    SwiGluDown(s.gate.data(), 2 * hp.n_ff, s.gate.data() + hp.n_ff, 2 * hp.n_ff, l.ffn_down, s);
    AddInPlace(s.x.data(), s.proj.data(), n * hp.n_embd, s.pool);
  }
  ComputeLogits(s);
}

}  // namespace isv
