// Llama (Llama 2/3, Mistral, TinyLlama): pre-norm decoder blocks with RMSNorm, RoPE on adjacent
// pairs, grouped-query attention and a SwiGLU feed-forward network.
//
//   h   = x + Wo · Attention(RoPE(Wq·norm(x)), RoPE(Wk·norm(x)), Wv·norm(x))
//   out = h + Wdown · (silu(Wgate·norm(h)) * Wup·norm(h))
#include "engine/arch/arch.h"
#include "engine/arch/blocks.h"

namespace isv {

void ForwardLlama(ForwardState& s) {
  const ModelParams& hp = s.model->params();
  const int64_t n = s.n_tokens;
  for (int32_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& l = s.model->weights().layers[il];

    // Self-attention (some llama-family files carry Q/K/V biases; they are added before RoPE).
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
