"""`fakelens serve` under load: a real server process on localhost with an API key (made by
`fakelens keys create`, sent on every request), N requests from a thread pool (good uploads, bad
uploads, reads, unknown ids), then the queue drained. Prints status codes, latency percentiles,
throughput and the resident memory of the server and its analysis process over the run.

    python benchmarks/bench_server.py --requests 1000 --concurrency 8
"""

from __future__ import annotations

import argparse
import io
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass
class LoadResult:
    statuses: Counter = field(default_factory=Counter)
    by_kind: dict = field(default_factory=dict)  # request kind -> Counter of status codes
    latencies: list = field(default_factory=list)
    rss_mb: list = field(default_factory=list)  # (seconds since start, server RSS in MB)
    warm_mb: float = 0.0  # server RSS once one analysis has run (models, explainers, ONNX graph loaded)
    seconds: float = 0.0
    drain_seconds: float = 0.0
    jobs: Counter = field(default_factory=Counter)  # final status of every accepted upload


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (the server and its analysis process)."""
    total = 0.0
    try:
        with open(f"/proc/{pid}/status") as f:
            total = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):  # it ended between two reads
        return total
    return total + sum(rss_mb(c) for c in children)


def _face_pngs(n: int) -> list[bytes]:
    from skimage import data

    face = Image.fromarray(data.astronaut()[:300, 60:360]).resize((160, 160))
    out = []
    for i in range(n):  # distinct bytes, one face each
        buf = io.BytesIO()
        face.rotate(i % 11 - 5).save(buf, "PNG")
        out.append(buf.getvalue())
    return out


def make_key(data_dir: Path, name: str = "load", env: dict | None = None) -> str:
    """A new API key from `fakelens keys create NAME` (printed on its last line)."""
    done = subprocess.run([sys.executable, "-m", "fakelens", "keys", "create", name], capture_output=True, text=True,
                          env={**os.environ, "FAKELENS_DATA_DIR": str(data_dir), **(env or {})}, check=True)
    return done.stdout.strip().splitlines()[-1]


def start_server(data_dir: Path, max_upload_mb: float = 1, env: dict | None = None, args: tuple = ()
                 ) -> tuple[subprocess.Popen, str]:
    """`fakelens serve` in its own process on a free port; returns (process, base URL) once /healthz answers."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "fakelens", "serve", "--port", str(port),
                             "--max-upload-mb", str(max_upload_mb), *args],
                            env={**os.environ, "FAKELENS_DATA_DIR": str(data_dir), **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-500:]}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start in 60 s")


