"""Hand-made labels.csv mistakes: one line naming the file (and line) and exit code 1, never a traceback."""

import pytest
from PIL import Image
from typer.testing import CliRunner

from fakelens.cli import app
from fakelens.errors import InputError

runner = CliRunner()


def dataset(root, rows, header="path,label", images=None, encoding="utf-8"):
    """A folder with `images` (default: every listed path) as tiny PNGs and a labels.csv of `rows`."""
    root.mkdir(parents=True, exist_ok=True)
    for name in images if images is not None else [r.split(",")[0] for r in rows]:
        Image.new("RGB", (8, 8)).save(root / name)
    (root / "labels.csv").write_bytes("\n".join([header, *rows, ""]).encode(encoding))
    return root


def twelve(label=None):
    return [f"{i}.png,{label or ['real', 'fake'][i % 2]}" for i in range(12)]


def summary(folder, tmp_path):
    r = runner.invoke(app, ["data", "summary", str(folder), "--out", str(tmp_path / "summary")])
    assert "Traceback" not in r.output
    return r


@pytest.mark.parametrize("header, rows, images, said", [
    ("file,label", ["a.png,real"], None, "labels.csv: no path column (the header has: file, label)"),
    ("path,class", ["a.png,real"], None, "labels.csv: no label column (the header has: path, class)"),
    ("path,label", ["a.png,real", "b.png,REAL"], None, "labels.csv:3: label must be real or fake, got 'REAL'"),
    ("path,label", ["a.png,real", "a.png,fake"], None, "labels.csv:3: 'a.png' is listed again (first on line 2)"),
    ("path,label", ["a.png,real", "../../x.png,fake"], ["a.png"], "labels.csv:3: path must be inside"),
    ("path,label", ["a.png,real", "/etc/hostname.png,fake"], ["a.png"], "labels.csv:3: path must be inside"),
    ("path,label", twelve() + ["nothere.png,real", "gone.png,fake"], [f"{i}.png" for i in range(12)],
     "labels.csv: 2 listed files missing: nothere.png (line 14), gone.png (line 15)"),
])
def test_labels_csv_mistakes_are_one_line(tmp_path, header, rows, images, said):
    folder = dataset(tmp_path / "ds", rows, header, images)
    r = summary(folder, tmp_path)
    assert r.exit_code == 1 and f"{folder}/{said}" in r.output, r.output


def test_a_byte_order_mark_is_accepted_and_other_encodings_named(tmp_path):
    assert summary(dataset(tmp_path / "bom", twelve(), encoding="utf-8-sig"), tmp_path).exit_code == 0
    folder = dataset(tmp_path / "latin", ["a.png,real", "é.png,fake"], encoding="latin-1")
    r = summary(folder, tmp_path)
    assert r.exit_code == 1 and f"{folder}/labels.csv:3: not UTF-8 text (byte 0xe9)" in r.output, r.output


def test_too_few_samples_for_the_split_are_refused_before_any_work(tmp_path, monkeypatch):
    from fakelens.data import read_datasets
    from fakelens.data.split import group_split

    monkeypatch.setenv("FAKELENS_CACHE_DIR", str(tmp_path / "cache"))
    small = dataset(tmp_path / "small", ["a.png,real", "b.png,fake", "c.png,fake"])
    said = "too few samples in small for a split into 6 parts: 3 samples, 3 groups, at most 2 of one source and class"
    with pytest.raises(InputError, match=said):  # what evaluate and the audits draw
        group_split(read_datasets([small]))
    for cmd in (["train", str(small), "--out", str(tmp_path / "run")], ["evaluate", str(small)]):
        r = runner.invoke(app, cmd)
        assert r.exit_code == 1 and said in r.output and "Traceback" not in r.output, r.output
    assert not (tmp_path / "cache").exists() and not (tmp_path / "run").exists()
    r = runner.invoke(app, ["train", str(dataset(tmp_path / "reals", twelve("real"))), "--out", str(tmp_path / "run")])
    assert r.exit_code == 1 and "training needs real and fake samples; reals has only real ones (12)" in r.output
