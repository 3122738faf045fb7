"""`claims-oracle demo`: anvil, contracts, a 2-of-3 committee of real oracle nodes and sample claims on every path."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import keccak

from oracle.chain.deploy import DAY, ETH, buy_policy, create_product, demo_product_config, deploy_system, transact
from oracle.chain.devchain import DEV_MNEMONIC, dev_chain

GENESIS = 1546387200  # 2019-01-02 00:00 UTC: the NOAA Storm Events tables cover January to March 2019
CLAIMS_OPEN = 1551398400  # 2019-03-01 00:00 UTC: chain time when the sample claims are filed
DECISIONS = {1: "APPROVE", 2: "PARTIAL", 3: "REJECT", 4: "REFER"}
STATUS = {1: "submitted", 2: "window open", 3: "disputed", 4: "resolved", 5: "paid"}
PERIL_COLLISION, PERIL_HAIL = 0, 1


@dataclass
class SampleClaim:
    """One scripted claim: its photos, what is claimed, and the outcome the demo expects."""

    name: str
    photos: list[Path]
    amount: int
    expected: str
    peril: int = PERIL_COLLISION
    lat_e6: int = 41_600_000
    lon_e6: int = -93_600_000
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
    parser.add_argument("--photos", type=Path, help="a folder laid out as <class>/<image> (whole, minor, moderate, "
                                                     "severe); default: ../shared/data images")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for all claims to settle")


def sample_claims(photo_root: Path, model) -> list[SampleClaim]:
    """The scripted claims, one per path through the system, using real photos the model never trained on.

    Each path needs a photo the model reads clearly (a borderline photo is referred to a human, which is a
    different path), so the demo takes, in file-name order, the first photos of each class that the model
    labels as that class with at least 80% confidence. The model's accuracy is in models/MODEL_CARD.md.
    """
    def pick(folder: str, count: int, skip: int = 0) -> list[Path]:
        chosen: list[Path] = []
        for photo in sorted(p for p in (photo_root / folder).glob("*") if p.is_file()):
            [prediction] = model.predict([photo.read_bytes()], heatmaps=False)
            if prediction.label == folder and prediction.confidence >= 0.8:
                chosen.append(photo)
            if len(chosen) == skip + count:
                return chosen[skip:]
        raise SystemExit(f"demo: need {skip + count} clearly {folder} photos in {photo_root / folder}, "
                         f"found {len(chosen)}")

    severe = pick("severe", 2)
    return [
        SampleClaim("instant approval", pick("minor", 1), ETH * 8 // 10, "paid at once"),
        SampleClaim("window then finalize", severe, 3 * ETH, "approved, finalized after the window"),
        SampleClaim("reject, dispute, ruling", pick("whole", 2), 2 * ETH, "rejected, disputed, claimant wins"),
        SampleClaim("reused photo", severe[:1], 3 * ETH, "referred (photo reused)"),
        SampleClaim("hail without hail", pick("moderate", 1), 3 * ETH, "referred or rejected (no hail)",
                    peril=PERIL_HAIL, incident_time=CLAIMS_OPEN - 5 * DAY),
    ]


def default_photo_root(settings) -> Path | None:
    """A class-per-folder view of photos the model never trained on: vds2500 val and the held-out whole cars."""
    from oracle.vision.data import list_samples

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
    from oracle.settings import load_settings

    settings = load_settings()
    photo_root = args.photos or default_photo_root(settings)
    if photo_root is None:
        raise SystemExit(f"demo: no photos: ../shared/data not found at {settings.data_dir}; pass --photos DIR")
    from oracle.vision import DamageModel

    print("loading the damage model ...", file=sys.stderr)
    model = DamageModel.load(settings.model_path)
    return asyncio.run(run_demo(settings, model, sample_claims(photo_root, model), args.timeout, once=args.once))


async def run_demo(settings, model, claims: list[SampleClaim], timeout: float, once: bool) -> int:
    """Start everything, file the claims, drive disputes and finalization, and report."""
    from oracle.assess import DEFAULT_TERMS_PATH
    from oracle.cas.store import LocalContentStore
    from oracle.explain.document import describe_code_version
    from oracle.node.service import OracleNode
    from oracle.node.signer import Signer
    from oracle.node.store import NodeStore
    from oracle.pipeline import ClaimAssessor, store_terms
    from oracle.sources.weather import NoaaStormEventsSource

    state = Path(tempfile.mkdtemp(prefix="claims-demo-"))
    print(f"demo state in {state}", file=sys.stderr)
    cas = LocalContentStore(state / "cas")
    terms_hash = store_terms(cas, DEFAULT_TERMS_PATH.read_bytes())
    sources = [NoaaStormEventsSource(settings.tables_dir)] if settings.tables_dir.is_dir() else []
    with dev_chain(timestamp=GENESIS) as chain:
        w3 = chain.w3
        deployer, insurer, holder = chain.accounts[:3]
        oracles, panel = chain.accounts[3:6], chain.accounts[6:9]
        print(f"anvil at {chain.url}; deploying contracts ...", file=sys.stderr)
        system = deploy_system(w3, deployer, panel)
        manager = system.manager
        # a lower deductible and instant limit than the test product, so the cost schedule's minor and moderate
        # repairs land on both sides of the instant limit
        config = demo_product_config(oracles, 2, system.arbitrator.address, bytes.fromhex(model.model_sha256),
                                     terms_hash, deductible=ETH // 10, instantLimit=ETH // 2, minConfidence=8000)
        product_id = create_product(manager, insurer, config, 100 * ETH)
        for claim in claims:  # one policy per insured car, so claim frequency stays within the terms
            claim.policy_id = buy_policy(manager, holder, product_id, keccak(f"DEMO-VIN-{claim.name}".encode()))
        nodes = []
        for index in range(3):
            store = NodeStore(f"sqlite:///{state / f'node{index}.db'}")
            assessor = ClaimAssessor(cas, model, sources, store, describe_code_version())
            signer = Signer.from_dev_mnemonic(DEV_MNEMONIC, 3 + index)
            nodes.append(OracleNode(manager, store, assessor, signer, confirmations=0, poll_seconds=0.2))
        stop = asyncio.Event()
        tasks = [asyncio.create_task(node.run(stop)) for node in nodes]
        w3.provider.make_request("evm_setNextBlockTimestamp", [CLAIMS_OPEN])
        w3.provider.make_request("evm_mine", [])
        try:
            await _file_claims(manager, cas, holder, claims, w3)
            ok = await _drive(w3, manager, system.arbitrator, holder, panel, claims, timeout)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
        print(format_table(claims))
        if not once:
            print("(serving the dApp arrives with the dApp milestone; --once is what runs today)")
        return 0 if ok else 1


async def _file_claims(manager, cas, holder, claims, w3) -> None:
    """Store each claim's evidence and submit it, one after the other so history order is fixed."""
    from oracle.chain.deploy import submit_claim
    from oracle.pipeline import store_demo_evidence

    for claim in claims:
        evidence = store_demo_evidence(cas, [(p.name, p.read_bytes()) for p in claim.photos], vehicle_class="sedan")
        now = w3.eth.get_block("latest").timestamp
        claim.submitted_wall = time.monotonic()
        claim.claim_id = submit_claim(manager, holder, claim.policy_id, evidence.root, evidence.uri,
                                      claim.incident_time or now - 3600, claim.peril, claim.lat_e6, claim.lon_e6,
                                      claim.amount)
        await asyncio.sleep(0)  # let the nodes pick claims up as they land


