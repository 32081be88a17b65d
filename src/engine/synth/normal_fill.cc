// O3 here so that the Box-Muller loop vectorizes at the project's -O2.
#pragma GCC optimize("O3")
#include "engine/synth/normal_fill.h"

#include <bit>
#include <cstring>

namespace isv {
namespace {

constexpr int kPairs = 256;  // values are produced in batches of 2 * kPairs

inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Box-Muller on kPairs pairs of random words: radius sqrt(-2 ln u1) from a, angle from b.
// Only exactly rounded IEEE operations (no libm, no contraction), so the result does not depend
// on the vector width the compiler picks.
void BoxMuller(const uint32_t* a, const uint32_t* b, float* out) {
  for (int i = 0; i < kPairs; ++i) {
    const float u1 = (static_cast<float>(static_cast<int32_t>(a[i] >> 9)) + 0.5f) * (1.0f / 8388608.0f);  // (0, 1)
    // ln(u1) = e ln 2 + ln(m), m in [1, 2), ln(m) = 2 atanh((m - 1) / (m + 1)) by its series.
    const uint32_t bits = __builtin_bit_cast(uint32_t, u1);
    const float e = static_cast<float>(static_cast<int32_t>(bits >> 23) - 127);
    const float m = __builtin_bit_cast(float, (bits & 0x7fffffu) | 0x3f800000u);
    const float t = (m - 1.0f) / (m + 1.0f);
    const float t2 = t * t;
    const float ln_m =
        2.0f * t * (1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7 + t2 * (1.0f / 9 + t2 * (1.0f / 11))))));
    // sqrt by Newton from a bit-trick guess (libm's sqrtf would keep the loop scalar for errno).
    const float x = -2.0f * (e * 0.693147181f + ln_m);  // > 0
    float r = __builtin_bit_cast(float, (__builtin_bit_cast(uint32_t, x) >> 1) + 0x1fbd1df5u);
    r = 0.5f * (r + x / r);
    r = 0.5f * (r + x / r);
    r = 0.5f * (r + x / r);
    // Angle uniform in [-pi/2, pi/2); a random sign on the cosine covers the other half circle.
    const float th = (static_cast<float>(static_cast<int32_t>(b[i] >> 8)) * (1.0f / 16777216.0f) - 0.5f) * 3.14159265f;
    const float x2 = th * th;
    const float sn = th * (1 - x2 * (1.0f / 6) * (1 - x2 * (1.0f / 20) * (1 - x2 * (1.0f / 42) *
                                 (1 - x2 * (1.0f / 72) * (1 - x2 * (1.0f / 110))))));
    const float cs = 1 - x2 * 0.5f * (1 - x2 * (1.0f / 12) * (1 - x2 * (1.0f / 30) * (1 - x2 * (1.0f / 56) *
                                 (1 - x2 * (1.0f / 90) * (1 - x2 * (1.0f / 132))))));
    out[2 * i] = __builtin_bit_cast(float, __builtin_bit_cast(uint32_t, r * cs) ^ ((b[i] & 1u) << 31));
    out[2 * i + 1] = r * sn;
  }
}

}  // namespace

void FillNormal(uint64_t seed, float* out, int64_t n) {
  uint64_t state = seed;
  uint32_t a[kPairs], b[kPairs];
  float batch[2 * kPairs];
  for (int64_t i = 0; i < n; i += 2 * kPairs) {
    for (int k = 0; k < kPairs; ++k) {
      const uint64_t r = SplitMix64(state);
      a[k] = static_cast<uint32_t>(r);
      b[k] = static_cast<uint32_t>(r >> 32);
    }
    const int64_t take = n - i < 2 * kPairs ? n - i : 2 * kPairs;
    if (take == 2 * kPairs) {
      BoxMuller(a, b, out + i);
    } else {
      BoxMuller(a, b, batch);
      std::memcpy(out + i, batch, static_cast<size_t>(take) * sizeof(float));
    }
  }
}

uint64_t StreamSeed(uint64_t seed, std::string_view name, uint64_t block) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the name
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  uint64_t s = seed ^ 0x5851f42d4c957f2dULL;
  uint64_t x = SplitMix64(s) ^ h;
  x = SplitMix64(x) ^ block;
  return SplitMix64(x);
}

}  // namespace isv
