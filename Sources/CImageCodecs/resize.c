// Separable convolution resampling of 8-bit RGB images, matching Pillow's Image.resize() for the
// convolution filters (bilinear, bicubic, Lanczos, box, Hamming) bit for bit:
//  * the horizontal pass runs first, then the vertical pass, except when the height shrinks by more than
//    twice as many pixels as the width (Pillow >= 13); a pass whose size does not change is skipped;
//  * for each output sample the kernel is centred at (i + 0.5) * scale in input coordinates and, when
//    downscaling, stretched by the scale (antialiasing); taps cover [center - support, center + support)
//    rounded to whole pixels and clamped to the image; weights are normalised to sum to 1;
//  * normalised weights become fixed-point integers with 22 fraction bits (rounded half away from zero);
//    each output is (sum(pixel * weight) + 2^21) >> 22 clamped to 0...255, after each pass.
#include "CImageCodecs.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CIC_PRECISION_BITS 22

typedef double (*cic_filter_fn)(double);

static double cic_filter_bilinear(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double cic_filter_bicubic(double x) {
    const double a = -0.5; // Keys' cubic convolution with a = -0.5 (Catmull-Rom)
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double cic_sinc(double x) {
    if (x == 0.0) return 1.0;
    x = x * 3.14159265358979323846;
    return sin(x) / x;
}

static double cic_filter_lanczos(double x) {
    if (-3.0 <= x && x < 3.0) return cic_sinc(x) * cic_sinc(x / 3);
    return 0.0;
}

static double cic_filter_box(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

static double cic_filter_hamming(double x) {
    if (x < 0.0) x = -x;
    if (x == 0.0) return 1.0;
    if (x >= 1.0) return 0.0;
    x = x * 3.14159265358979323846;
    return sin(x) / x * (0.54f + 0.46f * cos(x)); // float constants, as Pillow has them
}

typedef struct {
    int ksize;      // taps stored per output sample
    int *bounds;    // [first input index, tap count] per output sample
    int32_t *coeffs;// ksize fixed-point weights per output sample
    int precision;  // fraction bits of the fixed-point weights
} cic_kernel;

static void cic_kernel_free(cic_kernel *k) {
    free(k->bounds);
    free(k->coeffs);
}

static int cic_kernel_make(cic_kernel *k, int in_size, int out_size, cic_filter_fn filter, double filter_support) {
    const double scale = (double)in_size / out_size;
    const double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = filter_support * filterscale;
    const double inv = 1.0 / filterscale;
    k->ksize = (int)ceil(support) * 2 + 1;
    k->bounds = (int *)malloc(sizeof(int) * 2 * (size_t)out_size);
    k->coeffs = (int32_t *)calloc((size_t)out_size * (size_t)k->ksize, sizeof(int32_t));
    double *w = (double *)malloc(sizeof(double) * (size_t)k->ksize * (size_t)out_size);
    if (!k->bounds || !k->coeffs || !w) {
        free(w);
        cic_kernel_free(k);
        return -1;
    }
    double maxw = 0.0;
    for (int xx = 0; xx < out_size; xx++) {
        const double center = (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        int n = xmax - xmin;
        if (n > k->ksize) n = k->ksize; // cannot happen; defensive
        double total = 0.0;
        double *ww = w + (size_t)xx * k->ksize;
        for (int x = 0; x < n; x++) {
            ww[x] = filter((x + xmin - center + 0.5) * inv);
            total += ww[x];
        }
        for (int x = 0; x < n; x++) {
            if (total != 0.0) ww[x] /= total;
        }
        for (int x = n; x < k->ksize; x++) ww[x] = 0.0;
        for (int x = 0; x < k->ksize; x++) {
            if (ww[x] > maxw || (xx == 0 && x == 0)) maxw = ww[x];
        }
        k->bounds[2 * xx] = xmin;
        k->bounds[2 * xx + 1] = n;
    }
    (void)maxw;
    const int precision = CIC_PRECISION_BITS;
    k->precision = precision;
    for (size_t i = 0; i < (size_t)out_size * (size_t)k->ksize; i++) {
        const double fixed = w[i] * (1 << precision);
        k->coeffs[i] = (int32_t)(w[i] < 0 ? fixed - 0.5 : fixed + 0.5);
    }
    free(w);
    return 0;
}

static inline uint8_t cic_clip8(int32_t v, int precision) {
    v >>= precision;
    return v < 0 ? 0 : (v > 255 ? 255 : (uint8_t)v);
}

// Horizontal pass. Each output pixel is a dot product of 3*n contiguous input bytes with the weights
// repeated per channel (k0 k0 k0 k1 k1 k1 ...); 24 int32 lanes accumulate 8 pixels at a time (lane i
// holds channel i % 3) and are folded at the end. Integer sums are exact in any order, so this gives
// the same numbers as the scalar loop, but compilers vectorise it.
#if defined(__x86_64__) && defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void cic_pass_horizontal(const uint8_t *restrict src, int src_width, int rows, uint8_t *restrict dst,
                                int dst_width, const cic_kernel *k, const int32_t *restrict k3) {
    const int32_t half = 1 << (k->precision - 1);
    const int ks3 = 3 * k->ksize;
    for (int y = 0; y < rows; y++) {
        const uint8_t *restrict in = src + (size_t)y * src_width * 3;
        uint8_t *restrict out = dst + (size_t)y * dst_width * 3;
        for (int xx = 0; xx < dst_width; xx++) {
            const int xmin = k->bounds[2 * xx], n3 = 3 * k->bounds[2 * xx + 1];
            const int32_t *restrict kk = k3 + (size_t)xx * ks3;
            const uint8_t *restrict p = in + (size_t)xmin * 3;
            int32_t acc[24] = {0};
            int i = 0;
            for (; i + 24 <= n3; i += 24) {
                for (int j = 0; j < 24; j++) acc[j] += (int32_t)p[i + j] * kk[i + j];
            }
            int32_t r = half, g = half, b = half;
            for (int j = 0; j < 24; j += 3) { r += acc[j]; g += acc[j + 1]; b += acc[j + 2]; }
            for (; i < n3; i += 3) {
                r += (int32_t)p[i] * kk[i];
                g += (int32_t)p[i + 1] * kk[i + 1];
                b += (int32_t)p[i + 2] * kk[i + 2];
            }
            out[3 * xx] = cic_clip8(r, k->precision);
            out[3 * xx + 1] = cic_clip8(g, k->precision);
            out[3 * xx + 2] = cic_clip8(b, k->precision);
        }
    }
}

// Weights of a horizontal kernel repeated for the 3 channels.
static int32_t *cic_kernel_rgb(const cic_kernel *k, int out_size) {
    const size_t n = (size_t)out_size * (size_t)k->ksize;
    int32_t *k3 = (int32_t *)malloc(sizeof(int32_t) * 3 * n);
    if (!k3) return NULL;
    for (size_t i = 0; i < n; i++) k3[3 * i] = k3[3 * i + 1] = k3[3 * i + 2] = k->coeffs[i];
    return k3;
}

#if defined(__x86_64__) && defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static int cic_pass_vertical(const uint8_t *restrict src, int width, uint8_t *restrict dst, int dst_height,
                             const cic_kernel *k) {
    const size_t row = (size_t)width * 3;
    int32_t *acc = (int32_t *)malloc(sizeof(int32_t) * row);
    if (!acc) return -2;
    const int32_t half = 1 << (k->precision - 1);
    for (int yy = 0; yy < dst_height; yy++) {
        const int ymin = k->bounds[2 * yy], n = k->bounds[2 * yy + 1];
        const int32_t *kk = k->coeffs + (size_t)yy * k->ksize;
        for (size_t i = 0; i < row; i++) acc[i] = half;
        for (int y = 0; y < n; y++) {
            const uint8_t *restrict in = src + (size_t)(ymin + y) * row;
            const int32_t c = kk[y];
            for (size_t i = 0; i < row; i++) acc[i] += in[i] * c;
        }
        uint8_t *restrict out = dst + (size_t)yy * row;
        for (size_t i = 0; i < row; i++) out[i] = cic_clip8(acc[i], k->precision);
    }
    free(acc);
    return 0;
}

int cic_resize_rgb8(const uint8_t *src, int32_t src_width, int32_t src_height,
                    uint8_t *dst, int32_t dst_width, int32_t dst_height, int32_t filter) {
    if (!src || !dst || src_width <= 0 || src_height <= 0 || dst_width <= 0 || dst_height <= 0) return -1;
    cic_filter_fn fn;
    double support;
    switch (filter) {
    case CIC_FILTER_BILINEAR: fn = cic_filter_bilinear; support = 1.0; break;
    case CIC_FILTER_BICUBIC: fn = cic_filter_bicubic; support = 2.0; break;
    case CIC_FILTER_LANCZOS: fn = cic_filter_lanczos; support = 3.0; break;
    case CIC_FILTER_BOX: fn = cic_filter_box; support = 0.5; break;
    case CIC_FILTER_HAMMING: fn = cic_filter_hamming; support = 1.0; break;
    default: return -1;
    }
    const int need_h = dst_width != src_width, need_v = dst_height != src_height;
    if (!need_h && !need_v) {
        memcpy(dst, src, (size_t)src_width * src_height * 3);
        return 0;
    }
    cic_kernel kh = {0}, kv = {0};
    int32_t *k3 = NULL;
    if (need_h && cic_kernel_make(&kh, src_width, dst_width, fn, support) != 0) return -2;
    if (need_h && !(k3 = cic_kernel_rgb(&kh, dst_width))) {
        cic_kernel_free(&kh);
        return -2;
    }
    if (need_v && cic_kernel_make(&kv, src_height, dst_height, fn, support) != 0) {
        cic_kernel_free(&kh);
        free(k3);
        return -2;
    }
    // Pillow 13 runs the vertical pass first when the height shrinks by more than twice as many pixels
    // as the width does (a speed heuristic that changes the rounding, so it must be copied exactly;
    // Pillow 12 and older always run the horizontal pass first).
    const int vertical_first = (src_height - dst_height) > 0 && (src_height - dst_height) > (src_width - dst_width) * 2;
    int status = 0;
    if (need_h && need_v && !vertical_first) {
        // Only the input rows the vertical pass reads need the horizontal pass.
        const int first = kv.bounds[0];
        const int last = kv.bounds[2 * (dst_height - 1)] + kv.bounds[2 * (dst_height - 1) + 1];
        uint8_t *tmp = (uint8_t *)malloc((size_t)dst_width * 3 * (size_t)(last - first));
        if (!tmp) {
            status = -2;
        } else {
            cic_pass_horizontal(src + (size_t)first * src_width * 3, src_width, last - first, tmp, dst_width, &kh, k3);
            for (int yy = 0; yy < dst_height; yy++) kv.bounds[2 * yy] -= first;
            status = cic_pass_vertical(tmp, dst_width, dst, dst_height, &kv);
            free(tmp);
        }
    } else if (need_h && need_v) {
        uint8_t *tmp = (uint8_t *)malloc((size_t)src_width * 3 * (size_t)dst_height);
        if (!tmp) {
            status = -2;
        } else {
            status = cic_pass_vertical(src, src_width, tmp, dst_height, &kv);
            if (status == 0) cic_pass_horizontal(tmp, src_width, dst_height, dst, dst_width, &kh, k3);
            free(tmp);
        }
    } else if (need_h) {
        cic_pass_horizontal(src, src_width, src_height, dst, dst_width, &kh, k3);
    } else {
        status = cic_pass_vertical(src, src_width, dst, dst_height, &kv);
    }
    cic_kernel_free(&kh);
    cic_kernel_free(&kv);
    free(k3);
    return status;
}
