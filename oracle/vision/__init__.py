"""Runtime damage model: load the exported model, preprocess any photo, predict severity with heat maps."""

from oracle.vision.images import CLASSES, DAMAGE_CLASSES, ImageError
from oracle.vision.runtime import ClaimVision, DamageModel, PhotoPrediction, combine

__all__ = ["CLASSES", "DAMAGE_CLASSES", "ClaimVision", "DamageModel", "ImageError", "PhotoPrediction", "combine"]
