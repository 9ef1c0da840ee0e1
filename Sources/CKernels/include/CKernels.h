#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>

/// Portable fp32 kernels. Each is compiled for AVX-512, AVX2+FMA and baseline x86-64 (or the
/// default target elsewhere) through function multi-versioning, so the package builds without
/// CPU-specific compiler flags and still runs at full width on the machine it lands on.

/// x[i] = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2)))  (exact-erf GELU, as torch's default GELU).
void bk_gelu_erf(float *x, size_t n);

/// Row-wise softmax over `rows` rows of `cols` contiguous values, in place.
void bk_softmax_rows(float *x, size_t rows, size_t cols);

/// Row-wise softmax after multiplying by `scale` and adding `mask` (an additive row of `cols`
/// values applied to every row; NULL for none), in place.
void bk_scaled_masked_softmax_rows(float *x, size_t rows, size_t cols, float scale, const float *mask);

/// y[r, :] = (x[r, :] - mean) / sqrt(var + eps) * weight + bias, for `rows` rows of `cols`.
/// `x` and `y` may alias.
void bk_layer_norm_rows(const float *x, float *y, size_t rows, size_t cols,
                        const float *weight, const float *bias, float eps);

/// y[i] += x[i]
void bk_add_inplace(float *y, const float *x, size_t n);

/// y[r, :] += row[:] for `rows` rows of `cols`.
void bk_add_row_inplace(float *y, const float *row, size_t rows, size_t cols);

/// Converts `n` bfloat16 values to float (exact).
void bk_bf16_to_f32(const unsigned short *src, float *dst, size_t n);

/// Converts `n` IEEE half values to float (exact, including subnormals, inf and nan).
void bk_f16_to_f32(const unsigned short *src, float *dst, size_t n);

/// Index of the largest of `n` values (first one on ties, NaN never wins).
size_t bk_argmax(const float *x, size_t n);

/// log(sum(exp(x))) computed stably over `n` values.
float bk_logsumexp(const float *x, size_t n);

/// Attention of one query row over `keys` positions for one head: out = softmax(q·K^T * scale
/// + mask) V, where key/value row j starts at k + j * kvStride (headDim floats each).
/// `scratch` holds at least `keys` floats; `mask` (may be NULL) adds to the scaled scores.
void bk_attention_row(const float *q, const float *k, const float *v, size_t kvStride, size_t keys,
                      size_t headDim, float scale, const float *mask, float *scratch, float *out);

/// y[m, n] = dot(x[m, :], w[n, :]) (+ bias[n]) for m < rows and n in [n0, n1): a matrix product
/// for few rows (decoding) that streams each weight row once for all rows. x is [rows, k],
/// w is [N, k] (PyTorch's Linear layout), y is [rows, ldy]. bias may be NULL.
void bk_linear_few_rows(const float *x, size_t rows, size_t k, const float *w, const float *bias,
                        float *y, size_t ldy, size_t n0, size_t n1);

/// A task of a parallel region: part `part` of `parts`.
typedef void (*bk_task_fn)(void *ctx, size_t part, size_t parts);

/// A fork-join thread pool: `threads` threads per region (the caller and threads-1 persistent
/// workers, started at the first region). Each model's compute settings own one (pool.c).
typedef struct bk_pool bk_pool;

/// A pool of `threads` threads (clamped to 1...64); NULL when out of memory.
bk_pool *bk_pool_create(size_t threads);

/// Stops and joins the pool's workers and frees it. No region may be running on it.
void bk_pool_destroy(bk_pool *pool);

/// Threads a parallel region of `pool` uses (workers + the caller).
size_t bk_pool_threads(const bk_pool *pool);

/// Runs fn(ctx, p, parts) for p < parts (capped at the pool's threads): part 0 on the calling
/// thread, the others on the pool's workers; returns when all are done. Nested calls, or calls
/// while another thread is running a region on the same pool, run the parts serially on the
/// caller.
void bk_pool_run(bk_pool *pool, bk_task_fn fn, void *ctx, size_t parts);

/// The pool the calling thread's parallel regions use (set by bk_pool_swap_current; NULL when
/// none was set).
bk_pool *bk_pool_current(void);

/// Makes `pool` the calling thread's current pool and returns the previous one.
bk_pool *bk_pool_swap_current(bk_pool *pool);

/// The clone of the multi-versioned kernels this CPU runs: "avx512f", "avx2", "default"
/// (x86-64 Linux), or "portable" where the kernels are not multi-versioned.
const char *bk_kernel_path(void);

/// CPUs this process may run on (sched_getaffinity on Linux; online CPUs elsewhere).
size_t bk_affinity_cpus(void);

// MARK: - Reduced precision (lowp.c)
// Weights in PyTorch's Linear layout [N, K]: bf16 bit patterns, or int8 with one fp32 scale per
// output row (symmetric, w ~ q * scale) and the row's sum of q.

/// dst[i] = bfloat16(src[i]), rounding to nearest even as torch does.
void bk_f32_to_bf16(const float *src, unsigned short *dst, size_t n);

/// Quantises `rows` rows of `k` to int8 per row: scale = max|w[r, :]| / 127 (1 for a zero row),
/// q = round-half-even(w / scale) clamped to [-127, 127]; rowSums[r] = sum of q over the row.
void bk_quantize_rows_int8(const float *w, size_t rows, size_t k, signed char *q, float *scales, int *rowSums);

