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

    // Self-attention.
    RmsNorm(s.x.data(), l.attn_norm, n, hp.n_embd, hp.rms_eps, s.xn.data());
    MatMul(l.wq, s.xn.data(), n, s.q.data(), *s.pool, s.matmul);
    MatMul(l.wk, s.xn.data(), n, s.k.data(), *s.pool, s.matmul);
    MatMul(l.wv, s.xn.data(), n, s.v.data(), *s.pool, s.matmul);
    AddBias(s.q.data(), l.bq, n);
    AddBias(s.k.data(), l.bk, n);
    AddBias(s.v.data(), l.bv, n);
    ApplyRope(hp, s.q.data(), hp.n_head, hp.n_embd_q(), s);
    ApplyRope(hp, s.k.data(), hp.n_head_kv, hp.n_embd_kv(), s);
    Attention(il, s);
    MatMul(l.wo, s.attn.data(), n, s.proj.data(), *s.pool, s.matmul);
    AddInPlace(s.x.data(), s.proj.data(), n * hp.n_embd);

    // Feed-forward.
    RmsNorm(s.x.data(), l.ffn_norm, n, hp.n_embd, hp.rms_eps, s.xn.data());
    MatMul(l.ffn_gate, s.xn.data(), n, s.gate.data(), *s.pool, s.matmul);
    MatMul(l.ffn_up, s.xn.data(), n, s.up.data(), *s.pool, s.matmul);
    SwiGlu(s.gate.data(), hp.n_ff, s.up.data(), hp.n_ff, n, hp.n_ff, s.gate.data());
    MatMul(l.ffn_down, s.gate.data(), n, s.proj.data(), *s.pool, s.matmul);
    AddInPlace(s.x.data(), s.proj.data(), n * hp.n_embd);
  }
  ComputeLogits(s);
}

}  // namespace isv
