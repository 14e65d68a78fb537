"""DeepExplain (seed 000): per-frame CNN features, sliding-window means, an LSTM, dense -> sigmoid.

The frame features X_t are 512-d penultimate activations (seed 001's head after batch norm and
ReLU) on top of the trained image detector's backbone: the video model reuses that backbone as
its CNN and carries its own copy of the head, fine-tuned on video frames, with the small sequence
model trained on clips.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from fakelens.errors import ModelError
from fakelens.models.checkpoint import read_weights, write_weights
from fakelens.models.head import ClassifierHead, DeepfakeClassifier


def head_outputs(head: ClassifierHead, pooled: torch.Tensor) -> torch.Tensor:
    """(N, 1 + D) from pooled backbone features: the head's logit, then its D-dim activations X_t."""
    feats = head.relu(head.bn(head.fc1(pooled)))
    return torch.cat([head.fc2(feats), feats], dim=1)


class FrameEncoder(nn.Module):
    """Image classifier -> (N, 1 + D): the frame's fake logit, then its D-dim feature vector X_t.

    `head` replaces the classifier's own head: the video model's frame head, tuned on video frames."""

    def __init__(self, classifier: DeepfakeClassifier, head: ClassifierHead | None = None):
        super().__init__()
        self.classifier = classifier.eval()
        self.head = (head if head is not None else classifier.head).eval()
        self.input_size = classifier.input_size

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled backbone features (N, C): the input of every head."""
        return self.head.pool(self.classifier.features(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return head_outputs(self.head, self.pooled(x))


class SequenceClassifier(nn.Module):
    """Windows of W frame features averaged with stride S (A_w), a recurrent net over the A_w,
    its last hidden state -> dense -> one logit (probability of fake after a sigmoid).

    With window=1, stride=1 it is the plain RNN/LSTM on raw frame features (seed 000's baselines).
    """

    def __init__(self, feature_dim: int = 512, hidden: int = 32, cell: str = "lstm", window: int = 4, stride: int = 2,
                 dropout: float = 0.5, proj: int = 32, frame_head: int = 0, frame_kind: bool = False):
        super().__init__()
        if cell not in ("lstm", "rnn"):
            raise ValueError(f"cell must be 'lstm' or 'rnn', not {cell!r}")
        self.config = dict(feature_dim=feature_dim, hidden=hidden, cell=cell, window=window, stride=stride,
                           dropout=dropout, proj=proj, frame_head=frame_head, frame_kind=frame_kind)
        # The image head tuned on video frames (input: `frame_head` pooled backbone channels), saved
        # with the sequence model; 0 keeps the image model's own head. `frame_kind`: it has the image
        # head's kind-of-fake logit too.
        self.frame_head = ClassifierHead(frame_head, feature_dim, manipulation=frame_kind) if frame_head else None
        self.window, self.stride = window, stride
        self.norm = nn.LayerNorm(feature_dim)
        # A narrow projection first: tens of training clips cannot fit an LSTM on 512-d inputs.
        self.proj = nn.Linear(feature_dim, proj) if proj else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        rnn = nn.LSTM if cell == "lstm" else nn.RNN
        self.rnn = rnn(proj or feature_dim, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 1)
        # Mean frame feature of real training clips: what "removing" a frame or window means in SHAP.
        self.register_buffer("reference", torch.zeros(feature_dim))

    def windows(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) frame features -> (B, N, D) window means A_w (one window if T < W)."""
        w = min(self.window, x.shape[1])
        a = x.unfold(1, w, self.stride).mean(-1)
        if (x.shape[1] - w) % self.stride:  # a last window that ends on the last frame
            a = torch.cat([a, x[:, -w:].mean(1, keepdim=True)], dim=1)
        return a

    def forward_windows(self, a: torch.Tensor) -> torch.Tensor:
        """Logits from window features A_w (B, N, D)."""
        out, _ = self.rnn(self.dropout(self.proj(self.norm(a))))
        return self.fc(out[:, -1]).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits from frame features X_t (B, T, D)."""
        return self.forward_windows(self.windows(x))




def save_sequence_model(model: SequenceClassifier, path: str | Path, meta: dict) -> None:
    """fp16 safetensors; the architecture and the frame model it expects go in the metadata."""
    write_weights({k: v.half() for k, v in model.state_dict().items()}, path,
                  {"kind": "video-sequence", **model.config, **meta})


def load_sequence_model(path: str | Path) -> tuple[SequenceClassifier, dict]:
    """(model in eval mode, metadata) of a saved sequence model; ModelError if it is not one or was altered."""
    state, meta = read_weights(path)
    if meta.get("kind") != "video-sequence":
        raise ModelError(f"not a fakelens video model: {path}")
    keys = ("feature_dim", "hidden", "cell", "window", "stride", "dropout", "proj", "frame_head")
    # A frame head tuned from an image head with the kind-of-fake logit keeps it (files before v3 have none).
    kind = "frame_head.fc_kind.weight" in state
    model = SequenceClassifier(**{k: meta[k] for k in keys if k in meta}, **({} if "proj" in meta else {"proj": 0}),
                               frame_kind=kind)
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except RuntimeError as e:
        raise ModelError(f"weights do not fit the video model in their metadata ({str(e).splitlines()[0]}): {path}") from None
    return model.eval(), meta
