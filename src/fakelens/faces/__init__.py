"""Face detection (dlib HOG), 68 landmarks, and the square crops the models see."""

from fakelens.faces.crop import FaceCrop, crop_face, crop_whole_image, square_around
from fakelens.faces.detect import DetectedFace, FaceDetector

__all__ = ["DetectedFace", "FaceCrop", "FaceDetector", "crop_face", "crop_whole_image", "square_around"]
