// Format detection, shared helpers and the decode entry point.
#include "internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cic_format cic_detect_format(const uint8_t *data, size_t size) {
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return CIC_FORMAT_JPEG;
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (size >= 8 && memcmp(data, png_sig, 8) == 0) return CIC_FORMAT_PNG;
    if (size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0) return CIC_FORMAT_WEBP;
    return CIC_FORMAT_UNKNOWN;
}

cic_status cic_fail(cic_image *out, cic_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
    return status;
}

cic_status cic_alloc_pixels(cic_image *out, int64_t width, int64_t height, int channels, int64_t max_pixels) {
    if (width <= 0 || height <= 0)
        return cic_fail(out, CIC_ERR_CORRUPT, "invalid dimensions %lldx%lld", (long long)width, (long long)height);
    if (width > INT32_MAX || height > INT32_MAX || width * height > max_pixels)
        return cic_fail(out, CIC_ERR_TOO_LARGE, "image is %lldx%lld = %lld pixels, more than the limit of %lld pixels",
                        (long long)width, (long long)height, (long long)(width * height), (long long)max_pixels);
    size_t bytes = (size_t)width * (size_t)height * (size_t)channels;
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    if (out->header_only) return CIC_OK;
    if (out->external) {
        if (out->external_capacity < bytes)
            return cic_fail(out, CIC_ERR_OUT_OF_MEMORY, "destination buffer of %zu bytes is smaller than %zu bytes",
                            out->external_capacity, bytes);
        out->pixels = out->external;
        return CIC_OK;
    }
    out->pixels = (uint8_t *)malloc(bytes);
    if (!out->pixels)
        return cic_fail(out, CIC_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes for the pixels", bytes);
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    return CIC_OK;
}

// Same result as PIL's alpha_composite of the image over an opaque white RGBA background, then
// convert("RGB"): for every colour value c and alpha a, round((c*a + 255*(255-a)) / 255), with halves
// rounded down (checked exhaustively against Pillow for all 65536 (c, a) pairs).
void cic_rgba_to_rgb_on_white(cic_image *out) {
    size_t n = (size_t)out->width * (size_t)out->height;
    uint8_t *p = out->pixels;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = p + 4 * i;
        uint8_t *d = p + 3 * i;
        uint32_t a = s[3], inv = 255u * (255u - a);
        uint32_t r = (s[0] * a + inv + 127u) / 255u;
        uint32_t g = (s[1] * a + inv + 127u) / 255u;
        uint32_t b = (s[2] * a + inv + 127u) / 255u;
        d[0] = (uint8_t)r; d[1] = (uint8_t)g; d[2] = (uint8_t)b;
    }
    if (!out->external) {
        uint8_t *shrunk = (uint8_t *)realloc(p, n * 3);
        if (shrunk) out->pixels = shrunk;
    }
}

static cic_status cic_decode_impl(const uint8_t *data, size_t size, int64_t max_pixels, cic_image *out) {
    if (size == 0 || data == NULL) return cic_fail(out, CIC_ERR_EMPTY, "the file is empty");
    cic_status status;
    out->source_bit_depth = 8;
    switch (cic_detect_format(data, size)) {
    case CIC_FORMAT_JPEG: out->format = CIC_FORMAT_JPEG; status = cic_decode_jpeg(data, size, max_pixels, out); break;
    case CIC_FORMAT_PNG: out->format = CIC_FORMAT_PNG; status = cic_decode_png(data, size, max_pixels, out); break;
    case CIC_FORMAT_WEBP: out->format = CIC_FORMAT_WEBP; status = cic_decode_webp(data, size, max_pixels, out); break;
    default:
        return cic_fail(out, CIC_ERR_UNSUPPORTED_FORMAT,
                        "unrecognised image format (not JPEG, PNG or WebP by its first bytes)");
    }
    if (status != CIC_OK) {
        if (!out->external) free(out->pixels);
        out->pixels = NULL;
        out->width = out->height = 0;
    }
    return status;
}

cic_status cic_decode(const uint8_t *data, size_t size, int64_t max_pixels, cic_image *out) {
    memset(out, 0, sizeof *out);
    return cic_decode_impl(data, size, max_pixels, out);
}

cic_status cic_probe(const uint8_t *data, size_t size, int64_t max_pixels, cic_image *out) {
    memset(out, 0, sizeof *out);
    out->header_only = 1;
    return cic_decode_impl(data, size, max_pixels, out);
}

cic_status cic_decode_into(const uint8_t *data, size_t size, int64_t max_pixels, uint8_t *buffer, size_t capacity,
                           cic_image *out) {
    memset(out, 0, sizeof *out);
    out->external = buffer;
    out->external_capacity = capacity;
    return cic_decode_impl(data, size, max_pixels, out);
}

void cic_image_free(cic_image *image) {
    if (!image || image->external) return;
    free(image->pixels);
    image->pixels = NULL;
}
