#ifndef CIMAGECODECS_INTERNAL_H
#define CIMAGECODECS_INTERNAL_H
#include "CImageCodecs.h"
#include <stdarg.h>

/// Sets out->message (printf-style) and returns status.
cic_status cic_fail(cic_image *out, cic_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/// Checks width*height against max_pixels and allocates width*height*channels bytes into out->pixels.
cic_status cic_alloc_pixels(cic_image *out, int64_t width, int64_t height, int channels, int64_t max_pixels);

/// Turns an RGBA buffer (in out->pixels) into RGB in place, compositing onto opaque white.
void cic_rgba_to_rgb_on_white(cic_image *out);

cic_status cic_decode_jpeg(const uint8_t *data, size_t size, int64_t max_pixels, cic_image *out);
cic_status cic_decode_png(const uint8_t *data, size_t size, int64_t max_pixels, cic_image *out);
cic_status cic_decode_webp(const uint8_t *data, size_t size, int64_t max_pixels, cic_image *out);
#endif
