"""Tests for the pure assessment: decisions, payouts, confidence and the rules behind them."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from oracle.assess import AssessmentError, Decision, Peril, Prediction, assess
from oracle.assess.engine import percent
from oracle.assess.imagehash import dhash, phash
from oracle.cas import cid_for_bytes
from oracle.sources.history import InMemoryClaimsHistory, PriorClaim, PriorPhoto
from oracle.sources.records import WeatherRecord
from tests.factories import ETH, HAIL_TIME, exif_with, make_jpeg, photo, prediction

HAIL_REPORT = WeatherRecord(
    source="noaa-storm-events",
    record_id="808462",
    event_type="Hail",
    perils=Peril.HAIL,
    begin=HAIL_TIME,
    end=HAIL_TIME,
    match="radius",
    distance_m=1468,
    magnitude="1.75",
    magnitude_unit="in",
    as_of="2019-06-17",
)


def _rule_ids(result):
    return [r.id for r in result.rules]


def test_assess__hail_claim_backed_by_weather__approves_claim_minus_deductible(make_inputs):
    result = assess(make_inputs(weather=[HAIL_REPORT]))
    assert result.decision is Decision.APPROVE
    assert result.payout == ETH // 2 - ETH // 10  # claimed 0.5 ETH (estimate 0.8) minus 0.1 deductible
    assert result.confidence_bps == 9000
    assert "weather.supported" in _rule_ids(result)
    assert result.arithmetic.severity == "moderate"


def test_assess__claim_above_estimate__partial_at_estimate(make_inputs):
    result = assess(make_inputs(weather=[HAIL_REPORT], claim_overrides={"claimed_amount": 2 * ETH}))
    assert result.decision is Decision.PARTIAL
    assert result.payout == 8 * ETH // 10 - ETH // 10
    assert "payout.partial" in _rule_ids(result)


def test_assess__one_severe_photo_among_minor__uses_worst_severity(make_inputs):
    preds = [prediction("minor"), prediction("severe")]
    inputs = make_inputs(weather=[HAIL_REPORT], predictions=preds, claim_overrides={"claimed_amount": 10 * ETH})
    result = assess(inputs)
    assert result.arithmetic.severity == "severe"
    assert result.payout == 35 * ETH // 10 - ETH // 10


def test_assess__no_damage_visible__rejects_with_reason(make_inputs):
    preds = [prediction("whole", confidence=0.9), prediction("whole", confidence=0.95)]
    result = assess(make_inputs(weather=[HAIL_REPORT], predictions=preds))
    assert result.decision is Decision.REJECT and result.payout == 0
    rule = next(r for r in result.rules if r.outcome == "REJECT")
    assert rule.id == "vision.no_damage" and "highest damage probability is 10%, at or below 20%" in rule.reason
    assert result.confidence_bps == 9000


def test_assess__damage_uncertain__refers(make_inputs):
    preds = [prediction("minor", damage=0.35, confidence=0.3)]
    result = assess(make_inputs(n=1, weather=[HAIL_REPORT], predictions=preds))
    assert result.decision is Decision.REFER and result.payout == 0
    assert "vision.damage_uncertain" in _rule_ids(result)


def test_assess__hail_claim_without_hail_record__refers_naming_radius_and_window(make_inputs):
    result = assess(make_inputs(weather=[]))
    assert result.decision is Decision.REFER
    rule = next(r for r in result.rules if r.id == "weather.unsupported")
    assert "no hail record within 25 km and 24 h" in rule.reason


def test_assess__hail_record_outside_radius__refers(make_inputs):
    far = replace(HAIL_REPORT, distance_m=40_000)
    assert assess(make_inputs(weather=[far])).decision is Decision.REFER


def test_assess__weather_unavailable__refers(make_inputs):
    result = assess(make_inputs(weather=None))
    assert result.decision is Decision.REFER and "weather.unavailable" in _rule_ids(result)


def test_assess__no_hail_record_and_no_damage__rejects_with_both_reasons(make_inputs):
    result = assess(make_inputs(weather=[], predictions=[prediction("whole"), prediction("whole")]))
    assert result.decision is Decision.REJECT
    assert {"vision.no_damage", "weather.unsupported"} <= set(_rule_ids(result))


def test_assess__collision_claim__needs_no_weather(make_inputs):
    result = assess(make_inputs(weather=None, claim_overrides={"peril": int(Peril.COLLISION)}))
    assert result.decision is Decision.APPROVE
    assert not any(r.id.startswith("weather.") for r in result.rules)


def test_assess__photo_reused_from_earlier_claim__refers(make_inputs):
    original = make_jpeg(1000, size=(240, 180))
    copy = Image.open(io.BytesIO(original)).resize((160, 120))
    buf = io.BytesIO()
    copy.save(buf, "JPEG", quality=70)
    history = InMemoryClaimsHistory(
        photos=[
            PriorPhoto(
                claim_id=2,
                submitted_at=HAIL_TIME - 86_400,
                cid=cid_for_bytes(original),
                sha256="0x00",
                phash=phash(original),
                dhash=dhash(original),
            )
        ]
    )
    photos = [photo(0, buf.getvalue()), photo(1, make_jpeg(2000))]
    result = assess(make_inputs(weather=[HAIL_REPORT], photos=photos, history=history))
    assert result.decision is Decision.REFER
    signal = result.fraud_signals[0]
    assert signal.id == "photo.reused" and "earlier claim 2" in signal.reason and "photo 0" in signal.reason


def test_assess__same_photo_only_in_a_later_claim__not_a_signal(make_inputs):
    data = make_jpeg(1000)
    later = PriorPhoto(
        claim_id=99,
        submitted_at=HAIL_TIME + 3 * 86_400,
        cid=cid_for_bytes(data),
        sha256="0x",
        phash=phash(data),
        dhash=dhash(data),
    )
    history = InMemoryClaimsHistory(photos=[later])
    result = assess(make_inputs(weather=[HAIL_REPORT], photos=[photo(0, data)], history=history))
    assert result.fraud_signals == () and result.decision is Decision.APPROVE


@pytest.mark.parametrize(
    "taken, offset, signal",
    [
        ("2019:03:10 12:00:00", "+00:00", "exif.time_after_submission"),
        ("2018:12:01 12:00:00", None, "exif.time_before_policy"),
    ],
)
def test_assess__exif_time_inconsistent__refers(make_inputs, taken, offset, signal):
    photos = [photo(0, make_jpeg(1, exif=exif_with(taken, offset)))]
    result = assess(make_inputs(weather=[HAIL_REPORT], photos=photos))
    assert result.decision is Decision.REFER
    assert [s.id for s in result.fraud_signals] == [signal]


def test_assess__exif_time_within_claim_period__no_signal(make_inputs):
    photos = [photo(0, make_jpeg(1, exif=exif_with("2019:03:02 06:00:00")))]
    assert assess(make_inputs(weather=[HAIL_REPORT], photos=photos)).fraud_signals == ()


def test_assess__exif_gps_far_from_incident__refers(make_inputs):
    near = photo(0, make_jpeg(1, exif=exif_with(gps=(30.51, -85.31))))
    far = photo(1, make_jpeg(2, exif=exif_with(gps=(40.71, -74.0))))
    assert assess(make_inputs(weather=[HAIL_REPORT], photos=[near])).fraud_signals == ()
    result = assess(make_inputs(weather=[HAIL_REPORT], photos=[near, far]))
    assert result.decision is Decision.REFER
    assert [s.id for s in result.fraud_signals] == ["exif.gps_far"] and "photo 1" in result.fraud_signals[0].reason


def test_assess__claim_soon_after_inception__weak_signal_lowers_confidence(make_inputs):
    result = assess(make_inputs(weather=[HAIL_REPORT], claim_overrides={"policy_start": HAIL_TIME - 86_400}))
    assert [s.strength for s in result.fraud_signals] == ["weak"]
    assert result.decision is Decision.APPROVE and result.confidence_bps == 9000 - 1500


def test_assess__early_claim_and_modest_model_confidence__refers_for_low_confidence(make_inputs):
    preds = [prediction(confidence=0.8), prediction(confidence=0.8)]
    early = {"policy_start": HAIL_TIME - 86_400}
    result = assess(make_inputs(weather=[HAIL_REPORT], predictions=preds, claim_overrides=early))
    assert result.decision is Decision.REFER and "confidence.low" in _rule_ids(result)
    assert result.confidence_bps == 8000 - 1500


def _prior_claims(claim, days_before):
    return [
        PriorClaim(
            claim_id=100 + d,
            policy_id=3,
            insured_object_id=claim.insured_object_id,
            incident_time=HAIL_TIME - d * 86_400,
            submitted_at=HAIL_TIME - d * 86_400,
        )
        for d in days_before
    ]


def test_assess__frequent_claims_on_same_object__refers(make_inputs, claim):
    history = InMemoryClaimsHistory(claims=_prior_claims(claim, (1, 2, 3)))
    result = assess(make_inputs(weather=[HAIL_REPORT], history=history))
    assert result.decision is Decision.REFER
    assert "4 claims on insured object" in result.fraud_signals[0].reason


def test_assess__claims_within_limit_or_outside_window__no_frequency_signal(make_inputs, claim):
    within_limit = InMemoryClaimsHistory(claims=_prior_claims(claim, (1, 2)))
    assert assess(make_inputs(weather=[HAIL_REPORT], history=within_limit)).decision is Decision.APPROVE
    long_ago = InMemoryClaimsHistory(claims=_prior_claims(claim, (1, 400, 500)))
    assert assess(make_inputs(weather=[HAIL_REPORT], history=long_ago)).fraud_signals == ()


@pytest.mark.parametrize(
    "overrides, rule",
    [
        ({"covered_perils": int(Peril.COLLISION)}, "coverage.peril_not_covered"),
        (
            {"incident_time": HAIL_TIME + 400 * 86_400, "submitted_at": HAIL_TIME + 401 * 86_400},
            "coverage.outside_term",
        ),
        ({"remaining_coverage": 0}, "coverage.exhausted"),
        ({"peril": 3}, "coverage.peril_invalid"),
    ],
)
def test_assess__not_covered__rejects_with_reason_and_full_confidence(make_inputs, overrides, rule):
    result = assess(make_inputs(weather=[HAIL_REPORT], claim_overrides=overrides))
    assert result.decision is Decision.REJECT and result.payout == 0
    assert rule in _rule_ids(result) and result.confidence_bps == 10_000


def test_assess__loss_below_deductible__rejects_with_arithmetic(make_inputs):
    result = assess(
        make_inputs(
            weather=[HAIL_REPORT], predictions=[prediction("minor")] * 2, claim_overrides={"deductible": ETH // 2}
        )
    )
    assert result.decision is Decision.REJECT
    assert "payout.below_deductible" in _rule_ids(result)
    assert result.arithmetic.loss == 2 * ETH // 10 and result.arithmetic.net == 0


def test_assess__vehicle_class_not_in_schedule__refers(make_inputs):
    result = assess(make_inputs(weather=[HAIL_REPORT], claim_overrides={"vehicle_class": "tank"}))
    assert result.decision is Decision.REFER and "schedule.unknown_class" in _rule_ids(result)


def test_assess__heatmaps__content_ids_in_findings_and_bytes_in_artifacts(make_inputs):
    preds = [prediction(heatmap=b"\x89PNG fake heat map 1"), prediction(heatmap=b"")]
    result = assess(make_inputs(weather=[HAIL_REPORT], predictions=preds))
    cid = cid_for_bytes(b"\x89PNG fake heat map 1")
    assert result.findings[0].heatmap_cid == cid and result.artifacts == {cid: b"\x89PNG fake heat map 1"}
    assert result.findings[1].heatmap_cid is None


def test_assess__photo_and_prediction_counts_differ__raises(make_inputs):
    with pytest.raises(AssessmentError, match="2 photos but 1 predictions"):
        assess(make_inputs(n=2, predictions=[prediction()]))


def test_assess__prediction_lacks_a_class__raises_naming_it(make_inputs):
    bad = Prediction(probabilities={"whole": 0.1, "minor": 0.9}, label="minor", confidence=0.9, damage_probability=0.9)
    with pytest.raises(AssessmentError, match=r"lack classes \['moderate', 'severe'\]"):
        assess(make_inputs(n=1, predictions=[bad]))


def test_assess__probability_out_of_range__raises(make_inputs):
    bad = replace(prediction(), damage_probability=1.5)
    with pytest.raises(AssessmentError, match="damage_probability must be a probability"):
        assess(make_inputs(n=1, predictions=[bad]))


def test_assess__same_inputs_twice__identical_results(make_inputs):
    inputs = make_inputs(weather=[HAIL_REPORT])
    assert assess(inputs) == assess(inputs)


probability = st.floats(0, 1, allow_nan=False)


@st.composite
def predictions(draw):
    raw = [draw(st.floats(0.001, 1)) for _ in range(4)]
    total = sum(raw)
    probs = dict(zip(["whole", "minor", "moderate", "severe"], [r / total for r in raw], strict=True))
    label = max(probs, key=probs.get)
    return Prediction(probabilities=probs, label=label, confidence=probs[label], damage_probability=1 - probs["whole"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    preds=st.lists(predictions(), min_size=2, max_size=2),
    claimed=st.integers(0, 20 * ETH),
    remaining=st.integers(0, 20 * ETH),
    deductible=st.integers(0, ETH),
    weather=st.booleans(),
)
def test_assess__any_inputs__decision_payout_and_reasons_consistent(
    make_inputs, preds, claimed, remaining, deductible, weather
):
    result = assess(
        make_inputs(
            predictions=preds,
            weather=[HAIL_REPORT] if weather else [],
            claim_overrides={"claimed_amount": claimed, "remaining_coverage": remaining, "deductible": deductible},
        )
    )
    assert 0 <= result.confidence_bps <= 10_000
    assert result.payout <= min(claimed, remaining)
    outcomes = {r.outcome for r in result.rules}
    if result.decision is Decision.REJECT:
        assert result.payout == 0 and any(r.outcome == "REJECT" and r.reason for r in result.rules)
    elif result.decision is Decision.REFER:
        assert result.payout == 0 and "REFER" in outcomes
    else:
        assert result.payout > 0 and weather and not outcomes & {"REJECT", "REFER"}
        assert result.confidence_bps >= 7000


def test_assess__vision_runtime_photo_prediction__accepted_as_input(make_inputs):
    runtime = pytest.importorskip("oracle.vision.runtime", reason="the damage model runtime is not installed")
    probs = {"whole": 0.04, "minor": 0.06, "moderate": 0.85, "severe": 0.05}
    pred = runtime.PhotoPrediction(
        probabilities=probs, label="moderate", confidence=0.85, damage_probability=0.96, heatmap_png=b"heat"
    )
    result = assess(make_inputs(n=1, weather=[HAIL_REPORT], predictions=[pred]))
    assert result.decision is Decision.APPROVE
    assert result.findings[0].probabilities_bps == {"whole": 400, "minor": 600, "moderate": 8500, "severe": 500}


@pytest.mark.parametrize(
    ("bps", "text"), [(1844, "18.44%"), (1850, "18.5%"), (2000, "20%"), (5, "0.05%"), (10_000, "100%"), (0, "0%")]
)
def test_percent__basis_points__exact_percentage(bps, text):
    assert percent(bps) == text
