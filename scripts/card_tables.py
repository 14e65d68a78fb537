"""The model card's tables, printed as Markdown from the committed JSON beside the weights
(src/fakelens/weights/card/<name>.json from `detection2.py report`, <name>-training.json from the run's
history.json and choices.json), so every figure in MODEL_CARD.md comes from a file in the repo.

    python scripts/card_tables.py fakelens-lite0-v4
    python scripts/card_tables.py fakelens-lite0-v4 --training runs/v4x   # first writes <name>-training.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CARD_DIR = Path(__file__).resolve().parents[1] / "src" / "fakelens" / "weights" / "card"


def _f(x, nd=3) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def _ci(row) -> str:
    ci = row.get("ci95")
    return f"{_f(row.get('auroc'))} [{_f(ci[0])}, {_f(ci[1])}]" if ci else _f(row.get("auroc"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name")
    ap.add_argument("--training", type=Path, default=None, help="a run folder: copy its history and choices first")
    args = ap.parse_args()
    training_file = CARD_DIR / f"{args.name}-training.json"
    if args.training:
        history = json.loads((args.training / "history.json").read_text())
        choices = json.loads((args.training / "choices.json").read_text())
        config = json.loads((args.training / "config.json").read_text())
        training_file.write_text(json.dumps({"config": config, "history": history, "choices": choices}, indent=1) + "\n")
    training = json.loads(training_file.read_text())

    card_file = CARD_DIR / f"{args.name}.json"  # from `detection2.py report`; a run not reported yet has none
    if card_file.exists():
        _reported_tables(json.loads(card_file.read_text()))

    print("\n### Validation split, per epoch (development numbers: these chose the soup and threshold)\n")
    keys = sorted({k for h in training["history"] for k in h if k.startswith("val_auroc:")})
    print("| epoch | lr | train loss | val loss | mean per-source AUROC | " + " | ".join(k.split(":", 1)[1] for k in keys) + " |")
    print("|---" * (5 + len(keys)) + "|")
    for h in training["history"]:
        print(f"| {h['epoch']} | {h['lr']:.2e} | {h['train_loss']:.3f} | {h['val_loss']:.3f} | {h['val_score']:.3f} | "
              + " | ".join(_f(h.get(k)) for k in keys) + " |")
    c = training["choices"]
    print(f"\nSoup: {', '.join(c['soup'])}; validation mean per-source AUROC of the soup {c['validation']['val_score']:.3f}; "
          f"threshold {c['threshold']:.4f} ({c['threshold_rule']}).")


def _reported_tables(card: dict) -> None:
    """The test split's tables, then the ablations' and the validation shortcut check's."""
    print("### Test split (held out before training, scored once)\n")
    print("| source | pictures | fakes | AUROC [95% CI over groups] | FPR at threshold | recall at threshold "
          "| no face | shortcut baseline AUROC | sharpness-matched AUROC (n) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in card["sources"].items():
        print(f"| {name} | {r['n']} | {r['fakes']} | {_ci(r)} | {_f(r.get('false_positive_rate'))} | "
              f"{_f(r.get('recall'))} | {r.get('no_face', '-')} | {_f(r.get('shortcut_baseline_auroc'))} | "
              f"{_f(r.get('sharpness_matched_auroc'))} ({r.get('sharpness_matched_n', '-')}) |")
    if "manipulation" in card:
        m = card["manipulation"]
        kinds = ", ".join(f"{k} {v:.3f}" for k, v in m["per_kind"].items())
        print(f"\nKind of fake right for {m['right']:.3f} of the {m['fakes_called_fake']} test fakes called fake "
              f"whose kind is known ({kinds}).")
    if "leave_one_generator_out" in card:
        same = card.get("same_families_same_recipe", {})
        print("\n### Leave one generator out (test split)\n")
        print("| family left out | fakes | reals | AUROC without it [95% CI] | the same short recipe with it | "
              "the shipped model |")
        print("|---|---|---|---|---|---|")
        for fam, r in card["leave_one_generator_out"].items():
            print(f"| {fam} | {r['fakes']} | {r['reals']} | {_ci(r)} | {_ci(same[fam]) if fam in same else '-'} | "
                  f"{_ci(card['same_families_full_model'][fam])} |")

    ablations = CARD_DIR / "ablations.json"
    if ablations.exists():
        a = json.loads(ablations.read_text())
        keys = sorted({k for v in a["validation"].values() for k in v if k.startswith("val_auroc:")})
        cost = a.get("cost", {})  # per variant: multiply-accumulates per face, torch throughput against the recipe's
        print("\n### What each part of the recipe buys (short runs, validation split: development numbers)\n")
        # The clip-frame sources hold a few clips each and swing between seeds: the picture sources' mean beside it.
        pictures = [k for k in keys if not k.endswith("-frames")]
        print("| variant | change | mean per-source AUROC | mean of the picture sources | "
              + " | ".join(k.split(":", 1)[1] for k in keys) + " | GMACs per face | throughput x the recipe |")
        print("|---" * (6 + len(keys)) + "|")
        for name, v in a["validation"].items():
            change = ", ".join(f"{k}={x}" for k, x in a["variants"][name].items()) or "none (the recipe)"
            c = cost.get(name, {})
            print(f"| {name} | {change} | {v['val_score']:.3f} | {sum(v[k] for k in pictures) / len(pictures):.3f} | "
                  + " | ".join(_f(v.get(k)) for k in keys)
                  + f" | {_f(c.get('gmacs_per_face'), 2)} | {_f(c.get('throughput_x_recipe'), 2)} |")

    shortcut = CARD_DIR / "validation-shortcut.json"
    if shortcut.exists():  # `detection2.py shortcut-check`
        runs = json.loads(shortcut.read_text())["runs"]
        sources = sorted({k for r in runs.values() for k, v in r.items() if v.get("shortcut_baseline_auroc") is not None})
        print("\n### Where sharpness carries no label (validation split: development numbers)\n")
        print("AUROC / sharpness-matched AUROC (pictures in the matched subset); last row: the shortcut baseline.\n")
        print("| run | " + " | ".join(sources) + " |")
        print("|---" * (1 + len(sources)) + "|")
        for name, r in runs.items():
            print(f"| {name} | " + " | ".join(f"{_f(r[s]['auroc'])} / {_f(r[s].get('sharpness_matched_auroc'))} "
                                              f"({r[s].get('sharpness_matched_n', '-')})" if s in r else "-"
                                              for s in sources) + " |")
        first = next(iter(runs.values()))
        print("| shortcut baseline | " + " | ".join(_f(first[s].get("shortcut_baseline_auroc")) if s in first else "-"
                                                  for s in sources) + " |")


if __name__ == "__main__":
    main()
