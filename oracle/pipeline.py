"""Wire the parts for one claim: evidence, damage model, weather, history and terms into a stored explanation."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from oracle.assess import (
    WEATHER_PERILS,
    AssessmentError,
    AssessmentInputs,
    ClaimData,
    assess,
    explanation_for,
    predictions_from_explanation,
    replay_matches,
    weather_from_explanation,
    weather_query,
)
from oracle.cas.store import ContentStore, ContentStoreError, put_all
from oracle.explain.canonical import CanonicalJSONError, hex0x, parse_canonical
from oracle.explain.document import explanation_bytes_and_hash
from oracle.explain.evidence import (
    DEFAULT_MAX_PHOTO_BYTES,
    DEFAULT_MAX_PHOTOS,
    Photo,
    build_manifest,
    load_manifest,
    manifest_claimant,
    verify_evidence,
)
from oracle.sources.history import ClaimsHistory, PriorClaim, PriorPhoto
from oracle.sources.open_meteo import UpstreamError
from oracle.sources.records import WeatherQuery, WeatherRecord
from oracle.sources.terms import Terms, load_terms
from oracle.sources.weather import WeatherSource, gather_weather

log = logging.getLogger(__name__)

GATHER: Any = object()
"""Default of ClaimAssessor.assess(weather=...): ask the weather sources."""

DEFAULT_VEHICLE_CLASS = "sedan"
"""The vehicle class assumed when the manifest names none (the terms' first class if it has no sedan)."""


class ClaimContextError(ValueError):
    """The chain's facts about a claim are inconsistent (bad position, policy ending before it starts, ...)."""


class ModelUnavailableError(RuntimeError):
    """No damage model is loaded, so photos cannot be assessed."""


class ExplanationNotFoundError(LookupError):
    """A stored explanation cannot be found or read; the message names the id."""


@dataclass(frozen=True)
class ClaimContext:
    """What the chain says about a claim and its policy and product; peril_index is the event's bit index."""

    claim_id: int
    chain_id: int
    contract: str
    policy_id: int
    product_id: int
    evidence_root: bytes
    evidence_uri: str
    incident_time: int
    peril_index: int
    latitude_e6: int
    longitude_e6: int
    claimed_amount: int
    submitted_at: int
    policy_start: int
    policy_end: int
    remaining_coverage: int
    deductible: int
    covered_perils: int
    terms_hash: bytes
    insured_object: bytes

    @property
    def key(self) -> tuple[int, str, int, bytes]:
        """Identity of the claim's evidence: (chain, contract, claim id, evidence root)."""
        return (self.chain_id, self.contract.lower(), self.claim_id, bytes(self.evidence_root))


@dataclass(frozen=True)
class ClaimOutcome:
    """A decision as the report carries it, with the explanation it rests on and where that is stored."""

    decision: int
    payout: int
    confidence_bps: int
    explanation_hash: bytes
    explanation_cid: str
    model_hash: bytes
    explanation: dict


@dataclass
class PreparedBatch:
    """Claims on their way to a decision: per claim (context, photos, claim data, terms, weather) once its evidence
    is verified and its weather gathered, or the error that stopped it; and once the network ran, per claim its
    photos' (prediction, heat map still to draw) pairs."""

    items: list
    predictions: list


@dataclass(frozen=True)
class DemoEvidence:
    """A claim's stored evidence: the root the claim commits to, the URI it names, and the manifest's id."""

    root: bytes
    uri: str
    manifest_cid: str


def peril_bit(index: int) -> int:
    """Return the peril bit for the event's bit index; indexes past the known perils give bits the rules reject."""
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 256:
        raise ClaimContextError(f"peril index must be an integer in 0..255, got {index!r}")
    return 1 << index


def model_sha256_hex(model: Any) -> str:
    """Return the hex sha256 of a loaded damage model (DamageModel.model_sha256)."""
    return getattr(model, "model_sha256", None) or model.sha256


def model_id(model: Any) -> str:
    """Return the model's id for explanations: its architecture and file name."""
    return f"{getattr(model, 'metadata', {}).get('arch', 'damage-model')}/{model.path.name}"


def choose_vehicle_class(claimant: dict[str, str], terms: Terms) -> str:
    """Return the manifest's vehicle class, or the default class of the terms' cost schedule."""
    if claimant.get("vehicleClass"):
        return claimant["vehicleClass"]
    return DEFAULT_VEHICLE_CLASS if DEFAULT_VEHICLE_CLASS in terms.cost_schedule else next(iter(terms.cost_schedule))


def claim_data(ctx: ClaimContext, claimant: dict[str, str], terms: Terms) -> ClaimData:
    """Turn a claim's chain facts and its manifest's claimant metadata into the assessment's ClaimData."""
    try:
        return ClaimData(
            claim_id=ctx.claim_id,
            chain_id=ctx.chain_id,
            contract=ctx.contract,
            policy_id=ctx.policy_id,
            evidence_root=bytes(ctx.evidence_root),
            policy_start=ctx.policy_start,
            policy_end=ctx.policy_end,
            incident_time=ctx.incident_time,
            submitted_at=ctx.submitted_at,
            lat_e6=ctx.latitude_e6,
            lon_e6=ctx.longitude_e6,
            peril=peril_bit(ctx.peril_index),
            claimed_amount=ctx.claimed_amount,
            remaining_coverage=ctx.remaining_coverage,
            deductible=ctx.deductible,
            insured_object_id=hex0x(ctx.insured_object),
            vehicle_class=choose_vehicle_class(claimant, terms),
            covered_perils=ctx.covered_perils,
            county_fips=claimant.get("countyFips"),
            zone_fips=claimant.get("zoneFips"),
        )
    except AssessmentError as exc:
        raise ClaimContextError(f"claim {ctx.claim_id}: {exc}") from None


class _WatchedSource:
    """A weather source that remembers whether it failed because its upstream was unreachable."""

    def __init__(self, source: WeatherSource) -> None:
        self.source = source
        self.name = source.name
        self.upstream_failure: UpstreamError | None = None

    async def records(self, query: WeatherQuery) -> list[WeatherRecord]:
        """Ask the wrapped source, noting an UpstreamError before passing it on."""
        try:
            return await self.source.records(query)
        except UpstreamError as exc:
            self.upstream_failure = exc
            raise


class ClaimAssessor:
    """Assess claims end to end and store their explanations; the node and the adapter both call this."""

    def __init__(
        self,
        store: ContentStore,
        model: Any | None,
        weather_sources: Sequence[WeatherSource],
        history: ClaimsHistory,
        code_version: str,
        max_workers: int = 1,
        *,
        max_photos: int = DEFAULT_MAX_PHOTOS,
        max_photo_bytes: int = DEFAULT_MAX_PHOTO_BYTES,
        record_history: bool = False,
    ) -> None:
        """Keep the parts; `record_history` adds each assessed claim and its photos to an in-memory history."""
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
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="assess")
        self._conclude_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conclude")
        # heat maps are drawn here, beside the network (next batch) and the decisions (previous batch): Pillow
        # lets go of the GIL while it resizes, blends and compresses
        self._render_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heatmaps")
        self._recorded: set[tuple] = set()
        self._terms: dict[bytes, Terms] = {}  # by keccak256: a terms document never changes under its hash

    @property
    def model_hash(self) -> bytes | None:
        """The loaded model's sha256 (the on-chain model hash), or None without a model."""
        return None if self.model is None else bytes.fromhex(model_sha256_hex(self.model))

    def warm(self) -> None:
        """Do ahead what the first claim would otherwise wait for: the model's first run (ONNX Runtime sets up
        its buffers then) and parsing the weather tables that can be parsed ahead."""
        if self.model is not None:
            import io

            from PIL import Image

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

    async def _run(self, fn, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def _evidence(self, ctx: ClaimContext) -> tuple[list[Photo], dict[str, str], Terms]:
        manifest = load_manifest(ctx.evidence_root, self.store)
        photos = verify_evidence(
            manifest, ctx.evidence_root, self.store, max_photos=self.max_photos, max_photo_bytes=self.max_photo_bytes
        )
        return photos, manifest_claimant(manifest), self.terms(ctx.terms_hash)

    def terms(self, terms_hash: bytes) -> Terms:
        """The terms document under `terms_hash`, read from the store and validated once."""
        key = bytes(terms_hash)
        if key not in self._terms:
            self._terms[key] = load_terms(self.store, key)
        return self._terms[key]

    def _require_model(self) -> Any:
        if self.model is None:
            raise ModelUnavailableError("no damage model is loaded; export one with `claims-oracle model export`")
        return self.model

    async def weather(self, claim: ClaimData, terms: Terms) -> list[WeatherRecord] | None:
        """Gather weather for a claim whose peril needs it; a total upstream outage raises UpstreamError to retry."""
        if not claim.peril & WEATHER_PERILS:
            return None  # no weather rule applies to this peril, so no source is asked
        watched = [_WatchedSource(s) for s in self.weather_sources]
        result = await gather_weather(watched, weather_query(claim, terms))
        outages = [w.upstream_failure for w in watched if w.upstream_failure is not None]
        if result.records is None and outages:
            # deciding REFER on a transient outage would put it on-chain; let the caller retry instead
            reasons = "; ".join(f"{name}: {error}" for name, error in result.errors)
            raise UpstreamError(f"every weather source failed for claim {claim.claim_id}: {reasons}")
        return result.records

    def _decide(
        self, ctx: ClaimContext, photos: list[Photo], claim: ClaimData, terms: Terms,
        weather: list[WeatherRecord] | None,
    ) -> ClaimOutcome:
        model = self._require_model()
        predictions = model.predict([p.data for p in photos])
        outcome, blobs = self._conclude(ctx, photos, predictions, claim, terms, weather)
        outcome = dataclasses.replace(outcome, explanation_cid=put_all(self.store, blobs)[-1])
        if self.record_history:
            self._record(ctx, outcome)
        return outcome

    def _conclude(
        self, ctx: ClaimContext, photos: list[Photo], predictions: list, claim: ClaimData, terms: Terms,
        weather: list[WeatherRecord] | None,
    ) -> tuple[ClaimOutcome, list[bytes]]:
        """Decide one claim from its photos' predictions; returns the outcome and the blobs to store (heat maps,
        then the explanation)."""
        model = self._require_model()
        inputs = AssessmentInputs(
            claim=claim, photos=photos, predictions=predictions, weather=weather, history=self.history,
            terms=terms, terms_hash=bytes(ctx.terms_hash),
        )
        result = assess(inputs)
        model_hash = bytes.fromhex(model_sha256_hex(model))
        doc = explanation_for(
            inputs, result, model_id=model_id(model), model_sha256=model_hash, code_version=self.code_version
        )
        data, digest = explanation_bytes_and_hash(doc)
        outcome = ClaimOutcome(  # the explanation's id is the one the store gives it (_decide, _conclude_batch)
            decision=int(result.decision), payout=result.payout, confidence_bps=result.confidence_bps,
            explanation_hash=digest, explanation_cid="", model_hash=model_hash, explanation=doc,
        )
        return outcome, [*result.artifacts.values(), data]

    def _predict_batch(self, batch: PreparedBatch) -> None:
        """Run the network once over every photo of the batch's claims still standing (an unusable photo is pinned
        on its claim by asking claim by claim); the heat maps are drawn on their own thread, so that the network's
        goes on to the next batch meanwhile (`_conclude_batch` waits for them)."""
        model = self._require_model()
        live = [i for i, item in enumerate(batch.items) if not isinstance(item, Exception)]
        everything = [p.data for i in live for p in batch.items[i][1]]
        if not everything:
            return
        try:
            flat = model.classify(everything, batch_size=len(everything))
        except ValueError:
            for i in live:
                try:
                    batch.predictions[i] = model.classify([p.data for p in batch.items[i][1]])
                except ValueError as exc:
                    batch.items[i] = exc
        else:
            start = 0
            for i in live:
                count = len(batch.items[i][1])
                batch.predictions[i] = flat[start:start + count]
                start += count
        for i in live:
            if not isinstance(batch.items[i], Exception):
                batch.predictions[i] = [(prediction, self._render_executor.submit(pending.render))
                                        for prediction, pending in batch.predictions[i]]

    def _conclude_batch(
        self, batch: PreparedBatch, record: Callable[[ClaimContext, ClaimOutcome], None] | None,
    ) -> list[ClaimOutcome | Exception]:
        """Decide each claim of a predicted batch in turn (so a claim's history includes the claims before it,
        `record` adding each), then store every blob at once."""
        results: list[ClaimOutcome | Exception] = []
        blobs: list[bytes] = []
        explanation_at: dict[int, int] = {}  # result index -> index of its explanation among the blobs
        for item, predicted in zip(batch.items, batch.predictions):
            if isinstance(item, Exception):
                results.append(item)
                continue
            ctx, photos, claim, terms, weather = item
            predicted = [dataclasses.replace(prediction, heatmap_png=drawn.result()) for prediction, drawn in predicted]
            try:
                outcome, claim_blobs = self._conclude(ctx, photos, predicted, claim, terms, weather)
            except ValueError as exc:  # AssessmentError included
                results.append(exc)
                continue
            if record is not None:
                record(ctx, outcome)
            elif self.record_history:
                self._record(ctx, outcome)
            blobs += claim_blobs
            explanation_at[len(results)] = len(blobs) - 1
            results.append(outcome)
        cids = put_all(self.store, blobs)
        for index, blob in explanation_at.items():
            results[index] = dataclasses.replace(results[index], explanation_cid=cids[blob])
        return results

    async def prepare_batch(self, contexts: Sequence[ClaimContext]) -> PreparedBatch:
        """The first half of `assess_batch`: evidence, weather (`load_batch`) and one model call for all the
        claims' photos (`predict_batch`).

        It reads no claims history, so a node may prepare the next batch while it concludes this one."""
        return await self.predict_batch(await self.load_batch(contexts))

    async def load_batch(self, contexts: Sequence[ClaimContext]) -> PreparedBatch:
        """Verify each claim's evidence and gather its weather (not in the model's thread, so a node can load
        the next batch while the model works on this one)."""
        self._require_model()
        prepared = await asyncio.to_thread(self._prepare_all, list(contexts))
        needed = [i for i, item in enumerate(prepared) if not isinstance(item, Exception)]
        gathered = await asyncio.gather(*(self.weather(prepared[i][2], prepared[i][3]) for i in needed),
                                        return_exceptions=True)
        for i, weather in zip(needed, gathered):
            if isinstance(weather, BaseException):
                if not isinstance(weather, Exception):
                    raise weather
                prepared[i] = weather
            else:
                prepared[i] = (*prepared[i], weather)
        return PreparedBatch(items=prepared, predictions=[None] * len(prepared))

    async def predict_batch(self, batch: PreparedBatch) -> PreparedBatch:
        """Run the model over a loaded batch's photos, in the model's thread; returns the batch."""
        await self._run(self._predict_batch, batch)
        return batch

    async def conclude_batch(
        self, batch: PreparedBatch, record: Callable[[ClaimContext, ClaimOutcome], None] | None = None,
    ) -> list[ClaimOutcome | Exception]:
        """The second half of `assess_batch`: the decisions, in order, with their explanations stored."""
        return await asyncio.get_running_loop().run_in_executor(
            self._conclude_executor, functools.partial(self._conclude_batch, batch, record))

    async def assess_batch(
        self, contexts: Sequence[ClaimContext],
        record: Callable[[ClaimContext, ClaimOutcome], None] | None = None,
    ) -> list[ClaimOutcome | Exception]:
        """Assess several claims, in order, with one model call for all their photos; each result is the claim's
        outcome or the error that stopped it. `record` is called with each outcome before the next claim is
        assessed (the node adds it to its claims history there). Outcomes and explanation bytes are the same as
        assessing the claims one after the other with `assess`."""
        return await self.conclude_batch(await self.prepare_batch(contexts), record)

    def _prepare_all(self, contexts: list[ClaimContext]) -> list[tuple | Exception]:
        prepared: list[tuple | Exception] = []
        for ctx in contexts:
            try:
                photos, claimant, terms = self._evidence(ctx)
                prepared.append((ctx, photos, claim_data(ctx, claimant, terms), terms))
            except Exception as exc:  # noqa: BLE001 - the claim's own problem, handed back with its result
                prepared.append(exc)
        return prepared

    async def assess(self, ctx: ClaimContext, *, weather: list[WeatherRecord] | None = GATHER) -> ClaimOutcome:
        """Assess a claim and store its explanation and heat maps; pass `weather` to reuse records already gathered."""
        photos, claimant, terms = await self._run(self._evidence, ctx)
        claim = claim_data(ctx, claimant, terms)
        self._require_model()
        if weather is GATHER:
            weather = await self.weather(claim, terms)
        return await self._run(self._decide, ctx, photos, claim, terms, weather)

    def load_explanation(self, explanation_cid: str) -> dict:
        """Fetch a stored explanation by content id and parse its canonical bytes."""
        try:
            return parse_canonical(self.store.get(explanation_cid))
        except (ContentStoreError, CanonicalJSONError, ValueError) as exc:
            raise ExplanationNotFoundError(f"explanation {explanation_cid} cannot be read: {exc}") from None

    def replay(self, ctx: ClaimContext, explanation_cid: str) -> dict[str, tuple]:
        """Re-assess a claim from its stored explanation's weather (and the model when loaded); {} means it matches."""
        doc = self.load_explanation(explanation_cid)
        photos, claimant, terms = self._evidence(ctx)
        claim = claim_data(ctx, claimant, terms)
        if self.model is not None:
            predictions = self.model.predict([p.data for p in photos], heatmaps=False)
        else:
            predictions = predictions_from_explanation(doc)
        inputs = AssessmentInputs(
            claim=claim, photos=photos, predictions=predictions, weather=weather_from_explanation(doc),
            history=self.history, terms=terms, terms_hash=bytes(ctx.terms_hash),
        )
        differences = replay_matches(doc, assess(inputs))
        identity = {
            "claimId": (doc["claim"]["claimId"], str(ctx.claim_id)),
            "evidenceRoot": (doc["claim"]["evidenceRoot"], hex0x(ctx.evidence_root)),
            "termsHash": (doc["termsHash"], hex0x(ctx.terms_hash)),
        }
        if self.model is not None:
            identity["modelSha256"] = (doc["model"]["sha256"], "0x" + model_sha256_hex(self.model))
        differences.update({k: v for k, v in identity.items() if v[0] != v[1]})
        return differences

    def _record(self, ctx: ClaimContext, outcome: ClaimOutcome) -> None:
        if ctx.key in self._recorded or not hasattr(self.history, "add_claim"):
            return
        self._recorded.add(ctx.key)
        record_in_history(self.history, ctx, outcome)


def record_in_history(history: Any, ctx: ClaimContext, outcome: ClaimOutcome) -> None:
    """Add an assessed claim and its photos' perceptual hashes to a history with add_claim/add_photo (in one
    go where the history offers add_history, as the node's database does)."""
    claim = PriorClaim(
        claim_id=ctx.claim_id, policy_id=ctx.policy_id, insured_object_id=hex0x(ctx.insured_object),
        incident_time=ctx.incident_time, submitted_at=ctx.submitted_at, decision=outcome.decision,
        payout=outcome.payout,
    )
    inputs = {p["cid"]: p for p in outcome.explanation["inputs"]["photos"]}
    photos = [
        PriorPhoto(
            claim_id=ctx.claim_id, submitted_at=ctx.submitted_at, cid=finding["cid"],
            sha256=inputs[finding["cid"]]["sha256"], phash=int(finding["phash"], 16),
            dhash=int(finding["dhash"], 16),
        )
        for finding in outcome.explanation["findings"]
    ]
    if hasattr(history, "add_history"):
        history.add_history([claim], photos)
        return
    history.add_claim(claim)
    for photo in photos:
        history.add_photo(photo)


def store_terms(store: ContentStore, terms_bytes: bytes) -> bytes:
    """Store a terms document and return its keccak256 (the product's termsHash)."""
    from eth_utils import keccak

    store.put(terms_bytes)
    return keccak(terms_bytes)


def store_demo_evidence(
    store: ContentStore,
    photos: Sequence[tuple[str, bytes]],
    *,
    vehicle_class: str | None = None,
    county_fips: str | None = None,
    zone_fips: str | None = None,
    terms: Terms | None = None,
) -> DemoEvidence:
    """Store a claim's photos and manifest (with optional claimant metadata) and return its root and URI."""
    if terms is not None and vehicle_class is not None and vehicle_class not in terms.cost_schedule:
        known = ", ".join(terms.cost_schedule)
        raise ValueError(f"vehicle class {vehicle_class!r} is not in the terms' cost schedule ({known})")
    manifest = build_manifest(
        photos, {"vehicleClass": vehicle_class, "countyFips": county_fips, "zoneFips": zone_fips}
    )
    for _, data in photos:
        store.put(data)
    cid = store.put(manifest.data)
    return DemoEvidence(root=manifest.root, uri=f"ipfs://{cid}", manifest_cid=cid)


__all__ = [
    "DEFAULT_VEHICLE_CLASS",
    "GATHER",
    "ClaimAssessor",
    "ClaimContext",
    "ClaimContextError",
    "ClaimOutcome",
    "DemoEvidence",
    "ExplanationNotFoundError",
    "ModelUnavailableError",
    "PreparedBatch",
    "choose_vehicle_class",
    "claim_data",
    "model_id",
    "peril_bit",
    "record_in_history",
    "store_demo_evidence",
    "store_terms",
]
