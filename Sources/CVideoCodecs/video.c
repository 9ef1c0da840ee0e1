// Thin C shim over FFmpeg (Debian's libavformat-dev, libavcodec-dev, libswscale-dev): decode one
// video stream and keep the frames asked for, as RGB24.
#include "CVideoCodecs.h"
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>

void cvc_free(void *p) { free(p); }

typedef struct {
    const int64_t *indices;
    int32_t count;
    int64_t max_pixels;
    uint8_t *out;
    int32_t width, height;
    int64_t seen;
    struct SwsContext *sws;
    int failed;  // a cvc_status
} state;

/// Converts `frame` (the state's frame number `seen`) into every output slot that asks for it.
static void keep(state *s, AVFrame *frame) {
    if (s->width == 0) {
        if (frame->width <= 0 || frame->height <= 0) { s->failed = CVC_ERR_DECODE; return; }
        if ((int64_t)frame->width * frame->height > s->max_pixels) { s->failed = CVC_ERR_TOO_LARGE; return; }
        s->width = frame->width;
        s->height = frame->height;
        if (s->count > 0) {
            s->out = malloc((size_t)s->count * s->width * s->height * 3);
            if (!s->out) { s->failed = CVC_ERR_OUT_OF_MEMORY; return; }
        }
    }
    if (frame->width != s->width || frame->height != s->height) { s->failed = CVC_ERR_DECODE; return; }
    for (int32_t i = 0; i < s->count; i++) {
        if (s->indices[i] != s->seen) continue;
        s->sws = sws_getCachedContext(s->sws, frame->width, frame->height, frame->format, s->width, s->height,
                                      AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL, NULL, NULL);
        if (!s->sws) { s->failed = CVC_ERR_DECODE; return; }
        uint8_t *dst[4] = {s->out + (size_t)i * s->width * s->height * 3, NULL, NULL, NULL};
        int stride[4] = {s->width * 3, 0, 0, 0};
        sws_scale(s->sws, (const uint8_t *const *)frame->data, frame->linesize, 0, frame->height, dst, stride);
    }
}

static void drain(state *s, AVCodecContext *codec, AVFrame *frame) {
    while (!s->failed && avcodec_receive_frame(codec, frame) == 0) {
        keep(s, frame);
        s->seen++;
        av_frame_unref(frame);
    }
}

cvc_status cvc_decode(const char *path, const int64_t *indices, int32_t count, int64_t max_pixels,
                      uint8_t **out, int32_t *width, int32_t *height, int64_t *frames) {
    if (!path || !out || !width || !height || !frames || count < 0 || (count > 0 && !indices)) return CVC_ERR_ARGUMENT;
    *out = NULL;
    av_log_set_level(AV_LOG_QUIET);
    AVFormatContext *format = NULL;
    if (avformat_open_input(&format, path, NULL, NULL) < 0) return CVC_ERR_OPEN;
    if (avformat_find_stream_info(format, NULL) < 0) { avformat_close_input(&format); return CVC_ERR_OPEN; }
    int stream = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (stream < 0) { avformat_close_input(&format); return CVC_ERR_NO_VIDEO; }
    const AVCodec *decoder = avcodec_find_decoder(format->streams[stream]->codecpar->codec_id);
    AVCodecContext *codec = decoder ? avcodec_alloc_context3(decoder) : NULL;
    if (!codec || avcodec_parameters_to_context(codec, format->streams[stream]->codecpar) < 0 ||
        avcodec_open2(codec, decoder, NULL) < 0) {
        avcodec_free_context(&codec);
        avformat_close_input(&format);
        return CVC_ERR_NO_VIDEO;
    }
    state s = {indices, count, max_pixels > 0 ? max_pixels : INT64_MAX, NULL, 0, 0, 0, NULL, 0};
    AVPacket *packet = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    if (!packet || !frame) s.failed = CVC_ERR_OUT_OF_MEMORY;
    while (!s.failed && av_read_frame(format, packet) >= 0) {
        if (packet->stream_index == stream && avcodec_send_packet(codec, packet) == 0) drain(&s, codec, frame);
        av_packet_unref(packet);
    }
    if (!s.failed && avcodec_send_packet(codec, NULL) == 0) drain(&s, codec, frame);  // flush
    av_frame_free(&frame);
    av_packet_free(&packet);
    sws_freeContext(s.sws);
    avcodec_free_context(&codec);
    avformat_close_input(&format);
    *frames = s.seen;
    *width = s.width;
    *height = s.height;
    if (!s.failed && s.seen == 0) s.failed = CVC_ERR_NO_FRAMES;
    for (int32_t i = 0; !s.failed && i < count; i++) {
        if (indices[i] < 0 || indices[i] >= s.seen) s.failed = CVC_ERR_ARGUMENT;
    }
    if (s.failed) { free(s.out); return (cvc_status)s.failed; }
    *out = s.out;
    return CVC_OK;
}