async def _drive(w3, manager, arbitrator, holder, panel, claims, timeout) -> bool:
    """Wait for decisions, dispute the rejection, let the panel rule, finalize the rest; True if all as expected."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for claim in claims:
            record = manager.claim(claim.claim_id)
            claim.status, claim.payout, claim.decision = record["status"], record["payout"], record["decision"]
            if claim.decision and not claim.decided_wall:
                claim.decided_wall = time.monotonic()
        if all(c.decided_wall for c in claims):
            break
        await asyncio.sleep(0.2)
    for claim in claims:
        if claim.name == "reject, dispute, ruling" and claim.status == 2:  # the claimant contests the decision
            cost = manager.contract.functions.disputeCost(claim.claim_id).call()
            transact(w3, manager.contract.functions.dispute(claim.claim_id), holder, value=cost)
            dispute_id = manager.claim(claim.claim_id)["disputeId"]
            for member in panel[:2]:
                transact(w3, arbitrator.functions.vote(dispute_id, 2), member)
            claim.notes.append("disputed; panel ruled 2 (claimant)")
    w3.provider.make_request("evm_increaseTime", [3 * DAY + 1])
    w3.provider.make_request("evm_mine", [])
    for claim in claims:
        if manager.claim(claim.claim_id)["status"] == 2:
            transact(w3, manager.contract.functions.finalize(claim.claim_id), holder)
            claim.notes.append("finalized after the window")
        record = manager.claim(claim.claim_id)
        claim.status, claim.payout = record["status"], record["payout"]
    for event in manager.contract.events.ClaimDecided().get_logs(from_block=0):
        for claim in claims:
            if claim.claim_id == event.args.claimId:
                claim.explanation_hash = bytes(event.args.explanationHash)
    return all(_as_expected(c) for c in claims)


def _as_expected(claim: SampleClaim) -> bool:
    """Whether a claim ended as its script says."""
    if claim.name == "instant approval":
        return claim.decision in (1, 2) and claim.status == 4 and "finalized after the window" not in claim.notes
    if claim.name == "window then finalize":
        return claim.decision in (1, 2) and claim.status == 4 and claim.payout > 0
    if claim.name == "reject, dispute, ruling":
        return claim.decision == 3 and claim.status == 4 and claim.payout == claim.amount - ETH // 10
    if claim.name == "reused photo":
        return claim.decision == 4
    return claim.decision in (3, 4)


def format_table(claims: list[SampleClaim]) -> str:
    """The summary table: decision, payout, status, time from claim to decision, and whether it was expected."""
    lines = [f"{'claim':<26}{'id':>7}  {'decision':<9}{'payout ETH':>11}  {'status':<12}{'decided in':>11}  "
             f"{'explanation hash':<20} ok", "-" * 107]
    for c in claims:
        latency = f"{c.decided_wall - c.submitted_wall:.2f} s" if c.decided_wall else "-"
        lines.append(f"{c.name:<26}{c.claim_id:>7}  {DECISIONS.get(c.decision, '-'):<9}{c.payout / ETH:>11.4f}  "
                     f"{STATUS.get(c.status, '-'):<12}{latency:>11}  {('0x' + c.explanation_hash.hex()[:16]):<20} "
                     f"{'yes' if _as_expected(c) else 'NO'}")
    return "\n".join(lines)
