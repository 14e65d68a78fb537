"""Issue 17 item 6: do the validated faithfulness metrics cost at most 2x the explanation they score?

What `fakelens analyze --explain` pays, through the one pipeline (`Analyzer.explain`): each method on
each face twice, without the metrics (`faithfulness=0`) and with them (16 steps of 16-px patches,
MoRF, ROAD fill: deletion and insertion of the map plus the random and centre baselines of the face,
which a run with one method pays alone). The metric's cost is the difference, stated as a ratio to
the explanation in the same run. The perturbation methods run on ONNX Runtime as the CLI runs them;
Grad-CAM (torch) is timed for reference. Faces: the astronaut, plus `--faces` validation faces of
`--data` if given. Writes benchmarks/results/faithfulness-cost.json.

    .venv/bin/python benchmarks/bench_faithfulness_cost.py --data ../shared/data --faces 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

OUT = Path(__file__).parent / "results" / "faithfulness-cost.json"
STEPS = 16  # fakelens.explain.run.FAITHFULNESS_STEPS, what analyze --explain uses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="*", default=[])
    ap.add_argument("--faces", type=int, default=4)
    ap.add_argument("--method", default="occlusion,lime,rise,gradcam")
    args = ap.parse_args()
    from skimage import data as skdata

    from fakelens.explain.audit import pick_faces
    from fakelens.explain.base import torch_available
    from fakelens.pipeline import AnalysisOptions, Analyzer

    tmp = Path(tempfile.mkdtemp())
    Image.fromarray(skdata.astronaut()).save(tmp / "astronaut.png")
    analyzer = Analyzer(AnalysisOptions())
    paths = [str(tmp / "astronaut.png")]
    if args.data:
        paths += [p for p, *_ in pick_faces(analyzer.images, args.data, args.faces, "val")]
    methods = [m for m in args.method.split(",") if m != "gradcam" or torch_available()]
    rows, warm = [], set()
    for path in paths:
        result = analyzer.analyze(path)
        if not result.ok or not result.faces:
            continue
        result.faces = result.faces[:1]  # one face per input: the cost per face
        for method in methods:
            if method not in warm:  # first call: model loads and caches, not the method's cost
                analyzer.explain(result, [method], tmp / "out", faithfulness=0, attach=False)
                warm.add(method)
            t = time.perf_counter()
            analyzer.explain(result, [method], tmp / "out", faithfulness=0, attach=False)
            plain = time.perf_counter() - t
            t = time.perf_counter()
            (rec,) = analyzer.explain(result, [method], tmp / "out", faithfulness=STEPS, attach=False)
            judged = time.perf_counter() - t
            rows.append({"path": path, "method": method, "explain_s": round(plain, 4), "with_metrics_s": round(judged, 4),
                         "metrics_x_explain": round((judged - plain) / plain, 3), "deletion_auc": rec.deletion_auc,
                         "random_deletion_auc": rec.baselines["random"]["deletion_auc"]})
            print(rows[-1], flush=True)
    summary = {}
    for method in methods:
        r = [row for row in rows if row["method"] == method]
        summary[method] = {"faces": len(r), "explain_s": round(statistics.median(x["explain_s"] for x in r), 4),
                           "metrics_x_explain": round(statistics.median(x["metrics_x_explain"] for x in r), 3),
                           "perturbation": method != "gradcam"}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"model": analyzer.images.name, "steps": STEPS, "variant": "patch:16, morf, road",
                               "summary": summary, "rows": rows}, indent=1) + "\n")
    print("| method | faces | explanation (s, median) | metrics / explanation (median) |\n|---|---|---|---|")
    for m, s in summary.items():
        print(f"| {m} | {s['faces']} | {s['explain_s']:.3f} | {s['metrics_x_explain']:.2f}x |")


if __name__ == "__main__":
    main()
