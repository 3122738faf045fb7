"""The `claims-oracle model` command: train, export, evaluate, report, shift-test and bench the damage model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from oracle.vision.data import MODELS_DIR, default_data_dir
from oracle.vision.options import add_export_arguments, add_train_arguments

# torch is imported only inside the train and export paths: serving and evaluation need onnxruntime alone.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the train, export, evaluate, report, shift and bench sub-commands."""
    sub = parser.add_subparsers(dest="model_command", required=True)

    train = sub.add_parser("train", help="train from the ImageNet EfficientNet-Lite0 weights (needs the train extra)")
    add_train_arguments(train)

    export = sub.add_parser("export", help="export a checkpoint to ONNX with calibration and hashes")
    add_export_arguments(export)

    evaluate = sub.add_parser("evaluate", help="evaluate the exported model on DIR/<class>/<image>")
    evaluate.add_argument(
        "--data",
        type=Path,
        required=True,
        help="folder with class sub-folders whole, minor, moderate, severe (others ignored)",
    )
    evaluate.add_argument(
        "--model", type=Path, default=None, help="ONNX file (default: the shipped models/damage.onnx)"
    )
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")

    report = sub.add_parser("report", help="evaluate on the selection set; write models/metrics.json and figures")
    report.add_argument("--data", type=Path, default=default_data_dir())
    report.add_argument("--model", type=Path, default=None)
    report.add_argument("--out-dir", type=Path, default=MODELS_DIR)

    shift = sub.add_parser(
        "shift",
        help="score the model on the selection set rewritten as other cameras would "
        "take it (resolution, JPEG, close-up, background); prints JSON",
    )
    shift.add_argument("--data", type=Path, default=default_data_dir())
    shift.add_argument("--model", type=Path, default=None)

    bench = sub.add_parser("bench", help="serving benchmark; writes bench/model.json")
    bench.add_argument("--model", type=Path, default=None)
    bench.add_argument("--data", type=Path, default=default_data_dir())
    bench.add_argument("--batch-size", type=int, default=64)
    bench.add_argument("--output", type=Path, default=None, help="JSON output (default bench/model.json)")


def run(args: argparse.Namespace) -> int:
    """Run the chosen model sub-command and return its exit code."""
    command = args.model_command
    if command in ("train", "export"):
        try:
            import torch  # noqa: F401
        except ModuleNotFoundError:
            print("error: training and export need PyTorch: pip install -e '.[train]'", file=sys.stderr)
            return 2
    if command == "train":
        from oracle.vision import training

        return training.main(args)
    if command == "export":
        from oracle.vision import export

        return export.main(args)
    if command == "evaluate":
        from oracle.vision.evaluation import evaluate_folder

        try:
            result = evaluate_folder(args.data, args.model, args.batch_size)
        except FileNotFoundError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(result, sort_keys=True))
        else:
            _print_table(result)
        return 0
    if command == "report":
        from oracle.vision.evaluation import write_report

        doc = write_report(args.data, args.model, args.out_dir)
        print(json.dumps({k: doc[k] for k in ("model_sha256", "temperature", "calibration", "eval_seconds")}, indent=2))
        _print_table(doc["all"])
        return 0
    if command == "shift":
        from oracle.vision.evaluation import shift_report

        print(json.dumps(shift_report(args.data, args.model), indent=2, sort_keys=True))
        return 0
    if command == "bench":
        from oracle.vision import bench

        bench.run(args.model, args.data, args.batch_size, output=args.output or bench.DEFAULT_OUTPUT)
        return 0
    raise AssertionError(f"unknown model command {command}")


def _print_table(result: dict) -> None:
    """Print a human-readable summary of an evaluation to stdout."""
    print(
        f"n={result['n']} accuracy={result['accuracy']:.4f} macro_f1={result['macro_f1']:.4f} "
        f"damage_accuracy={result['damage_accuracy']:.4f}"
    )
    print(f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for name, row in result["per_class"].items():
        print(f"{name:<10}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>9}")
    print("confusion (rows true, columns predicted):", result["confusion"])
