#include "engine/kernels/matmul.h"

#include <algorithm>
#include <cassert>
#include <vector>

#include "engine/kernels/kernels.h"
#include "engine/kernels/rows8_layout.h"

namespace isv {
namespace {

// Scratch only grows: a smaller matmul after a larger one must not shrink it, or the next larger
// one would zero-fill the regrown part again.
template <typename T>
void GrowTo(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// Below this many multiply-adds a matmul runs on the calling thread: waking the pool would cost
// more than the work (tiny test models, small projections).
constexpr int64_t kMinParallelMacs = 1 << 16;
// Activation quantization below this many elements is done inline by the caller (a decode step's
// single row), so a decode matmul is exactly one pool dispatch.
constexpr int64_t kMinParallelQuantize = 1 << 16;
// Output rows are handed out in multiples of this many (16 floats = one cache line of y per
// token, so two threads never write the same line).
constexpr int64_t kRowAlign = 16;
// Chunks per thread: a few, so that a thread slowed down by other processes leaves its share to
// the others (dynamic claiming in ThreadPool::RunChunks).
constexpr int64_t kChunksPerThread = 4;
// Rows processed together for every token of a batch: about this many bytes of weights, which
// stay in L1/L2 while the activation rows stream past them once per block instead of once per row.
constexpr int64_t kRowBlockBytes = 16 << 10;

// Activation rows processed together against each row block: about this many bytes, which stay in
// the core's L2 while the row blocks of the thread's chunk pass over them. Without it, a matrix with
// long rows (the FFN down projection: 512 tokens x 5 KiB of Q8_0 activations) streamed all
// activations from L3 once per row block of 16 KiB of weights.
constexpr int64_t kTokenBlockBytes = 256 << 10;

// The same for the prefill kernels, larger: each prefill_gemm call unpacks its weight rows (for the
// K-quants ~30 instructions per 32 weights) before it uses them for the token block, so a block that
// fits L2 (256 KiB: 112 tokens of 2048-element Q8_K rows) unpacked every row ~5 times per 512-token
// prompt; perf put the unpacking at a quarter of llama-3.2-1b Q4_K_M's prompt time. Measured on the
// development EPYC (Zen 4, 1 MiB L2 per core), 2 threads, pp512 with 256 KiB / 512 KiB / 1 MiB / 2 MiB /
// unbounded: llama-3.2-1b Q4_K_M 185 / 208 / 227 / 232 / 238 t/s, Q8_0 218 / 205 / 231 / 241 / 224 (noisy),
// qwen2.5-0.5b Q4_K_M 470 / 510 / 540 / 562 / 554, Q8_0 ~510 in all; AVX2 level llama Q4_K_M 129 -> 144.
// Activations of that size come from L3, which the kernels' reuse of each loaded row (16 tokens per
// weight word) tolerates.
constexpr int64_t kPrefillTokenBlockBytes = 2 << 20;

// Batches of at most this many tiles' worth of tokens are computed row by row (see MatMulTiles).
constexpr int64_t kSmallBatchTiles = 2;

// Fewest prompt tokens for which a kRows8 Q8_0 matrix takes the AMX kernel; fewer take the level's
// prefill kernel, which gives the same bits (amx_q8_0.h). The AMX kernel copies each 32-row step of a
// kRows8 matrix into its tile order once per call and always computes 16-token groups, so few tokens
// cost it about as much as 16. Measured on the device machine's Xeon (session 20: llama-3.2-1b Q8_0, 2
// threads, pp t/s AMX / the VNNI kRows8 kernel): 8 tokens 54.9 / 49.7, 16 119.7 / 99.1, 32 175.8 /
// 117.1, 64 202.4 / 179.8, 512 302.3 / 199.1: AMX wins from 8 (fewer were not measured).
constexpr int64_t kAmxRows8MinTokens = 8;

// Rows per pool chunk for an n_out-row matrix: about kChunksPerThread chunks per thread, a multiple of
// kRowAlign rows.
int64_t RowsPerChunk(int64_t n_out, const ThreadPool& pool) {
  const int64_t want_chunks = static_cast<int64_t>(pool.size()) * kChunksPerThread;
  return ((n_out + want_chunks - 1) / want_chunks + kRowAlign - 1) / kRowAlign * kRowAlign;
}

// y rows [r0, r1) for all tokens with the type's register tile (wk.gemm_tile): token blocks of about
// kTokenBlockBytes of activations x row blocks of about kRowBlockBytes of weights (multiples of the
// tile sizes), tile_cols tokens x tile_rows rows per call.
void MatMulTiles(const TypeKernels& wk, const TensorView& w, const uint8_t* act, size_t act_row, int64_t n_tokens,
                 int64_t r0, int64_t r1, float* y) {
  const int64_t n_in = w.ne[0];
  const int64_t n_out = w.ne[1];
  const size_t row_bytes = w.row_bytes();
  const uint8_t* w0 = static_cast<const uint8_t*>(w.data);
  const int64_t tr = wk.tile_rows, tc = wk.tile_cols;
  if (n_tokens == 1) {
    // Decode: one row at a time. Consecutive rows are contiguous, so this reads the matrix as one
    // sequential stream, which the hardware prefetcher follows; interleaving tile_rows rows (short
    // streams of a few cache lines each) measured 2x slower on a matrix larger than the caches.
    for (int64_t r = r0; r < r1; ++r) y[r] = wk.vec_dot(n_in, w0 + r * row_bytes, act);
    return;
  }
  if (n_tokens <= kSmallBatchTiles * tc) {
    // A few tokens (batched decode of several sequences): still one sequential stream of rows,
    // each row used by 1 x tile_cols tiles while it is in L1 (every tile shape gives the bits of
    // vec_dot, so results do not depend on the batch).
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t t = 0; t < n_tokens; t += tc) {
        wk.gemm_tile(n_in, w0 + r * row_bytes, row_bytes, 1, act + t * act_row, act_row,
                     static_cast<int>(std::min(tc, n_tokens - t)), y + t * n_out + r, static_cast<size_t>(n_out));
      }
    }
    return;
  }
  int64_t row_block = std::max<int64_t>(1, kRowBlockBytes / static_cast<int64_t>(row_bytes));
  row_block = (row_block + tr - 1) / tr * tr;
  int64_t token_block = std::max<int64_t>(1, kTokenBlockBytes / static_cast<int64_t>(act_row)) / tc * tc;
  token_block = std::max(token_block, tc);
  for (int64_t tb = 0; tb < n_tokens; tb += token_block) {
    const int64_t te = std::min(n_tokens, tb + token_block);
    for (int64_t rb = r0; rb < r1; rb += row_block) {
      const int64_t re = std::min(r1, rb + row_block);
      for (int64_t t = tb; t < te; t += tc) {
        const int n_cols = static_cast<int>(std::min(tc, te - t));
        for (int64_t r = rb; r < re; r += tr) {
          const int n_rows = static_cast<int>(std::min(tr, re - r));
          wk.gemm_tile(n_in, w0 + r * row_bytes, row_bytes, n_rows, act + t * act_row, act_row, n_cols,
                       y + t * n_out + r, static_cast<size_t>(n_out));
        }
      }
    }
  }
}

// For each kRows8 group of w in rows [r0, r1) (multiples of 8: MatMul's chunks are multiples of 16 and
// a kRows8 matrix has a multiple of 8 rows): fn(rows, r), where `rows` is w with the group's 8 rows
// restored to the file's order in this thread's buffer as its rows 0..7 (its other rows must not be
// read) and r the group's first row. wk: the level's kernels (its unpack_rows8 where set).
template <typename Fn>
void ForEachRows8Group(const TypeKernels& wk, const TensorView& w, int64_t r0, int64_t r1, Fn&& fn) {
  assert(r0 % kRows8Group == 0 && r1 % kRows8Group == 0);
  const size_t row_bytes = w.row_bytes();
  thread_local std::vector<uint8_t> buffer;
  GrowTo(buffer, kRows8Group * row_bytes);
  TensorView rows = w;
  rows.layout = WeightLayout::kRows;
  rows.data = buffer.data();
  for (int64_t r = r0; r < r1; r += kRows8Group) {
    const uint8_t* group = static_cast<const uint8_t*>(w.data) + r * row_bytes;
    if (wk.unpack_rows8 != nullptr) {
      wk.unpack_rows8(w.ne[0], group, buffer.data());
    } else {
      UnpackRows8(w.type, w.ne[0], group, buffer.data());
    }
    fn(static_cast<const TensorView&>(rows), r);
  }
}

// y rows [r0, r1) for all tokens.
void MatMulRows(const TypeKernels& wk, const TensorView& w, const uint8_t* act, size_t act_row, int64_t n_tokens,
                int64_t r0, int64_t r1, float* y) {
  const int64_t n_in = w.ne[0];
  const int64_t n_out = w.ne[1];
  const size_t row_bytes = w.row_bytes();
  const uint8_t* w0 = static_cast<const uint8_t*>(w.data);
  if (w.layout == WeightLayout::kRows8) {
    // Every plain token through gemv_rows8, kGemvMaxTokens at a time: for the K-quants and IQ4_XS its
    // summation order is its own (k_quant_rows8_avx512.cc), for Q8_0 / Q4_1 / Q5_1 the prefill order (not
    // their gemv's), so a larger batch must not take another kernel.
    if (wk.gemv_rows8 != nullptr) {
      for (int64_t t = 0; t < n_tokens; t += kGemvMaxTokens) {
        const int n = static_cast<int>(std::min<int64_t>(kGemvMaxTokens, n_tokens - t));
        wk.gemv_rows8(n_in, w0 + r0 * row_bytes, row_bytes, r1 - r0, act + t * act_row, act_row, n, y + t * n_out + r0,
                      static_cast<size_t>(n_out));
      }
      return;
    }
    ForEachRows8Group(wk, w, r0, r1, [&](const TensorView& rows, int64_t r) {
      MatMulRows(wk, rows, act, act_row, n_tokens, 0, kRows8Group, y + r);
    });
    return;
  }
  if (n_tokens <= kGemvMaxTokens && wk.gemv != nullptr) {
    wk.gemv(n_in, w0 + r0 * row_bytes, row_bytes, r1 - r0, act, act_row, static_cast<int>(n_tokens), y + r0,
            static_cast<size_t>(n_out));
    return;
  }
  if (wk.gemm_tile != nullptr) {
    MatMulTiles(wk, w, act, act_row, n_tokens, r0, r1, y);
    return;
  }
  if (n_tokens == 1) {
    for (int64_t r = r0; r < r1; ++r) y[r] = wk.vec_dot(n_in, w0 + r * row_bytes, act);
    return;
  }
  const int64_t row_block = std::max<int64_t>(1, kRowBlockBytes / static_cast<int64_t>(row_bytes));
  for (int64_t rb = r0; rb < r1; rb += row_block) {
    const int64_t re = std::min(r1, rb + row_block);
    int64_t t = 0;
    if (wk.vec_dot_4 != nullptr) {
      for (; t + 4 <= n_tokens; t += 4) {
        const uint8_t* a = act + t * act_row;
        float* yt = y + t * n_out;
        for (int64_t r = rb; r < re; ++r) {
          float out[4];
          wk.vec_dot_4(n_in, w0 + r * row_bytes, a, act_row, out);
          for (int j = 0; j < 4; ++j) yt[j * n_out + r] = out[j];
        }
      }
    }
    for (; t < n_tokens; ++t) {
      const uint8_t* a = act + t * act_row;
      float* yt = y + t * n_out;
      for (int64_t r = rb; r < re; ++r) yt[r] = wk.vec_dot(n_in, w0 + r * row_bytes, a);
    }
  }
}

// y rows [r0, r1) for the n_tokens prompt tokens of `packed` with the prefill kernel: token blocks
// of about kPrefillTokenBlockBytes of packed activations x row tiles of prefill_rows rows (each call
// unpacks its rows once for the whole token block); a kRows8 matrix by groups (prefill_gemm_rows8).
void PrefillRows(const TypeKernels& wk, const TensorView& w, const uint8_t* packed, int64_t n_tokens, int64_t r0,
                 int64_t r1, float* y) {
  const bool rows8 = w.layout == WeightLayout::kRows8;
  const auto kernel = rows8 ? wk.prefill_gemm_rows8 : wk.prefill_gemm;
  const int64_t tile_rows = rows8 ? kRows8Group : wk.prefill_rows;
  assert(!rows8 || (r0 % kRows8Group == 0 && r1 % kRows8Group == 0));
  const int64_t n_in = w.ne[0];
  const int64_t n_out = w.ne[1];
  const size_t row_bytes = w.row_bytes();
  const uint8_t* w0 = static_cast<const uint8_t*>(w.data);
  const int64_t group_bytes =
      static_cast<int64_t>(PrefillPackedBytes(wk.vec_dot_type, kPrefillGroup, n_in, wk.prefill_f16_rows));
  const int64_t token_block = std::max<int64_t>(1, kPrefillTokenBlockBytes / group_bytes) * kPrefillGroup;
  for (int64_t tb = 0; tb < n_tokens; tb += token_block) {
    const int n_cols = static_cast<int>(std::min(token_block, n_tokens - tb));
    const uint8_t* pk = packed + (tb / kPrefillGroup) * group_bytes;
    if (rows8 && kernel == nullptr) {  // K-quants: the prefill kernel on each group in the file's order
      ForEachRows8Group(wk, w, r0, r1, [&](const TensorView& rows, int64_t r) {
        for (int64_t rr = 0; rr < kRows8Group; rr += wk.prefill_rows) {
          const int n_rows = static_cast<int>(std::min<int64_t>(wk.prefill_rows, kRows8Group - rr));
          wk.prefill_gemm(n_in, rows.row(rr), row_bytes, n_rows, pk, n_cols, y + tb * n_out + r + rr,
                          static_cast<size_t>(n_out));
        }
      });
      continue;
    }
    for (int64_t r = r0; r < r1; r += tile_rows) {
      const int n_rows = static_cast<int>(std::min(tile_rows, r1 - r));
      kernel(n_in, w0 + r * row_bytes, row_bytes, n_rows, pk, n_cols, y + tb * n_out + r, static_cast<size_t>(n_out));
    }
  }
}

// What MatMul does with one matrix and one batch: the kernels, the rows that take a prefill kernel,
// and so the activations' layout. Matrices whose plans prepare the activations alike
// (SamePreparation) share one preparation (MatMulShared).
struct Plan {
  const TensorView* w = nullptr;
  const TypeKernels* wk = nullptr;
  const TypeKernels* ak = nullptr;  // the kernels of wk->vec_dot_type (its from_float)
  int64_t n_tokens = 0;
  int64_t n_plain = 0;          // rows [0, n_plain): MatMulRows
  int64_t n_prefill = 0;        // rows [n_plain, n_tokens): a prefill kernel (0: none)
  AmxQ8_0RowsFn amx = nullptr;  // that kernel where set, else wk->prefill_gemm
  size_t act_row = 0;
};

Plan MakePlan(const TensorView& w, int64_t n_tokens, int64_t n_prefill, Isa isa, AmxQ8_0RowsFn amx_kernel) {
  Plan p;
  p.w = &w;
  p.wk = &GetKernels(w.type, isa);
  p.ak = &GetKernels(p.wk->vec_dot_type, isa);
  p.n_tokens = n_tokens;
  p.act_row = RowSize(p.wk->vec_dot_type, w.ne[0]);
  // A type whose plain tokens sum in the prefill order takes larger batches whole through its prefill
  // kernel (kernels.h: plain_in_prefill_order); its gemv keeps up to kGemvMaxTokens plain tokens.
  if (p.wk->plain_in_prefill_order && n_tokens - n_prefill > kGemvMaxTokens) n_prefill = n_tokens;
  if (w.type != GgmlType::kQ8_0 || (w.layout == WeightLayout::kRows8 && n_prefill < kAmxRows8MinTokens)) {
    amx_kernel = nullptr;
  }
  const bool prefill = n_prefill > 0 && (amx_kernel != nullptr || p.wk->prefill_gemm != nullptr);
  p.n_prefill = prefill ? n_prefill : 0;
  p.n_plain = n_tokens - p.n_prefill;
  p.amx = prefill ? amx_kernel : nullptr;
  return p;
}

// True when activations prepared for plan a serve plan b too (plans of one level): the same quantized rows
// and the same packing of the same prompt rows.
bool SamePreparation(const Plan& a, const Plan& b) {
  if (a.wk->vec_dot_type != b.wk->vec_dot_type || a.w->ne[0] != b.w->ne[0] || a.n_tokens != b.n_tokens ||
      a.n_prefill != b.n_prefill || (a.amx != nullptr) != (b.amx != nullptr)) {
    return false;
  }
  return a.n_prefill == 0 || a.amx != nullptr || a.wk->prefill_f16_rows == b.wk->prefill_f16_rows;
}

// Activations ready for the kernels: every row quantized to the vec_dot_type (act, act_row bytes
// apart), and the prompt rows of a plan with a prefill kernel packed for it (packed).
struct Prepared {
  const uint8_t* act = nullptr;
  const uint8_t* packed = nullptr;
};

// Row t of the activations: in x, or made by fn into this thread's buffer.
const float* SourceRow(const float* x, const ActivationRowFn* fn, int64_t n_in, int64_t t) {
  if (fn == nullptr) return x + t * n_in;
  thread_local std::vector<float> buffer;
  GrowTo(buffer, static_cast<size_t>(n_in));
  (*fn)(t, buffer.data());
  return buffer.data();
}

// Quantizes and packs the activations for plan p. Work units of about kPrefillGroup tokens: the plain
// rows in runs of that many, then each prompt group, whose rows are quantized and packed by one thread
// while they are in its caches.
Prepared Prepare(const Plan& p, const float* x, const ActivationRowFn* fn, ThreadPool& pool, MatMulScratch& scratch) {
  const int64_t n_in = p.w->ne[0];
  GrowTo(scratch.activations, p.act_row * p.n_tokens);
  uint8_t* act = scratch.activations.data();
  Prepared out;
  out.act = act;
  uint8_t* packed = nullptr;
  if (p.n_prefill > 0) {
    const size_t bytes = p.amx != nullptr
                             ? AmxQ8_0PackedSize(n_in, p.n_prefill)
                             : PrefillPackedBytes(p.wk->vec_dot_type, p.n_prefill, n_in, p.wk->prefill_f16_rows);
    GrowTo(scratch.packed, (bytes + sizeof(PrefillBlock) - 1) / sizeof(PrefillBlock));  // 64-byte aligned storage
    packed = reinterpret_cast<uint8_t*>(scratch.packed.data());
    out.packed = packed;
  }
  const uint8_t* prompt_act = act + p.n_plain * p.act_row;
  auto quantize = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) p.ak->from_float(SourceRow(x, fn, n_in, t), act + t * p.act_row, n_in);
  };
  const int64_t plain_units = (p.n_plain + kPrefillGroup - 1) / kPrefillGroup;
  const int64_t n_groups = (p.n_prefill + kPrefillGroup - 1) / kPrefillGroup;
  auto unit = [&](int64_t u) {
    if (u < plain_units) return quantize(u * kPrefillGroup, std::min(p.n_plain, (u + 1) * kPrefillGroup));
    const int64_t g = u - plain_units;
    const int64_t t0 = g * kPrefillGroup, t1 = std::min(p.n_prefill, t0 + kPrefillGroup);
    quantize(p.n_plain + t0, p.n_plain + t1);
    if (p.amx != nullptr) {
      AmxQ8_0Pack(n_in, prompt_act, p.act_row, p.n_prefill, t0, t1, packed);
    } else {
      PackPrefillActivations(p.wk->vec_dot_type, prompt_act, p.act_row, p.n_prefill, n_in, g, 1, packed,
                             p.wk->prefill_f16_rows);
    }
  };
  const int64_t n_units = plain_units + n_groups;
  if (p.n_tokens * n_in < kMinParallelQuantize || pool.size() == 1 || n_units == 1) {
    for (int64_t u = 0; u < n_units; ++u) unit(u);
  } else {
    pool.RunChunks(n_units, unit);
  }
  return out;
}