def run_load(url: str, pid: int, requests: int = 1000, concurrency: int = 8, upload_share: float = 0.2,
             bad_share: float = 0.2, seed: int = 0, drain_timeout: float = 600, key: str | None = None) -> LoadResult:
    """After one warm-up analysis, send `requests` mixed requests (with `key` as a Bearer token), sample
    the server's memory, then wait until every upload is analyzed."""
    import httpx

    rng = random.Random(seed)
    faces = _face_pngs(64)
    truncated = faces[0][: len(faces[0]) // 3]
    bad = [("text", b"this is not an image\n" * 10), ("empty", b""), ("oversize", b"\xff\xd8\xff" + bytes(2 << 20)),
           ("truncated", truncated), ("noise", bytes(rng.getrandbits(8) for _ in range(4096)))]
    kinds = []
    for _ in range(requests):
        r = rng.random()
        kinds.append("upload" if r < upload_share else "bad" if r < upload_share + bad_share else
                     rng.choice(["list", "get", "report", "missing", "page"]))
    res = LoadResult()
    ids: list[int] = []
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(base_url=url, timeout=60, headers=headers) as client:  # warm-up: one analysis loads everything
        job = client.post("/v1/analyses", files={"file": ("warm.png", faces[-1])}).json()["id"]
        deadline = time.time() + drain_timeout
        while client.get(f"/v1/analyses/{job}").json()["status"] not in ("done", "failed") and time.time() < deadline:
            time.sleep(0.2)
    res.warm_mb = rss_mb(pid)
    t_start = time.perf_counter()

    def one(i: int, kind: str, client: httpx.Client) -> tuple[str, int, float]:
        t = time.perf_counter()
        if kind == "upload":
            r = client.post("/v1/analyses", files={"file": (f"../../{i}.png", faces[i % len(faces)])})
            if r.status_code == 202:
                ids.append(r.json()["id"])
        elif kind == "bad":
            name, body = bad[i % len(bad)]
            kind = f"bad:{name}"
            r = client.post("/v1/analyses", files={"file": (f"{name}.jpg", body)})
            if r.status_code == 202:  # sniffed as an image, fails in the analysis: must finish all the same
                ids.append(r.json()["id"])
        elif kind in ("get", "report") and ids:
            job = rng.choice(ids)
            r = client.get(f"/v1/analyses/{job}" + ("/report" if kind == "report" else ""))
        elif kind == "missing":
            r = client.get("/v1/analyses/987654321")
        elif kind == "page":
            r = client.get("/")
        else:
            kind = "list"
            r = client.get("/v1/analyses", params={"limit": 100})
        return kind, r.status_code, time.perf_counter() - t

    with httpx.Client(base_url=url, timeout=60, headers=headers) as client, ThreadPoolExecutor(concurrency) as pool:
        futures = [pool.submit(one, i, k, client) for i, k in enumerate(kinds)]
        for i, fut in enumerate(futures):
            kind, status, sec = fut.result()
            res.statuses[status] += 1
            res.by_kind.setdefault(kind, Counter())[status] += 1
            res.latencies.append(sec)
            if i % 50 == 0:
                res.rss_mb.append((time.perf_counter() - t_start, rss_mb(pid)))
        res.seconds = time.perf_counter() - t_start
        deadline = time.time() + drain_timeout
        pending = set(ids)
        while pending and time.time() < deadline:  # the worker analyzes queued uploads one by one
            for job in list(pending):
                status = client.get(f"/v1/analyses/{job}").json()["status"]
                if status in ("done", "failed"):
                    res.jobs[status] += 1
                    pending.discard(job)
            res.rss_mb.append((time.perf_counter() - t_start, rss_mb(pid)))
            time.sleep(0.5)
        res.jobs["unfinished"] += len(pending)
        res.drain_seconds = time.perf_counter() - t_start - res.seconds
    res.rss_mb.append((time.perf_counter() - t_start, rss_mb(pid)))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--model", help="image checkpoint the server uses (default: the shipped model)")
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp())
    key = make_key(data)
    # The load comes from one key: lift its rate limit (the limiter still runs on every request).
    proc, url = start_server(data, env={"FAKELENS_MODEL": args.model} if args.model else None,
                             args=("--rate-limit", "1000000"))
    try:
        idle = rss_mb(proc.pid)
        res = run_load(url, proc.pid, args.requests, args.concurrency, key=key)
    finally:
        proc.terminate()
        proc.wait(10)
    lat = np.array(res.latencies) * 1000
    rss = [m for _, m in res.rss_mb]
    print(f"{args.requests} requests, {args.concurrency} concurrent, each with an API key, model "
          f"{Path(args.model).name if args.model else 'shipped default'}, explanations: gradcam\n")
    print("| requests | seconds | requests/s | p50 ms | p95 ms | p99 ms | 5xx | status codes |")
    print("|---|---|---|---|---|---|---|---|")
    codes = ", ".join(f"{k}: {v}" for k, v in sorted(res.statuses.items()))
    print(f"| {len(lat)} | {res.seconds:.1f} | {len(lat) / res.seconds:.0f} | {np.percentile(lat, 50):.0f} | "
          f"{np.percentile(lat, 95):.0f} | {np.percentile(lat, 99):.0f} | "
          f"{sum(v for k, v in res.statuses.items() if k >= 500)} | {codes} |")
    print("\n| request | status codes |")
    print("|---|---|")
    for kind, c in sorted(res.by_kind.items()):
        print(f"| {kind} | {', '.join(f'{k}: {v}' for k, v in sorted(c.items()))} |")
    uploads = sum(res.jobs.values())
    print(f"\nqueued analyses: {uploads} ({', '.join(f'{k} {v}' for k, v in res.jobs.items())}), drained in "
          f"{res.drain_seconds:.1f} s after the last request")
    print("\n| RSS MB, server + analysis process: idle | after one analysis (warm) | peak under load | end |")
    print("|---|---|---|---|")
    print(f"| {idle:.0f} | {res.warm_mb:.0f} | {max(rss):.0f} | {rss[-1]:.0f} |")


if __name__ == "__main__":
    main()
