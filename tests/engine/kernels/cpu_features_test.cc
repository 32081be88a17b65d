// The instruction-set level a CPU gets (cpu_features.h): the CPUID feature sets of real CPU families
// against the level their kernels need, and ISV_ISA lowering it but never raising it.
#include "engine/kernels/cpu_features.h"

#include <gtest/gtest.h>

namespace isv {
namespace {

CpuFeatures Haswell() {
  CpuFeatures f;
  f.avx2 = f.fma = f.f16c = true;
  return f;
}

CpuFeatures SkylakeX() {  // AVX-512 F/BW/DQ/VL, no VNNI
  CpuFeatures f = Haswell();
  f.avx512f = f.avx512bw = f.avx512dq = f.avx512vl = true;
  return f;
}

CpuFeatures IceLake() {  // + VNNI, no BF16 (also Sapphire Rapids VMs that hide BF16 and AMX)
  CpuFeatures f = SkylakeX();
  f.avx512vnni = true;
  return f;
}

CpuFeatures Zen4() {
  CpuFeatures f = IceLake();
  f.avx512bf16 = true;
  return f;
}

TEST(CpuFeaturesTest, LevelFollowsTheFeaturesItsKernelsUse) {
  EXPECT_EQ(IsaFor(CpuFeatures{}, nullptr), Isa::kScalar);
  CpuFeatures no_f16c = Haswell();
  no_f16c.f16c = false;
  EXPECT_EQ(IsaFor(no_f16c, nullptr), Isa::kScalar);
  EXPECT_EQ(IsaFor(Haswell(), nullptr), Isa::kAvx2);
  EXPECT_EQ(IsaFor(SkylakeX(), nullptr), Isa::kAvx2);  // the int8 kernels need VNNI
  EXPECT_EQ(IsaFor(IceLake(), nullptr), Isa::kAvx512);
  EXPECT_EQ(IsaFor(Zen4(), nullptr), Isa::kAvx512Bf16);
  CpuFeatures bf16_without_vnni = SkylakeX();
  bf16_without_vnni.avx512bf16 = true;
  EXPECT_EQ(IsaFor(bf16_without_vnni, nullptr), Isa::kAvx2);
}

TEST(CpuFeaturesTest, IsaEnvironmentLowersButNeverRaises) {
  EXPECT_EQ(IsaFor(Zen4(), "scalar"), Isa::kScalar);
  EXPECT_EQ(IsaFor(Zen4(), "avx2"), Isa::kAvx2);
  EXPECT_EQ(IsaFor(Zen4(), "avx512"), Isa::kAvx512);
  EXPECT_EQ(IsaFor(Zen4(), "avx512bf16"), Isa::kAvx512Bf16);
  EXPECT_EQ(IsaFor(Zen4(), "amx"), Isa::kAvx512Bf16);
  EXPECT_EQ(IsaFor(IceLake(), "avx512bf16"), Isa::kAvx512);
  EXPECT_EQ(IsaFor(Haswell(), "avx512"), Isa::kAvx2);
  EXPECT_EQ(IsaFor(CpuFeatures{}, "avx2"), Isa::kScalar);
}

TEST(CpuFeaturesTest, LevelNames) {
  EXPECT_EQ(IsaName(Isa::kScalar), "scalar");
  EXPECT_EQ(IsaName(Isa::kAvx2), "avx2");
  EXPECT_EQ(IsaName(Isa::kAvx512), "avx512");
  EXPECT_EQ(IsaName(Isa::kAvx512Bf16), "avx512bf16");
}

}  // namespace
}  // namespace isv
