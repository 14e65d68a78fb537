"""Model registry (timm-style `create_model(name)`) and checkpoints."""

from fakelens.models.checkpoint import load_checkpoint, save_checkpoint
from fakelens.models.predict import fake_and_kind, fake_probability
from fakelens.models.registry import create_model, list_models, register_model

# Importing the architecture modules registers them.
from fakelens.models import efficientnet_lite, tiny  # noqa: E402,F401

__all__ = ["create_model", "fake_and_kind", "fake_probability", "list_models", "load_checkpoint", "register_model", "save_checkpoint"]
