"""fakelens: tell whether a face is a deepfake, and show why."""

from fakelens.records import Analysis, FaceResult

__version__ = "0.1.0"

__all__ = ["Analysis", "Detector", "FaceResult", "__version__"]


def __getattr__(name: str):
    # Detector pulls in torch and dlib; import it lazily so `import fakelens` stays cheap.
    if name == "Detector":
        from fakelens.detector import Detector

        return Detector
    raise AttributeError(name)
