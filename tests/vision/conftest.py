"""Fixtures for the damage-model tests: the shipped model and a few real photos per class."""

from __future__ import annotations

from pathlib import Path

import pytest

from oracle.vision import DamageModel
from oracle.vision.data import list_samples
from oracle.vision.runtime import DEFAULT_MODEL_PATH


@pytest.fixture(scope="session")
def damage_model():
    """The shipped ONNX model; skips when it has not been exported yet."""

    if not DEFAULT_MODEL_PATH.is_file():
        pytest.skip(f"no exported model at {DEFAULT_MODEL_PATH}; run `claims-oracle model export`")
    return DamageModel.load()


@pytest.fixture(scope="session")
def selection_photos(shared_data: Path) -> dict[str, list[Path]]:
    """Up to four real selection-set photos per class (never used for training)."""

    out: dict[str, list[Path]] = {}
    for s in list_samples(shared_data):
        if s.split == "val" and len(out.setdefault(s.label, [])) < 4:
            out[s.label].append(shared_data / s.path)
    return out
