// Portable fp32 kernels written as plain loops the compiler vectorises. Each exported function
// is multi-versioned: the loader picks the AVX-512 clone on CPUs that have it, else AVX2, else
// the baseline build, so no -march flag is needed anywhere. Reductions keep 16 independent
// partial sums (floating-point sums are never reordered by the compiler on its own).
#include "CKernels.h"
#include "few_rows.h"
#include <math.h>
#include <string.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define BK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BK_CLONES
#endif
#define LANES 16

static inline __attribute__((always_inline)) float bits_to_float(int32_t i) {
    float f;
    memcpy(&f, &i, 4);
    return f;
}

// exp(x): Cephes-style range reduction and degree-6 polynomial, ~1 ulp on [-87, 88].
static inline __attribute__((always_inline)) float fast_exp(float x) {
    x = x < -87.33654f ? -87.33654f : x;
    x = x > 88.37626f ? 88.37626f : x;
    const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to the nearest integer
    float n = (x * 1.44269504088896341f + magic) - magic;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    return p * bits_to_float(((int32_t)n + 127) << 23);
}

// 0.5 x (1 + erf(x / sqrt 2)) through erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2)
// (fractional error < 1.2e-7), which stays accurate in both tails.
static inline __attribute__((always_inline)) float gelu_erf(float x) {
    float z = x * 0.70710678118654752f;
    float az = z < 0.0f ? -z : z;
    float t = 1.0f / (1.0f + 0.5f * az);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    float erfc = t * fast_exp(p - az * az);
    float onePlusErf = z < 0.0f ? erfc : 2.0f - erfc;  // 1 + erf(z)
    return 0.5f * x * onePlusErf;
}

BK_CLONES void bk_gelu_erf(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = gelu_erf(x[i]);
}

static inline __attribute__((always_inline)) float sum_of(const float *x, size_t n) {
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += x[i + l];
    float s = 0;
    for (int l = 0; l < LANES; l++) s += acc[l];
    for (; i < n; i++) s += x[i];
    return s;
}

static inline __attribute__((always_inline)) float max_of(const float *x, size_t n) {
    float acc[LANES];
    for (int l = 0; l < LANES; l++) acc[l] = -INFINITY;
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) acc[l] = x[i + l] > acc[l] ? x[i + l] : acc[l];
    float m = -INFINITY;
    for (int l = 0; l < LANES; l++) m = acc[l] > m ? acc[l] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static inline __attribute__((always_inline)) void softmax_row(float *x, size_t cols, float scale, const float *mask) {
    if (mask) {
        for (size_t j = 0; j < cols; j++) x[j] = x[j] * scale + mask[j];
    } else if (scale != 1.0f) {
        for (size_t j = 0; j < cols; j++) x[j] *= scale;
    }
    float m = max_of(x, cols);
    for (size_t j = 0; j < cols; j++) x[j] = fast_exp(x[j] - m);
    float inv = 1.0f / sum_of(x, cols);
    for (size_t j = 0; j < cols; j++) x[j] *= inv;
}

BK_CLONES void bk_softmax_rows(float *x, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) softmax_row(x + r * cols, cols, 1.0f, NULL);
}

BK_CLONES void bk_scaled_masked_softmax_rows(float *x, size_t rows, size_t cols, float scale, const float *mask) {
    for (size_t r = 0; r < rows; r++) softmax_row(x + r * cols, cols, scale, mask);
}

BK_CLONES void bk_layer_norm_rows(const float *x, float *y, size_t rows, size_t cols,
                                  const float *weight, const float *bias, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float mean = sum_of(xr, cols) / (float)cols;
        float acc[LANES] = {0};
        size_t j = 0;
        for (; j + LANES <= cols; j += LANES)
            for (int l = 0; l < LANES; l++) {
                float d = xr[j + l] - mean;
                acc[l] += d * d;
            }
        float sq = 0;
        for (int l = 0; l < LANES; l++) sq += acc[l];
        for (; j < cols; j++) {
            float d = xr[j] - mean;
            sq += d * d;
        }
        float rstd = 1.0f / sqrtf(sq / (float)cols + eps);
        for (j = 0; j < cols; j++) yr[j] = (xr[j] - mean) * rstd * weight[j] + bias[j];
    }
}

BK_CLONES void bk_add_inplace(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

BK_CLONES void bk_add_row_inplace(float *y, const float *row, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < cols; i++) y[r * cols + i] += row[i];
}

void bk_bf16_to_f32(const unsigned short *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = bits_to_float((int32_t)((uint32_t)src[i] << 16));
}

void bk_f16_to_f32(const unsigned short *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t h = src[i];
        uint32_t sign = (h & 0x8000u) << 16;
        uint32_t exp = (h >> 10) & 0x1Fu;
        uint32_t mant = h & 0x3FFu;
        float f;
        if (exp == 0) {
            f = (float)mant * 5.9604644775390625e-8f;  // zero or subnormal: mant * 2^-24
            if (sign) f = -f;
        } else if (exp == 31) {
            f = bits_to_float((int32_t)(sign | 0x7F800000u | (mant << 13)));
        } else {
            f = bits_to_float((int32_t)(sign | ((exp + 112u) << 23) | (mant << 13)));
        }
        dst[i] = f;
    }
}

size_t bk_argmax(const float *x, size_t n) {
    size_t best = 0;
    float bv = -INFINITY;
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != x[i]) continue;
        if (!found || x[i] > bv) {
            bv = x[i];
            best = i;
            found = 1;
        }
    }
    return best;
}

BK_CLONES float bk_logsumexp(const float *x, size_t n) {
    float m = max_of(x, n);
    if (m == -INFINITY) return -INFINITY;
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += fast_exp(x[i + l] - m);
    float s = 0;
    for (int l = 0; l < LANES; l++) s += acc[l];
    for (; i < n; i++) s += fast_exp(x[i] - m);
    return m + logf(s);
}

BK_CLONES void bk_attention_row(const float *q, const float *k, const float *v, size_t kvStride, size_t keys,
                                size_t headDim, float scale, const float *mask, float *scratch, float *out) {
    for (size_t j = 0; j < keys; j++) {
        const float *kj = k + j * kvStride;
        float acc[LANES] = {0};
        size_t d = 0;
        for (; d + LANES <= headDim; d += LANES)
            for (int l = 0; l < LANES; l++) acc[l] += q[d + l] * kj[d + l];
        float s = 0;
        for (int l = 0; l < LANES; l++) s += acc[l];
        for (; d < headDim; d++) s += q[d] * kj[d];
        scratch[j] = s;
    }
    softmax_row(scratch, keys, scale, mask);
    for (size_t d = 0; d < headDim; d++) out[d] = 0;
    for (size_t j = 0; j < keys; j++) {
        const float *vj = v + j * kvStride;
        float p = scratch[j];
        for (size_t d = 0; d < headDim; d++) out[d] += p * vj[d];
    }
}

#define WIDEN_F32(v) (v)
DEFINE_DOT_ROWS(dot_rows, float, WIDEN_F32)
DEFINE_DOT_COLS(dot_cols, float, WIDEN_F32)
DEFINE_FEW_ROWS(few_rows_f32, float, dot_rows, dot_cols, 1.0f)

BK_CLONES void bk_linear_few_rows(const float *x, size_t rows, size_t k, const float *w, const float *bias,
                                  float *y, size_t ldy, size_t n0, size_t n1) {
    few_rows_f32(x, rows, k, w, NULL, bias, y, ldy, n0, n1);
}

const char *bk_kernel_path(void) {
#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2")) return "avx2";
    return "default";
#else
    return "portable";
#endif
}
