#include "engine/kernels/cpu_features.h"

#include <cpuid.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace isv {
namespace {

uint64_t Xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures Detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1;
  const bool fma = (c >> 12) & 1;
  const bool f16c = (c >> 29) & 1;
  if (!osxsave) return f;
  const uint64_t xcr0 = Xgetbv0();
  const bool ymm_ok = (xcr0 & 0x6) == 0x6;
  const bool zmm_ok = (xcr0 & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.fma = fma && ymm_ok;
  f.f16c = f16c && ymm_ok;
  f.avx2 = ((b >> 5) & 1) && ymm_ok;
  f.avx512f = ((b >> 16) & 1) && zmm_ok;
  f.avx512dq = ((b >> 17) & 1) && zmm_ok;
  f.avx512bw = ((b >> 30) & 1) && zmm_ok;
  f.avx512vl = ((b >> 31) & 1) && zmm_ok;
  f.avx512vnni = ((c >> 11) & 1) && zmm_ok;
  // AMX also needs the OS to enable the tile configuration and data state (XCR0 bits 17, 18).
  const bool tiles_ok = (xcr0 & 0x60000) == 0x60000;
  f.amx_bf16 = ((d >> 22) & 1) && tiles_ok;
  f.amx_tile = ((d >> 24) & 1) && tiles_ok;
  f.amx_int8 = ((d >> 25) & 1) && tiles_ok;
  unsigned a1, b1, c1, d1;
  if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) f.avx512bf16 = ((a1 >> 5) & 1) && zmm_ok;
  return f;
}

}  // namespace

const CpuFeatures& GetCpuFeatures() {
  static const CpuFeatures features = Detect();
  return features;
}

Isa IsaFor(const CpuFeatures& f, const char* isa_env) {
  Isa best = Isa::kScalar;
  if (f.avx2 && f.fma && f.f16c) best = Isa::kAvx2;
  if (best == Isa::kAvx2 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.avx512vnni) best = Isa::kAvx512;
  if (best == Isa::kAvx512 && f.avx512bf16) best = Isa::kAvx512Bf16;
  if (isa_env != nullptr) {
    const std::string want(isa_env);
    const Isa cap = want == "scalar"   ? Isa::kScalar
                    : want == "avx2"   ? Isa::kAvx2
                    : want == "avx512" ? Isa::kAvx512
                                       : Isa::kAvx512Bf16;
    if (cap < best) best = cap;
  }
  return best;
}

Isa BestIsa() { return IsaFor(GetCpuFeatures(), std::getenv("ISV_ISA")); }

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx512Bf16: return "avx512bf16";
  }
  return "?";
}

}  // namespace isv
