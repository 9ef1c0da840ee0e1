// AMX tile kernels (Intel Sapphire Rapids and later) for many-rows bf16 and int8 Linear products,
// chosen at run time when the CPU has AMX and Linux grants this process the tile state.
//
// The activations are the blocks lowp.c packs for the AVX-512 kernels: per 16 rows, k-pairs
// (bf16) or k-quads (int8) of the 16 rows side by side, 64 bytes per pair/quad. That is the
// layout AMX wants for its second operand, so a block of 16 rows × 32 (bf16) or 64 (int8) k is
// one contiguous 1 KB tile. The first operand is 16 weight rows × 64 bytes, loaded from the
// weights as stored ([N, K] row-major, stride K). A tile product is then y^T for 16 output
// features × 16 rows, transposed on the way out. Tails (features not a multiple of 16, k not a
// multiple of 32/64) are left to the caller's other kernels.
#include "CKernels.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#define BK_AMX_BUILD 1
#define BK_AMX __attribute__((target("amx-tile,amx-bf16,amx-int8,avx512f,avx512bw,avx512vl")))

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int amx_state = -1;  // -1 unknown, 0 unavailable, 1 available

int bk_has_amx(void) {
    if (amx_state < 0) {
        __builtin_cpu_init();
        int ok = __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16") &&
                 __builtin_cpu_supports("amx-int8") && __builtin_cpu_supports("avx512bw");
        // Linux hands out the 8 KB tile state only to processes that ask for it.
        if (ok && syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) ok = 0;
        amx_state = ok;
    }
    return amx_state;
}

// Palette 1: tiles 0-3 accumulators (16 rows × 16 fp32/int32), 4-5 weight tiles, 6-7 activation
// tiles; every tile 16 rows × 64 bytes.
struct tile_config {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

BK_AMX static void configure_tiles(void) {
    struct tile_config c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int t = 0; t < 8; t++) {
        c.colsb[t] = 64;
        c.rows[t] = 16;
    }
    _tile_loadconfig(&c);
}

// acc (16 features × 16 rows, as the tile stores them) + bias -> y[row0 + r][n + f].
BK_AMX static inline void store_transposed(const float *acc, const float *bias, float *y, size_t ldy, size_t n,
                                           size_t row0, size_t rows) {
    size_t count = rows - row0 < 16 ? rows - row0 : 16;
    // Column r of the tile (stride 16) is row r of y: one gather, one bias add, one store.
    const __m512i column = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                              _mm512_set1_epi32(16));
    const __m512 b = bias ? _mm512_loadu_ps(bias + n) : _mm512_setzero_ps();
    for (size_t r = 0; r < count; r++)
        _mm512_storeu_ps(y + (row0 + r) * ldy + n, _mm512_add_ps(_mm512_i32gather_ps(column, acc + r, 4), b));
}

