"""The history database (real SQLite in a temporary data directory) and `analyze --save`."""

import hashlib
import json

from typer.testing import CliRunner

from fakelens.cli import app


def test_analyze_save_and_history(tiny_checkpoint, astronaut_path, cat_path, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKELENS_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    r = runner.invoke(app, ["analyze", str(astronaut_path), str(cat_path), "--save", "--format", "json",
                            "--model", str(tiny_checkpoint)])
    assert r.exit_code == 0, r.output
    analyzed = [json.loads(line) for line in r.stdout.splitlines()]
    assert (tmp_path / "data" / "history.db").exists()
    h = runner.invoke(app, ["history", "--format", "json"])
    rows = [json.loads(line) for line in h.stdout.splitlines()]
    assert [x["path"] for x in rows] == [str(cat_path), str(astronaut_path)]  # newest first
    assert rows[1]["sha256"] == hashlib.sha256(astronaut_path.read_bytes()).hexdigest()
    assert rows[1]["result"] == analyzed[0] and rows[0]["label"] == "no_face" and rows[0]["status"] == "done"
    only = runner.invoke(app, ["history", "--format", "json", "--label", "no_face"])
    assert [json.loads(line)["path"] for line in only.stdout.splitlines()] == [str(cat_path)]


def test_store_survives_reopening_and_records_failures(tmp_path):
    from fakelens.records import Analysis
    from fakelens.store import HistoryStore

    url = f"sqlite:///{tmp_path / 'h.db'}"
    a = Analysis(path="x.jpg", kind="image", label="error", score=None, faces=[], error="empty file (0 bytes): x.jpg")
    first = HistoryStore(url).add(a)
    again = HistoryStore(url)
    row = again.get(first)
    assert row["status"] == "failed" and row["result"]["error"].startswith("empty file")
    assert again.get(first + 1) is None
