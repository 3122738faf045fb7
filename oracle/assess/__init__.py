"""The pure assessment: evidence findings, fraud signals, weather support, rules and payout arithmetic.

Decision codes (uint8, as the contract): APPROVE=1, PARTIAL=2, REJECT=3, REFER=4.
Peril bits (the product mask): bit0 collision, bit1 hail, bit2 flood, bit3 wind/storm, bit4 theft/vandalism,
bit5 fire. Payouts are integers in the asset's base units; confidence is integer basis points 0..10000.
"""

from pathlib import Path

from oracle.assess.constants import (
    ALL_PERILS,
    BPS,
    PERIL_NAMES,
    WEATHER_PERILS,
    Decision,
    Peril,
    peril_from_index,
    peril_index,
    peril_name,
)
from oracle.assess.engine import assess, photo_findings, supporting_weather, weather_query
from oracle.assess.explanation import (
    Explanation,
    PhotoInput,
    explanation_for,
    predictions_from_explanation,
    replay_matches,
    weather_from_explanation,
)
from oracle.assess.payout import compute_payout
from oracle.assess.types import (
    Assessment,
    AssessmentError,
    AssessmentInputs,
    Claim,
    FraudSignal,
    PayoutArithmetic,
    PhotoFinding,
    PhotoPredictionLike,
    Prediction,
    RuleFired,
)

DEFAULT_TERMS_PATH = Path(__file__).with_name("default_terms.json")
"""An example terms document for a demo product (USDC-like asset with 6 decimals)."""

__all__ = [
    "ALL_PERILS",
    "BPS",
    "DEFAULT_TERMS_PATH",
    "PERIL_NAMES",
    "WEATHER_PERILS",
    "Assessment",
    "AssessmentError",
    "AssessmentInputs",
    "Claim",
    "Decision",
    "FraudSignal",
    "PayoutArithmetic",
    "Peril",
    "PhotoFinding",
    "PhotoPredictionLike",
    "Prediction",
    "RuleFired",
    "assess",
    "compute_payout",
    "Explanation",
    "PhotoInput",
    "explanation_for",
    "peril_from_index",
    "peril_index",
    "peril_name",
    "photo_findings",
    "predictions_from_explanation",
    "replay_matches",
    "supporting_weather",
    "weather_from_explanation",
    "weather_query",
]
