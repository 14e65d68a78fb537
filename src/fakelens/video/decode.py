"""Read sampled frames from a video with PyAV, robust to damaged files.

Frames are decoded in order and only the sampled ones are converted to RGB: on 15 s of
720p H.264 that costs the same as decoding alone, while seeking to 32 frames cost 1-6 s
(each seek decodes again from the previous keyframe; see ../shared/STACK.md). In H.264, the
packets of frames that are neither sampled nor referenced by other frames are not decoded at
all (the sampled frames come out bit for bit the same): with B-frames, a large share of a clip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from fakelens.errors import InputError
from fakelens.media import readable_file



@dataclass
class VideoFrame:
    """One sampled frame: its index in the stream, time in seconds, and upright RGB pixels."""

    index: int
    time: float
    rgb: np.ndarray


@dataclass
class VideoInfo:
    """What the container says about the video stream, after rotation (width/height as displayed)."""

    width: int
    height: int
    fps: float
    duration: float
    frames: int  # frames in the stream (decoded count when the header does not say)
    codec: str
    rotation: int = 0
    decoded: int = 0  # frames decoded in order, or frames reached by seeking
    damaged_packets: int = 0
    warnings: list[str] = field(default_factory=list)


def sample_indices(total: int, num_frames: int | None = 32, every: int | None = None, fps: float | None = None,
                   stream_fps: float = 30.0, max_frames: int | None = None) -> np.ndarray:
    """Which frame indices to keep: `num_frames` spread uniformly (default), every k-th, or a rate in fps.
    At most `max_frames`: a denser request is thinned out evenly over the same span (the caller says so),
    and no array longer than that is made, whatever frame count a header claims."""
    if total <= 0:
        return np.zeros(0, np.int64)
    cap = max(1, max_frames or total)
    if every:
        step = max(1, int(every), -(-total // cap))  # ceil(total / cap): at most `cap` frames
        return np.arange(0, total, step)
    if fps:
        step = max(stream_fps / fps, 1.0, total / cap)
        return np.unique(np.round(np.arange(0, total, step)).astype(np.int64))[:cap]
    n = min(int(num_frames or 32), total, cap)
    return np.unique(np.round(np.linspace(0, total - 1, n)).astype(np.int64))


def frames_asked(total: int, num_frames: int | None = 32, every: int | None = None, fps: float | None = None,
                 stream_fps: float = 30.0) -> int:
    """How many frames a sampling request asks for, before any cap."""
    if every:
        return -(-total // max(1, int(every)))
    if fps:
        return int(np.ceil(total / max(stream_fps / fps, 1.0)))
    return min(int(num_frames or 32), max(total, 0))


def _upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    # PyAV's `rotation` is the display matrix's counter-clockwise angle; np.rot90 turns counter-clockwise too.
    k = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


SEEK_GAP = 300  # frames between samples above which seeking beats decoding everything (long videos)
# The sampled frames are held in memory until analysis: at most this many bytes of them per video
# (720p: about 580 frames), so `--every 1` on a long clip or a header claiming 10^8 frames cannot
# exhaust the machine's memory.
FRAME_MEMORY = 1536 * 2**20
MAX_FRAMES = 20000


def _to_rgb(frame, max_side: int) -> np.ndarray:
    w, h = frame.width, frame.height
    scale = min(1.0, max_side / max(w, h))
    rgb = frame.to_ndarray(format="rgb24", width=max(2, round(w * scale) // 2 * 2),
                           height=max(2, round(h * scale) // 2 * 2))
    return _upright(rgb, int(frame.rotation or 0))


def _unreferenced_h264(stream):
    """A test `packet -> True` when the packet is an H.264 frame no other frame refers to (every slice's
    nal_ref_idc is 0), for length-prefixed streams (MP4, MOV, Matroska); None for other streams.
    Hand-written because FFmpeg's skip_frame drops every such frame, the sampled ones included."""
    extradata = bytes(stream.codec_context.extradata or b"")
    if stream.codec_context.name != "h264" or len(extradata) < 7 or extradata[0] != 1:
        return None
    size_bytes = (extradata[4] & 3) + 1

    def unreferenced(packet) -> bool:
        buf, i, slices = memoryview(packet), 0, 0
        while i + size_bytes < len(buf):
            n = int.from_bytes(buf[i:i + size_bytes], "big")
            i += size_bytes
            if n <= 0 or i + n > len(buf):
                return False  # not the framing we expect: decode it
            header = buf[i]
            if header & 0x1F in (1, 5):  # a coded slice (non-IDR, IDR)
                if header & 0x60:
                    return False
                slices += 1
            i += n
        return slices > 0

    return unreferenced


