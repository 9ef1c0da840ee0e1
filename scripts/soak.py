#!/usr/bin/env python3
"""Soak test for `blip serve`: a load test with the known attacks running at the same time.

Starts `blip serve` on 127.0.0.1 (a free port) with the given limits, samples its resident memory
every second, drives N concurrent clients (scripts/loadtest.py) for the given time, and runs
these attacks alongside, each bounded in count and time:

  nan        form and JSON requests with length_penalty=nan and out-of-range numbers (expect 422)
  slowbody   connections that announce a large body and send 1 byte per second (expect 408/close)
  idle       many idle keep-alive connections held open (the connection cap and idle timeout)
  pixels     hosted `POST /` requests carrying 8 small PNGs that decode to 16 MP each (the
             decoded-pixel budget: expect 503/413, never unbounded memory)
  multipart  16 MB bodies of '-' with a 200-dash boundary (a linear-time boundary search)

Then it checks that the server still answers /health, stops it with SIGTERM, and prints one JSON
summary: load statuses and latencies, attack statuses, RSS samples (max, last), whether the
server died, and how it exited. Exits non-zero when the server died or did not stop.

    swift build -c release
    python3 scripts/soak.py --model Tests/BLIPTests/Fixtures/tiny --clients 64 --duration 60
    python3 scripts/soak.py --model /tmp/swift-blip-bench/caption-base --clients 16 --duration 30

Only loopback is used. Standard library only.
"""
import argparse
import base64
import collections
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadtest  # noqa: E402


def png(width, height):
    """A solid grey RGB PNG (compresses to a few KB however large it is)."""
    row = b"\x00" + b"\x80" * (3 * width)
    raw = zlib.compress(row * height, 9)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def multipart(fields, files, boundary="soakboundary3f9a"):
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    for k, data in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{k}"\r\n'
                     f'Content-Type: application/octet-stream\r\n\r\n'.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, b"".join(parts)


