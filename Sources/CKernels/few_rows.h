// Few-rows Linear kernels (decoding) shared by kernels.c (fp32) and lowp.c (bf16, int8): each
// weight row is read once for all input rows, with 16 partial sums per row. Private to CKernels.
#ifndef CKERNELS_FEW_ROWS_H
#define CKERNELS_FEW_ROWS_H
#include <stddef.h>

#ifndef LANES
#define LANES 16
#endif

// out[r] = dot(x[r, :], WIDEN(w[:])) for R rows (R a compile-time constant after inlining).
#define DEFINE_DOT_ROWS(NAME, WTYPE, WIDEN)                                                        \
    static inline __attribute__((always_inline)) void NAME(const float *x, size_t k, const WTYPE *w, \
                                                           float *out, const int R) {              \
        float acc[4][LANES];                                                                       \
        for (int r = 0; r < R; r++)                                                                \
            for (int l = 0; l < LANES; l++) acc[r][l] = 0;                                         \
        size_t i = 0;                                                                              \
        for (; i + LANES <= k; i += LANES) {                                                       \
            float wv[LANES];                                                                       \
            for (int l = 0; l < LANES; l++) wv[l] = WIDEN(w[i + l]);                               \
            for (int r = 0; r < R; r++)                                                            \
                for (int l = 0; l < LANES; l++) acc[r][l] += x[r * k + i + l] * wv[l];             \
        }                                                                                          \
        for (int r = 0; r < R; r++) {                                                              \
            float s = 0;                                                                           \
            for (int l = 0; l < LANES; l++) s += acc[r][l];                                        \
            for (size_t j = i; j < k; j++) s += x[r * k + j] * WIDEN(w[j]);                        \
            out[r] = s;                                                                            \
        }                                                                                          \
    }

// out[c] = dot(x[:], WIDEN(w[c, :])) for four weight rows c (one input row: a GEMV, four
// independent accumulator chains and four weight streams at once).
#define DEFINE_DOT_COLS(NAME, WTYPE, WIDEN)                                                        \
    static inline __attribute__((always_inline)) void NAME(const float *x, size_t k, const WTYPE *w, \
                                                           float *out) {                           \
        float acc[4][LANES];                                                                       \
        for (int c = 0; c < 4; c++)                                                                \
            for (int l = 0; l < LANES; l++) acc[c][l] = 0;                                         \
        size_t i = 0;                                                                              \
        for (; i + LANES <= k; i += LANES) {                                                       \
            /* short weight rows are too brief for the hardware prefetcher: fetch 2 groups ahead */ \
            for (int c = 0; c < 4; c++) __builtin_prefetch(w + (c + 8) * k + i);                   \
            for (int c = 0; c < 4; c++)                                                            \
                for (int l = 0; l < LANES; l++) acc[c][l] += x[i + l] * WIDEN(w[c * k + i + l]);   \
        }                                                                                          \
        for (int c = 0; c < 4; c++) {                                                              \
            float s = 0;                                                                           \
            for (int l = 0; l < LANES; l++) s += acc[c][l];                                        \
            for (size_t j = i; j < k; j++) s += x[j] * WIDEN(w[c * k + j]);                        \
            out[c] = s;                                                                            \
        }                                                                                          \
    }

// y[m, n] = SCALE * dot(x[m], w[n]) + bias[n] for m < rows, n in [n0, n1), four rows at a time
// (one row: four output features at a time). Inlined into each exported (multi-versioned) kernel.
#define DEFINE_FEW_ROWS(NAME, WTYPE, DOT, DOTCOLS, SCALE)                                          \
    static inline __attribute__((always_inline)) void NAME(                                        \
        const float *x, size_t rows, size_t k, const WTYPE *w, const float *scales, const float *bias, \
        float *y, size_t ldy, size_t n0, size_t n1) {                                              \
        (void)scales;                                                                              \
        if (rows == 1) {                                                                           \
            size_t first = n0;                                                                     \
            for (; first + 4 <= n1; first += 4) {                                                  \
                float out4[4];                                                                     \
                DOTCOLS(x, k, w + first * k, out4);                                                \
                for (size_t n = first; n < first + 4; n++)                                         \
                    y[n] = out4[n - first] * (SCALE) + (bias ? bias[n] : 0.0f);                    \
            }                                                                                      \
            n0 = first;                                                                            \
        }                                                                                          \
        for (size_t n = n0; n < n1; n++) {                                                         \
            const WTYPE *wn = w + n * k;                                                           \
            float b = bias ? bias[n] : 0.0f, s = SCALE;                                            \
            float out[4];                                                                          \
            size_t r = 0;                                                                          \
            for (; r + 4 <= rows; r += 4) {                                                        \
                DOT(x + r * k, k, wn, out, 4);                                                     \
                for (int j = 0; j < 4; j++) y[(r + j) * ldy + n] = out[j] * s + b;                 \
            }                                                                                      \
            switch (rows - r) {                                                                    \
            case 3: DOT(x + r * k, k, wn, out, 3); break;                                          \
            case 2: DOT(x + r * k, k, wn, out, 2); break;                                          \
            case 1: DOT(x + r * k, k, wn, out, 1); break;                                          \
            default: break;                                                                        \
            }                                                                                      \
            for (size_t j = 0; j < rows - r; j++) y[(r + j) * ldy + n] = out[j] * s + b;           \
        }                                                                                          \
    }

#endif
