// WebP decoding through libwebp (still images; lossy, lossless, with or without alpha).
#include "internal.h"
#include <webp/decode.h>

static const char *cic_webp_status_text(VP8StatusCode code) {
    switch (code) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "corrupt bitstream";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "decoding suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "data ends before the end of the image";
    default: return "unknown error";
    }
}

static cic_status cic_webp_status(VP8StatusCode code) {
    switch (code) {
    case VP8_STATUS_NOT_ENOUGH_DATA: return CIC_ERR_TRUNCATED;
    case VP8_STATUS_OUT_OF_MEMORY: return CIC_ERR_OUT_OF_MEMORY;
    case VP8_STATUS_UNSUPPORTED_FEATURE: return CIC_ERR_UNSUPPORTED_VARIANT;
    default: return CIC_ERR_CORRUPT;
    }
}

cic_status cic_decode_webp(const uint8_t *data, size_t size, int64_t max_pixels, cic_image *out) {
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) return cic_fail(out, CIC_ERR_CORRUPT, "WebP: library version mismatch");
    VP8StatusCode code = WebPGetFeatures(data, size, &config.input);
    if (code != VP8_STATUS_OK)
        return cic_fail(out, cic_webp_status(code), "WebP: %s", cic_webp_status_text(code));
    if (config.input.has_animation)
        return cic_fail(out, CIC_ERR_UNSUPPORTED_VARIANT, "WebP: animated WebP is not supported");
    int channels = config.input.has_alpha ? 4 : 3;
    out->had_alpha = config.input.has_alpha;
    out->source_channels = 3;
    cic_status st = cic_alloc_pixels(out, config.input.width, config.input.height, channels, max_pixels);
    if (st != CIC_OK || out->header_only) return st;
    config.output.colorspace = channels == 4 ? MODE_RGBA : MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = out->pixels;
    config.output.u.RGBA.stride = out->width * channels;
    config.output.u.RGBA.size = (size_t)out->width * (size_t)out->height * (size_t)channels;
    code = WebPDecode(data, size, &config);
    WebPFreeDecBuffer(&config.output);
    if (code != VP8_STATUS_OK)
        return cic_fail(out, cic_webp_status(code), "WebP: %s", cic_webp_status_text(code));
    if (channels == 4) cic_rgba_to_rgb_on_white(out);
    return CIC_OK;
}