def _seek_frames(container, stream, wanted: np.ndarray, rate: float, max_side: int) -> tuple[list[VideoFrame], int]:
    """One seek per sampled frame: each decodes only from the keyframe before it. Returns the frames
    and the display rotation."""
    tb = float(stream.time_base)
    start = stream.start_time or 0
    half = int(0.5 / rate / tb)
    out, rotation = [], 0
    for idx in wanted.tolist():
        target = start + int(round(idx / rate / tb))
        container.seek(target, stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if frame.pts is None or frame.pts >= target - half:
                rotation = int(frame.rotation or 0)
                out.append(VideoFrame(idx, round(((frame.pts or target) - start) * tb, 4), _to_rgb(frame, max_side)))
                break
    return out, rotation


def read_video(path: str | os.PathLike, num_frames: int | None = 32, every: int | None = None, fps: float | None = None,
               max_side: int = 1280, seek: bool | None = None) -> tuple[list[VideoFrame], VideoInfo]:
    """Decode the sampled frames of a video (long side scaled down to `max_side`).

    Frames are decoded in order, unless samples are sparse (more than SEEK_GAP frames apart, or
    `seek=True`): then each is reached by seeking. Raises InputError with a one-line reason when
    nothing can be decoded; a partly damaged file returns the frames that decode, with the damage
    counted in `info.damaged_packets` and `info.warnings`.
    """
    import av

    p = readable_file(path, "a video")
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise InputError(f"not a readable video ({_one_line(e)}): {p}") from None
    with container:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["no streams"]
            raise InputError(f"no video stream ({', '.join(kinds)} only): {p}")
        stream = container.streams.video[0]
        if stream.codec_context is None:  # a damaged header can name a codec FFmpeg does not have
            raise InputError(f"video stream with an unknown or damaged codec header: {p}")
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 30.0)
        duration = (float(stream.duration * stream.time_base) if stream.duration else
                    (container.duration or 0) / 1e6)
        total = int(stream.frames or 0) or int(round(duration * rate))
        scale = min(1.0, max_side / max(stream.width or 1, stream.height or 1))
        frame_bytes = max(1, round((stream.width or 1) * scale) * round((stream.height or 1) * scale) * 3)
        cap = max(1, min(MAX_FRAMES, FRAME_MEMORY // frame_bytes))
        wanted = sample_indices(total, num_frames, every, fps, rate, max_frames=cap)
        asked = frames_asked(total, num_frames, every, fps, rate)
        keep = set(wanted.tolist())
        last_wanted = int(wanted[-1]) if len(wanted) else -1
        frames: list[VideoFrame] = []
        info = VideoInfo(width=stream.width, height=stream.height, fps=round(rate, 3), duration=round(duration, 3),
                         frames=total, codec=stream.codec_context.name)
        thinned = ([f"{asked} frames asked for; {len(wanted)} sampled evenly instead, to keep this video's frames "
                    f"within {FRAME_MEMORY >> 20} MiB of memory"] if asked > len(wanted) else [])
        index, t0 = 0, None
        gap = float(np.diff(wanted).mean()) if len(wanted) > 1 else float(total)
        if seek or (seek is None and len(wanted) and gap > SEEK_GAP):
            try:
                frames, info.rotation = _seek_frames(container, stream, wanted, rate, max_side)
            except (av.error.FFmpegError, OSError):
                frames = []
            if len(frames) == len(wanted):
                info.decoded, info.warnings = len(frames), thinned
                if info.rotation % 180:
                    info.width, info.height = info.height, info.width
                return frames, info
            container.seek(0)  # seeking failed on this file: fall back to reading in order
            frames = []
        # Frames that are not sampled and not referenced are skipped undecoded; frames are then numbered
        # by their timestamps. Should that not give every sampled frame, the file is read again in full.
        skip = _unreferenced_h264(stream) if total and len(keep) < total else None
        tb, start = float(stream.time_base), stream.start_time or 0
        for attempt in ([skip, None] if skip is not None else [None]):
            index, t0, decoded_count, numbered = 0, None, 0, attempt is not None
            frames, info.damaged_packets, info.warnings = [], 0, []
            try:
                for packet in container.demux(stream):
                    if (attempt is not None and packet.pts is not None
                            and round((packet.pts - start) * tb * rate) not in keep and attempt(packet)):
                        continue
                    try:
                        decoded = packet.decode()
                    except (av.error.InvalidDataError, av.error.FFmpegError):
                        info.damaged_packets += 1
                        continue
                    for frame in decoded:
                        decoded_count += 1
                        if attempt is not None:
                            if frame.pts is None:
                                numbered = False
                                break
                            index = round((frame.pts - start) * tb * rate)
                        t = float(frame.time) if frame.time is not None else index / rate
                        t0 = t if t0 is None else t0
                        if index in keep or (total == 0 and not frames):
                            info.rotation = int(frame.rotation or 0)
                            frames.append(VideoFrame(index, round(t - t0, 4), _to_rgb(frame, max_side)))
                        index += 1
                    if index > last_wanted >= 0 and len(frames) == len(keep) or (attempt is not None and not numbered):
                        break
            except (av.error.FFmpegError, OSError) as e:
                info.warnings.append(f"stopped reading after frame {index}: {_one_line(e)}")
            if attempt is None or (numbered and len(frames) == len(keep)
                                   and len({f.index for f in frames}) == len(frames)):
                break
            container.seek(0)
        info.decoded = decoded_count if attempt is not None else index
    if not frames:
        detail = f", {info.damaged_packets} damaged packets" if info.damaged_packets else ""
        raise InputError(f"no decodable video frames (truncated or corrupt{detail}): {p}")
    if info.rotation % 180:
        info.width, info.height = info.height, info.width
    if info.damaged_packets:
        info.warnings.append(f"{info.damaged_packets} damaged packets skipped; analyzed the {len(frames)} sampled frames that decoded")
    if len(frames) < len(keep) and not info.warnings:
        info.warnings.append(f"only {len(frames)} of {len(keep)} sampled frames decoded (file shorter than its header says)")
    info.warnings[:0] = thinned
    return frames, info


def _one_line(e: BaseException) -> str:
    # FFmpeg errors carry "[Errno N] message: 'path'"; the message alone reads better.
    text = getattr(e, "strerror", None) or str(e)
    return " ".join(str(text).split()) or type(e).__name__