/// dst[r, i] = q[r, i] * scales[r] for `rows` rows of `k`.
void bk_int8_rows_dequantize(const signed char *q, const float *scales, size_t rows, size_t k, float *dst);

/// As bk_linear_few_rows_bf16, for IEEE half (F16) weights (an F16 checkpoint used as stored).
void bk_linear_few_rows_f16(const float *x, size_t rows, size_t k, const unsigned short *w, const float *bias,
                            float *y, size_t ldy, size_t n0, size_t n1);

/// As bk_linear_few_rows with bf16 weights (activations and sums in fp32).
void bk_linear_few_rows_bf16(const float *x, size_t rows, size_t k, const unsigned short *w, const float *bias,
                             float *y, size_t ldy, size_t n0, size_t n1);

/// As bk_linear_few_rows with int8 weights: y[m, n] = scales[n] * dot(x[m], q[n]) + bias[n].
void bk_linear_few_rows_int8(const float *x, size_t rows, size_t k, const signed char *w, const float *scales,
                             const float *bias, float *y, size_t ldy, size_t n0, size_t n1);

/// 1 when bk_linear_few_rows_int8_vnni runs for width k (AVX512_VNNI and k % 64 == 0); else use
/// bk_linear_few_rows_int8 (weight-only).
int bk_has_few_rows_int8_vnni(size_t k);
/// Quantises x [rows, k] per row for bk_linear_few_rows_int8_vnni: xq [rows, k] u8 (x / s + 128)
/// and xs [rows] (s = max |x| / 127), as the many-rows kernel quantises its rows.
void bk_quantize_rows_u8(const float *x, size_t rows, size_t k, unsigned char *xq, float *xs);
/// As bk_linear_few_rows_int8 on AVX512_VNNI with the rows quantised (bk_quantize_rows_u8);
/// wSums are the weight rows' int8 sums.
void bk_linear_few_rows_int8_vnni(const unsigned char *xq, const float *xs, size_t rows, size_t k, const signed char *w,
                                  const float *scales, const int *wSums, const float *bias, float *y, size_t ldy,
                                  size_t n0, size_t n1);

/// 1 when a many-rows bf16 kernel runs on this CPU (AMX tiles on Intel, AVX512_BF16 on AMD);
/// else callers widen weights to fp32 and use BLAS.
int bk_has_bf16_gemm(void);
/// 1 when the CPU has AMX (tile, bf16, int8) and Linux granted this process the tile state.
int bk_has_amx(void);
/// 1 when the many-rows int8 kernel (AVX512_VNNI) runs on this CPU.
int bk_has_int8_gemm(void);
/// Test hook: 0 chooses automatically; 1 makes both report 0 (the portable path); 2 uses the
/// native kernels (AMX, else AVX-512) wherever the instructions exist, even where they are not
/// the faster choice; 3 as 2 without AMX.
void bk_lowp_force_path(int mode);
/// The reduced-precision path this CPU takes, for benchmarks and /info.
const char *bk_lowp_path(void);

/// Rows rounded up to the 16-row blocks of the packed activations.
size_t bk_packed_rows(size_t rows);

/// Packs x [rows, k] (k even) as bf16 for bk_gemm_bf16: bk_packed_rows(rows) * k values.
void bk_pack_a_bf16(const float *x, size_t rows, size_t k, unsigned short *packed);

/// y[m, n] = dot(a[m], w[n]) (+ bias[n]) for n in [n0, n1), fp32 accumulation of bf16 products.
void bk_gemm_bf16(const unsigned short *packed, size_t rows, size_t k, const unsigned short *w, const float *bias,
                  float *y, size_t ldy, size_t n0, size_t n1);

/// Packs x [rows, k] (k % 4 == 0) as u8 (per-row symmetric int8 + 128) for bk_gemm_int8:
/// bk_packed_rows(rows) * k bytes and bk_packed_rows(rows) scales.
void bk_pack_a_int8(const float *x, size_t rows, size_t k, unsigned char *packed, float *rowScales);

/// y[m, n] = rowScales[m] * wScales[n] * dot(qa[m], qw[n]) (+ bias[n]) for n in [n0, n1).
void bk_gemm_int8(const unsigned char *packed, const float *rowScales, size_t rows, size_t k, const signed char *w,
                  const float *wScales, const int *wSums, const float *bias, float *y, size_t ldy,
                  size_t n0, size_t n1);

// AMX kernels (amx.c), called by bk_gemm_bf16 / bk_gemm_int8 for features [n0, n1) when
// n1 - n0 is a multiple of 16 and k of 32 (bf16) / 64 (int8).
void bk_gemm_bf16_amx(const unsigned short *packed, size_t rows, size_t k, const unsigned short *w,
                      const float *bias, float *y, size_t ldy, size_t n0, size_t n1);
void bk_gemm_int8_amx(const unsigned char *packed, const float *rowScales, size_t rows, size_t k,
                      const signed char *w, const float *wScales, const int *wSums, const float *bias, float *y,
                      size_t ldy, size_t n0, size_t n1);

#endif
