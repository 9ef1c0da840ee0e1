// Reduced-precision matrix products for Linear layers whose weights are stored as bfloat16 or as
// int8 with one fp32 scale per output row (PyTorch's Linear layout [N, K], row-major).
//
// Two families:
// - few rows (decoding): plain loops the compiler vectorises, multi-versioned like kernels.c;
//   memory-bound, so reading 2 (bf16) or 1 (int8) byte per weight instead of 4 is the win.
// - many rows (vision encoder, cross-attention K/V, batches): AVX-512 kernels chosen at run time
//   with cpuid, vdpbf16ps (AVX512_BF16) and vpdpbusd (AVX512_VNNI). Activations are packed per
//   call into blocks of 16 rows whose lanes hold consecutive k (pairs for bf16, quads for int8);
//   each weight row's k-pair/quad is broadcast, so weights stay in their stored layout (a bf16
//   checkpoint is used in place, no repacked copy). Where those instructions are missing the
//   caller widens weight rows to fp32 and uses BLAS (`bk_has_bf16_gemm` / `bk_has_int8_gemm`).
#include "CKernels.h"
#include "few_rows.h"
#include <math.h>
#include <string.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define BK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define BK_X86 1
#include <immintrin.h>
#else
#define BK_CLONES
#define BK_X86 0
#endif
#define LANES 16

static inline __attribute__((always_inline)) float bf16_bits_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// IEEE binary16 -> float without branches (so the few-rows loops vectorise): the exponent is
// rebiased; subnormals go through one float subtraction; infinities and NaNs keep an all-ones
// exponent. Exact for every half value.
static inline __attribute__((always_inline)) float f16_bits_to_f32(uint16_t h) {
    uint32_t sign = ((uint32_t)h & 0x8000u) << 16;
    uint32_t em = ((uint32_t)h & 0x7fffu) << 13;  // exponent and mantissa at float positions
    uint32_t exp = em & 0x0f800000u;
    uint32_t normal = em + (112u << 23);
    uint32_t infnan = normal + (112u << 23);
    float sub, magic;
    uint32_t subBits = normal + (1u << 23), magicBits = 113u << 23;
    memcpy(&sub, &subBits, 4);
    memcpy(&magic, &magicBits, 4);
    sub -= magic;
    uint32_t subnormal;
    memcpy(&subnormal, &sub, 4);
    uint32_t r = exp == 0x0f800000u ? infnan : (exp == 0 ? subnormal : normal);
    r |= sign;
    float f;
    memcpy(&f, &r, 4);
    return f;
}

// Round to nearest even, as torch's float -> bfloat16 conversion; NaN stays a (quiet) NaN.
static inline __attribute__((always_inline)) uint16_t f32_to_bf16_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

BK_CLONES void bk_f32_to_bf16(const float *src, unsigned short *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = f32_to_bf16_bits(src[i]);
}

void bk_quantize_rows_int8(const float *w, size_t rows, size_t k, int8_t *q, float *scales, int32_t *rowSums) {
    for (size_t r = 0; r < rows; r++) {
        const float *wr = w + r * k;
        float amax = 0;
        for (size_t i = 0; i < k; i++) {
            float a = fabsf(wr[i]);
            amax = a > amax ? a : amax;
        }
        float scale = amax > 0 ? amax / 127.0f : 1.0f;
        float inv = 1.0f / scale;
        int32_t sum = 0;
        for (size_t i = 0; i < k; i++) {
            float v = nearbyintf(wr[i] * inv);
            v = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v);
            q[r * k + i] = (int8_t)v;
            sum += (int32_t)v;
        }
        scales[r] = scale;
        rowSums[r] = sum;
    }
}

BK_CLONES void bk_int8_rows_dequantize(const int8_t *q, const float *scales, size_t rows, size_t k, float *dst) {
    for (size_t r = 0; r < rows; r++) {
        float s = scales[r];
        for (size_t i = 0; i < k; i++) dst[r * k + i] = (float)q[r * k + i] * s;
    }
}

// MARK: - Few rows (weight-only: activations stay fp32)

