"""Fraud signals: reused photos, EXIF time and place that contradict the claim, early and frequent claims."""

from __future__ import annotations

from collections.abc import Sequence

from oracle.assess.imagehash import hamming, hash_hex
from oracle.assess.types import Claim, FraudSignal, PhotoFinding
from oracle.sources.history import ClaimsHistory, claim_order
from oracle.sources.records import haversine_km, iso_utc
from oracle.sources.terms import Thresholds

DAY = 86_400
STRONG, WEAK = "strong", "weak"


def reused_photos(
    claim: Claim, findings: Sequence[PhotoFinding], history: ClaimsHistory, max_distance: int
) -> list[FraudSignal]:
    """Photos whose bytes or pHash (within max_distance bits) already appear in an earlier claim (by ClaimOrder)."""
    signals = []
    prior = list(
        history.prior_photos(
            before=claim_order(claim.submitted_at, claim.claim_id),
            like=[(f.sha256, f.phash) for f in findings],
            max_distance=max_distance,
        )
    )
    for finding in findings:
        best = None
        for photo in prior:
            if photo.sha256 == finding.sha256:
                best = (0, -1, photo)
                break
            distance = hamming(photo.phash, finding.phash)
            if distance <= max_distance and (best is None or (distance, photo.claim_id) < best[:2]):
                best = (distance, photo.claim_id, photo)
        if best is None:
            continue
        distance, _, photo = best
        exact = photo.sha256 == finding.sha256
        signals.append(
            FraudSignal(
                id="photo.reused",
                strength=STRONG,
                reason=(
                    f"photo {finding.index} ({finding.name}) is "
                    + ("byte-identical to" if exact else f"within {distance} bits (pHash) of")
                    + f" photo {photo.cid} of earlier claim {photo.claim_id}"
                ),
                details=(
                    ("photo", finding.index),
                    ("priorClaimId", str(photo.claim_id)),
                    ("priorCid", photo.cid),
                    ("phashDistance", hamming(photo.phash, finding.phash)),
                    ("dhashDistance", hamming(photo.dhash, finding.dhash)),
                    ("phash", hash_hex(finding.phash)),
                ),
            )
        )
    return signals


def exif_inconsistencies(claim: Claim, findings: Sequence[PhotoFinding], thresholds: Thresholds) -> list[FraudSignal]:
    """EXIF capture time after the claim's submission or before the policy start, or GPS far from the incident."""
    signals = []
    for f in findings:
        exif = f.exif
        if exif.taken_at is not None:
            # Without OffsetTimeOriginal the camera's clock zone is unknown: allow the widest zone offset.
            slack = 0 if exif.taken_at_has_offset else thresholds.exif_time_slack_hours * 3600
            if exif.taken_at - slack > claim.submitted_at:
                signals.append(
                    FraudSignal(
                        id="exif.time_after_submission",
                        strength=STRONG,
                        reason=(
                            f"photo {f.index} ({f.name}) says it was taken at {iso_utc(exif.taken_at)}, after the "
                            f"claim was submitted at {iso_utc(claim.submitted_at)}"
                        ),
                        details=(("photo", f.index), ("takenAt", exif.taken_at), ("slackS", slack)),
                    )
                )
            elif exif.taken_at + slack < claim.policy_start:
                signals.append(
                    FraudSignal(
                        id="exif.time_before_policy",
                        strength=STRONG,
                        reason=(
                            f"photo {f.index} ({f.name}) says it was taken at {iso_utc(exif.taken_at)}, before the "
                            f"policy started at {iso_utc(claim.policy_start)}"
                        ),
                        details=(("photo", f.index), ("takenAt", exif.taken_at), ("slackS", slack)),
                    )
                )
        if exif.lat_e6 is not None and exif.lon_e6 is not None:
            km = haversine_km(claim.lat, claim.lon, exif.lat_e6 / 1e6, exif.lon_e6 / 1e6)
            if km > thresholds.exif_gps_max_km:
                signals.append(
                    FraudSignal(
                        id="exif.gps_far",
                        strength=STRONG,
                        reason=(
                            f"photo {f.index} ({f.name}) carries GPS "
                            f"{exif.lat_e6 / 1e6:.5f},{exif.lon_e6 / 1e6:.5f}, "
                            f"{int(km)} km from the incident (limit {thresholds.exif_gps_max_km} km)"
                        ),
                        details=(("photo", f.index), ("distanceM", int(round(km * 1000)))),
                    )
                )
    return signals


def early_claim(claim: Claim, thresholds: Thresholds) -> list[FraudSignal]:
    """An incident within earlyClaimDays of the policy start (weak: honest people have early accidents too)."""
    age = claim.incident_time - claim.policy_start
    if age < thresholds.early_claim_days * DAY:
        return [
            FraudSignal(
                id="claim.early",
                strength=WEAK,
                reason=(
                    f"incident {age // 3600} hours after the policy started, within the "
                    f"{thresholds.early_claim_days}-day early-claim window"
                ),
                details=(("ageS", age),),
            )
        ]
    return []


def frequent_claims(claim: Claim, history: ClaimsHistory, thresholds: Thresholds) -> list[FraudSignal]:
    """More claims on this insured object in the frequency window than the limit allows (this one included)."""
    since = claim.submitted_at - thresholds.frequency_window_days * DAY
    prior = [
        c
        for c in history.prior_claims(claim.insured_object_id, before=claim_order(claim.submitted_at, claim.claim_id))
        if c.submitted_at >= since
    ]
    count = len(prior) + 1
    if count > thresholds.frequency_limit:
        return [
            FraudSignal(
                id="claim.frequency",
                strength=STRONG,
                reason=(
                    f"{count} claims on insured object {claim.insured_object_id} within "
                    f"{thresholds.frequency_window_days} days, over the limit of {thresholds.frequency_limit}"
                ),
                details=(("count", count), ("priorClaimIds", ",".join(str(c.claim_id) for c in prior))),
            )
        ]
    return []


def fraud_signals(
    claim: Claim, findings: Sequence[PhotoFinding], history: ClaimsHistory, thresholds: Thresholds
) -> list[FraudSignal]:
    """Every fraud signal for a claim, in a fixed order."""
    return [
        *reused_photos(claim, findings, history, thresholds.perceptual_hash_max_distance),
        *exif_inconsistencies(claim, findings, thresholds),
        *early_claim(claim, thresholds),
        *frequent_claims(claim, history, thresholds),
    ]
