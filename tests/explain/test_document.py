"""Tests for the explanation document: building it from an assessment, hashing it, and replaying from it."""

from __future__ import annotations

import json

import pytest

from oracle import __version__
from oracle.assess import (
    Decision,
    Explanation,
    assess,
    explanation_for,
    predictions_from_explanation,
    replay_matches,
    weather_from_explanation,
)
from oracle.explain import (
    ExplanationError,
    build_explanation,
    canonical_json,
    describe_code_version,
    explanation_hash,
    parse_canonical,
)
from tests.assess.test_engine import HAIL_REPORT
from tests.factories import prediction

MODEL = dict(model_id="efficientnet-lite0-damage-v1", model_sha256=b"\x33" * 32, code_version=f"{__version__}+test")


def _explain(inputs):
    result = assess(inputs)
    return result, explanation_for(inputs, result, **MODEL).to_doc()


def test_explanation_for__approved_claim__has_every_section_and_canonical_bytes(make_inputs):
    inputs = make_inputs(weather=[HAIL_REPORT], predictions=[prediction(heatmap=b"hm0"), prediction(heatmap=b"hm1")])
    result, doc = _explain(inputs)
    data = canonical_json(doc)
    assert parse_canonical(data) == json.loads(data)
    assert doc["decision"] == {"code": 1, "name": "APPROVE"}
    assert doc["payout"] == str(result.payout) and doc["confidenceBps"] == result.confidence_bps
    assert doc["claim"]["claimId"] == "7" and doc["claim"]["evidenceRoot"] == "0x" + "11" * 32
    assert doc["claim"]["contract"] == inputs.claim.contract.lower()
    assert (doc["claim"]["incident"]["peril"], doc["claim"]["incident"]["perilIndex"]) == (2, 1)
    assert doc["termsHash"] == doc["inputs"]["termsHash"] == "0x" + "22" * 32
    assert doc["model"] == {"id": MODEL["model_id"], "sha256": "0x" + "33" * 32}
    assert doc["code"] == {"version": MODEL["code_version"]}
    assert [p["cid"] for p in doc["inputs"]["photos"]] == [p.cid for p in inputs.photos]
    assert doc["findings"][0]["probabilitiesBps"]["moderate"] == 9000
    assert doc["findings"][0]["heatmapCid"] in result.artifacts
    assert doc["sources"][0]["recordId"] == "808462" and doc["sources"][0]["asOf"] == "2019-06-17"
    assert doc["payoutArithmetic"]["payout"] == str(result.payout)
    assert {r["id"] for r in doc["rules"]} >= {"weather.supported", "payout.approve"}


def test_explanation_hash__same_inputs__same_hash_and_different_inputs_differ(make_inputs):
    _, a = _explain(make_inputs(weather=[HAIL_REPORT]))
    _, b = _explain(make_inputs(weather=[HAIL_REPORT]))
    _, c = _explain(make_inputs(weather=[]))
    assert explanation_hash(a) == explanation_hash(b)
    assert explanation_hash(a) != explanation_hash(c)
    assert len(explanation_hash(a)) == 32


def test_explanation_for__rejected_claim__records_reasons(make_inputs):
    result, doc = _explain(make_inputs(weather=[HAIL_REPORT], predictions=[prediction("whole")] * 2))
    assert result.decision is Decision.REJECT
    rejects = [r for r in doc["rules"] if r["outcome"] == "REJECT"]
    assert rejects and all(r["reason"] for r in rejects)


def test_explanation__replayed_from_document__matches_original(make_inputs):
    preds = [prediction("severe", confidence=0.82), prediction("minor")]
    inputs = make_inputs(weather=[HAIL_REPORT], predictions=preds)
    result, doc = _explain(inputs)
    recorded = Explanation.from_bytes(canonical_json(doc))  # as a verifier would read it back
    assert recorded.to_doc() == doc
    replayed_inputs = make_inputs(
        weather=weather_from_explanation(recorded), predictions=predictions_from_explanation(recorded)
    )
    replay = assess(replayed_inputs)
    assert replay_matches(recorded, replay) == {}
    assert (replay.decision, replay.payout) == (result.decision, result.payout)


