"""The REST API end to end: real app, real worker thread, real SQLite, the shipped model."""

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKELENS_DATA_DIR", str(tmp_path / "data"))
    from fakelens.service import create_app

    with TestClient(create_app(max_upload_mb=2)) as c:
        yield c


def _wait(client, job_id, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        j = client.get(f"/v1/analyses/{job_id}").json()
        if j["status"] in ("done", "failed"):
            return j
        time.sleep(0.2)
    raise AssertionError(f"analysis {job_id} did not finish")


def test_upload_poll_result_and_report(client, astronaut_path, tmp_path):
    r = client.post("/v1/analyses", files={"file": ("any-name.txt", astronaut_path.read_bytes(), "text/plain")})
    assert r.status_code == 202 and r.json()["status"] == "queued" and r.json()["kind"] == "image"
    j = _wait(client, r.json()["id"])
    assert j["status"] == "done" and j["result"]["kind"] == "image" and j["result"]["label"] in ("real", "fake")
    assert j["result"]["summary"].startswith("The face is classified") and len(j["result"]["faces"]) == 1
    report = client.get(f"/v1/analyses/{j['id']}/report")
    assert report.status_code == 200 and f"Verdict: <b>{j['result']['label']}</b>" in report.text
    assert [a["id"] for a in client.get("/v1/analyses").json()] == [j["id"]]
    uploads = list((tmp_path / "data" / "uploads").iterdir())
    assert len(uploads) == 1 and "any-name" not in uploads[0].name  # stored under our name only


def test_bad_uploads_are_refused_with_clear_codes(client, tmp_path):
    assert client.post("/v1/analyses", files={"file": ("a.jpg", b"x" * (3 << 20))}).status_code == 413
    bad = client.post("/v1/analyses", files={"file": ("a.jpg", b"this is not an image at all\n")})
    assert bad.status_code == 415 and "not an image or a video" in bad.json()["detail"]
    assert client.post("/v1/analyses", files={"file": ("a.jpg", b"")}).status_code == 400
    assert client.get("/v1/analyses/999").status_code == 404
    assert client.get("/v1/analyses", params={"limit": 10**9}).status_code == 422
    assert not list((tmp_path / "data" / "uploads").iterdir())  # refused uploads leave nothing behind
    assert client.get("/openapi.json").json()["info"]["title"] == "fakelens"
    assert "<input type=\"file\"" in client.get("/").text


def test_feedback_is_stored_and_exported_per_method(client, astronaut_path):
    import json

    from typer.testing import CliRunner

    from fakelens.cli import app

    r = client.post("/v1/analyses", files={"file": ("face.png", astronaut_path.read_bytes())})
    j = _wait(client, r.json()["id"])
    assert 'id="feedback"' in client.get(f"/v1/analyses/{j['id']}/report").text  # the served report has the form
    ok = client.post(f"/v1/analyses/{j['id']}/feedback", json={"clarity": 4, "helpfulness": 5, "agree": True,
                                                                "comment": "mouth region convincing"})
    assert ok.status_code == 201
    assert client.post(f"/v1/analyses/{j['id']}/feedback", json={"clarity": 9, "helpfulness": 1}).status_code == 422
    assert client.post("/v1/analyses/999/feedback", json={"clarity": 3, "helpfulness": 3}).status_code == 404
    out = CliRunner().invoke(app, ["history", "--feedback", "--format", "json"])
    (row,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert row["methods"] == ["gradcam"] and row["clarity"] == 4 and row["agree"] is True
    table = CliRunner().invoke(app, ["history", "--feedback"])
    assert "gradcam" in table.stdout and "4.00" in table.stdout


def test_user_file_names_never_become_paths(client, astronaut_path, tmp_path):
    data = tmp_path / "data"
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
