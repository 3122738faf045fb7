"""The `claims-oracle` command line: thin wrappers that hand each command to its package."""

from __future__ import annotations

import argparse
import importlib
import sys

from pydantic import ValidationError

# Each command lives in its own module, imported when the parser is built (importlib), so that
# `claims-oracle model evaluate` never pays for the chain stack and vice versa.
# A module registers its arguments with `add_arguments(parser)` and runs with `run(args) -> int`.
COMMANDS: dict[str, tuple[str, str]] = {
    "model": ("oracle.vision.commands", "train, export and evaluate the damage model"),
    "lifecycle": ("oracle.dev.lifecycle", "deploy to a local chain and run a scripted claim lifecycle"),
    "demo": ("oracle.dev.demo", "run the whole system locally with sample claims on every path"),
    "adapter": ("oracle.adapter.command", "serve the Chainlink bridge, health and the content gateway"),
    "verify": ("oracle.claim.verify", "replay a recorded decision and compare it with the chain, field by field"),
    "deploy": ("oracle.node.deploy", "deploy the contracts (and a product) from a keystore; write a deployment record"),
    "node": ("oracle.node.command", "run one oracle committee member against a deployed ClaimsManager"),
    "bench": ("oracle.dev.bench", "measure claim latency, node throughput and the bare model on a local chain"),
    "memory": ("oracle.dev.membench", "peak memory of a node batch of 8 claims x 12 photos at the pixel limit"),
    "chaos": ("oracle.dev.chaos", "file claims while committee members are SIGKILLed; check each is decided once"),
    "load": ("oracle.dev.load", "the gateway's bridge and uploads under 20, 50 and 100 concurrent clients"),
    "robustness": (
        "oracle.dev.robustness",
        "the pre-registered robustness suite: test photos re-taken as claims are, scored as claims",
    ),
    "fuzz": ("oracle.dev.fuzz", "send generated hostile requests to every gateway route; count answers by status"),
}


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with one sub-parser per available command."""
    parser = argparse.ArgumentParser(prog="claims-oracle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part of the system is not installed in this checkout
            raise
        command = sub.add_parser(name, help=help_text)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command, returning its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        problems = "; ".join(
            f"CLAIMS_ORACLE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" if e["loc"] else e["msg"]
            for e in exc.errors()
        )
        print(f"claims-oracle {args.command}: invalid settings: {problems}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
