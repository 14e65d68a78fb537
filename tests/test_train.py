"""Training end to end on a tiny model and a dataset the test makes, with a known answer."""

import csv
import json

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from fakelens.cli import app
from fakelens.data import read_datasets
from fakelens.train import TrainConfig, train

runner = CliRunner()


def make_dataset(root, n_groups=60, seed=0):
    """Noise images; fakes carry a bright planted square (a learnable trace). Two images per group."""
    rng = np.random.default_rng(seed)
    (root / "real").mkdir(parents=True)
    (root / "fake").mkdir()
    rows = []
    for g in range(n_groups):
        for j in range(2):
            label = "fake" if (g + j) % 2 else "real"
            img = rng.integers(0, 120, (80, 80, 3), dtype=np.uint8)
            if label == "fake":
                img[30:50, 30:50] = 250
            p = f"{label}/g{g}_{j}.png"
            Image.fromarray(img).save(root / p)
            rows.append({"path": p, "label": label, "group": f"g{g}"})
    with open(root / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["path", "label", "group"])
        w.writeheader()
        w.writerows(rows)
    return root


def test_train_learns_planted_trace_and_resumes(tmp_path):
    data = make_dataset(tmp_path / "toy")
    cfg = TrainConfig(data=[str(data)], out=str(tmp_path / "run"), arch="tiny-cnn", input_size=64, epochs=3,
                      batch_size=16, lr=3e-3, warmup_epochs=1, sbi_ratio=0.0, cache_dir=str(tmp_path / "cache"),
                      progress=False, whole_image=True)
    r = train(cfg)
    assert r.test["all"]["auroc"] > 0.95
    run = tmp_path / "run"
    for name in ("best.safetensors", "last.pt", "history.json", "history.png", "roc.png", "test_metrics.json", "split.json"):
        assert (run / name).exists(), name
    # the split written by the run is group-disjoint
    split = json.loads((run / "split.json").read_text())
    groups = {k: {p.split("/")[-1].split("_")[0] for p in v} for k, v in split.items()}
    assert not groups["train"] & groups["test"] and not groups["val"] & groups["test"]
    # resuming continues from the last epoch instead of starting again
    cfg.epochs = 5
    r2 = train(cfg)
    assert [h["epoch"] for h in r2.history] == [1, 2, 3, 4, 5]
    assert r2.history[:3] == r.history


def test_cli_train_evaluate_and_summary(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    data = make_dataset(tmp_path / "toy", n_groups=30)
    r = runner.invoke(app, ["train", str(data), "--out", str(tmp_path / "run"), "--arch", "tiny-cnn", "--input-size", "64",
                            "--epochs", "2", "--warmup-epochs", "1", "--sbi-ratio", "0", "--batch-size", "16",
                            "--whole-image", "--seed", "5", "--split-seed", "0"])
    assert r.exit_code == 0, r.output
    ckpt = tmp_path / "run" / "best.safetensors"
    from fakelens.runtime import read_meta

    assert (read_meta(ckpt)["seed"], read_meta(ckpt)["train_seed"]) == (0, 5)  # the split's seed, the run's
    r = runner.invoke(app, ["evaluate", str(data), "--model", str(ckpt), "--format", "json", "--whole-image"])
    assert r.exit_code == 0, r.output
    metrics = json.loads(r.stdout)[str(ckpt)]
    saved = json.loads((tmp_path / "run" / "test_metrics.json").read_text())
    assert metrics["all"]["n"] == saved["all"]["n"]  # evaluate re-derives the training run's test split
    assert abs(metrics["all"]["auroc"] - saved["all"]["auroc"]) < 1e-3
    r = runner.invoke(app, ["data", "summary", str(data), "--out", str(tmp_path / "summary")])
    assert r.exit_code == 0 and (tmp_path / "summary" / "split.png").exists() and (tmp_path / "summary" / "samples.png").exists()
    assert "toy" in r.stdout


def test_kfold(tmp_path):
    data = make_dataset(tmp_path / "toy", n_groups=24)
    cfg = TrainConfig(data=[str(data)], out=str(tmp_path / "run"), arch="tiny-cnn", input_size=64, epochs=1,
                      warmup_epochs=0, folds=3, sbi_ratio=0.0, cache_dir=str(tmp_path / "cache"), progress=False,
                      whole_image=True)
    results = train(cfg)
    assert len(results) == 3
    tested = [set(json.loads((tmp_path / "run" / f"fold{k}" / "split.json").read_text())["test"]) for k in range(3)]
    assert not (tested[0] & tested[1]) and len(set.union(*tested)) == len(read_datasets([str(data)]))


def test_pictures_without_a_face_are_no_face_not_whole_image_stand_ins(tmp_path):
    """Evaluation scores what analyze scores: noise holds no face, so nothing is scored (no fallback)."""
    data = make_dataset(tmp_path / "toy", n_groups=6)
    ckpt = tmp_path / "run"
    train(TrainConfig(data=[str(data)], out=str(ckpt), arch="tiny-cnn", input_size=64, epochs=1, warmup_epochs=0,
                      sbi_ratio=0.0, cache_dir=str(tmp_path / "cache"), progress=False, whole_image=True))
    r = runner.invoke(app, ["evaluate", str(data), "--model", str(ckpt / "best.safetensors"), "--format", "json",
                            "--split", "all"])
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)[str(ckpt / "best.safetensors")]["all"]
    assert m["no_face"] == m["n"] == 12 and m["recall"] == 0.0 and m["false_positive_rate"] == 0.0


def test_another_training_seed_keeps_the_split(tmp_path):
    """`split_seed` fixes the split while `seed` changes the run (run-to-run noise on one split); the
    checkpoint records the split's seed, so `model_split` draws that split again."""
    from fakelens.data.samples import model_split
    from fakelens.data.split import group_split
    from fakelens.runtime import read_meta

    data = make_dataset(tmp_path / "toy", n_groups=24)
    cfg = TrainConfig(data=[str(data)], out=str(tmp_path / "run"), arch="tiny-cnn", input_size=64, epochs=1,
                      warmup_epochs=0, sbi_ratio=0.0, cache_dir=str(tmp_path / "cache"), progress=False,
                      whole_image=True, evaluate_test=False, seed=7, split_seed=3)
    train(cfg)
    meta = read_meta(tmp_path / "run" / "best.safetensors")
    assert meta["seed"] == 3 and meta["train_seed"] == 7
    samples, val = model_split([str(data)], meta, "val", progress=False)
    assert val == group_split(samples, (4, 1, 1), 3)["val"] != group_split(samples, (4, 1, 1), 7)["val"]
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    assert sorted(split["val"]) == sorted(samples[i].path for i in val)


def test_plain_class_folders(tmp_path):
    root = tmp_path / "folders"
    for label in ("real", "fake"):
        (root / label).mkdir(parents=True)
        Image.new("RGB", (10, 10)).save(root / label / "a.png")
    samples = read_datasets([str(root)])
    assert sorted((s.label, s.source) for s in samples) == [(0, "folders"), (1, "folders")]