// y rows [r0, r1) of plan p for every token.
void ComputeRows(const Plan& p, const Prepared& a, int64_t r0, int64_t r1, float* y) {
  const TensorView& w = *p.w;
  const int64_t n_out = w.ne[1];
  if (p.n_plain > 0) MatMulRows(*p.wk, w, a.act, p.act_row, p.n_plain, r0, r1, y);
  if (p.n_prefill == 0) return;
  float* y_prompt = y + p.n_plain * n_out;
  if (p.amx == nullptr) return PrefillRows(*p.wk, w, a.packed, p.n_prefill, r0, r1, y_prompt);
  AmxQ8_0Args args;
  args.n_in = w.ne[0];
  args.w = static_cast<const uint8_t*>(w.data);
  args.row_bytes = w.row_bytes();
  args.rows8 = w.layout == WeightLayout::kRows8;
  args.packed = a.packed;
  args.n_tokens = p.n_prefill;
  args.y = y_prompt;
  args.y_stride = static_cast<size_t>(n_out);
  p.amx(args, r0, r1);
}

// The products of n matrices (plans[m], into ys[m]) with one preparation: each matrix's rows in chunks
// (RowsPerChunk; AMX plans kAmxStepRows), all matrices' chunks in one pool dispatch (chunk c belongs to the first
// matrix m with c < first_chunk[m + 1]); on this thread when the work is small.
void ComputeAll(const Plan* plans, float* const* ys, int n, const Prepared& a, ThreadPool& pool) {
  constexpr int kMaxMatrices = 4;
  assert(n >= 1 && n <= kMaxMatrices);
  int64_t macs = 0;
  for (int m = 0; m < n; ++m) macs += plans[m].w->ne[0] * plans[m].w->ne[1] * plans[m].n_tokens;
  if (macs < kMinParallelMacs || pool.size() == 1) {
    for (int m = 0; m < n; ++m) ComputeRows(plans[m], a, 0, plans[m].w->ne[1], ys[m]);
    return;
  }
  int64_t rows_per_chunk[kMaxMatrices], first_chunk[kMaxMatrices + 1];
  first_chunk[0] = 0;
  for (int m = 0; m < n; ++m) {
    const int64_t n_out = plans[m].w->ne[1];
    // The AMX kernel works in steps of kAmxStepRows rows, and a shorter step costs it almost as much (the same
    // activation tiles for half the rows): chunks of one step each (a 32-row step is ~15M multiply-adds at 512
    // tokens; 112-row chunks, a 896-row matrix over 2 threads, had a 16-row step in every chunk).
    rows_per_chunk[m] = plans[m].amx != nullptr ? kAmxStepRows : RowsPerChunk(n_out, pool);
    first_chunk[m + 1] = first_chunk[m] + (n_out + rows_per_chunk[m] - 1) / rows_per_chunk[m];
  }
  pool.RunChunks(first_chunk[n], [&](int64_t c) {
    int m = 0;
    while (c >= first_chunk[m + 1]) ++m;
    const int64_t r0 = (c - first_chunk[m]) * rows_per_chunk[m];
    ComputeRows(plans[m], a, r0, std::min(plans[m].w->ne[1], r0 + rows_per_chunk[m]), ys[m]);
  });
}

