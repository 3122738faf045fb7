"""`claims-oracle demo`: anvil, contracts, a 2-of-3 committee of real oracle nodes and sample claims on every path."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from web3.types import RPCEndpoint

from oracle.assess import peril_index
from oracle.chain.deploy import DAY, ETH, buy_policy, desk_of, submit_claim, transact
from oracle.claim.evidence import store_evidence
from oracle.dev.stack import evidence_readers, insured_object_of, running_stack
from oracle.domain import STATUS_WORDS, ClaimStatus, Decision, Peril, public_area
from oracle.settings import load_settings
from oracle.vision import DamageModel
from oracle.vision.data import list_samples

CLAIMS_OPEN = 1551398400  # 2019-03-01 00:00 UTC: chain time when the sample claims are filed
DECISIONS = {int(d): d.name for d in Decision}
STATUS = {int(s): words for s, words in STATUS_WORDS.items()}
PERIL_COLLISION, PERIL_HAIL = peril_index(Peril.COLLISION), peril_index(Peril.HAIL)  # the event's bit indexes


@dataclass
class SampleClaim:
    """One scripted claim: its photos, what is claimed, and the outcome the demo expects."""

    name: str
    photos: list[Path]
    amount: int
    expected: str
    peril: int = PERIL_COLLISION
    place_e6: tuple[int, int] = (41_587_300, -93_624_900)  # Des Moines; sealed in the evidence
    incident_time: int | None = None
    policy_id: int = 0
    claim_id: int = 0
    submitted_wall: float = 0.0
    decided_wall: float = 0.0
    decision: int = 0
    payout: int = 0
    status: int = 0
    explanation_hash: bytes = b""
    notes: list[str] = field(default_factory=list)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `claims-oracle demo`."""
    parser.add_argument("--once", action="store_true", help="run the sample claims headless, print a summary, exit")
    parser.add_argument(
        "--photos",
        type=Path,
        help="a folder laid out as <class>/<image> (whole, minor, moderate, severe); default: ../shared/data images",
    )
    parser.add_argument(
        "--port", type=int, help="port of the dApp and gateway (default: CLAIMS_ORACLE_ADAPTER_PORT, 8080)"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for all claims to settle")


def confident_photos(photo_root: Path, model, label: str, count: int, skip: int = 0) -> list[Path]:
    """The photos `skip+1` to `skip+count`, in file-name order, of `photo_root/label` that the model labels as
    `label` with at least 80% confidence (a borderline photo is referred to a human, which is another path)."""
    chosen: list[Path] = []
    for photo in sorted(p for p in (photo_root / label).glob("*") if p.is_file()):
        [prediction] = model.predict([photo.read_bytes()], heatmaps=False)
        if prediction.label == label and prediction.confidence >= 0.8:
            chosen.append(photo)
        if len(chosen) == skip + count:
            return chosen[skip:]
    raise SystemExit(f"demo: need {skip + count} clearly {label} photos in {photo_root / label}, found {len(chosen)}")


def sample_claims(photo_root: Path, model) -> list[SampleClaim]:
    """The scripted claims, one per path through the system, using real photos the model never trained on.

    Each path needs a photo the model reads clearly, so the demo takes confident photos of each class
    (`confident_photos`). The model's accuracy is in models/MODEL_CARD.md.
    """

    def pick(folder: str, count: int) -> list[Path]:
        return confident_photos(photo_root, model, folder, count)

    severe = pick("severe", 2)
    return [
        SampleClaim("instant approval", pick("minor", 1), ETH * 8 // 10, "paid at once"),
        SampleClaim("window then finalize", severe, 3 * ETH, "approved, finalized after the window"),
        SampleClaim("reject, dispute, ruling", pick("whole", 2), 2 * ETH, "rejected, disputed, claimant wins"),
        SampleClaim("reused photo", severe[:1], 3 * ETH, "referred to the insurer's review (photo reused)"),
        SampleClaim(
            "hail without hail",
            pick("moderate", 1),
            3 * ETH,
            "referred or rejected (no hail)",
            peril=PERIL_HAIL,
            incident_time=CLAIMS_OPEN - 5 * DAY,
        ),
    ]


def default_photo_root(settings) -> Path | None:
    """A class-per-folder view of photos the model never trained on: vds2500 val and the held-out whole cars."""

    if not (settings.data_dir / "images" / "vds2500").is_dir():
        return None
    root = Path(tempfile.mkdtemp(prefix="claims-demo-photos-"))
    for sample in list_samples(settings.data_dir):
        if sample.split == "val":
            (root / sample.label).mkdir(exist_ok=True)
            source = settings.data_dir / sample.path
            (root / sample.label / source.name).symlink_to(source)
    return root


def run(args: argparse.Namespace) -> int:
    """Run the demo; with --once, exit 0 only if every sample claim reached its expected outcome."""

    settings = load_settings()
    photo_root = args.photos or default_photo_root(settings)
    if photo_root is None:
        raise SystemExit(f"demo: no photos: ../shared/data not found at {settings.data_dir}; pass --photos DIR")
    try:
        print("loading the damage model ...", file=sys.stderr)
        model = DamageModel.load(settings.model_path)
        port = settings.adapter_port if args.port is None else args.port
        return asyncio.run(
            run_demo(
                settings,
                model,
                sample_claims(photo_root, model),
                args.timeout,
                once=args.once,
                port=0 if args.once else port,
            )
        )
    finally:
        if not args.photos:  # the folder of links made for this run
            shutil.rmtree(photo_root, ignore_errors=True)


async def run_demo(settings, model, claims: list[SampleClaim], timeout: float, once: bool, port: int = 0) -> int:
    """Start the stack, file the claims, drive disputes and finalization, report, and serve unless `once`."""

    state = Path(tempfile.mkdtemp(prefix="claims-demo-"))
    print(f"demo state in {state} (removed on exit)", file=sys.stderr)
    try:
        return await _run_demo(settings, model, claims, timeout, once, port, state)
    finally:
        shutil.rmtree(state, ignore_errors=True)


async def _run_demo(
    settings, model, claims: list[SampleClaim], timeout: float, once: bool, port: int, state: Path
) -> int:
    """run_demo in the state folder `state`."""
    stop = asyncio.Event()
    if not once:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    async with running_stack(settings, model, state, port=port) as stack:
        if not once:
            print(f"dApp and gateway: {stack.url}", flush=True)
        manager = stack.system.manager
        product_id = stack.product_id
        assert product_id is not None  # running_stack creates the demo product unless told not to
        for claim in claims:  # one policy per insured car, so claim frequency stays within the terms
            claim.policy_id = buy_policy(
                manager, stack.roles.claimant, product_id, insured_object_of(stack, stack.roles.claimant, claim.name)
            )
        stack.w3.provider.make_request(RPCEndpoint("evm_setNextBlockTimestamp"), [CLAIMS_OPEN])
        stack.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
        work = asyncio.create_task(_run_claims(stack, claims, timeout, live=not once))
        interrupted = asyncio.create_task(stop.wait())
        await asyncio.wait({work, interrupted}, return_when=asyncio.FIRST_COMPLETED)
        if not work.done():
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            print("interrupted before the sample claims settled; stopping", file=sys.stderr)
            return 1
        interrupted.cancel()
        ok = work.result()
        print(format_table(claims), flush=True)
        if once:
            return 0 if ok else 1
        print(f"\nevery sample claim reached its expected outcome: {'yes' if ok else 'NO'}")
        print(f"serving the dApp at {stack.url} (chain {stack.chain.url}); Ctrl-C stops everything", flush=True)
        await stop.wait()
        print("stopping the nodes, the gateway and anvil ...", file=sys.stderr)
    return 0 if ok else 1


async def _run_claims(stack, claims: list[SampleClaim], timeout: float, live: bool) -> bool:
    """File the sample claims and drive each to its end; True if every one ended as expected."""
    manager = stack.system.manager
    readers = evidence_readers(stack, stack.roles.claimant)
    await file_claims(manager, stack.cas, stack.roles.claimant, claims, stack.w3, readers)
    return await drive_claims(
        stack.w3, manager, stack.system.arbitrator, stack.roles.claimant, stack.roles.panel, claims, timeout, live=live
    )


async def file_claims(manager, cas, holder, claims, w3, readers) -> None:
    """Seal each claim's evidence for its readers, as the dApp does, store it and submit the claim, one after the
    other so history order is fixed."""

    for claim in claims:
        photos = [(p.name, p.read_bytes()) for p in claim.photos]
        evidence = store_evidence(cas, photos, sealed_for=readers, place_e6=claim.place_e6)
        lat_e6, lon_e6 = public_area(claim.place_e6)
        now = w3.eth.get_block("latest").timestamp
        claim.submitted_wall = time.monotonic()
        claim.claim_id = submit_claim(
            manager,
            holder,
            claim.policy_id,
            evidence.root,
            evidence.uri,
            claim.incident_time or now - 3600,
            claim.peril,
            lat_e6,
            lon_e6,
            claim.amount,
        )
        await asyncio.sleep(0)  # let the nodes pick claims up as they land


async def drive_claims(w3, manager, arbitrator, holder, panel, claims, timeout, live: bool = False) -> bool:
    """Wait for decisions, dispute the rejection, let the panel rule, finalize the rest; True if all as expected.

    With `live`, a progress line is printed whenever a claim changes state.
    """
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        for claim in claims:
            record = manager.claim(claim.claim_id)
            claim.status, claim.payout, claim.decision = record["status"], record["payout"], record["decision"]
            if claim.decision and not claim.decided_wall:
                claim.decided_wall = time.monotonic()
        line = progress_line(claims)
        if live and line != shown:
            print(line, flush=True)
            shown = line
        if all(c.decided_wall for c in claims):
            break
        await asyncio.sleep(0.2)
    for claim in claims:
        if (
            claim.name == "reject, dispute, ruling" and claim.status == ClaimStatus.DECIDED
        ):  # the claimant contests the decision
            desk = desk_of(manager)
            cost = desk.functions.disputeCost(claim.claim_id).call()
            transact(w3, desk.functions.dispute(claim.claim_id), holder, value=cost)
            dispute_id = desk.functions.disputeOf(claim.claim_id).call()[1]
            for member in panel[:2]:
                transact(w3, arbitrator.functions.vote(dispute_id, 2), member)
            claim.notes.append("disputed; panel ruled 2 (claimant)")
    w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [3 * DAY + 1])
    w3.provider.make_request(RPCEndpoint("evm_mine"), [])
    for claim in claims:
        if manager.claim(claim.claim_id)["status"] == 2:
            transact(w3, manager.contract.functions.finalize(claim.claim_id), holder)
            claim.notes.append("finalized after the window")
        record = manager.claim(claim.claim_id)
        claim.status, claim.payout = record["status"], record["payout"]
    for claim in claims:
        decided = manager.claim_decided(claim.claim_id)
        if decided is not None:
            claim.explanation_hash = bytes(decided["explanationHash"])
    return all(_as_expected(c) for c in claims)


def _as_expected(claim: SampleClaim) -> bool:
    """Whether a claim ended as its script says."""
    if claim.name == "instant approval":
        return (
            claim.decision in (Decision.APPROVE, Decision.PARTIAL)
            and claim.status == ClaimStatus.RESOLVED
            and "finalized after the window" not in claim.notes
        )
    if claim.name == "window then finalize":
        return (
            claim.decision in (Decision.APPROVE, Decision.PARTIAL)
            and claim.status == ClaimStatus.RESOLVED
            and claim.payout > 0
        )
    if claim.name == "reject, dispute, ruling":
        return (
            claim.decision == Decision.REJECT
            and claim.status == ClaimStatus.RESOLVED
            and claim.payout == claim.amount - ETH // 10
        )
    if claim.name == "reused photo":  # a person decides: it waits for the insurer's adjuster
        return claim.decision == Decision.REFER and claim.status == ClaimStatus.REVIEW
    return claim.decision in (3, 4)


def progress_line(claims: list[SampleClaim]) -> str:
    """One line with every claim's current state, for the live view."""
    return "  |  ".join(
        f"{c.claim_id or '-'} {DECISIONS.get(c.decision, STATUS.get(c.status, 'filing'))}" for c in claims
    )


def format_table(claims: list[SampleClaim]) -> str:
    """The summary table: decision, payout, status, time from claim to decision, and whether it was expected."""
    lines = [
        f"{'claim':<26}{'id':>7}  {'decision':<9}{'payout ETH':>11}  {'status':<12}{'decided in':>11}  "
        f"{'explanation hash':<20} ok",
        "-" * 107,
    ]
    for c in claims:
        latency = f"{c.decided_wall - c.submitted_wall:.2f} s" if c.decided_wall else "-"
        lines.append(
            f"{c.name:<26}{c.claim_id:>7}  {DECISIONS.get(c.decision, '-'):<9}{c.payout / ETH:>11.4f}  "
            f"{STATUS.get(c.status, '-'):<12}{latency:>11}  {('0x' + c.explanation_hash.hex()[:16]):<20} "
            f"{'yes' if _as_expected(c) else 'NO'}"
        )
    return "\n".join(lines)
