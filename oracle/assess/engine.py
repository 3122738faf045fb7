"""The pure decision: photo findings, weather support, fraud signals and rules into decision, payout, confidence."""

from __future__ import annotations

from collections.abc import Sequence

from oracle.assess.constants import BPS, SEVERITIES, WEATHER_PERILS, Decision, Peril, peril_name
from oracle.assess.exif import read_exif
from oracle.assess.fraud import STRONG, WEAK, fraud_signals
from oracle.assess.imagehash import perceptual_hashes
from oracle.assess.payout import compute_payout
from oracle.assess.types import (
    Assessment,
    AssessmentError,
    AssessmentInputs,
    Claim,
    FraudSignal,
    PhotoFinding,
    RuleFired,
    check_probabilities,
    to_bps,
)
from oracle.cas.unixfs import cid_for_bytes
from oracle.sources.records import WeatherQuery, WeatherRecord, iso_utc
from oracle.sources.terms import Terms, Thresholds

REJECT, REFER, INFO = "REJECT", "REFER", "INFO"


def percent(bps: int) -> str:
    """Basis points as people read them, exactly: 1844 -> "18.44%", 1850 -> "18.5%", 2000 -> "20%"."""
    whole, rest = divmod(int(bps), 100)
    return f"{whole}.{rest:02d}".rstrip("0").rstrip(".") + "%"


def photo_findings(inputs: AssessmentInputs) -> tuple[list[PhotoFinding], dict[str, bytes]]:
    """Turn each verified photo and its prediction into a finding with basis points, hashes, EXIF and heat map."""
    if len(inputs.photos) != len(inputs.predictions):
        raise AssessmentError(
            f"{len(inputs.photos)} photos but {len(inputs.predictions)} predictions; they must pair up in order"
        )
    if not inputs.photos:
        raise AssessmentError("a claim needs at least one verified photo")
    t = inputs.terms.thresholds
    findings, artifacts = [], {}
    for photo, pred in zip(inputs.photos, inputs.predictions, strict=True):
        where = f"photo {photo.index} ({photo.name})"
        probs = check_probabilities(pred.probabilities, where)
        damage = to_bps(pred.damage_probability, f"{where} damage_probability")
        damaged = damage >= t.min_damage_probability_bps
        severity = None
        if damaged:
            # the most likely damage class; ties go to the milder one
            severity = max(SEVERITIES, key=lambda s: (probs[s], -SEVERITIES.index(s)))
        heatmap_cid = None
        if pred.heatmap_png:
            heatmap_cid = cid_for_bytes(pred.heatmap_png)
            artifacts[heatmap_cid] = bytes(pred.heatmap_png)
        try:
            p_hash, d_hash = perceptual_hashes(photo.data)
        except Exception as exc:  # verified photos decode; this guards direct callers
            raise AssessmentError(f"{where} does not decode as an image: {exc}") from None
        findings.append(
            PhotoFinding(
                index=photo.index,
                name=photo.name,
                cid=photo.cid,
                sha256=photo.sha256,
                label=str(pred.label),
                probabilities_bps=probs,
                damage_bps=damage,
                confidence_bps=to_bps(pred.confidence, f"{where} confidence"),
                damaged=damaged,
                severity=severity,
                heatmap_cid=heatmap_cid,
                phash=p_hash,
                dhash=d_hash,
                exif=read_exif(photo.data),
            )
        )
    return findings, artifacts


def supporting_weather(claim: Claim, records: Sequence[WeatherRecord], thresholds: Thresholds) -> list[WeatherRecord]:
    """Records that back the claimed peril within the terms' radius and time window."""
    window = thresholds.weather_window_hours * 3600
    radius_m = thresholds.weather_radius_km * 1000
    return [
        r
        for r in records
        if r.supports(claim.peril)
        and r.begin <= claim.incident_time + window
        and r.end >= claim.incident_time - window
        and (r.distance_m is None or r.distance_m <= radius_m or r.match == "grid")
    ]


