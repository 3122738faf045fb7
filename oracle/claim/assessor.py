"""Assess claims end to end: evidence, damage model, weather, history and terms into stored explanations."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import io
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from PIL import Image

from oracle.assess import AssessmentInputs, Claim, assess, explanation_for
from oracle.cas.ipfs import IpfsContentStore, hold_key
from oracle.cas.store import ContentStore, put_all
from oracle.cas.unixfs import cid_for_bytes
from oracle.claim.batch import ClaimBatch, ClaimInBatch, ClaimOutcome, ModelPrediction, PendingHeatmapLike
from oracle.claim.context import with_claimant
from oracle.claim.history import HistoryWriter, record_in_history
from oracle.claim.model import DamageModelLike, ModelUnavailableError, model_id, model_sha256_hex
from oracle.claim.private import with_sealed_exif
from oracle.claim.weather import claim_weather
from oracle.domain import DEFAULT_MAX_PHOTO_BYTES, DEFAULT_MAX_PHOTOS
from oracle.explain.evidence import evidence_key, load_manifest, manifest_claimant, sealed_place, verify_evidence
from oracle.privacy import PRIVATE_PURPOSE, EvidenceOpener, seal_deterministic
from oracle.sources.history import ClaimsHistory
from oracle.sources.records import WeatherRecord
from oracle.sources.terms import Terms, load_terms
from oracle.sources.weather import WeatherSource

log = logging.getLogger(__name__)
T = TypeVar("T")

MODEL_BATCH_PHOTOS = 32
"""Photos the network runs at once; a node batch of 8 claims with 3 photos each is still one call."""
LOAD_WORKERS = 4
"""Claims of a batch whose evidence is read side by side."""
Recorder = Callable[[Claim, ClaimOutcome], None]
"""Called with each decided claim before the next one of its batch is decided (it joins the claims history)."""


class ClaimAssessor:
    """Assess claims in batches and store their explanations; the node, the adapter and `verify` all use this.

    A batch goes through three steps that a node overlaps across batches: `load_batch` (evidence and weather),
    `predict_batch` (one model call for every photo, heat maps drawn on their own thread) and `conclude_batch`
    (the decisions in order, so each claim's history includes the claims before it). `assess` is a batch of one.
    """

    def __init__(
        self,
        store: ContentStore,
        model: DamageModelLike | None,
        weather_sources: Sequence[WeatherSource],
        history: ClaimsHistory,
        code_version: str,
        max_workers: int = 1,
        *,
        max_photos: int = DEFAULT_MAX_PHOTOS,
        max_photo_bytes: int = DEFAULT_MAX_PHOTO_BYTES,
        record_history: bool = False,
        reader: EvidenceOpener | None = None,
    ) -> None:
        """Keep the parts; `record_history` adds each assessed claim and its photos to `history`; `reader` opens
        sealed evidence (a committee member's key grant)."""
        if not code_version:
            raise ValueError("code_version must be a non-empty string (see oracle.explain.describe_code_version)")
        self.store = store
        self.model = model
        self.weather_sources = tuple(weather_sources)
        self.history = history
        self.code_version = code_version
        self.max_photos = max_photos
        self.max_photo_bytes = max_photo_bytes
        self.record_history = record_history
        self.reader = reader
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="assess")
        self._conclude_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conclude")
        # heat maps are drawn here, beside the network (next batch) and the decisions (previous batch): Pillow
        # lets go of the GIL while it resizes, blends and compresses
        self._render_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heatmaps")
        # evidence is read here, a few claims side by side (over IPFS most of it is waiting for other peers), in
        # threads of its own so a gateway in the same process keeps the default executor's threads
        self._load_executor = ThreadPoolExecutor(max_workers=LOAD_WORKERS, thread_name_prefix="load")
        self._recorded: set[tuple[int, str, int, bytes]] = set()
        self._terms: dict[bytes, Terms] = {}  # by keccak256: a terms document never changes under its hash

    @property
    def model_hash(self) -> bytes | None:
        """The loaded model's sha256 (the on-chain model hash), or None without a model."""
        return None if self.model is None else bytes.fromhex(model_sha256_hex(self.model))

    def warm(self) -> None:
        """Do ahead what the first claim would otherwise wait for: the model's first run (ONNX Runtime sets up
        its buffers then) and parsing the weather tables that can be parsed ahead."""
        if self.model is not None:
            buffer = io.BytesIO()
            Image.new("RGB", (320, 240), (128, 128, 128)).save(buffer, format="JPEG")
            self.model.predict([buffer.getvalue()] * 3)
        for source in self.weather_sources:
            warm = getattr(source, "warm", None)
            if warm is not None:
                try:
                    warm()
                except Exception as exc:  # noqa: BLE001 - the claim that needs the source will report it
                    log.warning("could not load weather source %s ahead of claims: %s", source.name, exc)

    def close(self) -> None:
        """Stop the worker threads once running work has finished."""
        self._executor.shutdown(wait=True)
        self._conclude_executor.shutdown(wait=True)
        self._render_executor.shutdown(wait=True)
        self._load_executor.shutdown(wait=True)

    def terms(self, terms_hash: bytes) -> Terms:
        """The terms document under `terms_hash`, read from the store and validated once."""
        key = bytes(terms_hash)
        if key not in self._terms:
            self._terms[key] = load_terms(self.store, key)
        return self._terms[key]

    def _require_model(self) -> DamageModelLike:
        if self.model is None:
            raise ModelUnavailableError("no damage model is loaded; export one with `claims-oracle model export`")
        return self.model

    # ---- the single-claim entry: a batch of one ----

    async def assess(self, claim: Claim) -> ClaimOutcome:
        """Assess one claim and store its explanation and heat maps; raises the error that stopped it (its evidence
        is checked before a missing model is reported)."""
        (result,) = await self.assess_batch([claim])
        if isinstance(result, Exception):
            raise result
        return result

    async def assess_batch(
        self, claims: Sequence[Claim], record: Recorder | None = None
    ) -> list[ClaimOutcome | Exception]:
        """Assess several claims, in order, with one model call for all their photos; each result is the claim's
        outcome or the error that stopped it. `record` is called with each outcome before the next claim is
        decided (the node adds it to its claims history there)."""
        return await self.conclude_batch(await self.predict_batch(await self.load_batch(claims)), record)

    # ---- the three steps of a batch ----

    async def load_batch(self, claims: Sequence[Claim]) -> ClaimBatch:
        """Verify each claim's evidence and gather its weather (not in the model's thread, so a node can load
        the next batch while the model works on this one)."""
        loop = asyncio.get_running_loop()
        loads = (loop.run_in_executor(self._load_executor, self.load_claim, claim) for claim in claims)
        batch = ClaimBatch(list(await asyncio.gather(*loads)))
        live = batch.live()
        gathered = await asyncio.gather(
            *(self.weather(item.claim, item.terms) for item in live), return_exceptions=True
        )
        for item, weather in zip(live, gathered, strict=True):
            if isinstance(weather, Exception):
                item.error = weather
            elif isinstance(weather, BaseException):
                raise weather
            else:
                item.weather = weather
        return batch

    async def predict_batch(self, batch: ClaimBatch) -> ClaimBatch:
        """Run the model over a loaded batch's photos, in the model's thread; returns the batch."""
        await self._run(self._predict, batch)
        return batch

    async def conclude_batch(self, batch: ClaimBatch, record: Recorder | None = None) -> list[ClaimOutcome | Exception]:
        """Decide each claim of a predicted batch in order, storing the explanations; see `assess_batch`."""
        return await asyncio.get_running_loop().run_in_executor(
            self._conclude_executor, functools.partial(self._conclude_all, batch, record)
        )

    async def weather(self, claim: Claim, terms: Terms | None) -> list[WeatherRecord] | None:
        """Gather weather for a claim whose peril needs it (see oracle.claim.weather.claim_weather)."""
        return await claim_weather(self.weather_sources, claim, terms)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(fn, *args))

    def load_claim(self, claim: Claim) -> ClaimInBatch:
        """Read and verify a claim's evidence and terms; an error stays with the claim."""
        try:
            manifest = load_manifest(claim.evidence_root, self.store, claim.evidence_uri)
            photos = verify_evidence(
                manifest,
                claim.evidence_root,
                self.store,
                max_photos=self.max_photos,
                max_photo_bytes=self.max_photo_bytes,
                reader=self.reader,
            )
            terms = self.terms(claim.terms_hash)
            if isinstance(self.store, IpfsContentStore):  # a member keeps it until the claim is final + retention
                cids = [cid_for_bytes(manifest), *(photo.cid for photo in photos)]
                self.store.hold_evidence(
                    hold_key(claim.chain_id, claim.contract, claim.claim_id),
                    cids,
                    terms.evidence_retention_days * 86_400,
                )
            content_key = evidence_key(manifest, self.reader)
            claim = with_claimant(claim, manifest_claimant(manifest), terms)
            if content_key is not None:  # the precise place, for the weather and EXIF checks only
                claim = dataclasses.replace(claim, place_e6=sealed_place(manifest, content_key))
            return ClaimInBatch(claim, photos=photos, terms=terms, content_key=content_key)
        except Exception as exc:  # noqa: BLE001 - the claim's own problem, handed back with its result
            return ClaimInBatch(claim, error=exc)

    def _predict(self, batch: ClaimBatch) -> None:
        """Run the network once over every photo of the batch's claims still standing (an unusable photo is pinned
        on its claim by asking claim by claim); heat maps are drawn on their own thread meanwhile."""
        live = batch.live()
        everything = [photo.data for item in live for photo in item.photos]
        if not everything:
            return
        model = self._require_model()
        try:
            # in network batches of MODEL_BATCH_PHOTOS: a node batch of 8 claims x 12 photos in one call took the
            # model's activations for 96 photos (most of a gigabyte), which its memory arena then kept
            flat = model.classify(everything, batch_size=MODEL_BATCH_PHOTOS)
        except ValueError:
            for item in live:
                try:
                    self._attach(item, model.classify([photo.data for photo in item.photos]))
                except ValueError as exc:
                    item.error = exc
        else:
            start = 0
            for item in live:
                self._attach(item, flat[start : start + len(item.photos)])
                start += len(item.photos)

    def _attach(self, item: ClaimInBatch, classified: Sequence[tuple[ModelPrediction, PendingHeatmapLike]]) -> None:
        item.predictions = [prediction for prediction, _ in classified]
        item.heatmaps = [self._render_executor.submit(pending.render) for _, pending in classified]

    def _conclude_all(self, batch: ClaimBatch, record: Recorder | None) -> list[ClaimOutcome | Exception]:
        """Decide each claim in turn (so a claim's history includes the claims before it), then store every blob
        at once and fill in the explanations' content ids."""
        results: list[ClaimOutcome | Exception] = []
        blobs: list[bytes] = []
        explanation_at: dict[int, int] = {}  # result index -> index of its explanation among the blobs
        for item in batch.items:
            if item.error is not None:
                results.append(item.error)
                continue
            try:
                outcome, claim_blobs = self._conclude(item)
            except ValueError as exc:  # AssessmentError included
                results.append(exc)
                continue
            if record is not None:
                record(item.claim, outcome)
            elif self.record_history:
                self._record(item.claim, outcome)
            blobs += claim_blobs
            explanation_at[len(results)] = len(blobs) - 1
            results.append(outcome)
        cids = put_all(self.store, blobs)
        for index, blob in explanation_at.items():
            decided = results[index]
            assert isinstance(decided, ClaimOutcome)
            results[index] = dataclasses.replace(decided, explanation_cid=cids[blob])
        return results

    def _conclude(self, item: ClaimInBatch) -> tuple[ClaimOutcome, list[bytes]]:
        """Decide one claim from its photos' predictions; returns the outcome and the blobs to store (heat maps,
        then the explanation)."""
        model = self._require_model()
        drawn = [heatmap.result() for heatmap in item.heatmaps]
        # a heat map shows the photo: sealed like it, with the same bytes at every member
        if item.content_key is not None:
            drawn = [seal_deterministic(item.content_key, png, PRIVATE_PURPOSE) for png in drawn]
        # one heat map per prediction: `_attach` sets both from the model's answer
        predictions = [dataclasses.replace(p, heatmap_png=png) for p, png in zip(item.predictions, drawn, strict=True)]
        assert item.terms is not None  # a live item has its terms
        inputs = AssessmentInputs(
            claim=item.claim,
            photos=item.photos,
            predictions=predictions,
            weather=item.weather,
            history=self.history,
            terms=item.terms,
            terms_hash=bytes(item.claim.terms_hash),
        )
        result = assess(inputs)
        model_hash = bytes.fromhex(model_sha256_hex(model))
        explanation = explanation_for(
            inputs, result, model_id=model_id(model), model_sha256=model_hash, code_version=self.code_version
        )
        if item.content_key is not None:
            explanation = with_sealed_exif(explanation, item.content_key)
        data, digest = explanation.canonical()
        outcome = ClaimOutcome(  # the explanation's id is the one the store gives it (_conclude_all)
            decision=int(result.decision),
            payout=result.payout,
            confidence_bps=result.confidence_bps,
            explanation_hash=digest,
            explanation_cid="",
            model_hash=model_hash,
            explanation=explanation,
        )
        return outcome, [*result.artifacts.values(), data]

    def _record(self, claim: Claim, outcome: ClaimOutcome) -> None:
        if claim.key in self._recorded or not isinstance(self.history, HistoryWriter):
            return
        self._recorded.add(claim.key)
        record_in_history(self.history, claim, outcome)


__all__ = ["ClaimAssessor", "Recorder"]
