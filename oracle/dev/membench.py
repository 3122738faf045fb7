"""`claims-oracle memory`: peak memory of one node batch (8 claims x 12 photos) of the worst photos allowed: PNGs
just under the pixel limit, which compress to about 116 KB each but decode to 120 MB of RGB."""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image, ImageDraw

from oracle.assess import DEFAULT_TERMS_PATH, Claim, Peril
from oracle.cas.store import LocalContentStore
from oracle.chain.deploy import DEMO_VEHICLE_CLASS
from oracle.claim.evidence import store_evidence, store_terms
from oracle.claim.wiring import build_assessor, load_model
from oracle.domain import MAX_PIXELS
from oracle.settings import NODE_BATCH_CLAIMS, load_settings
from oracle.sources.history import InMemoryClaimsHistory

ETH = 10**18
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """This process's resident set size now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class PeakSampler(threading.Thread):
    """Samples RSS every 5 ms; stops the process if it grows past `ceiling` bytes (so a run cannot exhaust a
    shared machine)."""

    def __init__(self, ceiling: int) -> None:
        super().__init__(daemon=True)
        self.baseline, self.peak, self.ceiling = rss_bytes(), rss_bytes(), ceiling
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())
            if self.peak - self.baseline > self.ceiling:
                print(f"RSS grew over {self.ceiling / 2**20:.0f} MiB: stopped", flush=True)
                os._exit(3)


def worst_photos(count: int, side: int) -> list[bytes]:
    """`count` distinct PNGs of side x side pixels (flat colour with a few shapes: they compress very well)."""
    photos = []
    for i in range(count):
        image = Image.new("RGB", (side, side), (40 + 15 * i, 90, 140))
        draw = ImageDraw.Draw(image)
        draw.rectangle((side // 4, side // 4, side // 2 + 37 * i, side // 2), fill=(200, 60 + 10 * i, 30))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        photos.append(buffer.getvalue())
    return photos


def claim(claim_id: int, evidence, terms_hash: bytes) -> Claim:
    """A collision claim (no weather needed) on its own policy, with the given evidence."""
    return Claim(
        claim_id=claim_id,
        chain_id=31337,
        contract="0x" + "11" * 20,
        policy_id=claim_id // 4096,
        product_id=1,
        evidence_root=evidence.root,
        evidence_uri=evidence.uri,
        terms_hash=terms_hash,
        policy_start=1_546_300_800,
        policy_end=1_577_836_800,
        incident_time=1_550_000_000,
        submitted_at=1_550_086_400,
        lat_e6=30_400_000,
        lon_e6=-85_000_000,
        peril=Peril.COLLISION,
        claimed_amount=ETH,
        remaining_coverage=10 * ETH,
        deductible=ETH // 10,
        covered_perils=0b111111,
        insured_object_id="0x" + f"{claim_id:064x}",
        policy_class=DEMO_VEHICLE_CLASS,
    )


async def measure(claims: int, photos: int, side: int, ceiling_mib: int) -> dict:
    """Assess one batch of `claims` claims of `photos` photos each as a node does; return the memory figures."""
    settings = load_settings()
    state = Path(tempfile.mkdtemp(prefix="claims-membench-"))
    try:
        store = LocalContentStore(state / "cas")
        terms_hash = store_terms(store, DEFAULT_TERMS_PATH.read_bytes())
        pngs = worst_photos(photos, side)
        evidence = store_evidence(store, [(f"p{i}.png", data) for i, data in enumerate(pngs)])
        batch = [claim((i + 1) * 4096 + 1, evidence, terms_hash) for i in range(claims)]
        model = load_model(settings)
        assessor = build_assessor(settings, InMemoryClaimsHistory(), model, sources=[], store=store)
        assessor.warm()
        gc.collect()
        sampler = PeakSampler(ceiling_mib * 2**20)
        sampler.start()
        started = time.perf_counter()
        results = await assessor.assess_batch(batch)
        seconds = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
        gc.collect()
        after = rss_bytes()
        assessor.close()
        errors = [str(r) for r in results if isinstance(r, Exception)]
        return {
            "claims": claims,
            "photosPerClaim": photos,
            "photo": f"{side}x{side} PNG ({side * side / 1e6:.1f} MP, limit {MAX_PIXELS / 1e6:.0f} MP), "
            f"{sum(map(len, pngs)) / len(pngs) / 1024:.0f} KiB each",
            "seconds": round(seconds, 1),
            "baselineMiB": round(sampler.baseline / 2**20),
            "peakGrowthMiB": round((sampler.peak - sampler.baseline) / 2**20),
            "heldAfterMiB": round((after - sampler.baseline) / 2**20),
            "errors": errors[:3],
        }
    finally:
        shutil.rmtree(state, ignore_errors=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `claims-oracle memory`."""
    parser.add_argument("--claims", type=int, default=NODE_BATCH_CLAIMS, help="claims in the batch (default 8)")
    parser.add_argument("--photos", type=int, default=12, help="photos per claim (default 12)")
    parser.add_argument("--side", type=int, default=6300, help="photo side in pixels (default 6300: 39.7 MP)")
    parser.add_argument("--ceiling-mib", type=int, default=8192, help="stop if RSS grows past this (default 8 GiB)")
    parser.add_argument("--json", type=Path, default=Path("bench/memory.json"), help="where to write the figures")


def run(args: argparse.Namespace) -> int:
    """Measure, print and write the figures."""
    result = asyncio.run(measure(args.claims, args.photos, args.side, args.ceiling_mib))
    print(json.dumps(result, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    return 0 if not result["errors"] else 1