// The AMX kernel a MatMul at level isa offers its prompt rows (MakePlan keeps it for Q8_0 weights only).
AmxQ8_0RowsFn PromptAmxKernel(Isa isa, int64_t n_prefill) {
  return n_prefill > 0 ? AmxQ8_0PrefillKernel(isa) : nullptr;
}

void MatMulImpl(const TensorView& w, const float* x, const ActivationRowFn* fn, int64_t n_tokens, float* y,
                ThreadPool& pool, MatMulScratch& scratch, Isa isa, int64_t n_prefill, AmxQ8_0RowsFn amx_kernel) {
  if (n_tokens <= 0 || w.ne[1] <= 0) return;
  const Plan p = MakePlan(w, n_tokens, n_prefill, isa, amx_kernel);
  const Prepared a = Prepare(p, x, fn, pool, scratch);
  ComputeAll(&p, &y, 1, a, pool);
}

}  // namespace

void MatMul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool, MatMulScratch& scratch,
            int64_t n_prefill) {
  MatMul(w, x, n_tokens, y, pool, scratch, BestIsa(), n_prefill);
}

void MatMul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool, MatMulScratch& scratch,
            Isa isa, int64_t n_prefill) {
  MatMul(w, x, n_tokens, y, pool, scratch, isa, n_prefill, PromptAmxKernel(isa, n_prefill));
}