#define WIDEN_BF16(v) bf16_bits_to_f32(v)
#define WIDEN_INT8(v) ((float)(v))
#define WIDEN_F16(v) f16_bits_to_f32(v)
DEFINE_DOT_ROWS(dot_rows_bf16, uint16_t, WIDEN_BF16)
DEFINE_DOT_ROWS(dot_rows_int8, int8_t, WIDEN_INT8)
DEFINE_DOT_COLS(dot_cols_bf16, uint16_t, WIDEN_BF16)
DEFINE_DOT_COLS(dot_cols_int8, int8_t, WIDEN_INT8)
DEFINE_DOT_ROWS(dot_rows_f16, uint16_t, WIDEN_F16)
DEFINE_DOT_COLS(dot_cols_f16, uint16_t, WIDEN_F16)
DEFINE_FEW_ROWS(few_rows_f16, uint16_t, dot_rows_f16, dot_cols_f16, 1.0f)
DEFINE_FEW_ROWS(few_rows_bf16, uint16_t, dot_rows_bf16, dot_cols_bf16, 1.0f)
DEFINE_FEW_ROWS(few_rows_int8, int8_t, dot_rows_int8, dot_cols_int8, scales[n])

BK_CLONES void bk_linear_few_rows_bf16(const float *x, size_t rows, size_t k, const uint16_t *w, const float *bias,
                                       float *y, size_t ldy, size_t n0, size_t n1) {
    few_rows_bf16(x, rows, k, w, NULL, bias, y, ldy, n0, n1);
}

BK_CLONES void bk_linear_few_rows_f16(const float *x, size_t rows, size_t k, const uint16_t *w, const float *bias,
                                      float *y, size_t ldy, size_t n0, size_t n1) {
    few_rows_f16(x, rows, k, w, NULL, bias, y, ldy, n0, n1);
}

BK_CLONES void bk_linear_few_rows_int8(const float *x, size_t rows, size_t k, const int8_t *w, const float *scales,
                                       const float *bias, float *y, size_t ldy, size_t n0, size_t n1) {
    few_rows_int8(x, rows, k, w, scales, bias, y, ldy, n0, n1);
}

// MARK: - Many rows: run-time dispatch

static int forced_path = 0;  // 0: automatic, 1: portable, 2: native kernels wherever the ISA exists,
                             // 3: as 2 without AMX (the AVX-512 kernels)

static int use_amx(void) { return forced_path != 1 && forced_path != 3 && bk_has_amx(); }

void bk_lowp_force_path(int mode) { forced_path = mode; }

int bk_has_bf16_gemm(void) {
#if BK_X86
    __builtin_cpu_init();
    // AMD (Zen 4) issues vdpbf16ps at the fp32 FMA rate, so it doubles the work per instruction;
    // Intel cores issue it at a quarter of the FMA rate (measured on a Xeon with AMX), where
    // AMX tiles do the work instead, or, without AMX, widening to fp32 for BLAS is faster.
    return forced_path != 1 && __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
           (forced_path >= 2 || __builtin_cpu_is("amd") || use_amx());
#else
    return 0;
#endif
}

int bk_has_int8_gemm(void) {
#if BK_X86
    __builtin_cpu_init();
    return forced_path != 1 && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
#else
    return 0;
#endif
}

const char *bk_lowp_path(void) {
    if (use_amx() && bk_has_bf16_gemm() && bk_has_int8_gemm()) return "amx (bf16, int8)";
    if (bk_has_bf16_gemm() && bk_has_int8_gemm()) return "avx512_bf16+avx512_vnni";
    if (bk_has_bf16_gemm()) return "avx512_bf16 (int8: widen + BLAS)";
    if (bk_has_int8_gemm()) return "avx512_vnni (bf16: widen + BLAS)";
    return "widen + BLAS";
}

size_t bk_packed_rows(size_t rows) { return (rows + 15) / 16 * 16; }

#if BK_X86
#define BK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vnni")))

