#include "engine/arch/forward_state.h"

#include <algorithm>

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
  if (hp.arch != Arch::kPhi3) Grow(up, n * hp.n_ff);  // phi3's up is the second half of gate's rows
  Grow(rope_cs, n * hp.n_rot);
  Grow(scores, static_cast<size_t>(pool->size()) * ScoresPerWorker());
  Grow(out_x, static_cast<size_t>(n_outputs) * hp.n_embd);
  Grow(logits, static_cast<size_t>(n_outputs) * hp.n_vocab);
}

size_t ForwardState::ScoresPerWorker() const {
  constexpr size_t kMinFloats = size_t{1} << 18;
  return std::max(static_cast<size_t>(model->params().n_gqa()) * kv->n_ctx(), kMinFloats);
}

void ForwardState::PlanPromptTiles() {
  constexpr int32_t kMaxTileTokens = 16;
  prompt_tiles.clear();
  const size_t budget = ScoresPerWorker();
  const size_t group = static_cast<size_t>(model->params().n_gqa());
  int32_t first = n_tokens - n_prefill;
  while (first < n_tokens) {
    // Extend while the token is of the same sequence and the tile's scores (rows x its largest
    // visible count) still fit.
    int32_t end = first + 1;
    int32_t widest = n_visible[first];
    while (end < n_tokens && end - first < kMaxTileTokens && seq_slot[end] == seq_slot[first]) {
      const int32_t w = std::max(widest, n_visible[end]);
      if (static_cast<size_t>(end + 1 - first) * group * static_cast<size_t>(w) > budget) break;
      widest = w;
      ++end;
    }
    prompt_tiles.push_back({first, end, widest});
    first = end;
  }
}

}  // namespace isv
