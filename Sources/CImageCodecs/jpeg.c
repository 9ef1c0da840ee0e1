// JPEG decoding through libjpeg(-turbo) with a setjmp/longjmp error manager: the library's default
// handler calls exit(), which must never happen inside a host process.
#include "internal.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    cic_status status;
    char message[JMSG_LENGTH_MAX];
} cic_jpeg_error;

static void cic_jpeg_error_exit(j_common_ptr cinfo) {
    cic_jpeg_error *err = (cic_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    err->status = CIC_ERR_CORRUPT;
    longjmp(err->jump, 1);
}

// Warnings are ignored like Pillow does, except running out of data: Pillow refuses truncated
// JPEGs ("image file is truncated") unless LOAD_TRUNCATED_IMAGES is set.
static void cic_jpeg_emit_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        cic_jpeg_error *err = (cic_jpeg_error *)cinfo->err;
        snprintf(err->message, sizeof err->message, "data ends before the end of the image");
        err->status = CIC_ERR_TRUNCATED;
        longjmp(err->jump, 1);
    }
}

static void cic_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

// Pillow's CMYK -> RGB conversion: r = (255 - k) - c * (255 - k) / 255 with the division rounded
// (MULDIV255), i.e. the colour ink darkens what the black ink leaves.
static inline uint8_t cic_muldiv255(unsigned a, unsigned b) {
    unsigned t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

cic_status cic_decode_jpeg(const uint8_t *data, size_t size, int64_t max_pixels, cic_image *out) {
    struct jpeg_decompress_struct cinfo;
    cic_jpeg_error err;
    memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = cic_jpeg_error_exit;
    err.base.emit_message = cic_jpeg_emit_message;
    err.base.output_message = cic_jpeg_output_message;
    uint8_t *volatile row_buffer = NULL;

    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(row_buffer);
        return cic_fail(out, err.status, "JPEG: %s", err.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    int cmyk = 0, inverted = 0;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo.out_color_space = JCS_GRAYSCALE;
        out->source_channels = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;
        out->source_channels = 3;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo.out_color_space = JCS_CMYK;
        cmyk = 1;
        // Adobe applications write inverted CMYK; Pillow reads such files as "CMYK;I".
        inverted = cinfo.saw_Adobe_marker;
        out->source_channels = 4;
        break;
    default:
        jpeg_destroy_decompress(&cinfo);
        return cic_fail(out, CIC_ERR_UNSUPPORTED_VARIANT, "JPEG: unsupported colour space %d", (int)cinfo.jpeg_color_space);
    }
    // Full-size decode with the accurate integer IDCT and fancy upsampling (libjpeg's defaults,
    // which Pillow also uses): no DCT scaling, which would change the pixels.
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;

    cic_status st = cic_alloc_pixels(out, cinfo.image_width, cinfo.image_height, 3, max_pixels);
    if (st != CIC_OK || out->header_only) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    jpeg_start_decompress(&cinfo);
    const size_t w = cinfo.output_width;
    const int comps = cinfo.output_components;
    if (comps != 3) {
        row_buffer = (uint8_t *)malloc(w * (size_t)comps);
        if (!row_buffer) {
            jpeg_destroy_decompress(&cinfo);
            return cic_fail(out, CIC_ERR_OUT_OF_MEMORY, "JPEG: out of memory");
        }
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *dst = out->pixels + (size_t)cinfo.output_scanline * w * 3;
        if (comps == 3) {
            JSAMPROW row = dst;
            jpeg_read_scanlines(&cinfo, &row, 1);
            continue;
        }
        JSAMPROW row = row_buffer;
        jpeg_read_scanlines(&cinfo, &row, 1);
        if (comps == 1) {
            for (size_t x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row_buffer[x];
        } else if (cmyk) {
            for (size_t x = 0; x < w; x++) {
                unsigned c = row_buffer[4 * x], m = row_buffer[4 * x + 1], y = row_buffer[4 * x + 2], k = row_buffer[4 * x + 3];
                if (inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
                unsigned nk = 255 - k;
                dst[3 * x] = (uint8_t)(nk - cic_muldiv255(c, nk));
                dst[3 * x + 1] = (uint8_t)(nk - cic_muldiv255(m, nk));
                dst[3 * x + 2] = (uint8_t)(nk - cic_muldiv255(y, nk));
            }
        }
    }
    // No jpeg_finish_decompress: a file whose pixels are complete but whose EOI marker is missing
    // decodes fine in Pillow too.
    jpeg_destroy_decompress(&cinfo);
    free(row_buffer);
    return CIC_OK;
}

// Encodes 8-bit RGB (HWC) as a baseline JPEG in memory (thumbnails). Same error manager as
// decoding: a libjpeg error returns instead of exiting.
int cic_encode_jpeg(const uint8_t *rgb, int32_t width, int32_t height, int32_t quality,
                    uint8_t **out, size_t *out_size) {
    if (!rgb || !out || !out_size || width <= 0 || height <= 0 || width > 65500 || height > 65500) return -1;
    *out = NULL;
    *out_size = 0;
    struct jpeg_compress_struct cinfo;
    cic_jpeg_error err;
    memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = cic_jpeg_error_exit;
    err.base.output_message = cic_jpeg_output_message;
    unsigned char *buffer = NULL;
    unsigned long size = 0;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        return -2;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality < 1 ? 1 : (quality > 100 ? 100 : quality), TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)width * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = buffer;
    *out_size = (size_t)size;
    return 0;
}
