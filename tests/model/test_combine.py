"""Combining several photos of one claim into one reading."""

from __future__ import annotations

import pytest

from oracle.vision import PhotoPrediction, combine


def _pred(whole, minor, moderate, severe) -> PhotoPrediction:
    """Return a prediction with the given probabilities."""
    probs = {"whole": whole, "minor": minor, "moderate": moderate, "severe": severe}
    label = max(probs, key=probs.get)
    return PhotoPrediction(probs, label, probs[label], 1 - whole, b"")


def test_combine__wide_undamaged_shot_and_damage_closeup__keeps_the_damage():
    claim = combine([_pred(0.95, 0.03, 0.01, 0.01), _pred(0.02, 0.08, 0.2, 0.7)])
    assert claim.label == "severe" and claim.severity == "severe"
    assert claim.damage_probability == pytest.approx(0.98)
    assert claim.worst_photo == 1 and claim.photos == 2
    assert sum(claim.probabilities.values()) == pytest.approx(1.0)
    assert claim.confidence == pytest.approx(claim.probabilities["severe"])


def test_combine__all_photos_whole__is_whole():
    claim = combine([_pred(0.9, 0.05, 0.03, 0.02), _pred(0.97, 0.01, 0.01, 0.01)])
    assert claim.label == "whole" and claim.damage_probability == pytest.approx(0.1)


def test_combine__no_photos__raises_value_error():
    with pytest.raises(ValueError, match="at least one"):
        combine([])
