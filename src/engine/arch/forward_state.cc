#include "engine/arch/forward_state.h"

namespace isv {
namespace {

// Grows v to at least n elements (never shrinks, so a warmed-up state does not reallocate).
void Grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

void ForwardState::Reserve(int32_t n_tok, int32_t n_outputs) {
  const ModelParams& hp = model->params();
  const size_t n = static_cast<size_t>(n_tok);
  Grow(x, n * hp.n_embd);
  Grow(xn, n * hp.n_embd);
  Grow(q, n * hp.n_embd_q());
  Grow(k, n * hp.n_embd_kv());
  Grow(v, n * hp.n_embd_kv());
  if (hp.arch == Arch::kPhi3) Grow(qkv, n * (hp.n_embd_q() + 2 * hp.n_embd_kv()));
  Grow(attn, n * hp.n_embd_q());
  Grow(proj, n * hp.n_embd);
  Grow(gate, n * hp.n_ff * (hp.arch == Arch::kPhi3 ? 2 : 1));
  Grow(up, n * hp.n_ff);
  Grow(rope_cs, n * hp.n_rot);
  Grow(scores, static_cast<size_t>(pool->size()) * hp.n_gqa() * kv->n_ctx());
  Grow(out_x, static_cast<size_t>(n_outputs) * hp.n_embd);
  Grow(logits, static_cast<size_t>(n_outputs) * hp.n_vocab);
}

}  // namespace isv
