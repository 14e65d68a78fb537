"""fakelens: tell whether a face is a deepfake, and show why."""

from fakelens.records import Analysis, FaceResult

__version__ = "0.1.0"

__all__ = ["Analysis", "Detector", "FaceResult", "VideoDetector", "__version__"]


def __getattr__(name: str):
    # The detectors pull in torch, dlib and PyAV; import them lazily so `import fakelens` stays cheap.
    if name == "Detector":
        from fakelens.detector import Detector

        return Detector
    if name == "VideoDetector":
        from fakelens.video.analyze import VideoDetector

        return VideoDetector
    raise AttributeError(name)
