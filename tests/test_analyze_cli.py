"""The `fakelens analyze` contract: JSON Lines fields, labels, exit codes, bad input never stops a run."""

import json
import subprocess
import sys

from typer.testing import CliRunner

from fakelens.cli import app
from fakelens.detector import Detector

runner = CliRunner()


def _jsonl(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_json_lines_contract(tiny_checkpoint, astronaut_path, cat_path):
    r = runner.invoke(app, ["analyze", str(astronaut_path), str(cat_path), "--format", "json", "--model", str(tiny_checkpoint)])
    assert r.exit_code == 0, r.output
    face_rec, cat_rec = _jsonl(r.stdout)
    for rec in (face_rec, cat_rec):
        assert {"path", "kind", "label", "score", "faces", "error"} <= set(rec)
        assert rec["kind"] == "image" and rec["error"] is None
    assert face_rec["path"] == str(astronaut_path)
    assert face_rec["label"] in ("real", "fake") and len(face_rec["faces"]) == 1
    face = face_rec["faces"][0]
    assert 0 <= face["score"] <= 1 and face_rec["score"] == face["score"]
    x0, y0, x1, y1 = face["box"]
    assert 0 <= x0 < x1 <= 512 and 0 <= y0 < y1 <= 512 and face["flags"] == ["small"]  # ~90 px face
    assert cat_rec["label"] == "no_face" and cat_rec["score"] is None and cat_rec["faces"] == []


def test_bad_inputs_are_reported_and_others_still_analyzed(tiny_checkpoint, astronaut_path, bad_files):
    paths = [str(bad_files["missing"]), str(astronaut_path), str(bad_files["empty"]), str(bad_files["text"]),
             str(bad_files["truncated"]), str(bad_files["bomb"])]
    r = runner.invoke(app, ["analyze", *paths, "--format", "json", "--model", str(tiny_checkpoint)])
    assert r.exit_code == 1
    recs = _jsonl(r.stdout)
    assert [x["path"] for x in recs] == paths
    assert recs[1]["label"] in ("real", "fake")
    for rec in recs[:1] + recs[2:]:
        assert rec["label"] == "error" and rec["score"] is None
        assert rec["error"] and "\n" not in rec["error"] and "Traceback" not in rec["error"]


def test_whole_image_scores_one_face_covering_the_input(tiny_checkpoint, cat_path):
    r = runner.invoke(app, ["analyze", str(cat_path), "--whole-image", "--format", "json", "--model", str(tiny_checkpoint)])
    rec = _jsonl(r.stdout)[0]
    assert r.exit_code == 0 and rec["label"] in ("real", "fake")
    assert rec["faces"][0]["box"] == [0, 0, 451, 300]


def test_usage_errors_exit_2(tiny_checkpoint, astronaut_path):
    assert runner.invoke(app, ["analyze"]).exit_code == 2
    assert runner.invoke(app, ["analyze", str(astronaut_path), "--format", "xml"]).exit_code == 2
    assert runner.invoke(app, ["analyze", str(astronaut_path), "--bogus"]).exit_code == 2


def test_missing_model_is_one_line_error(astronaut_path, tmp_path):
    r = runner.invoke(app, ["analyze", str(astronaut_path), "--model", str(tmp_path / "none.safetensors")])
    assert r.exit_code == 1 and "no such checkpoint" in r.stderr and "Traceback" not in r.output
    from fakelens.paths import default_video_model_path

    r = runner.invoke(app, ["analyze", str(astronaut_path), "--no-save", "--model", str(default_video_model_path())])
    assert r.exit_code == 1 and "pass it as --video-model" in r.stderr


def test_table_output(tiny_checkpoint, astronaut_path, bad_files, monkeypatch):
    import fakelens.cli

    monkeypatch.setattr(fakelens.cli.out, "width", 250)  # no folding, whatever the terminal
    r = runner.invoke(app, ["analyze", str(astronaut_path), str(bad_files["empty"]), "--model", str(tiny_checkpoint)])
    assert r.exit_code == 1
    assert "astronaut.png" in r.stdout and "error" in r.stdout and "empty file" in r.stdout


def test_console_script_entry_point(tiny_checkpoint, bad_files):
    p = subprocess.run([sys.executable, "-m", "fakelens", "analyze", str(bad_files["text"]), "--format", "json",
                        "--model", str(tiny_checkpoint)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert json.loads(p.stdout)["label"] == "error"


def test_python_api_matches_cli(tiny_checkpoint, astronaut_path):
    det = Detector.load(tiny_checkpoint)
    a = det.analyze(astronaut_path)
    r = runner.invoke(app, ["analyze", str(astronaut_path), "--format", "json", "--model", str(tiny_checkpoint)])
    assert abs(_jsonl(r.stdout)[0]["score"] - a.score) < 1e-6
    # batch scoring equals one-by-one scoring
    crops = [c for c in __import__("numpy").random.default_rng(0).integers(0, 255, (5, 64, 64, 3), dtype="uint8")]
    batch = det.score_crops(crops)
    single = [det.score_crops([c])[0] for c in crops]
    assert abs(batch - single).max() < 1e-5


def test_a_named_pipe_or_device_is_an_error_not_a_hang(tiny_checkpoint, astronaut_path, tmp_path):
    """Opening a FIFO blocks until a writer comes; nothing may open one (the run below would hang)."""
    import os

    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    paths = [str(astronaut_path), str(fifo), "/dev/zero", str(tmp_path / "clip.mp4")]
    os.mkfifo(paths[3])
    p = subprocess.run([sys.executable, "-m", "fakelens", "analyze", *paths, "--format", "json", "--no-save",
                        "--model", str(tiny_checkpoint)], capture_output=True, text=True, timeout=120)
    recs = _jsonl(p.stdout)
    assert p.returncode == 1 and [r["path"] for r in recs] == paths and recs[0]["label"] in ("real", "fake")
    assert all("not a regular file" in r["error"] for r in recs[1:]), recs


def test_file_names_are_shown_as_they_are_never_as_markup_or_terminal_codes(tiny_checkpoint, astronaut_path, tmp_path,
                                                                            monkeypatch):
    import shutil

    monkeypatch.chdir(tmp_path)  # short relative names: the table does not fold them
    names = ["[bold]x[", ":x:.png", "esc\x1b[31mred.png", "[/bold]gone.png"]
    for name in names[:3]:
        shutil.copy(astronaut_path, name)
    r = runner.invoke(app, ["analyze", *names, "--model", str(tiny_checkpoint), "--no-save"])
    assert r.exit_code == 1, r.output  # the missing file
    for shown in ("[bold]x[", ":x:.png", "esc\\x1b[31mred.png", "[/bold]gone.png"):
        assert shown in r.stdout, (shown, r.stdout)
    assert "\x1b" not in r.stdout  # no raw escape character reaches the terminal


def test_bad_option_values_are_usage_errors(tiny_checkpoint, astronaut_path, tmp_path):
    for extra in (["--threshold", "nan"], ["--threshold", "2"], ["--threshold", "-0.1"], ["--time-budget", "inf"],
                  ["--time-budget", "nan"], ["--time-budget", "1e308"], ["--fps", "inf"], ["--every", "2", "--fps", "3"]):
        r = runner.invoke(app, ["analyze", str(astronaut_path), "--model", str(tiny_checkpoint), "--no-save", *extra])
        assert r.exit_code == 2 and "Traceback" not in r.output, (extra, r.output)
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    for extra in (["--report", str(blocked / "r.html")], ["--explain", "occlusion", "--explain-out", str(blocked / "x")]):
        r = runner.invoke(app, ["analyze", str(astronaut_path), "--model", str(tiny_checkpoint), "--no-save", *extra])
        assert r.exit_code == 2 and "cannot write into" in r.stderr and r.stdout == "", (extra, r.output)


def test_a_history_database_that_cannot_open_still_shows_the_verdicts(tiny_checkpoint, astronaut_path, tmp_path,
                                                                       monkeypatch):
    import fakelens.cli

    monkeypatch.setattr(fakelens.cli.out, "width", 250)
    (tmp_path / "a-file").write_text("x")
    monkeypatch.setenv("FAKELENS_DATA_DIR", str(tmp_path / "a-file"))  # a file where the data folder should be
    r = runner.invoke(app, ["analyze", str(astronaut_path), "--model", str(tiny_checkpoint)])
    assert r.exit_code == 1 and "astronaut.png" in r.stdout and "cannot open it" in r.stderr
    for argv in (["history"], ["history", "--format", "json"], ["keys", "list"]):
        r = runner.invoke(app, argv)
        assert r.exit_code == 1 and "history database: cannot open it" in r.stderr and "Traceback" not in r.output


def test_ctrl_c_shows_and_keeps_what_finished(tiny_checkpoint, astronaut_path, cat_path, tmp_path, monkeypatch):
    import fakelens.cli
    from fakelens.pipeline import Analyzer

    monkeypatch.setattr(fakelens.cli.out, "width", 250)
    monkeypatch.setenv("FAKELENS_DATA_DIR", str(tmp_path / "data"))
    real = Analyzer.analyze_many

    def interrupted(self, paths, **kw):
        yield from real(self, paths[:2], **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(Analyzer, "analyze_many", interrupted)
    r = runner.invoke(app, ["analyze", str(astronaut_path), str(cat_path), str(astronaut_path), "--model", str(tiny_checkpoint)])
    assert r.exit_code != 0 and "interrupted after 2 of 3 inputs" in r.stderr
    assert "astronaut.png" in r.stdout and "cat" in r.stdout
    monkeypatch.undo()
    monkeypatch.setenv("FAKELENS_DATA_DIR", str(tmp_path / "data"))
    saved = runner.invoke(app, ["history", "--format", "json"])
    assert len(_jsonl(saved.stdout)) == 2
