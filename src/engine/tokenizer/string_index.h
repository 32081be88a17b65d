// StringIndex: strings mapped to int32 values in a few flat arrays — the characters of all keys in
// one buffer, their end offsets, their values, and an open-addressing hash table of entry numbers.
//
// Why not std::unordered_map<std::string, int32_t>: a vocabulary's token -> id map and a BPE merge
// list (llama-3: 128k and 280k entries) cost a hash node and often a heap string per entry, ~38 MB
// for llama-3's tokenizer held as long as the model; this layout takes ~12 bytes per entry plus the
// characters and the slots (~10 MB there), and is built without an allocation per entry.
//
//   StringIndex merges;
//   merges.Insert("a b", 0, StringIndex::OnDuplicate::kKeepFirst);
//   int32_t rank = merges.Find("a", ' ', "b");  // 0; -1 when absent
//
// Thread-safety: const methods are safe to call concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace isv {

class StringIndex {
 public:
  enum class OnDuplicate { kKeepFirst, kKeepLast };

  // Room for n keys of `chars` characters in all, without rehashing.
  void Reserve(size_t n, size_t chars);
  // Adds key -> value; a key already present keeps its value or takes the new one as `dup` says.
  void Insert(std::string_view key, int32_t value, OnDuplicate dup);
  // The value of `key`, -1 when absent.
  int32_t Find(std::string_view key) const { return Find(key, {}, false); }
  // The value of the key a + sep + b (built without a copy), -1 when absent.
  int32_t Find(std::string_view a, char sep, std::string_view b) const { return Find(a, b, true, sep); }
  size_t size() const { return values_.size(); }

 private:
  int32_t Find(std::string_view a, std::string_view b, bool joined, char sep = 0) const;
  // The slot holding the entry whose key is a [+ sep + b], or the empty slot where it would go.
  size_t Probe(std::string_view a, std::string_view b, bool joined, char sep) const;
  std::string_view Key(size_t entry) const;
  void Rehash(size_t n_slots);

  std::string chars_;             // the keys, one after another
  std::vector<size_t> ends_;      // where entry i's key ends in chars_
  std::vector<int32_t> values_;   // entry i's value
  std::vector<int32_t> slots_;    // entry number or -1; a power of two, at most half full
};

}  // namespace isv
