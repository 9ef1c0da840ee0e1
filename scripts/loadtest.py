#!/usr/bin/env python3
"""Load test for `blip serve` (standard library only).

N concurrent clients (threads, one keep-alive connection each) send requests for a bounded
time; prints throughput, p50/p90/p99 latency, responses by status and the server's peak RSS
(VmHWM from /proc/PID/status, when --pid is given).

Only loopback targets (127.0.0.0/8, localhost, ::1) are allowed.

    blip serve --caption-model Tests/BLIPTests/Fixtures/tiny --port 8080 &
    python3 scripts/loadtest.py --url http://127.0.0.1:8080 --image Tests/BLIPTests/Fixtures/tiny/images/astronaut_96x80.png \
        --concurrency 8 --duration 5 --pid $!
"""
import argparse
import base64
import collections
import http.client
import ipaddress
import json
import os
import socket
import sys
import threading
import time
import urllib.parse


def proc_status_kib(pid, field):
    """A KiB field of /proc/PID/status (e.g. VmRSS, VmHWM); None if unavailable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_kib(pid):
    """VmHWM (peak resident set) of a process, KiB; None if unavailable."""
    return proc_status_kib(pid, "VmHWM")


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_request(args):
    """(path, headers, body) for the chosen endpoint."""
    with open(args.image, "rb") as f:
        image = f.read()
    b64 = base64.b64encode(image).decode()
    options = {"max_new_tokens": args.max_new_tokens} if args.max_new_tokens else {}
    if args.endpoint == "inference":
        payload = {"image": b64, **options}
        if args.question:
            payload["question"] = args.question
        return "/api/v1/inference/blip", {"Content-Type": "application/json"}, json.dumps(payload).encode()
    if args.endpoint == "hosted":
        inputs = {"images": [{"b64": b64}]}
        if args.question:
            inputs["texts"] = [[args.question]]
        return "/", {"Content-Type": "application/json"}, json.dumps({"inputs": inputs, "parameters": options}).encode()
    if args.endpoint in ("caption", "vqa"):
        boundary = "loadtestboundary7d1f"
        parts = []
        fields = dict(options)
        if args.endpoint == "vqa":
            fields["question"] = args.question or "what is this?"
        for k, v in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="image"\r\n'
                     f'Content-Type: application/octet-stream\r\n\r\n'.encode() + image + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return f"/{args.endpoint}", {"Content-Type": f"multipart/form-data; boundary={boundary}"}, b"".join(parts)
    raise SystemExit(f"unknown endpoint {args.endpoint}")


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def retry_delay(response, remaining):
    """Seconds to wait after a 503, as its Retry-After header says (seconds form; 1 s when
    absent or unreadable), never past the end of the run."""
    try:
        delay = float(response.getheader("Retry-After", "1"))
    except ValueError:
        delay = 1.0
    if not delay >= 0:  # NaN or negative
        delay = 1.0
    return max(0.0, min(delay, remaining))


def run_load(host, port, path, headers, body, concurrency, duration, timeout=60.0, pid=None):
    """N clients, one keep-alive connection each, POST `body` to `path` until `duration` seconds
    have passed. A 503 makes its client wait as long as Retry-After says. Returns the summary."""
    lock = threading.Lock()
    latencies = []
    statuses = collections.Counter()
    errors = collections.Counter()
    deadline = time.monotonic() + duration

    def client():
        conn = None
        while time.monotonic() < deadline:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            start = time.monotonic()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                elapsed = time.monotonic() - start
                with lock:
                    statuses[response.status] += 1
                    if response.status == 200:
                        latencies.append(elapsed)
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
                if response.status == 503:
                    time.sleep(retry_delay(response, deadline - time.monotonic()))
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    errors[type(e).__name__] += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)
        if conn is not None:
            conn.close()

    rss_before = peak_rss_kib(pid) if pid else None
    started = time.monotonic()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + timeout + 5)
    wall = time.monotonic() - started
    rss_after = peak_rss_kib(pid) if pid else None

    latencies.sort()
    ok = len(latencies)
    return {
        "endpoint": path,
        "concurrency": concurrency,
        "seconds": round(wall, 2),
        "requests": sum(statuses.values()),
        "ok": ok,
        "throughput_rps": round(ok / wall, 2) if wall > 0 else 0,
        "latency_ms": {f"p{p}": round(percentile(latencies, p) * 1000, 1) for p in (50, 90, 99)},
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "client_errors": dict(errors),
        "server_peak_rss_mib": round(rss_after / 1024, 1) if rss_after else None,
        "server_peak_rss_mib_before": round(rss_before / 1024, 1) if rss_before else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--image", required=True)
    ap.add_argument("--endpoint", choices=["inference", "hosted", "caption", "vqa"], default="inference")
    ap.add_argument("--question", help="ask this instead of captioning (needs a VQA model)")
    ap.add_argument("--max-new-tokens", type=int, default=0)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds (at most 600)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    ap.add_argument("--pid", type=int, help="server process id, for its peak RSS")
    ap.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    args = ap.parse_args()

    url = urllib.parse.urlparse(args.url)
    host, port = url.hostname, url.port or 80
    if url.scheme != "http" or not is_loopback(host):
        raise SystemExit("loadtest: only http:// loopback targets (127.0.0.0/8, localhost, ::1)")
    if not 1 <= args.concurrency <= 256:
        raise SystemExit("loadtest: --concurrency must be in 1...256")
    if not 0 < args.duration <= 600:
        raise SystemExit("loadtest: --duration must be in (0, 600]")

    path, headers, body = build_request(args)
    summary = run_load(host, port, path, headers, body, args.concurrency, args.duration, args.timeout, args.pid)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['requests']} requests in {summary['seconds']} s with {args.concurrency} clients to {path}")
        print(f"throughput: {summary['throughput_rps']} ok/s")
        lat = summary["latency_ms"]
        print(f"latency (200s): p50 {lat['p50']} ms, p90 {lat['p90']} ms, p99 {lat['p99']} ms")
        print(f"statuses: {summary['statuses']}  client errors: {summary['client_errors'] or 'none'}")
        if summary['server_peak_rss_mib']:
            print(f"server peak RSS (VmHWM): {summary['server_peak_rss_mib']} MiB (before: {summary['server_peak_rss_mib_before']} MiB)")
    return 0 if summary["ok"] > 0 and not summary["client_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
