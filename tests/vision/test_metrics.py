"""Metrics and temperature scaling: known answers on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest

from oracle.vision import metrics


def test_classification_report__known_predictions__gives_known_scores():
    labels = np.array([0, 0, 1, 1, 2, 2])
    preds = np.array([0, 1, 1, 1, 2, 0])
    r = metrics.classification_report(labels, preds)
    assert r["n"] == 6 and r["accuracy"] == pytest.approx(4 / 6)
    assert r["per_class"]["minor"] == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert r["per_class"]["severe"]["support"] == 0
    # macro-F1 averages the three classes present only: whole 0.5, minor 0.8, moderate 2/3
    assert r["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    # whole vs damage: index 1 (whole -> minor) and 5 (moderate -> whole) are wrong
    assert r["damage_accuracy"] == pytest.approx(4 / 6)
    assert np.asarray(r["confusion"]).sum() == 6


def test_ece__perfectly_calibrated_bins__is_zero():
    probs = np.array([[0.75, 0.25, 0, 0]] * 4)
    labels = np.array([0, 0, 0, 1])
    assert metrics.ece(probs, labels) == pytest.approx(0.0)


def test_ece__overconfident_wrong__equals_the_gap():
    probs = np.array([[0.9, 0.1, 0, 0]] * 10)
    labels = np.array([0] * 5 + [1] * 5)
    assert metrics.ece(probs, labels) == pytest.approx(0.4)


def test_fit_temperature__logits_scaled_by_known_factor__recovers_it():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(4000, 4)) * 2
    labels = np.array([rng.choice(4, p=p) for p in metrics.softmax(true_logits)])
    t = metrics.fit_temperature(true_logits * 3.0, labels)  # an over-confident model: logits 3x too large
    assert t == pytest.approx(3.0, rel=0.1)
    assert metrics.nll(true_logits * 3.0, labels, t) < metrics.nll(true_logits * 3.0, labels)
