"""Export the trained checkpoint to models/damage.onnx (the code lives in oracle.vision.export)."""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from oracle.vision.export import add_export_arguments, main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(add_export_arguments(argparse.ArgumentParser(description=__doc__)).parse_args()))
