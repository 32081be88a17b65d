// A second oracle for the forward pass: a slow, straightforward float64 llama forward pass
// written from the paper's equations (weights dequantized with the kernel table's to_float),
// compared with the engine's logits on the F32 llama files. Checks the batched prefill and the
// single-token decode path (KV cache) separately.
//
// K and V: the engine stores them as F16. The reference computes its own K/V in float64, checks
// that each cached F16 value is its own value rounded to F16 (within one F16 step: a value lying
// next to a rounding boundary may round either way from float32 and float64), and then attends
// over the cached values, so that such boundary flips do not blur the comparison of the rest.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/kernels/kernels.h"
#include "engine/model/batch.h"
#include "engine/model/context.h"
#include "engine/model/golden_testutil.h"
#include "engine/model/model.h"
#include "engine/tensor/float16.h"

namespace isv::golden {
namespace {

using Vec = std::vector<double>;

// A weight matrix dequantized to double, rows of n_in.
struct Matrix {
  int64_t n_in = 0, n_out = 0;
  Vec w;
};

Matrix Dequantize(const TensorView& t) {
  Matrix m{t.ne[0], t.ne[1], {}};
  std::vector<float> row(t.ne[0]);
  for (int64_t r = 0; r < m.n_out; ++r) {
    GetKernels(t.type, Isa::kScalar).to_float(t.row(r), row.data(), t.ne[0]);
    m.w.insert(m.w.end(), row.begin(), row.end());
  }
  return m;
}

Vec MatVec(const Matrix& m, const Vec& x) {
  Vec y(m.n_out, 0.0);
  for (int64_t r = 0; r < m.n_out; ++r) {
    for (int64_t i = 0; i < m.n_in; ++i) y[r] += m.w[r * m.n_in + i] * x[i];
  }
  return y;
}

Vec RmsNormD(const Vec& x, const Matrix& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double scale = 1.0 / std::sqrt(ss / x.size() + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * w.w[i];
  return y;
}

// Checks cached against the reference value and returns the cached one.
double CheckedCacheValue(double ref, uint16_t cached, const char* what) {
  const double c = Fp16ToFp32(cached);
  const double step = std::max(std::fabs(ref) * (1.0 / 1024), 6.2e-5);  // one F16 step (normal or subnormal)
  EXPECT_LE(std::fabs(c - ref), step) << what << ": cached " << c << " reference " << ref;
  return c;
}

// Logits of every position of `tokens` (llama architecture, normal RoPE, no scaling).
// `kv` holds the engine's cache after it ran the same tokens as sequence 0.
std::vector<Vec> ReferenceForward(const Model& model, const std::vector<int32_t>& tokens, const KvCache& kv) {
  std::vector<int32_t> cells;
  kv.CellsOf(0, &cells);
  EXPECT_EQ(cells.size(), tokens.size());
  const ModelParams& hp = model.params();
  const ModelWeights& mw = model.weights();
  const int n = static_cast<int>(tokens.size()), hd = hp.head_dim;
  const Matrix embd = Dequantize(mw.token_embd), out_norm = Dequantize(mw.output_norm),
               output = Dequantize(mw.output);
  std::vector<Vec> x(n);
  for (int t = 0; t < n; ++t) x[t].assign(embd.w.begin() + tokens[t] * hp.n_embd, embd.w.begin() + (tokens[t] + 1) * hp.n_embd);
  for (int il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& l = mw.layers[il];
    const Matrix an = Dequantize(l.attn_norm), wq = Dequantize(l.wq), wk = Dequantize(l.wk), wv = Dequantize(l.wv),
                 wo = Dequantize(l.wo), fn = Dequantize(l.ffn_norm), wg = Dequantize(l.ffn_gate),
                 wu = Dequantize(l.ffn_up), wd = Dequantize(l.ffn_down);
    std::vector<Vec> q(n), k(n), v(n);
    for (int t = 0; t < n; ++t) {
      const Vec h = RmsNormD(x[t], an, hp.rms_eps);
      q[t] = MatVec(wq, h);
      k[t] = MatVec(wk, h);
      v[t] = MatVec(wv, h);
      for (Vec* r : {&q[t], &k[t]}) {
        for (size_t head = 0; head < r->size() / hd; ++head) {
          for (int i = 0; i < hp.n_rot / 2; ++i) {
            const double theta = t * std::pow(static_cast<double>(hp.rope_freq_base), -2.0 * i / hp.n_rot);
            double& a = (*r)[head * hd + 2 * i];
            double& b = (*r)[head * hd + 2 * i + 1];
            const double a0 = a, b0 = b;
            a = a0 * std::cos(theta) - b0 * std::sin(theta);
            b = a0 * std::sin(theta) + b0 * std::cos(theta);
          }
        }
      }
      for (int i = 0; i < hp.n_embd_kv(); ++i) {
        k[t][i] = CheckedCacheValue(k[t][i], kv.k(il, i / kv.head_dim(), cells[t])[i % kv.head_dim()], "K");
        v[t][i] = CheckedCacheValue(v[t][i], kv.v(il, i / kv.head_dim(), cells[t])[i % kv.head_dim()], "V");
      }
    }
    for (int t = 0; t < n; ++t) {
      Vec att(hp.n_embd_q(), 0.0);
      for (int h = 0; h < hp.n_head; ++h) {
        const int kvh = h / hp.n_gqa();
        Vec s(t + 1);
        double mx = -1e300, sum = 0;
        for (int j = 0; j <= t; ++j) {
          double d = 0;
          for (int i = 0; i < hd; ++i) d += q[t][h * hd + i] * k[j][kvh * hd + i];
          s[j] = d / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[j]);
        }
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (int j = 0; j <= t; ++j) {
          for (int i = 0; i < hd; ++i) att[h * hd + i] += s[j] / sum * v[j][kvh * hd + i];
        }
      }
      const Vec o = MatVec(wo, att);
      for (int i = 0; i < hp.n_embd; ++i) x[t][i] += o[i];
      const Vec h = RmsNormD(x[t], fn, hp.rms_eps);
      Vec g = MatVec(wg, h);
      const Vec u = MatVec(wu, h);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      const Vec d = MatVec(wd, g);
      for (int i = 0; i < hp.n_embd; ++i) x[t][i] += d[i];
    }
  }
  std::vector<Vec> logits(n);
  for (int t = 0; t < n; ++t) logits[t] = MatVec(output, RmsNormD(x[t], out_norm, hp.rms_eps));
  return logits;
}

class ReferenceForwardTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceForwardTest, EngineMatchesFloat64Reference) {
  if (!TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  StatusOr<std::unique_ptr<Model>> model = Model::Load(TestdataDir() + "/models/" + GetParam() + ".gguf");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Golden golden;
  ASSERT_TRUE(LoadGolden(TestdataDir() + "/golden/" + GetParam() + ".json", &golden));
  StatusOr<std::unique_ptr<Context>> ctx = Context::Create(**model, {.n_ctx = 512, .n_threads = 2});
  ASSERT_TRUE(ctx.ok());
  const int32_t n_vocab = (*model)->params().n_vocab;
  constexpr double kTol = 1e-3;

  for (int pi : {1, 2, 3}) {  // a short prompt, the long one-line one, the one with digits and accents
    const std::vector<int32_t>& tokens = golden.prompts[pi].tokens;
    const int n = static_cast<int>(tokens.size());
    // Prefill: all positions but the last in one batch; then the last one as a decode step.
    (*ctx)->kv_cache().Clear();
    Batch batch;
    for (int i = 0; i + 1 < n; ++i) batch.Add(tokens[i], i, 0, true);
    ASSERT_TRUE((*ctx)->Forward(batch).ok());
    std::vector<std::vector<float>> prefill;
    for (int t = 0; t + 1 < n; ++t) {
      std::span<const float> l = (*ctx)->Logits(t);
      prefill.emplace_back(l.begin(), l.end());
    }
    batch.Clear();
    batch.Add(tokens[n - 1], n - 1, 0, true);
    ASSERT_TRUE((*ctx)->Forward(batch).ok());
    const std::vector<Vec> ref = ReferenceForward(**model, tokens, (*ctx)->kv_cache());
    double worst = 0;
    for (int t = 0; t + 1 < n; ++t) {
      const std::vector<float>& ours = prefill[t];
      for (int32_t id = 0; id < n_vocab; ++id) worst = std::max(worst, std::fabs(ours[id] - ref[t][id]));
    }
    EXPECT_LE(worst, kTol) << GetParam() << " prompt " << pi + 1 << " prefill";
    double worst_decode = 0;
    std::span<const float> ours = (*ctx)->Logits(0);
    for (int32_t id = 0; id < n_vocab; ++id) worst_decode = std::max(worst_decode, std::fabs(ours[id] - ref[n - 1][id]));
    EXPECT_LE(worst_decode, kTol) << GetParam() << " prompt " << pi + 1 << " decode step";
    std::printf("%s prompt %d: max |engine - float64| prefill %.2e, decode %.2e\n", GetParam().c_str(), pi + 1,
                worst, worst_decode);
  }
}

INSTANTIATE_TEST_SUITE_P(F32Llama, ReferenceForwardTest, ::testing::Values("stories260K", "tiny-llama-F32"),
                         [](const auto& info) { return info.param == "stories260K" ? std::string("stories260K")
                                                                                   : std::string("tiny_llama_F32"); });

}  // namespace
}  // namespace isv::golden
