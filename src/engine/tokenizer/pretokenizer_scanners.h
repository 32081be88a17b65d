// Hand-written pre-tokenizer scanners that behave like llama.cpp's replacements for the three
// most common BPE split expressions (internal to the tokenizer folder). Each scans the code points
// [begin, end) of `cps` and appends the lengths (in code points) of the pieces to *out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace isv {

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
void SplitGpt2(const std::vector<uint32_t>& cps, size_t begin, size_t end, std::vector<size_t>* out);

// Llama-3 (digits_by_three: \p{N}{1,3}) and Qwen2 (\p{N}):
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
void SplitLlama3Like(const std::vector<uint32_t>& cps, size_t begin, size_t end, bool digits_by_three,
                     std::vector<size_t>* out);

}  // namespace isv
