"""Runtime damage model: load the exported model, preprocess any photo, predict severity with heat maps."""

from oracle.vision.images import ImageError
from oracle.vision.runtime import DamageModel, PhotoPrediction

__all__ = ["DamageModel", "ImageError", "PhotoPrediction"]
