"""Face detection (MediaPipe BlazeFace, or dlib HOG for comparison), 68 landmarks, and the square crops the models see."""

from fakelens.faces.crop import FaceCrop, crop_face, crop_faces, crop_landmarks, crop_whole_image, square_around
from fakelens.faces.detect import BACKENDS, DetectedFace, FaceDetector, predict_landmarks

__all__ = ["BACKENDS", "DetectedFace", "FaceCrop", "FaceDetector", "crop_face", "crop_faces", "crop_landmarks",
           "crop_whole_image", "predict_landmarks", "square_around"]
