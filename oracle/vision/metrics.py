"""Classification metrics and temperature scaling in plain numpy (shared by training, evaluation and reports)."""

from __future__ import annotations

import numpy as np

from oracle.domain import CLASSES


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Return row-wise softmax of logits / temperature in float64."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def confusion(labels: np.ndarray, preds: np.ndarray, num_classes: int = len(CLASSES)) -> np.ndarray:
    """Return the confusion matrix with true classes as rows and predicted classes as columns."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(labels, dtype=np.int64), np.asarray(preds, dtype=np.int64)), 1)
    return m


def classification_report(labels: np.ndarray, preds: np.ndarray, classes: tuple[str, ...] = CLASSES) -> dict:
    """Return n, accuracy, macro_f1 (over classes present), damage_accuracy, per_class and confusion."""
    labels = np.asarray(labels, dtype=np.int64)
    preds = np.asarray(preds, dtype=np.int64)
    m = confusion(labels, preds, len(classes))
    per_class: dict[str, dict] = {}
    f1s = []
    for i, name in enumerate(classes):
        tp = int(m[i, i])
        support = int(m[i].sum())
        predicted = int(m[:, i].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
        if support:
            f1s.append(f1)
    n = int(labels.size)
    whole = classes.index("whole")
    return {
        "n": n,
        "accuracy": float((labels == preds).mean()) if n else 0.0,
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "damage_accuracy": float(((labels == whole) == (preds == whole)).mean()) if n else 0.0,
        "per_class": per_class,
        "classes": list(classes),
        "confusion": m.tolist(),
    }


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Return the expected calibration error of the top-class confidence over equal-width bins."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            total += mask.mean() * abs(conf[mask].mean() - correct[mask].mean())
    return float(total)


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[dict]:
    """Return per-bin count, mean confidence and accuracy for a reliability diagram."""
    conf = np.asarray(probs).max(axis=1)
    correct = np.asarray(probs).argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf > lo) & (conf <= hi)
        out.append(
            {
                "lo": float(lo),
                "hi": float(hi),
                "count": int(mask.sum()),
                "confidence": float(conf[mask].mean()) if mask.any() else None,
                "accuracy": float(correct[mask].mean()) if mask.any() else None,
            }
        )
    return out


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Return the mean negative log-likelihood of the labels under softmax(logits / temperature)."""
    p = softmax(logits, temperature)
    return float(-np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, None)).mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Return the temperature in [0.05, 20] minimising validation NLL (golden-section search on log T)."""
    labels = np.asarray(labels, dtype=np.int64)
    lo, hi = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(logits, labels, np.exp(a)), nll(logits, labels, np.exp(b))
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(logits, labels, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(logits, labels, np.exp(b))
    return float(np.exp((lo + hi) / 2))


def cross_fitted_ece(logits: np.ndarray, labels: np.ndarray, folds: int = 2, seed: int = 0) -> float:
    """Return ECE when the temperature is fitted on the other folds (an honest, out-of-sample calibration figure)."""
    labels = np.asarray(labels, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    parts = np.array_split(order, folds)
    probs = np.zeros((len(labels), np.asarray(logits).shape[1]))
    for k, test in enumerate(parts):
        train = np.concatenate([p for j, p in enumerate(parts) if j != k])
        t = fit_temperature(logits[train], labels[train])
        probs[test] = softmax(logits[test], t)
    return ece(probs, labels)
