"""`fakelens scan`: every file found once, bad files as error lines, resumable after a kill."""

import json
import shutil

import pytest
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


def test_a_jpeg_with_a_large_metadata_block_is_found_without_its_extension(tmp_path, astronaut_path):
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.open(astronaut_path).convert("RGB").save(buf, "JPEG")
    jpeg = buf.getvalue()
    app2 = b"\xff\xe2" + (2 + 60000).to_bytes(2, "big") + b"\x00" * 60000  # an ICC-sized block right after SOI
    (tmp_path / "photo").write_bytes(jpeg[:2] + app2 + jpeg[2:])
    assert Image.open(tmp_path / "photo").size == (512, 512)  # a valid JPEG
    assert find_inputs(tmp_path) == [str(tmp_path / "photo")]


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


def _many_faces(tmp_path, astronaut_path, n):
    from PIL import Image

    d = tmp_path / "many"
    d.mkdir()
    face = Image.open(astronaut_path).crop((60, 0, 360, 300)).resize((160, 160))
    for i in range(n):
        face.rotate(i % 7).save(d / f"face{i:03d}.png")
    return d


def _scan_process(folder, out, model, *extra):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "fakelens", "scan", str(folder), "--out", str(out), "--model",
                             str(model), "--no-save", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def _wait_for_lines(out, n, proc, timeout=120):
    import time

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"scan wrote fewer than {n} lines (exit {proc.poll()})")


def _children(pid):
    from pathlib import Path

    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


def test_a_scan_killed_with_sigkill_resumes_and_lists_every_file_once(tmp_path, astronaut_path, tiny_checkpoint):
    import os
    import signal

    d = _many_faces(tmp_path, astronaut_path, 120)
    out = tmp_path / "killed.jsonl"
    proc = _scan_process(d, out, tiny_checkpoint, "--workers", "2")
    _wait_for_lines(out, 5, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the scan and its workers, mid-run
    proc.wait()
    first = out.read_bytes().count(b"\n")
    assert 5 <= first < 120
    r = CliRunner().invoke(app, ["scan", str(d), "--out", str(out), "--model", str(tiny_checkpoint), "--no-save"])
    assert r.exit_code == 0, r.output
    paths = [json.loads(line)["path"] for line in out.read_text().splitlines()]
    assert len(paths) == len(set(paths)) == 120 and set(paths) == set(find_inputs(d))


def test_a_worker_killed_mid_scan_is_replaced_and_nothing_is_lost(tmp_path, astronaut_path, tiny_checkpoint):
    import os
    import signal
    from pathlib import Path

    d = _many_faces(tmp_path, astronaut_path, 80)
    out = tmp_path / "oom.jsonl"
    proc = _scan_process(d, out, tiny_checkpoint, "--workers", "2")
    _wait_for_lines(out, 3, proc)
    workers = [k for k in _children(proc.pid) if b"spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes()]
    assert workers, "no worker processes found"
    os.kill(workers[0], signal.SIGKILL)  # as the out-of-memory killer would
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["path"] for r in recs) == find_inputs(d)  # each file once, none given up
    assert {r["label"] for r in recs} <= {"real", "fake"}


def test_scan_refuses_a_single_image_a_binary_list_and_an_output_folder(tmp_path, astronaut_path):
    from fakelens.errors import InputError

    binary = tmp_path / "list.txt"
    binary.write_bytes(b"\xff\xfe\x00")
    for source, words in ((astronaut_path, "not an image or video"), (binary, "not a text file")):
        with pytest.raises(InputError, match=words):
            find_inputs(source)
    r = CliRunner().invoke(app, ["scan", str(astronaut_path.parent), "--out", str(tmp_path), "--no-save"])
    assert r.exit_code == 2 and "not a folder" in r.stderr


def test_scan_never_cuts_or_appends_to_a_file_it_did_not_write(tmp_path, astronaut_path):
    """--out naming notes, a picture or the scan's own list is refused, byte for byte untouched."""
    import shutil

    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"my notes\nline two without newline")
    picture = tmp_path / "victim.jpg"
    shutil.copy(astronaut_path, picture)
    listing = tmp_path / "list.txt"
    listing.write_text(f"{astronaut_path}\n")
    for target in (notes, picture, listing):
        before = target.read_bytes()
        r = CliRunner().invoke(app, ["scan", str(listing), "--out", str(target), "--no-save"])
        assert r.exit_code == 1 and "is not a scan's results file" in r.stderr, r.output
        assert len(r.stderr.strip().splitlines()) == 1 and target.read_bytes() == before


def test_ray_engine_refuses_an_address_nobody_answers_at(tmp_path, astronaut_path):
    pytest.importorskip("ray", reason="Ray not installed (pip install 'fakelens[ray]')")
    import socket

    with socket.socket() as s:  # a port just freed: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    listing = tmp_path / "list.txt"
    listing.write_text(f"{astronaut_path}\n")
    r = CliRunner().invoke(app, ["scan", str(listing), "--engine", "ray", "--ray-address", f"127.0.0.1:{port}",
                                 "--out", str(tmp_path / "r.jsonl"), "--no-save"])
    assert r.exit_code == 1 and "cannot reach the Ray cluster" in r.stderr, r.output
