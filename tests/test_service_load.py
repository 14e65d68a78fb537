"""The web server under load: 1,000 requests from a load generator on localhost, bad uploads mixed
in, against a real `fakelens serve` process with API keys on: no 5xx, every upload analyzed, memory
flat (the server and its analysis process together)."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_server.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_server", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_server"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_a_thousand_mixed_requests_no_5xx_memory_flat(bench, tmp_path, tiny_checkpoint):
    env = {"FAKELENS_MODEL": str(tiny_checkpoint)}
    key = bench.make_key(tmp_path / "data", env=env)
    proc, url = bench.start_server(tmp_path / "data", env=env, args=("--rate-limit", "1000000"))
    try:
        import httpx

        assert httpx.get(url + "/v1/analyses").status_code == 401  # keys are on
        res = bench.run_load(url, proc.pid, requests=1000, concurrency=8, upload_share=0.1, drain_timeout=300, key=key)
    finally:
        proc.terminate()
        proc.wait(10)
    assert sum(res.statuses.values()) == 1000
    assert not [code for code in res.statuses if code >= 500], res.statuses
    assert set(res.by_kind["upload"]) == {202}
    assert set(res.by_kind["bad:empty"]) == {400} and set(res.by_kind["bad:oversize"]) == {413}
    assert set(res.by_kind["bad:text"]) == set(res.by_kind["bad:noise"]) == {415}
    assert set(res.by_kind["missing"]) == {404} and set(res.by_kind["list"]) == {200}
    assert res.jobs["unfinished"] == 0 and res.jobs["done"] == res.by_kind["upload"][202]
    assert res.jobs["failed"] == res.by_kind["bad:truncated"][202] > 0  # accepted by their header, failed with a reason
    rss = [mb for _, mb in res.rss_mb]
    assert max(rss) - res.warm_mb < 150, f"server memory grew from {res.warm_mb:.0f} MB: {rss}"
    leftovers = list((tmp_path / "data" / "uploads").iterdir())
    assert len(leftovers) == sum(res.jobs.values()) + 1  # one per accepted upload (and the warm-up), none for refusals
