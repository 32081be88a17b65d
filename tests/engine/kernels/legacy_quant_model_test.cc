// Legacy quantization kernels against the shipped model files: tiny-llama-Q4_0.gguf and
// tiny-llama-Q8_0.gguf were made by llama-quantize (no imatrix) from tiny-llama-F32.gguf, so
//  - our reference quantizers applied to the F32 tensors must reproduce their bytes exactly;
//  - dequantizing their tensors must come close to the F32 parent (error of the type's grid).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/gguf/gguf_file.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/legacy_quant_ref.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

std::string ModelPath(const std::string& name) {
  return std::string(ISV_SHARED_DIR) + "/testdata/models/" + name;
}

class LegacyQuantModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f32 = GgufFile::Open(ModelPath("tiny-llama-F32.gguf"));
    auto q4 = GgufFile::Open(ModelPath("tiny-llama-Q4_0.gguf"));
    auto q8 = GgufFile::Open(ModelPath("tiny-llama-Q8_0.gguf"));
    if (!f32.ok() || !q4.ok() || !q8.ok()) GTEST_SKIP() << "testdata absent (tiny-llama models)";
    f32_ = std::move(*f32);
    q4_ = std::move(*q4);
    q8_ = std::move(*q8);
  }
  std::unique_ptr<GgufFile> f32_, q4_, q8_;
};

// Every tensor of `quant` of type `type` (matrices; norms stay F32) must equal our reference
// quantization of the F32 parent, byte for byte. Returns how many tensors were compared.
int CheckRequantization(const GgufFile& parent, const GgufFile& quant, GgmlType type) {
  const QuantizeRowFn quantize = LegacyReferenceQuantizer(type);
  int compared = 0;
  for (const TensorView& q : quant.tensors()) {
    if (q.type != type) continue;  // norms (F32) and output.weight (Q6_K in the Q4_0 mix)
    const TensorView* p = parent.FindTensor(q.name);
    EXPECT_NE(p, nullptr) << q.name;
    if (p == nullptr) continue;
    EXPECT_EQ(p->type, GgmlType::kF32);
    EXPECT_EQ(p->n_elements(), q.n_elements()) << q.name;
    std::vector<uint8_t> ours(q.n_bytes());
    const int64_t n_in = q.ne[0];
    for (int64_t r = 0; r < q.n_rows(); ++r) {
      quantize(reinterpret_cast<const float*>(p->row(r)), ours.data() + r * q.row_bytes(), n_in);
    }
    size_t first_diff = ours.size();
    for (size_t i = 0; i < ours.size(); ++i) {
      if (ours[i] != q.row(0)[i]) {
        first_diff = i;
        break;
      }
    }
    EXPECT_EQ(first_diff, ours.size()) << q.name << ": first differing byte " << first_diff << " (block "
                                       << first_diff / TypeTraits(type).type_size << ")";
    ++compared;
  }
  return compared;
}

TEST_F(LegacyQuantModelTest, ReferenceQuantizerReproducesQ8_0File) {
  // token_embd, output and 7 matrices per layer x 2 layers.
  EXPECT_EQ(CheckRequantization(*f32_, *q8_, GgmlType::kQ8_0), 16);
}

TEST_F(LegacyQuantModelTest, ReferenceQuantizerReproducesQ4_0File) {
  // Same minus output.weight (Q6_K).
  EXPECT_EQ(CheckRequantization(*f32_, *q4_, GgmlType::kQ4_0), 15);
}

// Cross-check of the IQ4 block search (FitIq4Block / BestIq4nlIndex, which our IQ4_NL quantizer
// is made of) against tiny-llama-IQ4_XS.gguf: IQ4_XS runs the same per-block search, then
// stores a 6-bit scale per block under one fp16 super-block scale. This test-only IQ4_XS
// quantizer (layout: fp16 d, uint16 scales_h, 4 bytes scales_l, 128 bytes nibbles = 136 bytes
// per 256 elements) must reproduce the file's bytes.
void QuantizeIq4XsForTest(const float* x, uint8_t* out) {
  float scales[8];
  uint8_t L[256];
  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < 8; ++ib) {
    scales[ib] = FitIq4Block(x + 32 * ib, L + 32 * ib);
    if (std::fabs(scales[ib]) > amax_scale) amax_scale = std::fabs(scales[ib]), max_scale = scales[ib];
  }
  const float d = -max_scale / 32;
  const float id = d != 0.0f ? 1 / d : 0.0f;
  uint16_t scales_h = 0;
  uint8_t scales_l[4] = {0, 0, 0, 0};
  for (int ib = 0; ib < 8; ++ib) {
    int l = static_cast<int>(std::nearbyint(id * scales[ib]));
    l = std::max(-32, std::min(31, l));
    const float dl = d * static_cast<float>(l);
    const float idl = dl != 0.0f ? 1 / dl : 0.0f;
    for (int j = 0; j < 32; ++j) L[32 * ib + j] = static_cast<uint8_t>(BestIq4nlIndex(idl * x[32 * ib + j]));
    l += 32;
    scales_l[ib / 2] |= static_cast<uint8_t>((l & 0xF) << (4 * (ib % 2)));
    scales_h |= static_cast<uint16_t>((l >> 4) << (2 * ib));
  }
  const uint16_t dh = Fp32ToFp16(d);
  std::memcpy(out, &dh, 2);
  std::memcpy(out + 2, &scales_h, 2);
  std::memcpy(out + 4, scales_l, 4);
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 16; ++j) out[8 + 16 * i + j] = static_cast<uint8_t>(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
  }
}

