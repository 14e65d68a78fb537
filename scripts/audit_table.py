"""The README's explanation table from an `fakelens audit-explainers` result.

    .venv/bin/python scripts/audit_table.py benchmarks/results/faithfulness-audit-v4-100val.json
    .venv/bin/python scripts/audit_table.py benchmarks/results/faithfulness-audit-v4-100val.json --by-class
    .venv/bin/python scripts/audit_table.py benchmarks/results/faithfulness-audit-checks-v4-100val.json --checks

Per method, best first: the gain over a random map with its 95% interval, deletion and insertion AUC
beside the random map's on the same faces, and the issue's ratios (deletion: random AUC / the
method's, insertion: the method's / random's; both above 1 when the map beats random). With
`--by-class`, the same AUCs over the real and over the fake faces (face-weighted means of the
audit's per-source groups). With `--checks`, the robustness and sanity columns (an audit run with
`--checks robustness,sanity`), each with its 95% interval.
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("audit", help="audit.json written by `fakelens audit-explainers --out DIR`")
    ap.add_argument("--by-class", action="store_true")
    ap.add_argument("--checks", action="store_true")
    args = ap.parse_args()
    from fakelens.metrics.audit_summary import format_ci
    from fakelens.explain.registry import display_name

    methods = json.load(open(args.audit))["methods"]
    if args.by_class:
        by_class(methods)
        return
    if args.checks:
        checks(methods)
        return
    print("| rank | method | gain over a random map | deletion AUC (random map) | insertion AUC (random map) "
          "| deletion: random / method | insertion: method / random |")
    print("|---|---|---|---|---|---|---|")
    for name, r in sorted(methods.items(), key=lambda kv: kv[1]["rank"]):
        base, _, block = name.partition("@")
        label = display_name(base) + (f" (block {block})" if block else "")
        print(f"| {r['rank']} | {label} | {format_ci(r, 'gain')} "
              f"| {r['deletion_auc']:.3f} ({r['random_deletion_auc']:.3f}) "
              f"| {r['insertion_auc']:.3f} ({r['random_insertion_auc']:.3f}) "
              f"| {r['random_deletion_auc'] / r['deletion_auc']:.2f}x | {r['insertion_auc'] / r['random_insertion_auc']:.2f}x |")


def by_class(methods: dict) -> None:
    keys = ("deletion_auc", "random_deletion_auc", "insertion_auc", "random_insertion_auc")
    print("| method | class | faces | deletion AUC (random map) | insertion AUC (random map) |\n|---|---|---|---|---|")
    for name, r in sorted(methods.items(), key=lambda kv: kv[1]["rank"]):
        for cls in ("real", "fake"):
            groups = [g for key, g in r["groups"].items() if key.endswith("/" + cls)]
            n = sum(g["faces"] for g in groups)
            mean = {k: sum(g[k] * g["faces"] for g in groups) / n for k in keys}
            print(f"| {name} | {cls} | {n} | {mean['deletion_auc']:.3f} ({mean['random_deletion_auc']:.3f}) "
                  f"| {mean['insertion_auc']:.3f} ({mean['random_insertion_auc']:.3f}) |")


def checks(methods: dict) -> None:
    from fakelens.metrics.audit_summary import format_ci
    from fakelens.explain.registry import display_name

    def ci(r: dict, key: str, fmt: str = ".2f") -> str:  # two decimals: correlations, not AUCs
        return format_ci(r, key, fmt)

    print("| method | faces | blur: Spearman | blur: SSIM | small affine: Spearman | small affine: SSIM "
          "| sanity: similarity with half the layers random | sanity: pass rate |\n|---|---|---|---|---|---|---|---|")
    for name, r in sorted(methods.items(), key=lambda kv: kv[1]["rank"]):
        print(f"| {display_name(name)} | {r['faces']} | {ci(r, 'blur_spearman')} | {ci(r, 'blur_ssim')} "
              f"| {ci(r, 'affine_spearman')} | {ci(r, 'affine_ssim')} | {ci(r, 'sanity_similarity_at_half')} "
              f"| {ci(r, 'sanity_pass_rate', '.0%')} |")


if __name__ == "__main__":
    main()
