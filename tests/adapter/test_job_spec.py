"""The Chainlink directrequest job spec: it parses, matches the contract's ABI, and the adapter answers its request."""

from __future__ import annotations

import json
import re
import tomllib

import cbor2
import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from oracle.adapter.schema import bridge_data
from oracle.chain.report import report_deadline
from oracle.domain import REPO_ROOT

JOB_SPEC = REPO_ROOT / "chainlink" / "claims_assessment_job.toml"
BUILD = REPO_ROOT / ".build" / "__local__.json"
BRIDGE_NAME = "claims-oracle"
EXTERNAL_JOB_ID = "6f1c3b0e-5d2a-4c7e-9a41-2b8d7e0f4c15"
_TASK = re.compile(r"^\s*(\w+)\s*\[(.*?)\]\s*$", re.S | re.M)
_ATTR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"', re.S)
_VAR = re.compile(r"\$\(([\w.]+)\)")


def spec() -> dict:
    """The job spec as TOML."""
    return tomllib.loads(JOB_SPEC.read_text())


def tasks() -> dict[str, dict[str, str]]:
    """The pipeline's tasks: name -> attributes (DOT string escapes undone)."""
    out = {}
    for name, body in _TASK.findall(spec()["observationSource"]):
        out[name] = {key: value.replace('\\"', '"') for key, value in _ATTR.findall(body)}
    return out


def render(template: str, variables: dict) -> object:
    """Fill a JSON template the way the Chainlink node does (each $(var) becomes its value as JSON) and parse it."""
    return json.loads(_VAR.sub(lambda m: json.dumps(variables[m.group(1)]), template))


def cbor_request(ctx) -> dict:
    """The OracleRequest CBOR payload a requester sends for a claim (its id only), decoded as cborparse would."""
    return cbor2.loads(cbor2.dumps({"claimId": bridge_data(ctx)["claimId"]}))


def test_job_spec__parses__directrequest_calling_the_bridge_then_voting():
    job = spec()
    assert job["type"] == "directrequest" and job["schemaVersion"] == 1
    assert job["externalJobID"] == EXTERNAL_JOB_ID
    graph = tasks()
    assert graph["assess"]["type"] == "bridge" and graph["assess"]["name"] == BRIDGE_NAME
    assert graph["submit_vote"]["type"] == "ethtx" and graph["submit_vote"]["data"] == "$(encode_vote)"
    edges = re.search(r"^\s*(decode_log ->.*)$", job["observationSource"], re.M).group(1)
    assert [t.strip() for t in edges.split("->")] == [
        "decode_log",
        "decode_cbor",
        "assess",
        "decision",
        "payout",
        "confidence",
        "explanation",
        "model",
        "evidence",
        "terms",
        "epoch",
        "deadline",
        "encode_vote",
        "submit_vote",
    ]


def test_job_spec__vote_abi__matches_the_contracts_voteReport():
    if not BUILD.is_file():
        pytest.skip(f"compiled contracts not found at {BUILD}; run `ape compile`")
    contract_abi = json.loads(BUILD.read_text())["contractTypes"]["ClaimsManager"]["abi"]
    (vote,) = [e for e in contract_abi if e.get("name") == "voteReport"]
    spec_abi = json.loads(tasks()["encode_vote"]["abi"])
    assert spec_abi["name"] == "voteReport"
    assert spec_abi["inputs"] == [
        {k: v for k, v in i.items() if k in ("name", "type", "components")} for i in vote["inputs"]
    ]


def test_job_spec__bridge_request__names_the_claim_only_and_the_report_takes_chain_facts_from_the_answer():
    graph = tasks()
    request = render(graph["assess"]["requestData"], {"jobSpec.externalJobID": "j", "decode_cbor.claimId": 8193})
    assert request == {"id": "j", "data": {"claimId": 8193}}
    report = graph["encode_vote"]["data"]
    assert "$(evidence)" in report and "$(terms)" in report
    assert "$(epoch)" in report and "$(deadline)" in report
    assert {v for v in _VAR.findall(report) if v.startswith("decode_cbor.")} == {"decode_cbor.claimId"}


@pytest.mark.asyncio
async def test_job_spec__exact_bridge_request__adapter_answers_and_vote_encodes(
    damage_model, noaa, make_assessor, on_chain, make_client, photo_bytes
):
    ctx = on_chain(photo_bytes)
    decoded = cbor_request(ctx)
    variables = {"jobSpec.externalJobID": EXTERNAL_JOB_ID, **{f"decode_cbor.{k}": v for k, v in decoded.items()}}
    graph = tasks()
    request_body = render(graph["assess"]["requestData"], variables)
    request_body["meta"] = {"oracleRequest": {"requestId": "0x" + "11" * 32}}  # the node adds the run's meta

    client = await make_client(make_assessor(damage_model, [noaa]))
    response = await client.post("/", json=request_body)
    answer = await response.json()
    assert response.status == 200 and answer["jobRunID"] == EXTERNAL_JOB_ID

    for task in ("decision", "payout", "confidence", "explanation", "model", "evidence", "terms", "epoch", "deadline"):
        path = graph[task]["path"].split(",")
        value = answer
        for key in path:
            value = value[key]
        variables[task] = value
    report = render(graph["encode_vote"]["data"], variables)["report"]
    abi = json.loads(graph["encode_vote"]["abi"])
    types = [c["type"] for c in abi["inputs"][0]["components"]]
    values = [
        int(report[c["name"]]) if c["type"].startswith("uint") else bytes.fromhex(report[c["name"]][2:])
        for c in abi["inputs"][0]["components"]
    ]
    calldata = function_signature_to_4byte_selector(f"voteReport(({','.join(types)}))") + encode(
        [f"({','.join(types)})"], [tuple(values)]
    )
    assert (
        calldata[:4].hex()
        == function_signature_to_4byte_selector(
            "voteReport((uint256,uint8,uint256,uint16,bytes32,bytes32,bytes32,bytes32,uint256,uint256))"
        ).hex()
    )
    assert values[0] == ctx.claim_id and values[1] == answer["data"]["decision"]
    assert values[6] == ctx.evidence_root and values[7] == ctx.terms_hash
    assert values[8] == 1 and values[9] == report_deadline(ctx.submitted_at)


def test_job_spec__repeated_request_after_this_member_voted__vote_simulated_so_none_is_sent_that_must_revert():
    """Anyone may ask again for a claim still waiting (once an hour): a member who has voted, or has left, or whose
    vote would come too late, must not pay for a transaction the manager refuses. The contract cannot know who voted,
    so each node simulates its vote first (ethtx transmitChecker, Chainlink's `simulate` checker) and drops it if it
    would revert."""
    checker = json.loads(tasks()["submit_vote"]["transmitChecker"])
    assert checker == {"CheckerType": "simulate"}