def test_replay_matches__different_payout__reports_field(make_inputs):
    _, doc = _explain(make_inputs(weather=[HAIL_REPORT]))
    other = assess(make_inputs(weather=[HAIL_REPORT], claim_overrides={"claimed_amount": 10**17 * 3}))
    diff = replay_matches(Explanation.from_doc(doc), other)
    assert set(diff) == {"payout"} and diff["payout"][0] == int(doc["payout"])


def _minimal(**overrides):
    args = dict(
        claim={
            "claimId": 1,
            "chainId": 1,
            "contract": "0x" + "ab" * 20,
            "policyId": 1,
            "evidenceRoot": b"\x01" * 32,
            "incident": {"time": 1},
        },
        photos=[],
        terms_hash=b"\x02" * 32,
        model_id="m",
        model_sha256=b"\x03" * 32,
        code_version="0.1.0",
        findings=[],
        sources=[],
        fraud_signals=[],
        rules=[{"id": "x", "outcome": "REFER", "reason": "because"}],
        payout_arithmetic={},
        decision=4,
        payout=0,
        confidence_bps=0,
    )
    args.update(overrides)
    return args


def test_build_explanation__minimal_parts__valid_document():
    doc = build_explanation(**_minimal())
    assert doc["schema"] == "claims-oracle/explanation" and doc["version"] == 1
    assert doc["decision"]["name"] == "REFER"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"decision": 5}, "decision must be one of"),
        ({"decision": 3}, "REJECT decision must carry"),
        ({"confidence_bps": 10_001}, "at most 10000"),
        ({"code_version": ""}, "code_version"),
        ({"terms_hash": b"\x02" * 31}, "terms_hash must be 32 bytes"),
        ({"claim": {"claimId": 1}}, "missing"),
        ({"rules": [{"id": "x", "outcome": "REFER"}]}, "human-readable reason"),
        ({"payout_arithmetic": {"rate": 0.5}}, "float"),
        ({"findings": [{"probabilitiesBps": {"whole": 10_001}}]}, "at most 10000"),
    ],
)
def test_build_explanation__bad_part__raises_naming_it(overrides, message):
    with pytest.raises((ExplanationError, ValueError), match=message):
        build_explanation(**_minimal(**overrides))


def test_build_explanation__payout_in_wei__encoded_as_decimal_string():
    doc = build_explanation(**_minimal(decision=1, payout=10**18))
    assert doc["payout"] == "1000000000000000000"
    canonical_json(doc)


def test_describe_code_version__in_git_checkout__version_plus_describe():

    described = describe_code_version()
    assert described.startswith(__version__)
    assert described == __version__ or described.startswith(f"{__version__}+git.")


def test_describe_code_version__not_a_checkout__plain_version(tmp_path):

    assert describe_code_version(tmp_path) == __version__


def test_explanation_for__weather_unavailable__sources_null_and_replays_as_unavailable(make_inputs):
    result, doc = _explain(make_inputs(weather=None))
    assert doc["sources"] is None and result.decision is Decision.REFER
    assert weather_from_explanation(Explanation.from_bytes(canonical_json(doc))) is None
    _, checked = _explain(make_inputs(weather=[]))
    assert checked["sources"] == [] and weather_from_explanation(Explanation.from_doc(checked)) == []


def test_explanation_from_doc__key_missing__error_names_it(make_inputs):
    _, doc = _explain(make_inputs(weather=[HAIL_REPORT]))
    del doc["claim"]["policy"]["deductible"]
    with pytest.raises(ExplanationError, match="missing key 'deductible'"):
        Explanation.from_doc(doc)


def test_explanation_from_bytes__not_canonical__refused(make_inputs):
    _, doc = _explain(make_inputs(weather=[HAIL_REPORT]))
    with pytest.raises(ExplanationError, match="not canonical"):
        Explanation.from_bytes(json.dumps(doc, indent=1).encode())
