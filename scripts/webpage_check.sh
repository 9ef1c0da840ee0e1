#!/usr/bin/env bash
# Checks the `blip serve` web page in a real browser: starts the server with the tiny fixture
# models (caption, VQA, ITM) and Debian's headless chromium, uploads an image through the page's
# file input (DevTools protocol, scripts/webpage_check.py), checks the caption that appears, asks
# a question and checks the answer, ranks candidate answers, matches two texts, searches an index
# of the fixture images on the search tab (by text and by image), and takes screenshots.
#
#   scripts/webpage_check.sh [SCREENSHOT.png]     (default: ${TMPDIR:-/tmp}/blip-webpage-check.png)
# Environment: BLIP_BIN (default .build/release/blip when built, else .build/debug/blip, built if
# missing), PORT (default 18480).
set -euo pipefail
cd "$(dirname "$0")/.."

SHOT="${1:-${TMPDIR:-/tmp}/blip-webpage-check.png}"
PORT="${PORT:-18480}"
if [ -z "${BLIP_BIN:-}" ]; then
    if [ -x .build/release/blip ]; then BLIP_BIN=.build/release/blip; else BLIP_BIN=.build/debug/blip; fi
fi
FIXTURES=Tests/BLIPTests/Fixtures
MODEL=$FIXTURES/tiny
IMAGE=$MODEL/images/astronaut_96x80.png
# transformers' greedy caption of this image with the tiny model's defaults (20 new tokens), and
# the tiny VQA model's greedy answer to a question about it.
EXPECTED="$(python3 -c "import json; d=json.load(open('$MODEL/expected.json')); print([c for c in d['cases'] if c['name']=='greedy'][0]['captions'][0])")"
QUESTION="$(python3 -c "import json; d=json.load(open('$FIXTURES/tiny-vqa/expected.json')); print([c for c in d['generate'] if c['name']=='greedy_alone'][0]['questions'][1])")"
ANSWER="$(python3 -c "import json; d=json.load(open('$FIXTURES/tiny-vqa/expected.json')); print([c for c in d['generate'] if c['name']=='greedy_alone'][0]['answers'][1])")"

CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$CHROMIUM" ]; then
    echo "webpage_check: installing chromium (Debian package)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium > /dev/null
    CHROMIUM="$(command -v chromium)"
fi
[ -x "$BLIP_BIN" ] || swift build --product blip
# The second image's caption as `blip caption` gives it (equal to transformers', see the tests).
SECOND_EXPECTED="$("$BLIP_BIN" caption --model "$MODEL" "$MODEL/images/chelsea_60x90.png")"

WORK="$(mktemp -d)"
SERVER_PID="" BROWSER_PID=""
cleanup() {
    [ -n "$BROWSER_PID" ] && kill "$BROWSER_PID" 2>/dev/null || true
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# An index of the fixture images, and the first hit `blip index search` gives for a query.
mkdir -p "$WORK/photos"
cp "$MODEL"/images/*.png "$WORK/photos/"
"$BLIP_BIN" index add --model "$FIXTURES/tiny-itm" --index "$WORK/photos.blipindex" "$WORK/photos" > /dev/null 2>&1
SEARCH_FIRST="$("$BLIP_BIN" index search --model "$FIXTURES/tiny-itm" --index "$WORK/photos.blipindex" --top-k 1 --json "an astronaut" \
    | python3 -c "import json,sys; print(json.loads(sys.stdin.readline())['image'])")"
# The rank mode's pick among the candidates.
RANK_CANDIDATES=(yes no red blue two)
printf '%s\n' "${RANK_CANDIDATES[@]}" > "$WORK/candidates.txt"
RANK_ANSWER="$("$BLIP_BIN" vqa --model "$FIXTURES/tiny-vqa" --answers "$WORK/candidates.txt" --question "$QUESTION" --json "$IMAGE" \
    | python3 -c "import json,sys; print(json.loads(sys.stdin.readline())['answer'])")"

"$BLIP_BIN" serve --caption-model "$MODEL" --vqa-model "$FIXTURES/tiny-vqa" --itm-model "$FIXTURES/tiny-itm" \
    --index "$WORK/photos.blipindex" --host 127.0.0.1 --port "$PORT" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/health" > /dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; echo "webpage_check: server exited"; exit 1; }
    sleep 0.2
done

"$CHROMIUM" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$WORK/profile" --remote-debugging-port=0 --remote-allow-origins='*' \
    --window-size=900,900 "http://127.0.0.1:$PORT/" > "$WORK/browser.log" 2>&1 &
BROWSER_PID=$!
for _ in $(seq 1 150); do
    [ -s "$WORK/profile/DevToolsActivePort" ] && break
    sleep 0.2
done
[ -s "$WORK/profile/DevToolsActivePort" ] || { tail -20 "$WORK/browser.log"; echo "webpage_check: chromium did not start"; exit 1; }
DEVTOOLS_PORT="$(head -1 "$WORK/profile/DevToolsActivePort")"

python3 scripts/webpage_check.py --devtools-port "$DEVTOOLS_PORT" --page "http://127.0.0.1:$PORT/" \
    --image "$IMAGE" --expected-caption "$EXPECTED" --question "$QUESTION" --expected-answer "$ANSWER" \
    --match-texts "an astronaut" "a cat" --rank-candidates "${RANK_CANDIDATES[@]}" --expected-rank-answer "$RANK_ANSWER" \
    --search-query "an astronaut" --expected-search-first "$SEARCH_FIRST" \
    --second-image "$MODEL/images/chelsea_60x90.png" --expected-second-caption "$SECOND_EXPECTED" \
    --rejected-image "$FIXTURES/images/truncated.jpg" --screenshot "$SHOT"
