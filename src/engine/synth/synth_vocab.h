// Tokenizer metadata for synthetic models: copied from a vocab GGUF, or generated.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/gguf/gguf_value.h"

namespace isv {

using GgufKvList = std::vector<std::pair<std::string, GgufValue>>;

// Every "tokenizer.*" key of the GGUF at `path`, in file order, values unchanged.
// Errors: unreadable file, no tokenizer.ggml.tokens, or a token count other than n_vocab.
StatusOr<GgufKvList> CopyTokenizerKeys(const std::string& path, int n_vocab);

// A byte-level BPE vocabulary of n_vocab tokens (tokenizer.ggml.model "gpt2", pre "default", no
// merges): the 256 bytes in GPT-2's byte-to-unicode spelling (NORMAL), <|endoftext|> (CONTROL,
// also BOS/EOS), then "[PAD<id>]" padding tokens typed UNUSED, not CONTROL, so that tokenizers do
// not scan them as special tokens. Errors: n_vocab < 257.
StatusOr<GgufKvList> ByteLevelVocab(int n_vocab);

}  // namespace isv
