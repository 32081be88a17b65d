// Qwen2 (Qwen2.5, DeepSeek-R1 Qwen distills): the llama block with biases on the Q/K/V
// projections (added before RoPE), NeoX-style RoPE (pairs i, i + n_rot/2) and, in the small
// models, the embedding matrix tied to the output.
//
//   h   = x + Wo · Attention(RoPE(Wq·norm(x) + bq), RoPE(Wk·norm(x) + bk), Wv·norm(x) + bv)
//   out = h + Wdown · (silu(Wgate·norm(h)) * Wup·norm(h))
#include "engine/arch/arch.h"
#include "engine/arch/blocks.h"

namespace isv {

void ForwardQwen2(ForwardState& s) {
  const ModelParams& hp = s.model->params();
  const int64_t n = s.n_tokens;
  for (int32_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& l = s.model->weights().layers[il];

    // Self-attention: projections with biases, added before RoPE (NeoX pairs, from the params).
    RmsNorm(s.x.data(), l.attn_norm, n, hp.n_embd, hp.rms_eps, s.xn.data(), s.pool);
    MatMulShared({{&l.wq, s.q.data()}, {&l.wk, s.k.data()}, {&l.wv, s.v.data()}}, s.xn.data(), n, *s.pool, s.matmul,
                 s.n_prefill);
    SelfAttentionResidual(il, l, s);

    // Feed-forward.
    SwiGluFfnResidual(l.ffn_norm, l.ffn_gate, l.ffn_up, l.ffn_down, s);
  }
  ComputeLogits(s);
}

}  // namespace isv
