"""The OpenAPI contract, checked by schemathesis (`schemathesis run --checks all`, every phase:
examples, coverage, fuzzing, stateful) against a real `fakelens serve` process with keys on.
Bounded by --max-examples so it runs in well under a minute on two cores."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
BENCH = TESTS.parent / "benchmarks" / "bench_server.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_server", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_server"] = module
    spec.loader.exec_module(module)
    return module


def test_schemathesis_finds_no_failure(tmp_path, tiny_checkpoint):
    bench = _bench()
    env = {"FAKELENS_MODEL": str(tiny_checkpoint)}
    key = bench.make_key(tmp_path / "data", env=env)
    proc, url = bench.start_server(tmp_path / "data", env=env, args=("--rate-limit", "1000000"))
    try:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/openapi.json", "--checks", "all",
             "--max-examples", "15", "--seed", "1", "--no-color", "--header", f"Authorization: Bearer {key}",
             "--request-timeout", "30"],
            env={**os.environ, "SCHEMATHESIS_HOOKS": str(TESTS / "schemathesis_hooks.py")},
            cwd=tmp_path, capture_output=True, text=True, timeout=300)  # its cache (.schemathesis/) stays out of the repo
    finally:
        proc.terminate()
        proc.wait(10)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    generated = re.search(r"(\d+) generated", out)
    assert generated and int(generated.group(1)) >= 100, out[-2000:]  # it really exercised the API
    assert "No issues found" in out or " 0 failures" in out or "passed" in out, out[-2000:]