TEST_F(LegacyQuantModelTest, Iq4BlockSearchReproducesIq4XsFile) {
  auto xs = GgufFile::Open(ModelPath("tiny-llama-IQ4_XS.gguf"));
  if (!xs.ok()) GTEST_SKIP() << "testdata absent (tiny-llama-IQ4_XS.gguf)";
  int compared = 0;
  for (const TensorView& q : (*xs)->tensors()) {
    if (q.type != GgmlType::kIQ4_XS) continue;
    const TensorView* p = f32_->FindTensor(q.name);
    ASSERT_NE(p, nullptr) << q.name;
    const float* src = reinterpret_cast<const float*>(p->data);
    const uint8_t* want = static_cast<const uint8_t*>(q.data);
    int64_t bad_blocks = 0;
    for (int64_t b = 0; b < q.n_elements() / 256; ++b) {
      uint8_t block[136];
      QuantizeIq4XsForTest(src + 256 * b, block);
      if (std::memcmp(block, want + 136 * b, 136) != 0) ++bad_blocks;
    }
    EXPECT_EQ(bad_blocks, 0) << q.name << " of " << q.n_elements() / 256;
    ++compared;
  }
  EXPECT_EQ(compared, 15);
}

// Relative RMS error of dequantize(quant tensor) against the parent, over the whole tensor.
double RelativeRmsError(const TensorView& parent, const TensorView& quant, Isa isa) {
  const TypeKernels& k = GetKernels(quant.type, isa);
  std::vector<float> row(quant.ne[0]);
  double err2 = 0, ref2 = 0;
  for (int64_t r = 0; r < quant.n_rows(); ++r) {
    k.to_float(quant.row(r), row.data(), quant.ne[0]);
    const float* ref = reinterpret_cast<const float*>(parent.row(r));
    for (int64_t j = 0; j < quant.ne[0]; ++j) {
      err2 += (static_cast<double>(row[j]) - ref[j]) * (static_cast<double>(row[j]) - ref[j]);
      ref2 += static_cast<double>(ref[j]) * ref[j];
    }
  }
  return std::sqrt(err2 / ref2);
}

// Expected relative RMS error for Gaussian weights with blocks of 32 scaled by the block absmax:
// the rounding error is uniform in +-d/2, so rms = d / sqrt(12) with d = amax / 8 (Q4_0) or
// amax / 127 (Q8_0); E[amax of 32 N(0,1)] ~ 2.1 sigma, giving ~0.076 (Q4_0) and ~0.0048 (Q8_0);
// measured on these files: 0.085-0.086 (Q4_0, its grid -8..7 is lopsided) and 0.0053 (Q8_0).
// The bounds leave ~30% headroom; a wrong nibble order or offset gives errors of order 1.
TEST_F(LegacyQuantModelTest, DequantizationIsCloseToParent) {
  for (const char* name : {"blk.0.attn_q.weight", "blk.1.ffn_down.weight", "token_embd.weight"}) {
    const TensorView* p = f32_->FindTensor(name);
    const TensorView* t4 = q4_->FindTensor(name);
    const TensorView* t8 = q8_->FindTensor(name);
    ASSERT_TRUE(p && t4 && t8) << name;
    ASSERT_EQ(t4->type, GgmlType::kQ4_0);
    ASSERT_EQ(t8->type, GgmlType::kQ8_0);
    const double e4 = RelativeRmsError(*p, *t4, Isa::kScalar);
    const double e8 = RelativeRmsError(*p, *t8, Isa::kScalar);
    EXPECT_GT(e4, 0.05) << name;  // it IS quantized (a 4-bit grid cannot be that good)
    EXPECT_LT(e4, 0.10) << name;
    EXPECT_GT(e8, 0.003) << name;
    EXPECT_LT(e8, 0.0065) << name;
    if (BestIsa() >= Isa::kAvx2) {
      EXPECT_EQ(RelativeRmsError(*p, *t4, BestIsa()), e4);
      EXPECT_EQ(RelativeRmsError(*p, *t8, BestIsa()), e8);
    }
    RecordProperty(std::string(name) + "_q4_0_rel_rms", std::to_string(e4));
    std::printf("%s: rel rms error q4_0 %.5f q8_0 %.6f\n", name, e4, e8);
  }
}

}  // namespace
}  // namespace isv
