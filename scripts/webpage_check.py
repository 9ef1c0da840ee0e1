#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol (standard library only: a minimal
WebSocket client) against the `blip serve` web page: picks an image in the file input, waits for
the caption to appear, checks it, and saves a screenshot.

Used by scripts/webpage_check.sh, which starts the server and the browser.
"""
import argparse
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.request


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: masked text frames out, frames in."""

    def __init__(self, url, timeout=30):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port or 80)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            response += chunk
        head, _, self.buffer = response.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(f"websocket handshake failed: {head[:200]!r}")

    def send(self, text):
        data = text.encode()
        header = bytes([0x81])
        n = len(data)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode == 8:
                raise ConnectionError("websocket closed by peer")
            if opcode in (0, 1, 2):
                message += payload
                if b0 & 0x80:
                    return message.decode()


class DevTools:
    def __init__(self, ws_url):
        self.ws = WebSocket(ws_url)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--devtools-port", type=int, required=True)
    ap.add_argument("--page", required=True, help="URL of the page (already open in the browser)")
    ap.add_argument("--image", required=True)
    ap.add_argument("--expected-caption", required=True)
    ap.add_argument("--question", help="ask this on the page (needs a VQA model)")
    ap.add_argument("--expected-answer")
    ap.add_argument("--match-texts", nargs="*", default=[], help="match these on the page (needs an ITM model)")
    ap.add_argument("--second-image", help="then upload this image: the old caption must vanish at once")
    ap.add_argument("--expected-second-caption")
    ap.add_argument("--rejected-image", help="then upload a file the server refuses: no preview, buttons off")
    ap.add_argument("--rank-candidates", nargs="*", default=[], help="then rank these answers for --question (rank mode)")
    ap.add_argument("--expected-rank-answer")
    ap.add_argument("--search-query", help="then search the server's index (serve --index) on the search tab")
    ap.add_argument("--expected-search-first", help="path of the first hit `blip index search` gives for the query")
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()

    deadline = time.monotonic() + args.timeout
    target = None
    while target is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{args.devtools_port}/json/list", timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page" and t.get("url", "").startswith(args.page)]
            target = pages[0] if pages else None
        except OSError:
            pass
        if target is None:
            time.sleep(0.3)
    if target is None:
        raise SystemExit(f"webpage_check: no browser tab with {args.page}")

    dt = DevTools(target["webSocketDebuggerUrl"])
    dt.call("Page.enable")
    dt.call("Emulation.setDeviceMetricsOverride", width=900, height=900, deviceScaleFactor=1, mobile=False)
    dt.wait_for("document.readyState === 'complete' && document.getElementById('models').textContent.startsWith('Models:')",
                args.timeout, "the page and /info to load")
    print("page loaded:", dt.evaluate("document.getElementById('models').textContent"))

    def screenshot(path):
        shot = dt.call("Page.captureScreenshot", format="png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print("screenshot:", path)

    # Every text the caption shows, to see it stream in token by token.
    dt.evaluate("window.captionSteps = []; new MutationObserver(() => captionSteps.push("
                "document.getElementById('caption').textContent)).observe(document.getElementById('caption'),"
                " {childList: true, characterData: true, subtree: true}); true")
    root = dt.call("DOM.getDocument")["root"]["nodeId"]
    node = dt.call("DOM.querySelector", nodeId=root, selector="#file")["nodeId"]
    dt.call("DOM.setFileInputFiles", nodeId=node, files=[os.path.abspath(args.image)])
    caption = dt.wait_for("document.getElementById('caption').textContent", args.timeout, "the caption")
    status = dt.evaluate("document.getElementById('status').textContent")
    print("caption shown:", caption)
    print("status:", status)

    failures = []
    dt.wait_for("document.getElementById('status').textContent === 'Done.'", args.timeout, "the caption to finish")
    caption = dt.evaluate("document.getElementById('caption').textContent")
    if caption != args.expected_caption:
        failures.append(f"expected caption {args.expected_caption!r}, page shows {caption!r}")
    steps = [t for t in dt.evaluate("captionSteps") or [] if t]
    print("caption steps shown:", steps)
    if len(set(steps)) < 2 or not all(args.expected_caption.startswith(t.rstrip()) or t == args.expected_caption for t in steps):
        failures.append(f"the caption did not stream in as growing prefixes of the final one: {steps!r}")

    if args.question:
        dt.evaluate(f"document.getElementById('question').value = {json.dumps(args.question)};"
                    "document.getElementById('ask').click(); true")
        answer = dt.wait_for("(() => { const li = document.querySelector('#answers li');"
                             " return li && !li.textContent.endsWith('…') ? li.textContent : null; })()",
                             args.timeout, "the answer")
        print("answer shown:", answer)
        if answer != f"{args.question} → {args.expected_answer}":
            failures.append(f"expected answer {args.expected_answer!r}, page shows {answer!r}")

    if args.rank_candidates:
        dt.evaluate("document.getElementById('answers').innerHTML = '';"
                    "document.getElementById('rankOptions').open = true;"
                    "document.getElementById('rankMode').checked = true;"
                    f"document.getElementById('candidates').value = {json.dumps(', '.join(args.rank_candidates))};"
                    f"document.getElementById('question').value = {json.dumps(args.question)};"
                    "document.getElementById('ask').click(); true")
        ranked = dt.wait_for("(() => { const r = document.getElementById('ranked'); return r ? r.parentElement.textContent : null; })()",
                             args.timeout, "the ranked answers")
        print("ranked answers shown:", ranked)
        if not ranked.startswith(f"{args.question} → {args.expected_rank_answer} ("):
            failures.append(f"expected the rank mode to pick {args.expected_rank_answer!r}, page shows {ranked!r}")
        screenshot(os.path.splitext(args.screenshot)[0] + ".rank.png")
        dt.evaluate("document.getElementById('rankMode').checked = false; true")

    if args.match_texts:
        dt.evaluate(f"document.getElementById('texts').value = {json.dumps(chr(10).join(args.match_texts))};"
                    "document.getElementById('match').click(); true")
        rows = dt.wait_for("(() => { const rows = [...document.querySelectorAll('#matches tbody tr')];"
                           " return rows.length ? rows.map(r => [...r.cells].map(c => c.textContent)) : null; })()",
                           args.timeout, "the match table")
        print("match rows:", rows)
        if [r[0] for r in rows] != args.match_texts or not all(0 <= float(r[1]) <= 1 and -1 <= float(r[2]) <= 1 for r in rows):
            failures.append(f"bad match table {rows!r}")

    def upload(path):
        node = dt.call("DOM.querySelector", nodeId=dt.call("DOM.getDocument")["root"]["nodeId"], selector="#file")["nodeId"]
        dt.call("DOM.setFileInputFiles", nodeId=node, files=[os.path.abspath(path)])

    state = ("(() => ({caption: document.getElementById('caption').textContent,"
             " captionHidden: document.getElementById('captionBox').classList.contains('hidden'),"
             " answers: document.querySelectorAll('#answers li').length,"
             " askDisabled: document.getElementById('ask').disabled,"
             " matchDisabled: document.getElementById('match').disabled,"
             " preview: document.getElementById('preview').style.display,"
             " status: document.getElementById('status').textContent}))()")

    if args.second_image:
        upload(args.second_image)
        now = dt.evaluate(state)
        print("right after the second upload:", now)
        if now["caption"] or not now["captionHidden"] or now["answers"] or not now["askDisabled"]:
            failures.append(f"the previous image's results or enabled buttons stayed under the new image: {now!r}")
        dt.wait_for("document.getElementById('caption').textContent && document.getElementById('status').textContent === 'Done.'",
                    args.timeout, "the second caption")
        second = dt.evaluate("document.getElementById('caption').textContent")
        print("second caption shown:", second)
        if args.expected_second_caption is not None and second != args.expected_second_caption:
            failures.append(f"expected second caption {args.expected_second_caption!r}, page shows {second!r}")
        if dt.evaluate(state)["askDisabled"]:
            failures.append("buttons stayed disabled after the second caption")

    screenshot(args.screenshot)

    if args.rejected_image:
        upload(args.rejected_image)
        rejected = dt.wait_for("(() => { const s = document.getElementById('status');"
                               " return s.className.includes('error') ? s.textContent : null; })()",
                               args.timeout, "the rejection message")
        now = dt.evaluate(state)
        print("after a rejected image:", now)
        if now["preview"] != "none" or not now["askDisabled"] or not now["matchDisabled"] or now["caption"]:
            failures.append(f"a rejected image left a preview, a caption or enabled buttons: {now!r}")
        if "error_type" in rejected or "Error:" not in rejected:
            failures.append(f"rejection message is not in plain words: {rejected!r}")
        screenshot(os.path.splitext(args.screenshot)[0] + ".rejected.png")

        # Images over the server's pixel limit are scaled down in the browser before upload.
        dt.evaluate("limits.max_image_pixels = 3000; true")
        upload(args.image)
        note = dt.wait_for("(() => { const t = document.getElementById('captionTime').textContent;"
                           " return t.includes('scaled') ? t : null; })()", args.timeout, "the scaled-upload caption")
        print("scaled upload:", note)

    if args.search_query:
        dt.evaluate("document.getElementById('tabSearch').click();"
                    f"document.getElementById('query').value = {json.dumps(args.search_query)};"
                    "document.getElementById('search').click(); true")
        hits = dt.wait_for("(() => { const imgs = [...document.querySelectorAll('#hits .hit img')];"
                           " return imgs.length && imgs.every(i => i.complete && i.naturalWidth > 0)"
                           " ? imgs.map(i => [i.alt, i.naturalWidth, i.naturalHeight]) : null; })()",
                           args.timeout, "search hits with their thumbnails")
        print("search hits:", hits, "|", dt.evaluate("document.getElementById('searchStatus').textContent"))
        if args.expected_search_first and hits[0][0] != args.expected_search_first:
            failures.append(f"expected first hit {args.expected_search_first!r}, page shows {hits[0][0]!r}")
        screenshot(os.path.splitext(args.screenshot)[0] + ".search.png")
        # By image: the first indexed image finds itself first.
        node = dt.call("DOM.querySelector", nodeId=dt.call("DOM.getDocument")["root"]["nodeId"], selector="#queryFile")["nodeId"]
        dt.evaluate("document.getElementById('hits').innerHTML = ''; true")
        dt.call("DOM.setFileInputFiles", nodeId=node, files=[os.path.abspath(args.image)])
        first = dt.wait_for("(() => { const i = document.querySelector('#hits .hit img'); return i ? i.alt : null; })()",
                            args.timeout, "the image search hits")
        print("image search first hit:", first)
        if os.path.basename(first) != os.path.basename(args.image):
            failures.append(f"searching by {args.image} found {first!r} first")

    if failures:
        for f in failures:
            print("webpage_check: FAILED:", f)
        return 1
    print("webpage_check: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
