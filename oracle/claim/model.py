"""What a claim's trip needs of a damage model (oracle.vision.DamageModel), and how an explanation names it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from oracle.claim.batch import ModelPrediction, PendingHeatmapLike


class DamageModelLike(Protocol):
    """What the assessor uses of a damage model (oracle.vision.DamageModel): its file, its hash, its predictions."""

    @property
    def path(self) -> Path:
        """The model file."""

    @property
    def model_sha256(self) -> str:
        """The hex sha256 of the model file."""

    def predict(self, images: Sequence[bytes], heatmaps: bool = True) -> Sequence[ModelPrediction]:
        """Predict every photo (with heat maps drawn unless `heatmaps` is False)."""

    def classify(
        self, images: Sequence[bytes], batch_size: int = 32
    ) -> Sequence[tuple[ModelPrediction, PendingHeatmapLike]]:
        """Predict every photo, each with what drawing its heat map takes."""


class ModelUnavailableError(RuntimeError):
    """No damage model is loaded, so photos cannot be assessed."""


def model_sha256_hex(model: DamageModelLike) -> str:
    """Return the hex sha256 of a loaded damage model (DamageModel.model_sha256)."""
    return str(model.model_sha256)


def model_id(model: DamageModelLike) -> str:
    """Return the model's id for explanations: its architecture and file name."""
    return f"{getattr(model, 'metadata', {}).get('arch', 'damage-model')}/{model.path.name}"
