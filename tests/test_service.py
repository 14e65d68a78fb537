"""The REST API end to end: real app, real worker thread and analysis process, real SQLite (the tiny
model, so that an analysis takes well under a second once the analysis process is up)."""

import json
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fakelens.cli import app as cli


@pytest.fixture
def client(tiny_server_env):
    from fakelens.service import create_app

    with TestClient(create_app(max_upload_mb=2)) as c:
        yield c


def _wait(client, job_id, seconds=120, headers=None):
    deadline = time.time() + seconds
    while time.time() < deadline:
        j = client.get(f"/v1/analyses/{job_id}", headers=headers).json()
        if j["status"] in ("done", "failed"):
            return j
        time.sleep(0.1)
    raise AssertionError(f"analysis {job_id} did not finish")


def _files_of(data: Path, row: dict) -> list[Path]:
    """Everything fakelens stored for one web analysis."""
    upload = Path(row["path"])
    return [upload, Path(row["report"]), Path(row["thumbnail"]), data / "artifacts" / upload.stem]


def test_upload_poll_result_and_report(client, astronaut_path, tiny_server_env):
    r = client.post("/v1/analyses", files={"file": ("Portrait of Eileen.png", astronaut_path.read_bytes(), "text/plain")})
    assert r.status_code == 202 and r.json()["status"] == "queued" and r.json()["kind"] == "image"
    assert r.json()["filename"] == "Portrait of Eileen.png" and r.headers["location"] == f"/v1/analyses/{r.json()['id']}"
    j = _wait(client, r.json()["id"])
    assert j["status"] == "done" and j["result"]["kind"] == "image" and j["result"]["label"] in ("real", "fake")
    assert j["result"]["summary"].startswith("The face is classified") and len(j["result"]["faces"]) == 1
    assert j["filename"] == "Portrait of Eileen.png" and "manipulation" in j
    report = client.get(f"/v1/analyses/{j['id']}/report")
    assert report.status_code == 200 and f"Verdict: <b>{j['result']['label']}</b>" in report.text
    assert "<title>fakelens report: Portrait of Eileen.png</title>" in report.text  # the name given, not ours
    assert "default-src 'none'" in report.headers["content-security-policy"]
    assert report.headers["x-content-type-options"] == "nosniff" and report.headers["referrer-policy"] == "same-origin"
    assert '<svg class="gauge"' in report.text and "<h2>Model card</h2>" in report.text and "<table>" in report.text
    thumb = client.get(f"/v1/analyses/{j['id']}/thumbnail")
    assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"  # a JPEG we made
    assert [a["id"] for a in client.get("/v1/analyses").json()] == [j["id"]]
    uploads = list((tiny_server_env / "uploads").iterdir())
    assert len(uploads) == 1 and "Eileen" not in uploads[0].name  # stored under our name only


def test_bad_uploads_are_refused_with_clear_codes(client, tiny_server_env):
    assert client.post("/v1/analyses", files={"file": ("a.jpg", b"x" * (3 << 20))}).status_code == 413
    bad = client.post("/v1/analyses", files={"file": ("a.jpg", b"this is not an image at all\n")})
    assert bad.status_code == 415 and "not an image or a video" in bad.json()["detail"]
    assert client.post("/v1/analyses", files={"file": ("a.jpg", b"")}).status_code == 400
    assert client.post("/v1/analyses", files={"other": ("a.jpg", b"abc")}).json()["detail"].startswith("no file")
    assert client.post("/v1/analyses", content=b"{}", headers={"content-type": "application/json"}).status_code == 415
    assert client.get("/v1/analyses/999").status_code == 404
    assert client.get("/v1/analyses", params={"limit": 10**9}).status_code == 422
    assert not list((tiny_server_env / "uploads").iterdir())  # refused uploads leave nothing behind
    assert client.get("/openapi.json").json()["info"]["title"] == "fakelens"
    assert 'type="file"' in client.get("/").text and client.get("/healthz").json() == {"status": "ok"}
    allow = client.request("PUT", "/v1/analyses")
    assert allow.status_code == 405 and allow.headers["allow"] == "GET, POST"  # both routes of the path
    for path in ("/", "/v1/analyses", "/nowhere", "/static/app.css"):  # every answer, errors included
        h = client.get(path).headers
        assert "content-security-policy" in h and h["x-content-type-options"] == "nosniff", path


