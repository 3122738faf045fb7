"""Train the damage model (the recipe lives in oracle.vision.training; this is its script entry point)."""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from oracle.vision.training import add_train_arguments, main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(add_train_arguments(argparse.ArgumentParser(description=__doc__)).parse_args()))