// Packs x [rows, k] (k even) to bf16 blocks [rows/16][k/2][16][2]; padding rows are zero.
BK_AVX512 static void pack_a_bf16_avx512(const float *x, size_t rows, size_t k, uint16_t *packed) {
    size_t kp = k / 2, mb = bk_packed_rows(rows) / 16;
    for (size_t b = 0; b < mb; b++) {
        uint16_t *dst = packed + b * kp * 32;
        for (size_t r = 0; r < 16; r++) {
            size_t row = b * 16 + r;
            if (row >= rows) {
                for (size_t p = 0; p < kp; p++) { dst[p * 32 + r * 2] = 0; dst[p * 32 + r * 2 + 1] = 0; }
                continue;
            }
            const float *xr = x + row * k;
            size_t p = 0;
            for (; p + 16 <= kp; p += 16) {
                // 32 floats -> 16 pairs: vcvtne2ps2bf16 rounds to nearest even like torch.
                __m512 lo = _mm512_loadu_ps(xr + 2 * p), hi = _mm512_loadu_ps(xr + 2 * p + 16);
                __m512bh v = _mm512_cvtne2ps_pbh(hi, lo);
                uint32_t pairs[16];
                _mm512_storeu_si512((void *)pairs, (__m512i)v);
                for (int j = 0; j < 16; j++) memcpy(dst + (p + j) * 32 + r * 2, &pairs[j], 4);
            }
            for (; p < kp; p++) {
                dst[p * 32 + r * 2] = f32_to_bf16_bits(xr[2 * p]);
                dst[p * 32 + r * 2 + 1] = f32_to_bf16_bits(xr[2 * p + 1]);
            }
        }
    }
}

// Writes acc (lanes = 16 consecutive rows starting at row0) of column n into y.
BK_AVX512 static inline __attribute__((always_inline)) void store_column(__m512 acc, float *y, size_t ldy,
                                                                        size_t row0, size_t rows, size_t n) {
    float t[16];
    _mm512_storeu_ps(t, acc);
    size_t count = rows - row0 < 16 ? rows - row0 : 16;
    for (size_t r = 0; r < count; r++) y[(row0 + r) * ldy + n] = t[r];
}

#define NR 8
// One tile: MV blocks of 16 rows x NC (<= NR) columns, over the whole k.
#define DEFINE_BF16_TILE(MV)                                                                            \
    BK_AVX512 static inline __attribute__((always_inline)) void bf16_tile_##MV(                       \
        const uint16_t *a, size_t kp, const uint16_t *w, size_t k, size_t n, int nc, const float *bias, \
        float *y, size_t ldy, size_t row0, size_t rows) {                                               \
        __m512 acc[MV][NR];                                                                             \
        for (int i = 0; i < MV; i++)                                                                    \
            for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_ps();                               \
        const uint16_t *wr[NR];                                                                         \
        for (int j = 0; j < NR; j++) wr[j] = w + (n + (j < nc ? j : 0)) * k;                            \
        for (size_t p = 0; p < kp; p++) {                                                               \
            __m512bh av[MV];                                                                            \
            for (int i = 0; i < MV; i++) av[i] = (__m512bh)_mm512_loadu_si512((const void *)(a + (i * kp + p) * 32)); \
            for (int j = 0; j < NR; j++) {                                                              \
                int32_t pair;                                                                           \
                memcpy(&pair, wr[j] + 2 * p, 4);                                                        \
                __m512bh bv = (__m512bh)_mm512_set1_epi32(pair);                                        \
                for (int i = 0; i < MV; i++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av[i], bv);        \
            }                                                                                           \
        }                                                                                               \
        for (int j = 0; j < nc; j++) {                                                                  \
            __m512 b = _mm512_set1_ps(bias ? bias[n + j] : 0.0f);                                       \
            for (int i = 0; i < MV; i++)                                                                \
                if (row0 + i * 16 < rows)                                                               \
                    store_column(_mm512_add_ps(acc[i][j], b), y, ldy, row0 + i * 16, rows, n + j);       \
        }                                                                                               \
    }
DEFINE_BF16_TILE(1)
DEFINE_BF16_TILE(3)

BK_AVX512 static void gemm_bf16_avx512(const uint16_t *packed, size_t rows, size_t k, const uint16_t *w,
                                       const float *bias, float *y, size_t ldy, size_t n0, size_t n1) {
    size_t kp = k / 2, mb = bk_packed_rows(rows) / 16;
    for (size_t b = 0; b < mb;) {
        const uint16_t *a = packed + b * kp * 32;
        if (b + 3 <= mb) {
            for (size_t n = n0; n < n1; n += NR)
                bf16_tile_3(a, kp, w, k, n, (int)(n1 - n < NR ? n1 - n : NR), bias, y, ldy, b * 16, rows);
            b += 3;
        } else {
            for (size_t n = n0; n < n1; n += NR)
                bf16_tile_1(a, kp, w, k, n, (int)(n1 - n < NR ? n1 - n : NR), bias, y, ldy, b * 16, rows);
            b += 1;
        }
    }
}

