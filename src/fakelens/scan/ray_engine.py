"""The Ray engine of `fakelens scan`: Ray Data `map_batches` over a pool of model actors, on a local
Ray instance by default or on a cluster by address. Results stream back as they finish, so the
caller appends (and a killed scan resumes) exactly as with the local engine."""

from __future__ import annotations

import json
import os
from typing import Iterator

from fakelens.errors import FakelensError


class _Analyzer:
    """One Ray actor: loads the models once, then analyzes the paths of each batch."""

    def __init__(self, model: str | None, video_model: str | None, budget_s: float | None):
        from fakelens.scan.local import _init_worker

        _init_worker(model, video_model, budget_s)

    def __call__(self, batch: dict) -> dict:
        from fakelens.scan.local import analyze_one

        return {"record": [json.dumps(analyze_one(str(p))) for p in batch["path"]]}


def ray_records(paths: list[str], workers: int, model: str | None, video_model: str | None,
                address: str | None = None, budget_s: float | None = None) -> Iterator[dict]:
    try:
        import ray
    except ImportError:
        raise FakelensError("the ray engine needs Ray: pip install 'fakelens[ray]'") from None
    if not paths:
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                 log_to_driver=False, ignore_reinit_error=True)
    try:
        ds = ray.data.from_items([{"path": p} for p in paths])
        results = ds.map_batches(_Analyzer, fn_constructor_args=(model, video_model, budget_s), batch_size=1,
                                 compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1)
        for row in results.iter_rows():
            yield json.loads(row["record"])
    finally:
        if started:
            ray.shutdown()
