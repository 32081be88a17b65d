// The layer loops of the supported architectures, one file each (llama.cc, qwen2.cc, phi3.cc).
// Each runs every transformer block over the batch in s (embeddings already in s.x, RoPE angles in
// s.rope_cs, KV cells reserved) and ends with the logits of s.output_rows in s.logits.
#pragma once

#include "engine/arch/forward_state.h"

namespace isv {

void ForwardLlama(ForwardState& s);
void ForwardQwen2(ForwardState& s);
void ForwardPhi3(ForwardState& s);

}  // namespace isv
