#include "engine/tokenizer/string_index.h"

namespace isv {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

// FNV-1a, continued over several pieces (so a + sep + b hashes like the joined string).
uint64_t HashMore(uint64_t h, std::string_view s) {
  for (unsigned char c : s) h = (h ^ c) * kFnvPrime;
  return h;
}

uint64_t HashOf(std::string_view a, std::string_view b, bool joined, char sep) {
  uint64_t h = HashMore(kFnvOffset, a);
  if (joined) h = HashMore(HashMore(h, std::string_view(&sep, 1)), b);
  return h;
}

bool KeyIs(std::string_view key, std::string_view a, std::string_view b, bool joined, char sep) {
  if (!joined) return key == a;
  return key.size() == a.size() + 1 + b.size() && key.substr(0, a.size()) == a && key[a.size()] == sep &&
         key.substr(a.size() + 1) == b;
}

size_t SlotsFor(size_t n) {
  size_t slots = 16;
  while (slots < 2 * n) slots *= 2;
  return slots;
}

}  // namespace

std::string_view StringIndex::Key(size_t entry) const {
  const size_t begin = entry == 0 ? 0 : ends_[entry - 1];
  return std::string_view(chars_).substr(begin, ends_[entry] - begin);
}

size_t StringIndex::Probe(std::string_view a, std::string_view b, bool joined, char sep) const {
  const size_t mask = slots_.size() - 1;
  size_t slot = HashOf(a, b, joined, sep) & mask;
  while (slots_[slot] >= 0 && !KeyIs(Key(static_cast<size_t>(slots_[slot])), a, b, joined, sep)) {
    slot = (slot + 1) & mask;
  }
  return slot;
}

int32_t StringIndex::Find(std::string_view a, std::string_view b, bool joined, char sep) const {
  if (slots_.empty()) return -1;
  const int32_t entry = slots_[Probe(a, b, joined, sep)];
  return entry < 0 ? -1 : values_[static_cast<size_t>(entry)];
}

void StringIndex::Rehash(size_t n_slots) {
  slots_.assign(n_slots, -1);
  for (size_t e = 0; e < values_.size(); ++e) slots_[Probe(Key(e), {}, false, 0)] = static_cast<int32_t>(e);
}

void StringIndex::Reserve(size_t n, size_t chars) {
  chars_.reserve(chars);
  ends_.reserve(n);
  values_.reserve(n);
  if (SlotsFor(n) > slots_.size()) Rehash(SlotsFor(n));
}

void StringIndex::Insert(std::string_view key, int32_t value, OnDuplicate dup) {
  if (2 * (values_.size() + 1) > slots_.size()) Rehash(SlotsFor(values_.size() + 1));
  const size_t slot = Probe(key, {}, false, 0);
  if (slots_[slot] >= 0) {
    if (dup == OnDuplicate::kKeepLast) values_[static_cast<size_t>(slots_[slot])] = value;
    return;
  }
  chars_.append(key);
  ends_.push_back(chars_.size());
  values_.push_back(value);
  slots_[slot] = static_cast<int32_t>(values_.size() - 1);
}

}  // namespace isv