class Attacks:
    """Each attack runs in its own thread until `deadline`, counting outcomes."""

    def __init__(self, host, port, image, deadline):
        self.host, self.port, self.image, self.deadline = host, port, image, deadline
        self.lock = threading.Lock()
        self.outcomes = collections.defaultdict(collections.Counter)

    def count(self, attack, outcome):
        with self.lock:
            self.outcomes[attack][str(outcome)] += 1

    def post(self, attack, path, headers, body, timeout=60):
        try:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            self.count(attack, response.status)
            return response
        except (OSError, http.client.HTTPException) as e:
            self.count(attack, type(e).__name__)
            return None

    def nan(self):
        b64 = base64.b64encode(self.image).decode()
        cases = [
            ("/caption",) + multipart({"length_penalty": "nan"}, {"file": self.image}),
            ("/caption",) + multipart({"temperature": "inf", "do_sample": "true"}, {"file": self.image}),
            ("/api/v1/inference/blip", {"Content-Type": "application/json"},
             json.dumps({"image": b64, "seed": -1}).encode()),
            ("/api/v1/inference/blip", {"Content-Type": "application/json"},
             ('{"image": "%s", "max_new_tokens": 1234567890123456789012345}' % b64).encode()),
        ]
        i = 0
        while time.monotonic() < self.deadline:
            path, headers, body = cases[i % len(cases)]
            self.post("nan", path, headers, body, timeout=30)
            i += 1
            time.sleep(0.2)

    def slowbody(self, connections=32):
        def one():
            while time.monotonic() < self.deadline:
                try:
                    s = socket.create_connection((self.host, self.port), timeout=5)
                    s.sendall(b"POST /caption HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                              b"Content-Length: 16000000\r\n\r\n")
                    outcome = "held_to_end"
                    while time.monotonic() < self.deadline:
                        s.sendall(b"-")
                        s.settimeout(1.0)
                        try:
                            data = s.recv(4096)
                            if not data:
                                outcome = "closed"
                                break
                            m = re.match(rb"HTTP/1\.1 (\d+)", data)
                            outcome = m.group(1).decode() if m else "answered"
                            break
                        except socket.timeout:
                            pass
                    s.close()
                    self.count("slowbody", outcome)
                except OSError as e:
                    self.count("slowbody", type(e).__name__)
                    time.sleep(0.5)
        threads = [threading.Thread(target=one, daemon=True) for _ in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def idle(self, connections=300):
        held = []
        for _ in range(connections):
            if time.monotonic() >= self.deadline:
                break
            try:
                held.append(socket.create_connection((self.host, self.port), timeout=5))
            except OSError as e:
                self.count("idle", "connect_" + type(e).__name__)
        self.count("idle", f"opened_{len(held)}")
        # Watch which the server closes (idle timeout or connection cap).
        closed = 0
        while time.monotonic() < self.deadline and held:
            for s in list(held):
                s.settimeout(0.01)
                try:
                    if s.recv(1) == b"":
                        closed += 1
                        held.remove(s)
                        s.close()
                except socket.timeout:
                    pass
                except OSError:
                    closed += 1
                    held.remove(s)
            time.sleep(0.5)
        self.count("idle", f"closed_by_server_{closed}")
        for s in held:
            s.close()

    def pixels(self, concurrency=4):
        big = base64.b64encode(png(4000, 4000)).decode()
        body = json.dumps({"inputs": {"images": [{"b64": big}] * 8}, "parameters": {"max_new_tokens": 5}}).encode()

        def one():
            while time.monotonic() < self.deadline:
                r = self.post("pixels", "/", {"Content-Type": "application/json"}, body, timeout=120)
                if r is not None and r.status == 503:
                    time.sleep(loadtest.retry_delay(r, self.deadline - time.monotonic()))
        threads = [threading.Thread(target=one, daemon=True) for _ in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def multipart_bomb(self):
        boundary = "-" * 200
        body = b"-" * 16_000_000
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        while time.monotonic() < self.deadline:
            self.post("multipart", "/caption", headers, body, timeout=60)
            time.sleep(1.0)

    def run(self, names):
        table = {"nan": self.nan, "slowbody": self.slowbody, "idle": self.idle, "pixels": self.pixels,
                 "multipart": self.multipart_bomb}
        threads = [threading.Thread(target=table[n], daemon=True) for n in names]
        for t in threads:
            t.start()
        return threads


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blip", default=".build/release/blip")
    ap.add_argument("--model", default="Tests/BLIPTests/Fixtures/tiny", help="captioning model directory")
    ap.add_argument("--image", default="Tests/BLIPTests/Fixtures/tiny/images/astronaut_96x80.png")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds (at most 600)")
    ap.add_argument("--max-new-tokens", type=int, default=20)
    ap.add_argument("--attacks", default="nan,slowbody,idle,pixels,multipart",
                    help="comma-separated: nan,slowbody,idle,pixels,multipart (empty: none)")
    ap.add_argument("--serve-arg", action="append", default=[],
                    help="extra argument for blip serve (repeatable), e.g. --serve-arg=--max-connections=256")
    ap.add_argument("--nofile", type=int, default=1024, help="the server's open-file limit (ulimit -n)")
    args = ap.parse_args()
    if not 1 <= args.clients <= 256:
        raise SystemExit("soak: --clients must be in 1...256")
    if not 0 < args.duration <= 600:
        raise SystemExit("soak: --duration must be in (0, 600]")
    attacks = [a for a in args.attacks.split(",") if a]

    import resource

    def limit_files():
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, args.nofile))

    command = [args.blip, "serve", "--caption-model", args.model, "--host", "127.0.0.1", "--port", "0"] + args.serve_arg
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limit_files, text=True)
    line = server.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    if not m:
        server.kill()
        raise SystemExit(f"soak: blip serve did not start: {line!r} {server.stderr.read()[:2000]}")
    port = int(m.group(1))
    threading.Thread(target=lambda: server.stdout.read(), daemon=True).start()
    stderr_tail = collections.deque(maxlen=20)
    threading.Thread(target=lambda: [stderr_tail.append(l) for l in server.stderr], daemon=True).start()

    samples = []
    stop_sampling = threading.Event()

    def sample():
        while not stop_sampling.is_set():
            r = loadtest.proc_status_kib(server.pid, "VmRSS")
            if r is None:
                break
            samples.append(round(r / 1024, 1))
            stop_sampling.wait(1.0)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    with open(args.image, "rb") as f:
        image = f.read()
    attack_runner = Attacks("127.0.0.1", port, image, time.monotonic() + args.duration)
    attack_threads = attack_runner.run(attacks)
    load_args = argparse.Namespace(image=args.image, endpoint="inference", question=None,
                                   max_new_tokens=args.max_new_tokens)
    path, headers, body = loadtest.build_request(load_args)
    load = loadtest.run_load("127.0.0.1", port, path, headers, body, args.clients, args.duration, timeout=120)
    for t in attack_threads:
        t.join(150)

    alive = server.poll() is None
    health = None
    if alive:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/health")
            health = conn.getresponse().status
            conn.close()
        except (OSError, http.client.HTTPException) as e:
            health = type(e).__name__
    stop_sampling.set()
    sampler.join(5)
    exit_status = server.poll()
    stopped_by_sigterm = None
    if exit_status is None:
        server.send_signal(signal.SIGTERM)
        try:
            exit_status = server.wait(15)
            stopped_by_sigterm = True
        except subprocess.TimeoutExpired:
            server.kill()
            exit_status = server.wait()
            stopped_by_sigterm = False
    summary = {
        "command": " ".join(command),
        "clients": args.clients,
        "duration_s": args.duration,
        "load": load,
        "attacks": {k: dict(v) for k, v in sorted(attack_runner.outcomes.items())},
        "rss_mib": {"samples": len(samples), "max": max(samples) if samples else None,
                    "last": samples[-1] if samples else None},
        "server_alive_after_load": alive,
        "health_after_load": health,
        "stopped_by_sigterm": stopped_by_sigterm,
        "exit_status": exit_status,
        "server_stderr_tail": list(stderr_tail)[-5:],
    }
    print(json.dumps(summary, indent=1))
    return 0 if alive and health == 200 and stopped_by_sigterm else 1


if __name__ == "__main__":
    sys.exit(main())