void MatMul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool, MatMulScratch& scratch,
            Isa isa, int64_t n_prefill, AmxQ8_0RowsFn amx_kernel) {
  MatMulImpl(w, x, nullptr, n_tokens, y, pool, scratch, isa, n_prefill, amx_kernel);
}

void MatMul(const TensorView& w, const ActivationRowFn& make_row, int64_t n_tokens, float* y, ThreadPool& pool,
            MatMulScratch& scratch, int64_t n_prefill) {
  const Isa isa = BestIsa();
  MatMulImpl(w, nullptr, &make_row, n_tokens, y, pool, scratch, isa, n_prefill, PromptAmxKernel(isa, n_prefill));
}

void MatMulShared(std::initializer_list<MatMulOutput> outputs, const float* x, int64_t n_tokens, ThreadPool& pool,
                  MatMulScratch& scratch, int64_t n_prefill) {
  constexpr int kMaxOutputs = 4;
  const MatMulOutput* outs = outputs.begin();
  const int n_outs = static_cast<int>(outputs.size());
  const Isa isa = BestIsa();
  const AmxQ8_0RowsFn amx = PromptAmxKernel(isa, n_prefill);
  bool shared = n_tokens > 0 && n_outs >= 1 && n_outs <= kMaxOutputs;
  Plan plans[kMaxOutputs];
  float* ys[kMaxOutputs] = {};
  for (int m = 0; shared && m < n_outs; ++m) {
    plans[m] = MakePlan(*outs[m].w, n_tokens, n_prefill, isa, amx);
    ys[m] = outs[m].y;
    shared = outs[m].w->ne[1] > 0 && SamePreparation(plans[0], plans[m]);
  }
  if (!shared) {
    for (const MatMulOutput& o : outputs) MatMul(*o.w, x, n_tokens, o.y, pool, scratch, n_prefill);
    return;
  }
  const Prepared a = Prepare(plans[0], x, nullptr, pool, scratch);
  ComputeAll(plans, ys, n_outs, a, pool);
}

void DequantizeRow(const TensorView& w, int64_t row, float* out) {
  if (w.layout == WeightLayout::kRows8) {  // a tied output matrix (Model): the row restored first
    thread_local std::vector<uint8_t> buffer;
    GrowTo(buffer, w.row_bytes());
    const uint8_t* group = static_cast<const uint8_t*>(w.data) + (row - row % kRows8Group) * w.row_bytes();
    UnpackRow8(w.type, w.ne[0], group, static_cast<int>(row % kRows8Group), buffer.data());
    GetKernels(w.type).to_float(buffer.data(), out, w.ne[0]);
    return;
  }
  GetKernels(w.type).to_float(w.row(row), out, w.ne[0]);
}

}  // namespace isv