// The tile loop of both kernels: 2 x 2 accumulator tiles (32 features x 32 rows) at a time over
// k, 16 groups (k-pairs for bf16, k-quads for int8: 4 bytes each) per step. Weight tiles are
// 16 rows of the weights as stored (stride K elements), activation tiles 16 groups of a packed
// 16-row block. STORE(acc, n, row0) writes one accumulator tile out.
#define AMX_GEMM(ELEM_BYTES, DOT, ACC_T, STORE)                                                     \
    configure_tiles();                                                                            \
    size_t groups = k * (ELEM_BYTES) / 4, mb = bk_packed_rows(rows) / 16, wstride = k * (ELEM_BYTES); \
    const uint8_t *pa = (const uint8_t *)packed, *pw = (const uint8_t *)w;                        \
    ACC_T acc[4][256];                                                                            \
    for (size_t n = n0; n < n1; n += 32) {                                                        \
        int two_n = n + 32 <= n1;                                                                 \
        for (size_t b = 0; b < mb; b += 2) {                                                      \
            int two_b = b + 2 <= mb;                                                              \
            _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);                           \
            const uint8_t *a0 = pa + b * groups * 64, *a1 = a0 + groups * 64;                     \
            const uint8_t *w0 = pw + n * wstride, *w1 = w0 + 16 * wstride;                        \
            for (size_t g = 0; g < groups; g += 16) {                                             \
                _tile_loadd(4, w0 + 4 * g, wstride);                                              \
                _tile_loadd(6, a0 + 64 * g, 64);                                                  \
                DOT(0, 4, 6);                                                                     \
                if (two_b) {                                                                      \
                    _tile_loadd(7, a1 + 64 * g, 64);                                              \
                    DOT(1, 4, 7);                                                                 \
                }                                                                                 \
                if (two_n) {                                                                      \
                    _tile_loadd(5, w1 + 4 * g, wstride);                                          \
                    DOT(2, 5, 6);                                                                 \
                    if (two_b) DOT(3, 5, 7);                                                      \
                }                                                                                 \
            }                                                                                     \
            _tile_stored(0, acc[0], 64);                                                          \
            STORE(acc[0], n, b * 16);                                                             \
            if (two_b) {                                                                          \
                _tile_stored(1, acc[1], 64);                                                      \
                STORE(acc[1], n, (b + 1) * 16);                                                   \
            }                                                                                     \
            if (two_n) {                                                                          \
                _tile_stored(2, acc[2], 64);                                                      \
                STORE(acc[2], n + 16, b * 16);                                                    \
                if (two_b) {                                                                      \
                    _tile_stored(3, acc[3], 64);                                                  \
                    STORE(acc[3], n + 16, (b + 1) * 16);                                          \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }                                                                                             \
    _tile_release();

// Output features [n0, n1) with n1 - n0 a multiple of 16, k a multiple of 32.
BK_AMX void bk_gemm_bf16_amx(const uint16_t *packed, size_t rows, size_t k, const uint16_t *w, const float *bias,
                             float *y, size_t ldy, size_t n0, size_t n1) {
#define STORE_BF16(acc, n, row0) store_transposed(acc, bias, y, ldy, n, row0, rows)
    AMX_GEMM(2, _tile_dpbf16ps, float, STORE_BF16)
#undef STORE_BF16
}

// (int32 sums of (q + 128) w) -> y = (sum - 128 sum(w)) * rowScale * wScale + bias.
BK_AMX static inline void store_int8(const int32_t *acc, const float *rowScales, const float *wScales,
                                     const int32_t *wSums, const float *bias, float *y, size_t ldy, size_t n,
                                     size_t row0, size_t rows) {
    size_t count = rows - row0 < 16 ? rows - row0 : 16;
    const __m512i column = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                              _mm512_set1_epi32(16));
    const __m512 b = bias ? _mm512_loadu_ps(bias + n) : _mm512_setzero_ps();
    const __m512i offset = _mm512_mullo_epi32(_mm512_loadu_si512((const void *)(wSums + n)), _mm512_set1_epi32(128));
    const __m512 ws = _mm512_loadu_ps(wScales + n);
    for (size_t r = 0; r < count; r++) {
        __m512i exact = _mm512_sub_epi32(_mm512_i32gather_epi32(column, acc + r, 4), offset);
        __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(exact), _mm512_mul_ps(ws, _mm512_set1_ps(rowScales[row0 + r])));
        _mm512_storeu_ps(y + (row0 + r) * ldy + n, _mm512_add_ps(v, b));
    }
}

// Output features [n0, n1) with n1 - n0 a multiple of 16, k a multiple of 64. Weights are s8,
// activations u8 (offset by 128): tdpbsud.
BK_AMX void bk_gemm_int8_amx(const uint8_t *packed, const float *rowScales, size_t rows, size_t k, const int8_t *w,
                             const float *wScales, const int32_t *wSums, const float *bias, float *y, size_t ldy,
                             size_t n0, size_t n1) {
#define STORE_INT8(acc, n, row0) store_int8(acc, rowScales, wScales, wSums, bias, y, ldy, n, row0, rows)
    AMX_GEMM(1, _tile_dpbsud, int32_t, STORE_INT8)
#undef STORE_INT8
}
#else
int bk_has_amx(void) { return 0; }
void bk_gemm_bf16_amx(const uint16_t *packed, size_t rows, size_t k, const uint16_t *w, const float *bias, float *y,
                      size_t ldy, size_t n0, size_t n1) {
    (void)packed; (void)rows; (void)k; (void)w; (void)bias; (void)y; (void)ldy; (void)n0; (void)n1;
}
void bk_gemm_int8_amx(const uint8_t *packed, const float *rowScales, size_t rows, size_t k, const int8_t *w,
                      const float *wScales, const int32_t *wSums, const float *bias, float *y, size_t ldy, size_t n0,
                      size_t n1) {
    (void)packed; (void)rowScales; (void)rows; (void)k; (void)w; (void)wScales; (void)wSums; (void)bias; (void)y;
    (void)ldy; (void)n0; (void)n1;
}
#endif
