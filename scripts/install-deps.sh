#!/usr/bin/env bash
# System libraries Swift BLIP links against (Debian/Ubuntu): OpenBLAS for CBLAS, and the image
# codecs, FFmpeg's libraries for video frames, and SQLite for the retrieval index (GRDB). Run as root (or through sudo).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    libopenblas-dev libjpeg62-turbo-dev libpng-dev libwebp-dev libsqlite3-dev pkg-config \
    libavformat-dev libavcodec-dev libswscale-dev >/dev/null
