"""The web app against hostile input: each answer a 4xx {"detail": one line} (never a 500), no job left
running, no quota overrun. Most tests keep the analysis process out (Worker.submit does nothing), so
they need no model and finish in seconds."""

import io
import json
import math
import struct
import threading
import time
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image


@pytest.fixture
def no_analyses(monkeypatch):
    """Uploads are stored and recorded, never analyzed (they stay queued)."""
    from fakelens.service.worker import Worker

    monkeypatch.setattr(Worker, "submit", lambda *args: None)


@pytest.fixture
def client(tiny_server_env, no_analyses):
    from fakelens.service import create_app

    with TestClient(create_app(max_upload_mb=2)) as c:
        yield c


def _wait(client, job_id, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        j = client.get(f"/v1/analyses/{job_id}").json()
        if j["status"] in ("done", "failed"):
            return j
        time.sleep(0.1)
    raise AssertionError(f"analysis {job_id} did not finish: {j['status']}")


def _png(w: int, h: int) -> bytes:
    """A PNG that only claims its size (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def _encoded(im: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    im.save(out, **options)
    return out.getvalue()


def _noise(w: int, h: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8))


# 1. Time budgets and settings

@pytest.mark.parametrize("setting, value, message", [
    ("max_upload_mb", math.nan, "max_upload_mb must be a number from 0 to 8.58993e+09, not nan"),
    ("max_upload_mb", math.inf, "max_upload_mb must be a number from 0 to 8.58993e+09, not inf"),
    ("quota_mb", math.nan, "quota_mb must be a number from 0 to 8.58993e+09, not nan"),
    ("quota_mb", 1e303, "quota_mb must be a number from 0 to 8.58993e+09, not 1e+303"),
    ("time_budget", math.nan, "time_budget must be a number from 0 to inf, not nan"),
    ("time_budget", -1, "time_budget must be a number from 0 to inf, not -1"),
])
def test_create_app_refuses_settings_it_cannot_honour(tiny_server_env, setting, value, message):
    from fakelens.service import create_app

    with pytest.raises(ValueError) as e:
        create_app(**{setting: value})
    assert str(e.value) == message


def test_a_budget_too_long_to_wait_on_is_no_limit(tiny_server_env, astronaut_path, tmp_path):
    from fakelens.service import create_app
    from fakelens.service.worker import Job, Worker

    for budget in (math.inf, 1e308, 3e6, math.nan, 0):
        worker = Worker(None, "", budget)
        assert worker.budget_s is None, budget
        worker.close()
    with TestClient(create_app(max_upload_mb=2, time_budget=math.inf)) as c:
        j = _wait(c, c.post("/v1/analyses", files={"file": ("a.png", astronaut_path.read_bytes())}).json()["id"])
        assert j["status"] == "done"
        # A wait the OS refuses, in the analysis process's own code: an error result, and the child goes
        # (it may still be at work on the job).
        process = c.app.state.worker.process
        job = Job(0, str(tmp_path / "none.png"), "none.png", "image", str(tmp_path / "r.html"),
                  str(tmp_path / "t.jpg"), str(tmp_path / "a"))
        failed = process.run(job, math.inf)
        assert failed.analysis.error == "analysis failed in the server: OverflowError: cannot convert float infinity " \
                                        "to integer"
        assert process.proc is None


def test_an_error_in_the_worker_fails_the_job(tiny_server_env, astronaut_path, monkeypatch):
    from fakelens.service import create_app
    from fakelens.service.worker import AnalysisProcess

    def boom(self, job, budget_s):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(AnalysisProcess, "run", boom)
    with TestClient(create_app(max_upload_mb=2)) as c:
        j = _wait(c, c.post("/v1/analyses", files={"file": ("a.png", astronaut_path.read_bytes())}).json()["id"], 20)
        assert j["status"] == "failed" and j["label"] == "error"
        assert j["result"]["error"] == "analysis failed in the server: RuntimeError: boom second line"


# 2. Validation errors: one line, no echo

@pytest.mark.parametrize("body, detail", [
    ('{"clarity": 1e400, "helpfulness": 1}', "body.clarity: must be an integer"),
    ('{"clarity": NaN, "helpfulness": 1}', "body.clarity: must be an integer"),
    ('{"clarity": 3, "helpfulness": 3, "comment": "\\ud800"}',
     "body.comment: Input should be a valid string, unable to parse raw data as a unicode string"),
    ('{"clarity": 9, "helpfulness": 0}', "body.clarity: Input should be less than or equal to 5; "
                                         "body.helpfulness: Input should be greater than or equal to 1"),
    (json.dumps({"clarity": 3, "helpfulness": 3, "comment": "x" * 5000}),
     "body.comment: String should have at most 4000 characters"),
])
def test_invalid_feedback_is_one_line_422(client, body, detail):
    r = client.post("/v1/analyses/1/feedback", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json() == {"detail": detail}  # the input is never echoed


def test_invalid_parameters_are_one_line_422(client):
    r = client.get("/v1/analyses", params={"limit": 0, "label": "\N{SNOWMAN}"})
    assert r.status_code == 422
    assert r.json() == {"detail": "query.limit: Input should be greater than or equal to 1; query.label: Input should "
                                  "be 'real', 'fake', 'no_face' or 'error'"}
    assert client.get("/v1/analyses/0").json() == {"detail": "path.analysis_id: Input should be greater than or "
                                                              "equal to 1"}
    schema = client.get("/openapi.json").json()["paths"]["/v1/analyses/{analysis_id}/feedback"]["post"]["responses"]
    assert schema["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}


# 3. Request bodies besides uploads: 64 KB

def test_request_bodies_over_64_kb_are_refused(client, astronaut_path):
    big = json.dumps({"clarity": 3, "helpfulness": 3, "comment": "x" * 70_000}).encode()
    declared = client.post("/v1/analyses/1/feedback", content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413 and declared.json() == {"detail": "request body over the 64 KB limit"}
    assert "content-security-policy" in declared.headers
    chunked = client.post("/v1/analyses/1/feedback", content=iter([big[:40_000], big[40_000:]]),
                          headers={"content-type": "application/json"})  # no Content-Length
    assert chunked.status_code == 413 and chunked.json() == {"detail": "request body over the 64 KB limit"}
    form = client.post("/session", data={"key": "k" * 70_000})
    assert form.status_code == 413 and form.json() == {"detail": "request body over the 64 KB limit"}
    # uploads keep their own limit
    assert client.post("/v1/analyses", files={"file": ("a.png", astronaut_path.read_bytes())}).status_code == 202


# 4. Search parameters

def test_every_search_box_has_the_same_limit(client, tiny_server_env):
    client.app.state.store.create(str(tiny_server_env / "x.img"), filename="x.png")  # a row to match against
    for path in ("/", "/history", "/v1/analyses"):
        r = client.get(path, params={"q": "_" * 60_000})  # escaped: a LIKE pattern past SQLite's 50,000 bytes
        assert r.status_code == 422, path
        assert r.json() == {"detail": "query.q: String should have at most 255 characters"}
        assert client.get(path, params={"q": "%" * 255}).status_code == 200, path


# 5. Quota under concurrent uploads

def test_concurrent_uploads_never_exceed_the_quota(tiny_server_env, no_analyses):
    from fakelens.service import create_app

    png = _encoded(_noise(300, 270), format="PNG")
    assert 2**20 / 5 < len(png) <= 2**20 / 4  # four fit in 1 MB, five do not
    with TestClient(create_app(quota_mb=1)) as c:
        answers, start = [], threading.Barrier(20)

        def upload():
            start.wait()
            answers.append(c.post("/v1/analyses", files={"file": ("q.png", png)}))

        threads = [threading.Thread(target=upload) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(r.status_code for r in answers) == [202] * 4 + [413] * 16
        assert all("storage quota of 1 MB" in r.json()["detail"] for r in answers if r.status_code == 413)
        assert c.app.state.store.usage(None) == 4 * len(png)
        assert len(list((tiny_server_env / "uploads").iterdir())) == 4  # the refused left nothing


# 6. What is an image: the whole file, and its real size

def test_images_are_identified_from_the_whole_file(client, tiny_server_env):
    gray = Image.new("RGB", (64, 64), "gray")
    for name, data in [("icc.jpg", _encoded(gray, format="JPEG", icc_profile=bytes(200_000))),  # header past 64 KB
                       ("face.ico", _encoded(_noise(256, 256), format="ICO", sizes=[(256, 256)]))]:
        assert len(data) > 1 << 16
        r = client.post("/v1/analyses", files={"file": (name, data)})
        assert r.status_code == 202 and r.json()["kind"] == "image", name
    for (w, h), detail in [((60000, 60000), "image too large: 3600000000 pixels (limit 64 MP)"),  # PIL's own guard
                           ((9000, 9000), "image too large: 9000 x 9000 pixels (limit 64 MP)")]:
        r = client.post("/v1/analyses", files={"file": ("bomb.png", _png(w, h))})
        assert r.status_code == 413 and r.json() == {"detail": detail}
    assert client.post("/v1/analyses", files={"file": ("a.png", _png(7000, 7000))}).status_code == 202
    assert len(list((tiny_server_env / "uploads").iterdir())) == 3  # the refused left nothing


# 7. Feedback waits for the result; the result names the upload, not where it is kept

def test_feedback_waits_and_results_show_the_uploaded_name(client, tiny_server_env):
    from fakelens.records import Analysis

    store = client.app.state.store
    stored = str(tiny_server_env / "uploads" / "0123abcd.img")
    job = store.create(stored, "ab" * 32, filename="holiday.png", size=10, kind="image")
    rating = {"clarity": 3, "helpfulness": 4, "comment": "ok \N{SNOWMAN}"}
    r = client.post(f"/v1/analyses/{job}/feedback", json=rating)
    assert r.status_code == 409 and r.json() == {"detail": "not finished yet (status queued)"}
    store.finish(job, Analysis(path=stored, kind="image", label="error", score=None, faces=[],
                               error=f"corrupt or truncated image (broken data stream): {stored}"))
    result = client.get(f"/v1/analyses/{job}").json()["result"]
    assert result["path"] == "holiday.png"
    assert result["error"] == "corrupt or truncated image (broken data stream): holiday.png"
    assert store.get(job)["result"]["path"] == stored  # the stored record is unchanged
    assert client.post(f"/v1/analyses/{job}/feedback", json=rating).status_code == 201