// The symmetric int8 scale of one activation row: max |x| / 127 (1 for an all-zero row).
BK_AVX512 static inline float row_scale_int8(const float *xr, size_t k) {
    __m512 amax = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= k; i += 16) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_loadu_ps(xr + i)));
    float m = _mm512_reduce_max_ps(amax);
    for (; i < k; i++) m = fabsf(xr[i]) > m ? fabsf(xr[i]) : m;
    return m > 0 ? m / 127.0f : 1.0f;
}

// Packs x [rows, k] (k % 4 == 0) to u8 blocks [rows/16][k/4][16][4] holding round(x / s) + 128
// with one symmetric scale s = max|x[r, :]| / 127 per row.
BK_AVX512 static void pack_a_int8_avx512(const float *x, size_t rows, size_t k, uint8_t *packed, float *rowScales) {
    size_t kq = k / 4, mb = bk_packed_rows(rows) / 16;
    for (size_t b = 0; b < mb; b++) {
        uint8_t *dst = packed + b * kq * 64;
        for (size_t r = 0; r < 16; r++) {
            size_t row = b * 16 + r;
            if (row >= rows) {
                for (size_t q = 0; q < kq; q++) memset(dst + q * 64 + r * 4, 128, 4);
                rowScales[row] = 0;
                continue;
            }
            const float *xr = x + row * k;
            float scale = row_scale_int8(xr, k), inv = 1.0f / scale;
            rowScales[row] = scale;
            __m512 vinv = _mm512_set1_ps(inv);
            __m512i off = _mm512_set1_epi32(128);
            size_t q = 0;
            for (; q + 4 <= kq; q += 4) {
                __m512i v = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xr + 4 * q), vinv)), off);
                __m128i bytes = _mm512_cvtusepi32_epi8(v);
                uint32_t quads[4];
                _mm_storeu_si128((__m128i *)quads, bytes);
                for (int j = 0; j < 4; j++) memcpy(dst + (q + j) * 64 + r * 4, &quads[j], 4);
            }
            for (; q < kq; q++)
                for (int j = 0; j < 4; j++) {
                    float v = nearbyintf(xr[4 * q + j] * inv) + 128.0f;
                    dst[q * 64 + r * 4 + j] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
                }
        }
    }
}

#define DEFINE_INT8_TILE(MV)                                                                            \
    BK_AVX512 static inline __attribute__((always_inline)) void int8_tile_##MV(                       \
        const uint8_t *a, const float *rowScales, size_t kq, const int8_t *w, const float *wScales,     \
        const int32_t *wSums, size_t k, size_t n, int nc, const float *bias, float *y, size_t ldy,      \
        size_t row0, size_t rows) {                                                                     \
        __m512i acc[MV][NR];                                                                            \
        for (int i = 0; i < MV; i++)                                                                    \
            for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_si512();                            \
        const int8_t *wr[NR];                                                                           \
        for (int j = 0; j < NR; j++) wr[j] = w + (n + (j < nc ? j : 0)) * k;                            \
        for (size_t q = 0; q < kq; q++) {                                                               \
            __m512i av[MV];                                                                             \
            for (int i = 0; i < MV; i++) av[i] = _mm512_loadu_si512((const void *)(a + (i * kq + q) * 64)); \
            for (int j = 0; j < NR; j++) {                                                              \
                int32_t quad;                                                                           \
                memcpy(&quad, wr[j] + 4 * q, 4);                                                        \
                __m512i bv = _mm512_set1_epi32(quad);                                                   \
                for (int i = 0; i < MV; i++) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av[i], bv);     \
            }                                                                                           \
        }                                                                                               \
        for (int i = 0; i < MV; i++) {                                                                  \
            if (row0 + i * 16 >= rows) continue;                                                        \
            __m512 as = _mm512_loadu_ps(rowScales + row0 + i * 16);                                     \
            for (int j = 0; j < nc; j++) {                                                              \
                /* sum((q + 128) w) - 128 sum(w) = sum(q w) */                                          \
                __m512i exact = _mm512_sub_epi32(acc[i][j], _mm512_set1_epi32(128 * wSums[n + j]));    \
                __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(exact), _mm512_mul_ps(as, _mm512_set1_ps(wScales[n + j]))); \
                v = _mm512_add_ps(v, _mm512_set1_ps(bias ? bias[n + j] : 0.0f));                        \
                store_column(v, y, ldy, row0 + i * 16, rows, n + j);                                    \
            }                                                                                           \
        }                                                                                               \
    }
