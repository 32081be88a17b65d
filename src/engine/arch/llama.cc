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

    // Self-attention.
    RmsNorm(s.x.data(), l.attn_norm, n, hp.n_embd, hp.rms_eps, s.xn.data());
    MatMul(l.wq, s.xn.data(), n, s.q.data(), *s.pool, s.matmul);
    MatMul(l.wk, s.xn.data(), n, s.k.data(), *s.pool, s.matmul);
    MatMul(l.wv, s.xn.data(), n, s.v.data(), *s.pool, s.matmul);
    if (l.bq.valid()) AddBias(s.q.data(), l.bq, n);
    if (l.bk.valid()) AddBias(s.k.data(), l.bk, n);
    if (l.bv.valid()) AddBias(s.v.data(), l.bv, n);
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
