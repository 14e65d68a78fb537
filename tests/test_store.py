"""The history database (real SQLite in a temporary data directory) and `analyze --save`."""

import hashlib
import json

import pytest
from typer.testing import CliRunner

from fakelens.cli import app


def test_analyze_save_and_history(tiny_checkpoint, astronaut_path, cat_path, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKELENS_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    r = runner.invoke(app, ["analyze", str(astronaut_path), str(cat_path), "--format", "json",
                            "--model", str(tiny_checkpoint)])  # recorded by default
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
    again = runner.invoke(app, ["analyze", str(astronaut_path), "--model", str(tiny_checkpoint)])
    assert "analyzed before: #1" in again.stdout.replace("\n", " ")
    runner.invoke(app, ["analyze", str(astronaut_path), "--no-save", "--model", str(tiny_checkpoint)])
    assert len(runner.invoke(app, ["history", "--format", "json"]).stdout.splitlines()) == 3


def test_database_url_setting(tiny_checkpoint, astronaut_path, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKELENS_DB_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    r = CliRunner().invoke(app, ["analyze", str(astronaut_path), "--model", str(tiny_checkpoint)])
    assert r.exit_code == 0 and (tmp_path / "elsewhere.db").exists()


def test_the_history_writer_stores_batches_in_order_and_reports_earlier_copies(tmp_path, monkeypatch):
    from fakelens.store import HistoryStore
    from fakelens.store.writer import BATCH, HistoryWriter

    monkeypatch.setenv("FAKELENS_DATA_DIR", str(tmp_path / "data"))
    writer = HistoryWriter.start()
    n = BATCH + 8  # two batches
    for i in range(n):  # every third record is the same bytes again
        writer.add({"path": f"f{i}.jpg", "kind": "image", "label": "real", "score": i / n, "faces": []},
                   sha256="same" if i % 3 == 0 else f"sha{i}")
    replies = writer.close()
    assert [r["id"] for r in replies] == list(range(1, n + 1))
    assert [len(r["seen"]) for r in replies[:7]] == [0, 0, 0, 1, 0, 0, 2]  # across and within batches
    assert replies[6]["seen"][0]["id"] == 4
    rows = HistoryStore().list(limit=100)
    assert sorted(r["path"] for r in rows) == sorted(f"f{i}.jpg" for i in range(n))


def test_an_unreachable_database_is_a_one_line_error(tiny_checkpoint, astronaut_path, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKELENS_DB_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    r = CliRunner().invoke(app, ["analyze", str(astronaut_path), "--model", str(tiny_checkpoint)])
    assert r.exit_code == 1 and "history database: cannot open it" in r.output
    assert "Traceback" not in r.output


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


def _pg_bin():
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return found[-1].rsplit("/", 1)[0] if found else None


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL server on localhost (Debian's postgresql), as STACK.md starts it."""
    import os
    import shutil
    import socket
    import subprocess
    import tempfile
    from pathlib import Path

    pytest.importorskip("psycopg", reason="psycopg not installed")
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="fakelens-pg-"))  # directly under /tmp: the server's user must reach it
    user = [] if os.getuid() != 0 else ["runuser", "-u", "nobody", "--"]  # initdb refuses to run as root
    if user and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: initdb cannot start")
    shutil.chown(root, "nobody", "nogroup") if user else None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    steps = [[*user, f"{bin_dir}/initdb", "-D", str(data), "-U", "app", "--auth=trust", "-E", "UTF8", "--no-locale",
              "--no-sync"],
             [*user, f"{bin_dir}/pg_ctl", "-D", str(data), "-l", str(root / "log"), "-w", "-o",
              f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]]
    for cmd in steps:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"PostgreSQL could not start: {(done.stderr or done.stdout).strip()[:200]}")
    yield f"postgresql+psycopg://app@127.0.0.1:{port}/postgres"
    subprocess.run([*user, f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "fast", "stop"], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def test_history_on_a_real_postgresql_server(postgres_url):
    from fakelens.records import Analysis, FaceResult
    from fakelens.store import HistoryStore

    store = HistoryStore(postgres_url)
    a = Analysis(path="face.jpg", kind="image", label="fake", score=0.9, faces=[FaceResult([1, 2, 3, 4], 0.9, "fake")],
                 explanations=[{"method": "gradcam", "methods_run": ["gradcam", "lime"]}], summary="...")
    first = store.add(a, sha256="ab" * 32)
    second = store.add(a, sha256="ab" * 32)
    assert [r["id"] for r in store.seen("ab" * 32)] == [second, first]
    assert store.get(first)["result"]["faces"][0]["box"] == [1, 2, 3, 4]
    store.add_feedback(first, 5, 4, agree=False, comment="blend edge visible")
    (fb,) = store.feedback()
    assert fb["methods"] == ["gradcam", "lime"] and fb["agree"] is False


def _keys_ownership_and_deletion(store):
    """What the server relies on, the same on SQLite and PostgreSQL."""
    from fakelens.records import Analysis

    token = store.create_key("alice")
    key = store.verify_key(token)
    wrong = token[:-1] + ("B" if token[-1] == "A" else "A")  # one character off (never the same key by chance)
    assert key.name == "alice" and store.has_keys() and store.verify_key(wrong) is None
    with pytest.raises(ValueError):
        store.create_key("alice")
    mine = store.create("/nowhere/a.img", "ab" * 32, owner=key.id, filename="a.png", size=100, kind="image")
    store.create("/nowhere/b.img", None, owner=key.id + 1, filename="b.png", size=50, kind="image")
    store.finish(mine, Analysis(path="/nowhere/a.img", kind="image", label="real", score=0.1, faces=[]))
    assert [r["filename"] for r in store.list(owner=key.id)] == ["a.png"]
    assert store.list(owner=key.id, search="A.P") and not store.list(owner=key.id, search="%")
    assert store.get(mine, owner=key.id + 1) is None and store.usage(key.id) == 100
    store.add_feedback(mine, 3, 3)
    assert store.delete(mine, owner=key.id + 1) is None and store.delete(mine, owner=key.id)["id"] == mine
    assert store.get(mine) is None and store.usage(key.id) == 0
    assert store.revoke_key("alice") == 1 and store.verify_key(token) is None and store.has_keys()
    assert [k.revoked is not None for k in store.list_keys()] == [True]
    assert store.create_key("alice") != token  # the name is free again once revoked


def test_keys_ownership_and_deletion_on_sqlite(tmp_path):
    from fakelens.store import HistoryStore

    _keys_ownership_and_deletion(HistoryStore(f"sqlite:///{tmp_path / 'h.db'}"))


def test_keys_ownership_and_deletion_on_postgresql(postgres_url):
    from fakelens.store import HistoryStore

    _keys_ownership_and_deletion(HistoryStore(postgres_url))


def test_a_database_from_before_keys_gets_the_new_columns(tmp_path):
    import sqlite3

    from fakelens.store import HistoryStore

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as c:  # the analyses table as the previous release made it
        c.execute("CREATE TABLE analyses (id INTEGER PRIMARY KEY, created DATETIME, status VARCHAR(16), "
                  "path VARCHAR(4096), sha256 VARCHAR(64), kind VARCHAR(8), label VARCHAR(16), score FLOAT, "
                  "model VARCHAR(128), report VARCHAR(4096), record JSON)")
        c.execute("INSERT INTO analyses (created, status, path, label) VALUES ('2026-01-01 00:00:00', 'done', 'x.jpg', 'real')")
    store = HistoryStore(f"sqlite:///{db}")
    (row,) = store.list()
    assert row["path"] == "x.jpg" and row["owner"] is None and row["filename"] is None
    assert store.create("y.img", owner=1, filename="y.png", size=5) == 2 and store.usage(1) == 5