DEFINE_INT8_TILE(1)
DEFINE_INT8_TILE(3)

BK_AVX512 static void gemm_int8_avx512(const uint8_t *packed, const float *rowScales, size_t rows, size_t k,
                                       const int8_t *w, const float *wScales, const int32_t *wSums,
                                       const float *bias, float *y, size_t ldy, size_t n0, size_t n1) {
    size_t kq = k / 4, mb = bk_packed_rows(rows) / 16;
    for (size_t b = 0; b < mb;) {
        const uint8_t *a = packed + b * kq * 64;
        if (b + 3 <= mb) {
            for (size_t n = n0; n < n1; n += NR)
                int8_tile_3(a, rowScales, kq, w, wScales, wSums, k, n, (int)(n1 - n < NR ? n1 - n : NR), bias, y,
                            ldy, b * 16, rows);
            b += 3;
        } else {
            for (size_t n = n0; n < n1; n += NR)
                int8_tile_1(a, rowScales, kq, w, wScales, wSums, k, n, (int)(n1 - n < NR ? n1 - n : NR), bias, y,
                            ldy, b * 16, rows);
            b += 1;
        }
    }
}

// Few rows (decoding) with AVX512_VNNI: the rows are quantised to u8 once per call
// (bk_quantize_rows_u8: per-row symmetric scale, +128, as the many-rows kernel does), then every
// 64 k of a weight row are one vpdpbusd per row (16 int32 lanes of 4-term sums) instead of
// widening each weight to fp32. Four weight rows at a time share the activation loads.
BK_AVX512 static void quantize_rows_u8_avx512(const float *x, size_t rows, size_t k, uint8_t *xq, float *xs) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        float scale = row_scale_int8(xr, k);
        __m512 inv = _mm512_set1_ps(1.0f / scale);
        __m512i off = _mm512_set1_epi32(128);
        for (size_t i = 0; i < k; i += 16) {
            __m512i v = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xr + i), inv)), off);
            _mm_storeu_si128((__m128i *)(xq + r * k + i), _mm512_cvtusepi32_epi8(v));
        }
        xs[r] = scale;
    }
}

BK_AVX512 static void few_rows_int8_vnni(const uint8_t *xq, const float *xs, size_t rows, size_t k, const int8_t *w,
                                         const float *scales, const int32_t *wSums, const float *bias, float *y,
                                         size_t ldy, size_t n0, size_t n1) {
    size_t n = n0;
    for (; n + 4 <= n1; n += 4) {
        const int8_t *w0 = w + n * k;
        for (size_t r = 0; r < rows; r++) {
            __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                              _mm512_setzero_si512()};
            const uint8_t *xr = xq + r * k;
            for (size_t i = 0; i < k; i += 64) {
                __m512i xv = _mm512_loadu_si512((const void *)(xr + i));
                for (int c = 0; c < 4; c++) {
                    if (r == 0) __builtin_prefetch(w0 + (c + 8) * k + i);
                    acc[c] = _mm512_dpbusd_epi32(acc[c], xv, _mm512_loadu_si512((const void *)(w0 + c * k + i)));
                }
            }
            for (int c = 0; c < 4; c++) {
                int32_t exact = _mm512_reduce_add_epi32(acc[c]) - 128 * wSums[n + c];
                y[r * ldy + n + c] = (float)exact * (xs[r] * scales[n + c]) + (bias ? bias[n + c] : 0.0f);
            }
        }
    }
    for (; n < n1; n++)
        for (size_t r = 0; r < rows; r++) {
            __m512i acc = _mm512_setzero_si512();
            for (size_t i = 0; i < k; i += 64)
                acc = _mm512_dpbusd_epi32(acc, _mm512_loadu_si512((const void *)(xq + r * k + i)),
                                          _mm512_loadu_si512((const void *)(w + n * k + i)));
            int32_t exact = _mm512_reduce_add_epi32(acc) - 128 * wSums[n];
            y[r * ldy + n] = (float)exact * (xs[r] * scales[n]) + (bias ? bias[n] : 0.0f);
        }
}
#endif