def weather_query(claim: Claim, terms: Terms) -> WeatherQuery:
    """The weather question a claim asks, with the terms' radius, window and thresholds."""
    t = terms.thresholds
    return WeatherQuery(
        peril=claim.peril,
        lat=claim.lat,
        lon=claim.lon,
        when=claim.incident_time,
        radius_km=t.weather_radius_km,
        window_hours=t.weather_window_hours,
        county_fips=claim.county_fips,
        zone_fips=claim.zone_fips,
        gust_kmh_min=t.weather_gust_kmh_min,
        precip_mm_min=t.weather_precip_mm_min,
    )


def _coverage_rules(claim: Claim, terms: Terms) -> list[RuleFired]:
    rules = []
    try:
        name = peril_name(claim.peril)
    except ValueError as exc:
        return [RuleFired("coverage.peril_invalid", REJECT, str(exc), BPS)]
    covered = terms.perils_mask if claim.covered_perils is None else terms.perils_mask & claim.covered_perils
    if not covered & claim.peril:
        rules.append(RuleFired("coverage.peril_not_covered", REJECT, f"the product does not cover {name} damage", BPS))
    if not claim.policy_start <= claim.incident_time <= claim.policy_end:
        rules.append(
            RuleFired(
                "coverage.outside_term",
                REJECT,
                f"incident at {iso_utc(claim.incident_time)} is outside the policy term "
                f"{iso_utc(claim.policy_start)} to {iso_utc(claim.policy_end)}",
                BPS,
            )
        )
    if claim.incident_time > claim.submitted_at:
        rules.append(
            RuleFired(
                "claim.incident_after_submission",
                REFER,
                f"incident time {iso_utc(claim.incident_time)} is after the claim's submission "
                f"at {iso_utc(claim.submitted_at)}",
            )
        )
    if claim.remaining_coverage == 0:
        rules.append(RuleFired("coverage.exhausted", REJECT, "the policy has no coverage left", BPS))
    if claim.vehicle_class not in terms.cost_schedule:
        rules.append(
            RuleFired(
                "schedule.unknown_class",
                REFER,
                f"vehicle class {claim.vehicle_class!r} is not in the cost schedule "
                f"({', '.join(sorted(terms.cost_schedule))})",
            )
        )
    return rules


def _damage_rules(findings: Sequence[PhotoFinding], t: Thresholds) -> list[RuleFired]:
    top = max(f.damage_bps for f in findings)
    damaged = [f for f in findings if f.damaged]
    if top <= t.no_damage_max_probability_bps:
        return [
            RuleFired(
                "vision.no_damage",
                REJECT,
                f"no photo shows damage: the highest damage probability is {percent(top)}, at or below "
                f"{percent(t.no_damage_max_probability_bps)}",
                BPS - top,
            )
        ]
    if not damaged:
        return [
            RuleFired(
                "vision.damage_uncertain",
                REFER,
                f"damage is uncertain: the highest damage probability is {percent(top)}, between "
                f"{percent(t.no_damage_max_probability_bps)} and {percent(t.min_damage_probability_bps)}",
            )
        ]
    return [
        RuleFired(
            "vision.damage",
            INFO,
            f"{len(damaged)} of {len(findings)} photos show damage; the worst is "
            f"{max(damaged, key=lambda f: SEVERITIES.index(f.severity)).severity}",
        )
    ]


def _weather_rules(claim: Claim, weather: Sequence[WeatherRecord] | None, t: Thresholds) -> list[RuleFired]:
    try:
        name = peril_name(claim.peril)  # an invalid peril is already a REJECT from the coverage rules
    except ValueError:
        return []
    if not Peril(claim.peril) & WEATHER_PERILS:
        return []
    if weather is None:
        return [RuleFired("weather.unavailable", REFER, f"no weather data could be checked for a {name} claim")]
    support = supporting_weather(claim, weather, t)
    if not support:
        return [
            RuleFired(
                "weather.unsupported",
                REFER,
                f"no {name} record within {t.weather_radius_km} km and {t.weather_window_hours} h of the incident "
                f"at {iso_utc(claim.incident_time)} ({len(weather)} weather records checked)",
            )
        ]
    best = support[0]
    where = "same county/zone" if best.distance_m is None else f"{best.distance_m} m away"
    return [
        RuleFired(
            "weather.supported",
            INFO,
            f"{len(support)} record(s) back the {name} claim, e.g. {best.source} {best.record_id} "
            f"({best.event_type}, {where}, {iso_utc(best.begin)})",
        )
    ]


