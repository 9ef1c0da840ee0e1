#ifndef CIMAGECODECS_H
#define CIMAGECODECS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Container formats recognised by their magic bytes.
typedef enum {
    CIC_FORMAT_UNKNOWN = 0,
    CIC_FORMAT_JPEG = 1,
    CIC_FORMAT_PNG = 2,
    CIC_FORMAT_WEBP = 3,
} cic_format;

/// Result codes of cic_decode.
typedef enum {
    CIC_OK = 0,
    CIC_ERR_UNSUPPORTED_FORMAT = 1, ///< not JPEG, PNG or WebP (magic bytes)
    CIC_ERR_CORRUPT = 2,            ///< the codec library rejected the data
    CIC_ERR_TRUNCATED = 3,          ///< the data ends before the image does
    CIC_ERR_TOO_LARGE = 4,          ///< header declares more pixels than allowed
    CIC_ERR_UNSUPPORTED_VARIANT = 5,///< e.g. animated WebP, unusual JPEG colour space
    CIC_ERR_OUT_OF_MEMORY = 6,
    CIC_ERR_EMPTY = 7,              ///< zero bytes
} cic_status;

/// A decoded image: `pixels` holds width*height*3 bytes, RGB, row-major (HWC).
typedef struct {
    int32_t width;
    int32_t height;
    int32_t format;        ///< cic_format
    int32_t had_alpha;     ///< 1 if the source had an alpha channel or a tRNS chunk (composited on white)
    int32_t source_bit_depth; ///< 8 or 16 (PNG); 8 otherwise
    int32_t source_channels;  ///< colour channels of the source before conversion (1 gray, 3 colour, 4 CMYK)
    uint8_t *pixels;       ///< malloc'ed by cic_decode; release with cic_image_free
    char message[256];     ///< human-readable detail when the status is not CIC_OK
    // Set by cic_probe / cic_decode_into (leave zero for cic_decode):
    int32_t header_only;   ///< stop after the header (dimensions checked against the budget)
    uint8_t *external;     ///< caller-owned destination buffer
    size_t external_capacity;
} cic_image;

cic_format cic_detect_format(const uint8_t *data, size_t size);

/// Decodes JPEG, PNG or WebP to 8-bit RGB the way `PIL.Image.open(f)` followed by transformers'
/// `convert_to_rgb` does (alpha composited onto white). Refuses images whose header declares more than
/// `max_pixels` pixels before allocating the pixel buffer. Never exits or aborts on bad data.
cic_status cic_decode(const uint8_t *data, size_t size, int64_t max_pixels, cic_image *out);

void cic_image_free(cic_image *image);

/// Reads only the header: sets width, height and format and checks width*height against max_pixels.
cic_status cic_probe(const uint8_t *data, size_t size, int64_t max_pixels, cic_image *out);

/// Like cic_decode, but decodes into the caller's `buffer`, which must hold at least
/// width*height*4 bytes (dimensions from cic_probe). On success the first width*height*3 bytes are the
/// RGB pixels and out->pixels == buffer; the caller keeps ownership (do not call cic_image_free).
cic_status cic_decode_into(const uint8_t *data, size_t size, int64_t max_pixels, uint8_t *buffer, size_t capacity,
                           cic_image *out);

/// Resampling filters, numbered like PIL's `Image.Resampling`.
typedef enum {
    CIC_FILTER_LANCZOS = 1,
    CIC_FILTER_BILINEAR = 2,
    CIC_FILTER_BICUBIC = 3,
    CIC_FILTER_BOX = 4,
    CIC_FILTER_HAMMING = 5,
} cic_filter;

/// Separable convolution resize of an 8-bit RGB (HWC) image with the semantics of Pillow's
/// `Image.resize(size, resample=filter)`: horizontal pass then vertical pass, support scaled by the
/// downscale factor, fixed-point coefficients, rounding and clipping to uint8 after each pass.
/// Returns 0 on success, -1 on bad arguments, -2 when out of memory.
int cic_resize_rgb8(const uint8_t *src, int32_t src_width, int32_t src_height,
                    uint8_t *dst, int32_t dst_width, int32_t dst_height, int32_t filter);

/// Encodes 8-bit RGB (HWC) as a JPEG of `quality` (1...100). On success returns 0 and sets *out to a
/// malloc'ed buffer of *out_size bytes (release with free); -1 on bad arguments, -2 on a libjpeg error.
int cic_encode_jpeg(const uint8_t *rgb, int32_t width, int32_t height, int32_t quality,
                    uint8_t **out, size_t *out_size);

#ifdef __cplusplus
}
#endif
#endif
