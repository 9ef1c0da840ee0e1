// PNG decoding through libpng, errors caught with setjmp (libpng's default handler aborts).
#include "internal.h"
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    int truncated;
} cic_png_source;

static void cic_png_read(png_structp png, png_bytep dst, size_t length) {
    cic_png_source *src = (cic_png_source *)png_get_io_ptr(png);
    if (length > src->size - src->offset) {
        src->truncated = 1;
        png_error(png, "data ends before the end of the image");
    }
    memcpy(dst, src->data + src->offset, length);
    src->offset += length;
}

typedef struct {
    char message[200];
} cic_png_error_state;

static void cic_png_error(png_structp png, png_const_charp msg) {
    cic_png_error_state *st = (cic_png_error_state *)png_get_error_ptr(png);
    snprintf(st->message, sizeof st->message, "%s", msg);
    png_longjmp(png, 1);
}

static void cic_png_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

cic_status cic_decode_png(const uint8_t *data, size_t size, int64_t max_pixels, cic_image *out) {
    // Check the declared size from IHDR before libpng reads anything else, so that an oversized
    // image is reported as such even when the rest of the file is missing.
    if (size >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        int64_t w = ((int64_t)data[16] << 24) | (data[17] << 16) | (data[18] << 8) | data[19];
        int64_t h = ((int64_t)data[20] << 24) | (data[21] << 16) | (data[22] << 8) | data[23];
        if (w > 0 && h > 0 && w * h > max_pixels)
            return cic_fail(out, CIC_ERR_TOO_LARGE, "image is %lldx%lld = %lld pixels, more than the limit of %lld pixels",
                            (long long)w, (long long)h, (long long)(w * h), (long long)max_pixels);
    }
    cic_png_source src = {data, size, 0, 0};
    cic_png_error_state est;
    memset(&est, 0, sizeof est);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &est, cic_png_error, cic_png_warning);
    if (!png) return cic_fail(out, CIC_ERR_OUT_OF_MEMORY, "PNG: out of memory");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return cic_fail(out, CIC_ERR_OUT_OF_MEMORY, "PNG: out of memory");
    }
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        return cic_fail(out, src.truncated ? CIC_ERR_TRUNCATED : CIC_ERR_CORRUPT, "PNG: %s", est.message);
    }
    png_set_read_fn(png, &src, cic_png_read);
    // Allow any size here: the pixel budget below is the limit.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);

    png_uint_32 width, height;
    int bit_depth, color_type, interlace;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    out->source_bit_depth = bit_depth;
    out->source_channels = (color_type & PNG_COLOR_MASK_COLOR) ? 3 : 1;

    int has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    int has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) != 0 || has_trns;
    out->had_alpha = has_alpha;

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (has_trns) png_set_tRNS_to_alpha(png);
    // 16-bit samples keep their high byte (see RGBImage's documentation: Pillow does this for 16-bit
    // colour PNGs; for 16-bit grey, which Pillow clips to 255, we deliberately do the same as colour).
    if (bit_depth == 16) png_set_strip_16(png);
    if (!(color_type & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    if (channels != 3 && channels != 4) {
        png_destroy_read_struct(&png, &info, NULL);
        return cic_fail(out, CIC_ERR_UNSUPPORTED_VARIANT, "PNG: unexpected channel count %d after conversion", channels);
    }
    cic_status st = cic_alloc_pixels(out, width, height, channels, max_pixels);
    if (st != CIC_OK || out->header_only) {
        png_destroy_read_struct(&png, &info, NULL);
        return st;
    }
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (!rows) {
        png_destroy_read_struct(&png, &info, NULL);
        return cic_fail(out, CIC_ERR_OUT_OF_MEMORY, "PNG: out of memory");
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = out->pixels + (size_t)y * width * channels;
    png_read_image(png, rows);
    // Trailing chunks after the image data are not read (Pillow does not need them either).
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    if (channels == 4) cic_rgba_to_rgb_on_white(out);
    return CIC_OK;
}
