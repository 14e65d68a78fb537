"""Videos: PyAV decoding, face tracks, and the DeepExplain CNN + sliding-window LSTM (seed 000)."""

from fakelens.video.decode import VideoFrame, VideoInfo, is_video, read_video
from fakelens.video.model import FrameEncoder, SequenceClassifier, load_sequence_model, save_sequence_model
from fakelens.video.track import Track, link_tracks, window_starts

__all__ = ["FrameEncoder", "SequenceClassifier", "Track", "VideoFrame", "VideoInfo", "is_video", "link_tracks",
           "load_sequence_model", "read_video", "save_sequence_model", "window_starts"]
