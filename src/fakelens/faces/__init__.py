"""Face detection (MediaPipe BlazeFace, or dlib HOG for comparison), 68 landmarks, and the square crops the models see."""

from fakelens.faces.crop import FaceCrop, crop_face, crop_faces, crop_whole_image, square_around
from fakelens.faces.detect import BACKENDS, DetectedFace, FaceDetector

__all__ = ["BACKENDS", "DetectedFace", "FaceCrop", "FaceDetector", "crop_face", "crop_faces", "crop_whole_image",
           "square_around"]