void bk_pack_a_bf16(const float *x, size_t rows, size_t k, uint16_t *packed) {
#if BK_X86
    if (bk_has_bf16_gemm()) pack_a_bf16_avx512(x, rows, k, packed);
#endif
    (void)x; (void)rows; (void)k; (void)packed;
}

void bk_gemm_bf16(const uint16_t *packed, size_t rows, size_t k, const uint16_t *w, const float *bias,
                  float *y, size_t ldy, size_t n0, size_t n1) {
#if BK_X86
    if (bk_has_bf16_gemm()) {
        // AMX for whole 16-feature tiles, the AVX-512 kernel for the rest.
        size_t mid = n0;
        if (use_amx() && k % 32 == 0) {
            mid = n0 + (n1 - n0) / 16 * 16;
            if (mid > n0) bk_gemm_bf16_amx(packed, rows, k, w, bias, y, ldy, n0, mid);
        }
        if (mid < n1) gemm_bf16_avx512(packed, rows, k, w, bias, y, ldy, mid, n1);
    }
#endif
    (void)packed; (void)rows; (void)k; (void)w; (void)bias; (void)y; (void)ldy; (void)n0; (void)n1;
}

void bk_pack_a_int8(const float *x, size_t rows, size_t k, uint8_t *packed, float *rowScales) {
#if BK_X86
    if (bk_has_int8_gemm()) pack_a_int8_avx512(x, rows, k, packed, rowScales);
#endif
    (void)x; (void)rows; (void)k; (void)packed; (void)rowScales;
}

void bk_gemm_int8(const uint8_t *packed, const float *rowScales, size_t rows, size_t k, const int8_t *w,
                  const float *wScales, const int32_t *wSums, const float *bias, float *y, size_t ldy,
                  size_t n0, size_t n1) {
#if BK_X86
    if (bk_has_int8_gemm()) {
        size_t mid = n0;
        if (use_amx() && k % 64 == 0) {
            mid = n0 + (n1 - n0) / 16 * 16;
            if (mid > n0) bk_gemm_int8_amx(packed, rowScales, rows, k, w, wScales, wSums, bias, y, ldy, n0, mid);
        }
        if (mid < n1) gemm_int8_avx512(packed, rowScales, rows, k, w, wScales, wSums, bias, y, ldy, mid, n1);
    }
#endif
    (void)packed; (void)rowScales; (void)rows; (void)k; (void)w; (void)wScales; (void)wSums; (void)bias;
    (void)y; (void)ldy; (void)n0; (void)n1;
}

int bk_has_few_rows_int8_vnni(size_t k) {
#if BK_X86
    return bk_has_int8_gemm() && k % 64 == 0;
#else
    (void)k;
    return 0;
#endif
}

void bk_quantize_rows_u8(const float *x, size_t rows, size_t k, uint8_t *xq, float *xs) {
#if BK_X86
    if (bk_has_int8_gemm()) quantize_rows_u8_avx512(x, rows, k, xq, xs);
#endif
    (void)x; (void)rows; (void)k; (void)xq; (void)xs;
}

void bk_linear_few_rows_int8_vnni(const uint8_t *xq, const float *xs, size_t rows, size_t k, const int8_t *w,
                                  const float *scales, const int32_t *wSums, const float *bias, float *y, size_t ldy,
                                  size_t n0, size_t n1) {
#if BK_X86
    if (bk_has_int8_gemm()) few_rows_int8_vnni(xq, xs, rows, k, w, scales, wSums, bias, y, ldy, n0, n1);
#endif
    (void)xq; (void)xs; (void)rows; (void)k; (void)w; (void)scales; (void)wSums; (void)bias; (void)y; (void)ldy;
    (void)n0; (void)n1;
}
