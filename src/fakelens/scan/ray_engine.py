"""The Ray engine of `fakelens scan`: Ray Data `map_batches` over a pool of model actors, on a local
Ray instance by default or on a cluster by address. Results stream back as they finish, so the
caller appends (and a killed scan resumes) exactly as with the local engine."""

from __future__ import annotations

import json
import os
import socket
from typing import Iterator

from fakelens.errors import FakelensError, one_line
from fakelens.scan.worker import chunks_of


class _Analyzer:
    """One Ray actor: the scan worker (fakelens.scan.worker) with its models, for the paths of each batch."""

    def __init__(self, options):
        from fakelens.scan import worker

        worker.init(options)

    def __call__(self, batch: dict) -> dict:
        from fakelens.scan import worker

        return {"record": [json.dumps(r) for r in worker.analyze_chunk([str(p) for p in batch["path"]])]}


def _reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """Refuse an address nobody answers at within seconds: Ray itself retries for minutes, printing as it goes."""
    if not address or address == "auto":
        return
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s).close()
    except (OSError, ValueError) as e:
        raise FakelensError(f"cannot reach the Ray cluster at {address} ({one_line(e)})") from None


def ray_records(paths: list[str], workers: int, options, address: str | None = None) -> Iterator[dict]:
    try:
        import ray
    except ImportError:
        raise FakelensError("the ray engine needs Ray: pip install 'fakelens[ray]'") from None
    if not paths:
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    started = not ray.is_initialized()
    if started:
        _reachable(address)
        try:
            ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                     log_to_driver=False, ignore_reinit_error=True)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise FakelensError(f"cannot join the Ray cluster at {address}: {one_line(e)}") from None
    try:
        ds = ray.data.from_items([{"path": p} for p in paths])
        results = ds.map_batches(_Analyzer, fn_constructor_args=(options,), batch_size=len(chunks_of(paths, workers)[0]),
                                 compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1)
        for row in results.iter_rows():
            yield json.loads(row["record"])
    finally:
        if started:
            ray.shutdown()
