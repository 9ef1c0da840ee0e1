#ifndef CVIDEOCODECS_H
#define CVIDEOCODECS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result codes of the video shim (FFmpeg's libavformat, libavcodec, libswscale).
typedef enum {
    CVC_OK = 0,
    CVC_ERR_OPEN = 1,        ///< not a container FFmpeg can open
    CVC_ERR_NO_VIDEO = 2,    ///< no video stream, or no decoder for it
    CVC_ERR_DECODE = 3,      ///< the decoder failed
    CVC_ERR_TOO_LARGE = 4,   ///< frames larger than allowed
    CVC_ERR_OUT_OF_MEMORY = 5,
    CVC_ERR_NO_FRAMES = 6,   ///< not one frame decoded
    CVC_ERR_ARGUMENT = 7,
} cvc_status;

/// Decodes the first video stream of `path` once, counting its frames, and keeps the frames whose
/// 0-based position is in `indices` (any order, repeats allowed) as RGB24 at the stream's size:
/// `*out` (malloc'd, free with cvc_free) holds `count` frames of `*width` × `*height` × 3 bytes,
/// in the order of `indices`. With `count` 0 only `*frames`, `*width`, `*height` are set. Indices
/// past the last frame are an argument error after decoding (`*frames` says how many there are).
/// Frames of more than `max_pixels` pixels are refused.
cvc_status cvc_decode(const char *path, const int64_t *indices, int32_t count, int64_t max_pixels,
                      uint8_t **out, int32_t *width, int32_t *height, int64_t *frames);

void cvc_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