def _fraud_rules(signals: Sequence[FraudSignal]) -> list[RuleFired]:
    rules = [RuleFired(f"fraud.{s.id}", REFER, s.reason) for s in signals if s.strength == STRONG]
    weak = [s for s in signals if s.strength == WEAK]
    if len(weak) >= 2:
        rules.append(
            RuleFired(
                "fraud.weak_signals",
                REFER,
                f"{len(weak)} weak fraud signals together: " + "; ".join(s.reason for s in weak),
            )
        )
    return rules


def assess(inputs: AssessmentInputs) -> Assessment:
    """Decide a claim from its inputs alone: same inputs, same decision, payout, confidence and reasons."""
    claim, terms = inputs.claim, inputs.terms
    t = terms.thresholds
    findings, artifacts = photo_findings(inputs)
    signals = fraud_signals(claim, findings, inputs.history, t)

    rules = _coverage_rules(claim, terms)
    rules += _damage_rules(findings, t)
    rules += _weather_rules(claim, inputs.weather, t)
    rules += _fraud_rules(signals)

    damaged = [f for f in findings if f.damaged]
    severity = max((f.severity for f in damaged), key=SEVERITIES.index, default=None)
    arithmetic = compute_payout(claim, terms, severity)
    money = terms.currency.format

    weak = sum(1 for s in signals if s.strength == WEAK)
    vision_confidence = min((f.confidence_bps for f in damaged), default=0)
    confidence = max(0, vision_confidence - weak * t.weak_signal_penalty_bps)
    if weak:
        rules.append(
            RuleFired(
                "confidence.weak_signal_penalty",
                INFO,
                f"confidence lowered by {weak} x {percent(t.weak_signal_penalty_bps)} for weak fraud signals",
            )
        )

    outcomes = {r.outcome for r in rules}
    if REJECT not in outcomes and REFER not in outcomes and damaged:
        if arithmetic.payout == 0:
            rules.append(
                RuleFired(
                    "payout.below_deductible",
                    REJECT,
                    f"the assessed loss of {money(arithmetic.loss)} does not exceed the deductible of "
                    f"{money(arithmetic.deductible)}",
                    confidence,
                )
            )
        elif confidence < t.min_auto_approve_confidence_bps:
            rules.append(
                RuleFired(
                    "confidence.low",
                    REFER,
                    f"confidence {percent(confidence)} is below the {percent(t.min_auto_approve_confidence_bps)} "
                    f"the terms require to decide without a human",
                )
            )
        outcomes = {r.outcome for r in rules}

    if REJECT in outcomes:
        decision = Decision.REJECT
        payout = 0
        confidence = max(r.confidence_bps or 0 for r in rules if r.outcome == REJECT)
    elif REFER in outcomes:
        decision = Decision.REFER
        payout = 0
    elif arithmetic.estimate is not None and arithmetic.estimate >= claim.claimed_amount:
        decision = Decision.APPROVE
        payout = arithmetic.payout
        rules.append(RuleFired("payout.approve", INFO, "the repair estimate covers the claimed amount"))
    else:
        # a class missing from the schedule (no estimate) was referred above, so the estimate is known here
        assert arithmetic.estimate is not None
        decision = Decision.PARTIAL
        payout = arithmetic.payout
        rules.append(
            RuleFired(
                "payout.partial",
                INFO,
                f"the repair estimate of {money(arithmetic.estimate)} for {severity} damage to a "
                f"{claim.vehicle_class} is below the claimed {money(claim.claimed_amount)}",
            )
        )
    return Assessment(
        decision=decision,
        payout=payout,
        confidence_bps=confidence,
        findings=tuple(findings),
        fraud_signals=tuple(signals),
        weather_records=None if inputs.weather is None else tuple(inputs.weather),
        rules=tuple(rules),
        arithmetic=arithmetic,
        artifacts=artifacts,
    )
