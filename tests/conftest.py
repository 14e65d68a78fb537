import contextlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FAKELENS_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True, scope="session")
def _private_data_dir(tmp_path_factory):
    """`fakelens analyze` records every result: keep the tests' history out of the user's data directory."""
    if "FAKELENS_DATA_DIR" not in os.environ:
        os.environ["FAKELENS_DATA_DIR"] = str(tmp_path_factory.mktemp("fakelens-data"))


@pytest.fixture(scope="session")
def astronaut_path(tmp_path_factory) -> Path:
    from skimage import data

    p = tmp_path_factory.mktemp("img") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(p)
    return p


@pytest.fixture(scope="session")
def cat_path(tmp_path_factory) -> Path:
    from skimage import data

    p = tmp_path_factory.mktemp("img") / "cat.jpg"
    Image.fromarray(data.chelsea()).save(p, quality=90)
    return p


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory, astronaut_path) -> dict[str, Path]:
    """One file per kind of bad input the CLI must survive."""
    d = tmp_path_factory.mktemp("bad")
    files = {"missing": d / "does-not-exist.jpg", "empty": d / "empty.jpg", "text": d / "notes.jpg",
             "truncated": d / "truncated.jpg", "bomb": d / "bomb.png"}
    files["empty"].write_bytes(b"")
    files["text"].write_text("this is not an image\n")
    buf = d / "full.jpg"
    Image.open(astronaut_path).save(buf, quality=90)
    raw = buf.read_bytes()
    files["truncated"].write_bytes(raw[: len(raw) // 2])
    Image.new("1", (9000, 9000)).save(files["bomb"])  # 81 MP, a few KB on disk
    return files


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """An untrained tiny model saved as a fakelens checkpoint: exercises the pipeline, not accuracy."""
    import torch

    from fakelens.models import create_model, save_checkpoint

    torch.manual_seed(0)
    model = create_model("tiny-cnn", input_size=64).eval()
    p = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_checkpoint(model, p, {"crop_scale": 1.3, "threshold": 0.5})
    from fakelens.models.export import export

    export(p)  # the graph analysis runs
    return p


@pytest.fixture(scope="session")
def tiny_video_model(tiny_checkpoint):
    """An untrained sequence model saved beside the tiny frame model it reads."""
    import torch

    from fakelens.media import file_sha256
    from fakelens.video.model import SequenceClassifier, save_sequence_model

    torch.manual_seed(0)
    p = tiny_checkpoint.parent / "tiny-video.safetensors"
    save_sequence_model(SequenceClassifier(feature_dim=512, hidden=8), p,
                        {"frame_model": tiny_checkpoint.name, "frame_model_sha256": file_sha256(tiny_checkpoint),
                         "threshold": 0.5})
    from fakelens.models.export import export

    export(p)
    return p


def rng_image(seed: int, size=(96, 96)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(*size, 3), dtype=np.uint8)


@pytest.fixture
def tiny_server_env(tmp_path, monkeypatch, tiny_checkpoint):
    """A private data directory and the tiny model for the web app (its analysis process inherits both)."""
    monkeypatch.setenv("FAKELENS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FAKELENS_MODEL", str(tiny_checkpoint))
    return tmp_path / "data"


@contextlib.contextmanager
def serve_in_thread(app):
    """Run `app` on a real uvicorn server on a free localhost port; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
