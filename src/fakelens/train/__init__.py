"""Training: head warm-up on cached features, then (partial) fine-tuning with self-blended fakes.

Needs torch (pip install 'fakelens[torch]'); the configuration classes do not."""

from fakelens.train.config import RunConfig, TrainConfig, VideoTrainConfig

__all__ = ["RunConfig", "TrainConfig", "TrainResult", "VideoTrainConfig", "train"]


def __getattr__(name: str):
    if name in ("train", "TrainResult"):  # torch: only when a run starts
        from fakelens.train import trainer

        return getattr(trainer, name)
    raise AttributeError(name)
