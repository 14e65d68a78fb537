"""Keys, private histories, the page's cookie and CSRF checks, and the per-key limits."""

import re
import socket
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import serve_in_thread
from fakelens.cli import app as cli


def _key(name: str) -> str:
    out = CliRunner().invoke(cli, ["keys", "create", name])
    assert out.exit_code == 0, out.output
    return out.stdout.strip().splitlines()[-1]  # printed once, on the last line


def _bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def keyed(tiny_server_env):
    """Two keys made by the command line, and a client of a loopback app (auth on because keys exist)."""
    from fakelens.service import create_app

    keys = {"alice": _key("alice"), "bob": _key("bob")}
    with TestClient(create_app(max_upload_mb=2)) as c:
        yield c, keys


def test_keys_command_line(tiny_server_env):
    runner = CliRunner()
    key = _key("alice")
    assert re.fullmatch(r"flk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key)
    listed = runner.invoke(cli, ["keys", "list"])
    assert "alice" in listed.stdout and key not in listed.stdout and key.split("_")[1] in listed.stdout
    again = runner.invoke(cli, ["keys", "create", "alice"])
    assert again.exit_code == 2 and "exists already" in again.output
    assert runner.invoke(cli, ["keys", "create", "no spaces/or slashes"]).exit_code == 2
    from fakelens.store import HistoryStore

    store = HistoryStore()
    wrong = key[:-1] + ("y" if key[-1] == "x" else "x")
    assert store.verify_key(key).name == "alice" and store.verify_key(wrong) is None
    db = (tiny_server_env / "history.db").read_bytes()
    assert key.encode() not in db and key.split("_", 2)[2].encode() not in db  # only a salted hash is stored
    assert runner.invoke(cli, ["keys", "revoke", "alice"]).exit_code == 0
    assert store.verify_key(key) is None
    gone = runner.invoke(cli, ["keys", "revoke", "alice"])
    assert gone.exit_code == 1 and "no unrevoked key" in gone.output and "Traceback" not in gone.output


def test_a_request_without_a_valid_key_gets_401(keyed):
    c, keys = keyed
    for method, path in [("GET", "/v1/analyses"), ("GET", "/v1/analyses/1"), ("DELETE", "/v1/analyses/1"),
                         ("GET", "/v1/analyses/1/report"), ("GET", "/v1/analyses/1/thumbnail"),
                         ("POST", "/v1/analyses"), ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/"),
                         ("GET", "/history")]:
        for headers in ({}, _bearer("flk_000000000000_" + "A" * 43), _bearer(keys["alice"][:-2] + "zz"),
                        {"Authorization": f"Basic {keys['alice']}"}):
            r = c.request(method, path, headers=headers)
            assert r.status_code == 401, (method, path, headers, r.status_code)
    assert c.get("/v1/analyses").headers["www-authenticate"] == "Bearer"
    assert c.get("/healthz").status_code == 200  # the health check needs no key
    assert c.get("/v1/analyses", headers=_bearer(keys["alice"])).status_code == 200
    CliRunner().invoke(cli, ["keys", "revoke", "alice"])  # a running server refuses it from the next request
    assert c.get("/v1/analyses", headers=_bearer(keys["alice"])).status_code == 401
    assert c.get("/v1/analyses", headers=_bearer(keys["bob"])).status_code == 200


def test_each_key_sees_only_its_own_analyses(keyed, astronaut_path):
    c, keys = keyed
    a, b = _bearer(keys["alice"]), _bearer(keys["bob"])
    mine = c.post("/v1/analyses", files={"file": ("alice.png", astronaut_path.read_bytes())}, headers=a).json()["id"]
    theirs = c.post("/v1/analyses", files={"file": ("bob.png", astronaut_path.read_bytes())}, headers=b).json()["id"]
    assert [r["id"] for r in c.get("/v1/analyses", headers=a).json()] == [mine]
    assert [r["id"] for r in c.get("/v1/analyses", headers=b).json()] == [theirs]
    for path in (f"/v1/analyses/{mine}", f"/v1/analyses/{mine}/report", f"/v1/analyses/{mine}/thumbnail"):
        assert c.get(path, headers=b).status_code == 404, path
    assert c.post(f"/v1/analyses/{mine}/feedback", json={"clarity": 1, "helpfulness": 1}, headers=b).status_code == 404
    assert c.delete(f"/v1/analyses/{mine}", headers=b).status_code == 404
    assert c.get(f"/v1/analyses/{mine}", headers=a).status_code == 200  # still there for its owner
    assert c.get("/v1/analyses", params={"q": "alice"}, headers=b).json() == []
    assert "alice.png" not in c.get("/history", headers=b).text and "bob.png" in c.get("/history", headers=b).text
    assert c.delete(f"/v1/analyses/{mine}", headers=a).status_code == 204


def test_the_page_signs_in_with_an_httponly_cookie_and_checks_csrf(keyed, astronaut_path):
    c, keys = keyed
    page = c.get("/")
    assert page.status_code == 401 and 'action="/session"' in page.text and "default-src" in page.headers[
        "content-security-policy"]
    assert c.post("/session", data={"key": "wrong"}).status_code == 401
    signed = c.post("/session", data={"key": keys["alice"]}, follow_redirects=False)
    assert signed.status_code == 303
    cookies = signed.headers.get_list("set-cookie")
    key_cookie = next(h for h in cookies if h.startswith("fakelens_key="))
    assert "HttpOnly" in key_cookie and "SameSite=strict" in key_cookie
    home = c.get("/")
    assert home.status_code == 200 and "signed in as <b>alice</b>" in home.text
    token = re.search(r'name="csrf-token" content="([^"]+)"', home.text).group(1)
    assert token == c.cookies["fakelens_csrf"]
    upload = {"files": {"file": ("cookie.png", astronaut_path.read_bytes())}}
    assert c.post("/v1/analyses", **upload).status_code == 403  # cookie without the CSRF header
    assert c.post("/v1/analyses", headers={"X-CSRF-Token": "forged"}, **upload).status_code == 403
    crossed = c.post("/v1/analyses", headers={"X-CSRF-Token": token, "Origin": "https://evil.example"}, **upload)
    assert crossed.status_code == 403
    made = c.post("/v1/analyses", headers={"X-CSRF-Token": token}, **upload)
    assert made.status_code == 202
    assert c.delete(f"/v1/analyses/{made.json()['id']}").status_code == 403
    assert c.delete(f"/v1/analyses/{made.json()['id']}", headers={"X-CSRF-Token": token}).status_code == 204
    c.post("/session/end")
    assert c.get("/").status_code == 401


def test_non_loopback_hosts_need_a_key_or_an_explicit_no_auth(tiny_server_env):
    from fakelens.service import create_app

    with TestClient(create_app(auth="required")) as c:  # what `serve --host 0.0.0.0` gets
        assert c.get("/v1/analyses").status_code == 401 and c.get("/healthz").status_code == 200
    with TestClient(create_app(auth="off")) as c:
        assert c.get("/v1/analyses").status_code == 200
    _key("alice")
    refused = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--no-auth"])
    assert refused.exit_code == 2 and "keys exist" in refused.output and "Traceback" not in refused.output


def test_rate_limit_answers_429_with_retry_after(tiny_server_env):
    from fakelens.service import create_app

    key = _key("alice")
    with TestClient(create_app(rate_limit=5)) as c:
        codes = [c.get("/v1/analyses", headers=_bearer(key)).status_code for _ in range(7)]
        assert codes == [200] * 5 + [429] * 2
        r = c.get("/v1/analyses", headers=_bearer(key))
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and "rate limit" in r.json()["detail"]
        other = _key("bob")  # a separate bucket per key
        assert c.get("/v1/analyses", headers=_bearer(other)).status_code == 200


def test_storage_quota_answers_413(tiny_server_env, astronaut_path):
    from fakelens.service import create_app

    key = _key("alice")
    size = len(astronaut_path.read_bytes())
    with TestClient(create_app(quota_mb=1.5 * size / 1024 / 1024)) as c:
        first = c.post("/v1/analyses", files={"file": ("a.png", astronaut_path.read_bytes())}, headers=_bearer(key))
        assert first.status_code == 202
        second = c.post("/v1/analyses", files={"file": ("b.png", astronaut_path.read_bytes())}, headers=_bearer(key))
        assert second.status_code == 413 and "storage quota" in second.json()["detail"]
        assert len(list((tiny_server_env / "uploads").iterdir())) == 1
        assert c.delete(f"/v1/analyses/{first.json()['id']}", headers=_bearer(key)).status_code == 204
        again = c.post("/v1/analyses", files={"file": ("c.png", astronaut_path.read_bytes())}, headers=_bearer(key))
        assert again.status_code == 202  # deleting frees the quota


def _raw(url: str, head: bytes, body: bytes = b"") -> tuple[int, socket.socket]:
    """Send a request's head (and part of a body) on a raw socket; return the status the server answers
    without waiting for the rest."""
    host, port = url.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(head + body)
    reply = s.recv(4096)
    return int(reply.split()[1]), s


def test_oversized_uploads_are_refused_before_the_body_is_stored(tiny_server_env):
    from fakelens.service import create_app

    with serve_in_thread(create_app(max_upload_mb=1)) as url:
        t = time.time()
        status, s = _raw(url, b"POST /v1/analyses HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                              b"boundary=b\r\nContent-Length: 10000000000\r\n\r\n")  # 10 GB announced, none sent
        s.close()
        assert status == 413 and time.time() - t < 5
        # No Content-Length (chunked): the server stops once the file passes the limit, without the rest.
        part = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n\r\n\xff\xd8\xff"
        chunk = part + bytes(1_200_000)
        status, s = _raw(url, b"POST /v1/analyses HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                              b"boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n",
                         f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")  # and then nothing more
        s.close()
        assert status == 413
        assert not list((tiny_server_env / "uploads").iterdir())  # the partial file is gone


def test_serve_warns_when_open_or_keyless_on_a_non_loopback_host(tiny_server_env, monkeypatch):
    import uvicorn

    import socket

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port: started.append(app.state.gate.mode))
    real_create_server = socket.create_server
    monkeypatch.setattr(socket, "create_server", lambda address: real_create_server(("127.0.0.1", 0)))  # any host "binds"
    runner = CliRunner()
    open_ = runner.invoke(cli, ["serve", "--host", "0.0.0.0", "--no-auth"])
    assert open_.exit_code == 0 and "without authentication" in open_.output
    keyless = runner.invoke(cli, ["serve", "--host", "192.168.1.20"])
    assert keyless.exit_code == 0 and "none exists yet" in keyless.output
    assert runner.invoke(cli, ["serve"]).exit_code == 0  # loopback: keys asked for once one exists
    assert started == ["off", "required", "auto"]
    for option, value in (("--time-budget", "-1"), ("--time-budget", "inf"), ("--time-budget", "1e308"),
                          ("--quota-mb", "nan"), ("--quota-mb", "1e303"), ("--max-upload-mb", "nan"),
                          ("--max-upload-mb", "inf"), ("--retain-days", "nan")):
        r = runner.invoke(cli, ["serve", option, value])
        assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1, (option, value, r.output)
    assert len(started) == 3  # none of them started a server
    monkeypatch.setattr(socket, "create_server", real_create_server)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        r = runner.invoke(cli, ["serve", "--port", str(taken.getsockname()[1])])
    assert r.exit_code == 1 and "cannot listen on" in r.stderr and len(started) == 3, r.output
