"""Videos: PyAV decoding, face tracks, and the DeepExplain CNN + sliding-window LSTM (seed 000).

The torch models (fakelens.video.model) and training (fakelens.video.train) are imported from their
modules; this package itself stays torch-free for analysis."""

from fakelens.media import is_video
from fakelens.video.decode import VideoFrame, VideoInfo, read_video
from fakelens.video.track import Track, link_tracks, window_starts

__all__ = ["Track", "VideoFrame", "VideoInfo", "is_video", "link_tracks", "read_video", "window_starts"]
