"""Is the shipped image model's ONNX Runtime session leaving speed on the table? Model-only seconds
for 200 crops with the test-time flip (400 images), per session setting, each as a ratio to the
setting analysis uses (runtime.CHUNK, 2 threads, ORT's defaults), in interleaved rounds (best of
each), and the operators left after ORT's graph optimisation.

    .venv/bin/python benchmarks/bench_ort_settings.py

Writes benchmarks/results/ort-settings.json and prints a table.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "results" / "ort-settings.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import onnx
    import onnxruntime as ort

    from fakelens.detector import Detector
    from fakelens.runtime import CHUNK

    det = Detector.load(None)
    graph = str(det.scorer.path.with_suffix(".onnx"))
    threads = min(4, os.cpu_count() or 1)
    x = np.random.default_rng(0).random((400, 3, det.input_size, det.input_size), dtype=np.float32)

    def session(n_threads=threads, config=None, level=None, optimized=None):
        o = ort.SessionOptions()
        o.intra_op_num_threads = n_threads
        for k, v in (config or {}).items():
            o.add_session_config_entry(k, v)
        if level is not None:
            o.graph_optimization_level = level
        if optimized:
            o.optimized_model_filepath = optimized
        return ort.InferenceSession(graph, o, providers=["CPUExecutionProvider"])

    base = session()
    cases = {f"analysis's session, chunks of {CHUNK}": (base, CHUNK)}
    cases.update({f"chunks of {c}": (base, c) for c in (4, 8, 32, 64) if c != CHUNK})
    cases["denormals as zero"] = (session(config={"session.set_denormal_as_zero": "1"}), CHUNK)
    cases["no thread spinning"] = (session(config={"session.intra_op.allow_spinning": "0"}), CHUNK)
    cases[f"{threads + 1} threads"] = (session(threads + 1), CHUNK)
    cases["1 thread"] = (session(1), CHUNK)
    cases["graph optimisation 'extended' (no NCHWc layout)"] = (session(level=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED), CHUNK)
    best = {k: np.inf for k in cases}
    for _ in range(args.rounds):
        for name, (s, chunk) in cases.items():
            s.run(["logits"], {"x": x[:chunk]})
            t = time.perf_counter()
            for i in range(0, len(x), chunk):
                s.run(["logits"], {"x": x[i:i + chunk]})
            best[name] = min(best[name], time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        session(optimized=str(Path(tmp) / "opt.onnx"))
        ops = collections.Counter(n.op_type for n in onnx.load(str(Path(tmp) / "opt.onnx")).graph.node)
    ref = best[next(iter(cases))]
    rows = {k: {"seconds": round(v, 3), "x_analysis": round(v / ref, 3)} for k, v in best.items()}
    result = {"model": det.name, "images": len(x), "cpu_count": os.cpu_count(), "rounds": args.rounds, "rows": rows,
              "ops_after_optimisation": dict(ops.most_common()),
              "ops_in_file": dict(collections.Counter(n.op_type for n in onnx.load(graph).graph.node).most_common())}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"| session setting | seconds for {len(x)} images | ratio to analysis's |\n|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['seconds']:.3f} | {r['x_analysis']:.2f} |")
    print("operators after optimisation:", dict(ops.most_common()))


if __name__ == "__main__":
    main()
