// Run-time CPU feature detection (CPUID) and the instruction-set levels kernels are built for.
#pragma once

#include <string_view>

namespace isv {

// Kernel instruction-set levels, each a superset of the one before: AVX2 (+FMA, F16C); AVX-512
// F/BW/DQ/VL with VNNI (Ice Lake and later Xeons, Zen 4); that plus AVX512_BF16 (Zen 4, Sapphire
// Rapids; some VMs of those hide it). The BF16 level differs only in the BF16 weight kernels.
enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Bf16 = 3 };
inline constexpr int kIsaCount = 4;

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
  bool avx512vnni = false, avx512bf16 = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;  // CPUID and XCR0 (not the permission)
};

// What this CPU (and OS, via XGETBV) supports.
const CpuFeatures& GetCpuFeatures();

// The best Isa this CPU runs, lowered by the environment variable ISV_ISA=scalar|avx2|avx512|avx512bf16
// (never raised above what the CPU has). ISV_ISA=amx means the same as avx512bf16 here; any value
// other than amx also turns the AMX prefill kernel off (kernels/amx_q8_0.h: AmxEnabled).
Isa BestIsa();
// The level for features f and an ISV_ISA value (nullptr: unset); BestIsa() is IsaFor(GetCpuFeatures(), getenv).
Isa IsaFor(const CpuFeatures& f, const char* isa_env);
std::string_view IsaName(Isa isa);

}  // namespace isv
