"""schemathesis hooks for the fakelens API: how to make the media its upload schema names
(`encoding: file: contentType: image/png, image/jpeg, video/mp4`). Random bytes are not an image,
and the server rightly answers them 415; with these hooks a schema-valid upload is real media.

    SCHEMATHESIS_HOOKS=tests/schemathesis_hooks.py schemathesis run URL/openapi.json --checks all -H "Authorization: Bearer KEY"
"""

import io

import numpy as np
import schemathesis
from hypothesis import strategies as st
from PIL import Image


def _image(fmt: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (48 + 8 * seed, 64, 3), dtype=np.uint8)).save(buf, fmt)
    return buf.getvalue()


def _mp4() -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(4):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return buf.getvalue()


schemathesis.openapi.media_type("image/png", st.sampled_from([_image("PNG", i) for i in range(3)]))
schemathesis.openapi.media_type("image/jpeg", st.sampled_from([_image("JPEG", i) for i in range(3)]))
schemathesis.openapi.media_type("video/mp4", st.just(_mp4()))