def test_feedback_is_stored_and_exported_per_method(client, astronaut_path):
    r = client.post("/v1/analyses", files={"file": ("face.png", astronaut_path.read_bytes())})
    j = _wait(client, r.json()["id"])
    assert 'id="feedback"' in client.get(f"/v1/analyses/{j['id']}/report").text  # the served report has the form
    ok = client.post(f"/v1/analyses/{j['id']}/feedback", json={"clarity": 4, "helpfulness": 5, "agree": True,
                                                                "comment": "mouth region convincing"})
    assert ok.status_code == 201
    assert client.post(f"/v1/analyses/{j['id']}/feedback", json={"clarity": 9, "helpfulness": 1}).status_code == 422
    assert client.post("/v1/analyses/999/feedback", json={"clarity": 3, "helpfulness": 3}).status_code == 404
    out = CliRunner().invoke(cli, ["history", "--feedback", "--format", "json"])
    (row,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert row["methods"] == ["gradcam"] and row["clarity"] == 4 and row["agree"] is True
    table = CliRunner().invoke(cli, ["history", "--feedback"])
    assert "gradcam" in table.stdout and "4.00" in table.stdout


def test_user_file_names_never_become_paths(client, astronaut_path, tmp_path, tiny_server_env):
    data = tiny_server_env
    hostile = ["../../escaped.png", "/tmp/fakelens-escaped.png", "..\\..\\escaped.png", "a/../../b.png"]
    ids = [client.post("/v1/analyses", files={"file": (name, astronaut_path.read_bytes())}).json()["id"]
           for name in hostile]
    for job in ids:
        assert _wait(client, job)["status"] == "done"
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and all(p.is_relative_to(data) for p in written)
    assert not any("escaped" in p.name for p in written) and not Path("/tmp/fakelens-escaped.png").exists()
    rows = {r["id"]: r for r in client.app.state.store.list(10)}
    assert all(Path(rows[j]["path"]).parent == data / "uploads" for j in ids)
    assert [rows[j]["filename"] for j in ids] == ["escaped.png", "fakelens-escaped.png", "escaped.png", "b.png"]


def test_delete_removes_the_record_the_upload_and_the_report(client, astronaut_path, tiny_server_env):
    data = tiny_server_env
    ids = [client.post("/v1/analyses", files={"file": (f"{n}.png", astronaut_path.read_bytes())}).json()["id"]
           for n in ("api", "cli")]
    for job in ids:
        _wait(client, job)
    store = client.app.state.store
    api_files, cli_files = (_files_of(data, store.get(i)) for i in ids)
    client.post(f"/v1/analyses/{ids[0]}/feedback", json={"clarity": 3, "helpfulness": 3})
    assert all(p.exists() for p in api_files + cli_files)
    assert client.delete(f"/v1/analyses/{ids[0]}").status_code == 204
    assert not any(p.exists() for p in api_files) and all(p.exists() for p in cli_files)  # only that one's files
    assert client.get(f"/v1/analyses/{ids[0]}").status_code == 404
    assert client.get(f"/v1/analyses/{ids[0]}/report").status_code == 404
    assert client.delete(f"/v1/analyses/{ids[0]}").status_code == 404
    assert [a["id"] for a in client.get("/v1/analyses").json()] == [ids[1]]

    out = CliRunner().invoke(cli, ["history", "--delete", str(ids[1])])
    assert out.exit_code == 0 and "deleted analysis" in out.stdout
    assert not any(p.exists() for p in cli_files) and client.get("/v1/analyses").json() == []
    missing = CliRunner().invoke(cli, ["history", "--delete", "12345"])
    assert missing.exit_code == 1 and "no analysis 12345" in missing.output and "Traceback" not in missing.output
    assert not list((data / "uploads").iterdir()) and not list((data / "reports").iterdir())


def test_cli_delete_never_touches_the_users_own_input(tiny_checkpoint, astronaut_path, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKELENS_DATA_DIR", str(tmp_path / "data"))
    mine = tmp_path / "mine.png"
    mine.write_bytes(astronaut_path.read_bytes())
    runner = CliRunner()
    assert runner.invoke(cli, ["analyze", str(mine), "--model", str(tiny_checkpoint)]).exit_code == 0
    assert runner.invoke(cli, ["history", "--delete", "1"]).exit_code == 0
    assert mine.exists() and runner.invoke(cli, ["history", "--format", "json"]).stdout == ""


def test_retention_purges_old_analyses_with_their_files(astronaut_path, tiny_server_env):
    from fakelens.service import create_app

    with TestClient(create_app(max_upload_mb=2, retain_days=1, purge_every_s=0.2)) as c:
        old, new = (c.post("/v1/analyses", files={"file": (n, astronaut_path.read_bytes())}).json()["id"]
                    for n in ("old.png", "new.png"))
        for job in (old, new):
            _wait(c, job)
        old_files = _files_of(tiny_server_env, c.app.state.store.get(old))
        assert all(p.exists() for p in old_files)
        two_days_ago = (datetime.now(timezone.utc) - timedelta(days=2)).replace(tzinfo=None).isoformat(" ")
        with sqlite3.connect(tiny_server_env / "history.db") as db:
            db.execute("UPDATE analyses SET created = ? WHERE id = ?", (two_days_ago, old))
        deadline = time.time() + 20
        while c.get(f"/v1/analyses/{old}").status_code != 404 and time.time() < deadline:
            time.sleep(0.1)
        assert c.get(f"/v1/analyses/{old}").status_code == 404 and not any(p.exists() for p in old_files)
        assert c.get(f"/v1/analyses/{new}").json()["status"] == "done"  # a day's retention keeps today's


def test_time_budget_applies_in_the_web_worker(astronaut_path, tiny_server_env):
    from fakelens.service import create_app

    with TestClient(create_app(max_upload_mb=2, time_budget=0.001)) as c:
        j = _wait(c, c.post("/v1/analyses", files={"file": ("slow.png", astronaut_path.read_bytes())}).json()["id"])
        assert j["status"] == "failed" and j["label"] == "error"
        assert j["result"]["error"] == "gave up after the time budget of 0.001 s per file: slow.png"
        assert c.app.state.worker.process.proc is None  # the analysis process past its budget was killed


def test_a_video_upload_gets_a_timeline_and_a_thumbnail(tiny_server_env, tiny_video_model, monkeypatch, tmp_path):
    from fakelens.service import create_app
    from fakelens.video.synth import face_clips

    monkeypatch.setenv("FAKELENS_VIDEO_MODEL", str(tiny_video_model))
    real, _ = face_clips(tmp_path / "clips", seconds=2)
    with TestClient(create_app(max_upload_mb=20)) as c:
        r = c.post("/v1/analyses", files={"file": ("holiday clip.mp4", real.read_bytes())})
        assert r.status_code == 202 and r.json()["kind"] == "video"
        j = _wait(c, r.json()["id"])
        assert j["status"] == "done" and j["kind"] == "video" and j["result"]["frames"]
        report = c.get(f"/v1/analyses/{j['id']}/report").text
        assert "<title>fakelens report: holiday clip.mp4</title>" in report and '<svg class="timeline"' in report
        assert c.get(f"/v1/analyses/{j['id']}/thumbnail").content[:3] == b"\xff\xd8\xff"
