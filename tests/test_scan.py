"""`fakelens scan`: every file found once, bad files as error lines, resumable after a kill."""

import json
import shutil

from typer.testing import CliRunner

from fakelens.cli import app
from fakelens.scan.local import done_paths, find_inputs


def _folder(tmp_path, astronaut_path, cat_path):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    shutil.copy(astronaut_path, d / "a.png")
    shutil.copy(cat_path, d / "sub" / "cat.jpg")
    shutil.copy(astronaut_path, d / "sub" / "no-extension")  # found by content
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 20)  # named like an image: an error line
    (d / "notes.txt").write_text("not media\n")  # neither: not an input
    return d


def test_find_inputs_by_content(tmp_path, astronaut_path, cat_path):
    d = _folder(tmp_path, astronaut_path, cat_path)
    names = [p.split("/in/")[1] for p in find_inputs(d)]
    assert names == ["a.png", "broken.jpg", "sub/cat.jpg", "sub/no-extension"]


def test_scan_writes_each_file_once_and_resumes(tmp_path, astronaut_path, cat_path, tiny_checkpoint):
    d = _folder(tmp_path, astronaut_path, cat_path)
    out = tmp_path / "results.jsonl"
    inputs = find_inputs(d)
    # A previous run that was killed mid-write: one full line and half of the next.
    first = json.dumps({"path": inputs[0], "label": "real", "score": 0.1, "sha256": None})
    out.write_text(first + "\n" + '{"path": "' + inputs[1][:10])
    r = CliRunner().invoke(app, ["scan", str(d), "--out", str(out), "--workers", "2", "--model", str(tiny_checkpoint)])
    assert r.exit_code == 1, r.output  # broken.jpg is an error: reported, the rest analyzed
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(x["path"] for x in recs) == sorted(inputs)  # each exactly once, the half line gone
    by_name = {x["path"].split("/in/")[1]: x for x in recs}
    assert by_name["broken.jpg"]["label"] == "error" and by_name["sub/cat.jpg"]["label"] == "no_face"
    assert by_name["sub/no-extension"]["label"] in ("real", "fake") and len(by_name["sub/no-extension"]["sha256"]) == 64
    from fakelens.store import HistoryStore

    stored = {r["path"]: r for r in HistoryStore().list(limit=100)}
    assert stored[inputs[2]]["result"]["faces"] == by_name["sub/cat.jpg"]["faces"] == []
    assert stored[inputs[3]]["result"]["faces"] == by_name["sub/no-extension"]["faces"] != []  # whole records kept
    again = CliRunner().invoke(app, ["scan", str(d), "--out", str(out), "--model", str(tiny_checkpoint)])
    assert again.exit_code == 0 and "nothing left to do" in again.stdout
    assert done_paths(out) == set(inputs)


def test_ray_engine_on_a_local_ray_instance(tmp_path, astronaut_path, cat_path, tiny_checkpoint):
    import pytest

    pytest.importorskip("ray", reason="Ray not installed (pip install 'fakelens[ray]')")
    d = _folder(tmp_path, astronaut_path, cat_path)
    out = tmp_path / "ray.jsonl"
    r = CliRunner().invoke(app, ["scan", str(d), "--out", str(out), "--engine", "ray", "--workers", "1",
                                 "--model", str(tiny_checkpoint), "--no-save"])
    assert r.exit_code == 1, r.output  # the broken file
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(x["path"] for x in recs) == sorted(find_inputs(d))
    assert {x["path"].split("/in/")[1]: x["label"] for x in recs}["sub/cat.jpg"] == "no_face"
