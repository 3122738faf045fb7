"""Serving benchmark of the shipped damage model (`make bench-model`): prints numbers, writes bench/model.json."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from oracle.vision import bench  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Parse options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="ONNX file (default: models/damage.onnx)")
    parser.add_argument("--data", type=Path, default=None, help="shared data dir for real sample photos")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output", type=Path, default=bench.DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    bench.run(args.model, args.data, args.batch_size, output=args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
