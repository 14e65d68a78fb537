"""Training: head warm-up on cached features, then (partial) fine-tuning with self-blended fakes."""

from fakelens.train.trainer import TrainConfig, TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train"]
