"""AssessmentRequests: the OracleRequest log the shipped Chainlink job listens for, and who may make it."""

from __future__ import annotations

import re
import uuid

import ape
import cbor2
import pytest
from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector, keccak

from oracle.chain.deploy import chainlink_spec_id
from oracle.domain import REPORT_VALIDITY_S
from tests.adapter.test_job_spec import EXTERNAL_JOB_ID, render, tasks

RETRY_AFTER = 3_600
VOTE_MARGIN = 600  # AssessmentRequests.VOTE_MARGIN: time for the job to run and its vote to be mined
_PARAM = re.compile(r"(\w+)( indexed)? (\w+)")


@pytest.fixture
def requests(project, deployer, manager):
    """An AssessmentRequests for the session manager, answering the shipped job's id."""
    return deployer.deploy(project.AssessmentRequests, manager, chainlink_spec_id())


def decode_log_as_the_job_does(log) -> dict:
    """A raw log decoded with the job's `ethabidecodelog` ABI, then its data parsed as `cborparse` (diet mode)."""
    signature = tasks()["decode_log"]["abi"]
    name, params = re.fullmatch(r"(\w+)\((.*)\)", signature).groups()
    fields = [_PARAM.fullmatch(p.strip()).groups() for p in params.split(",")]
    topic0 = keccak(text=f"{name}({','.join(t for t, _, _ in fields)})")
    assert bytes(log["topics"][0]) == topic0, "the log is not the job's OracleRequest"
    indexed = [(t, n) for t, i, n in fields if i]
    plain = [(t, n) for t, i, n in fields if not i]
    values = dict(zip([n for _, n in plain], decode([t for t, _ in plain], bytes(log["data"])), strict=True))
    for (type_, field), topic in zip(indexed, log["topics"][1:], strict=True):
        values[field] = decode([type_], bytes(topic))[0]
    values["cbor"] = cbor2.loads(b"\xbf" + values["data"] + b"\xff")  # diet CBOR: a map without its delimiters
    return values


def test_request__submitted_claim__emits_the_oracle_request_the_job_decodes(requests, manager, open_claim, stranger):
    _, _, claim_id = open_claim()
    receipt = requests.request(claim_id, sender=stranger)
    [log] = [entry for entry in receipt.logs if entry["address"] == requests.address]
    request = decode_log_as_the_job_does(log)
    # the topic is the job's external id as Chainlink encodes it (ExternalIDEncodeStringToTopic)
    assert request["specId"] == uuid.UUID(EXTERNAL_JOB_ID).hex.encode()
    assert request["cbor"] == {"claimId": claim_id}
    assert request["data"] == b"\x67claimId" + cbor2.dumps(claim_id)  # the shortest CBOR integer
    assert request["requester"] == stranger.address.lower() and request["payment"] == 0
    assert request["callbackAddr"] == manager.address.lower()
    assert request["callbackFunctionId"] == function_signature_to_4byte_selector(
        "voteReport((uint256,uint8,uint256,uint16,bytes32,bytes32,bytes32,bytes32,uint256,uint256))"
    )
    bridge = render(tasks()["assess"]["requestData"], {"jobSpec.externalJobID": "j", "decode_cbor.claimId": claim_id})
    assert bridge == {"id": "j", "data": {"claimId": claim_id}}
    assert requests.requestedAt(claim_id) == receipt.timestamp


def test_request_for_a_claim_id_before_it_exists__refused_so_it_cannot_block_the_real_request(
    requests, open_claim, stranger
):
    _, policy_id, claim_id = open_claim()
    with ape.reverts("requests: claim is not waiting for the committee"):
        requests.request(claim_id + 1, sender=stranger)  # the policy's next claim id, predictable
    assert requests.requestedAt(claim_id + 1) == 0
    requests.request(claim_id, sender=stranger)


def test_request_for_a_decided_claim__refused_so_nodes_send_no_vote_that_must_revert(
    requests, open_claim, decide, stranger
):
    _, _, claim_id = open_claim()
    decide(claim_id)
    with ape.reverts("requests: claim is not waiting for the committee"):
        requests.request(claim_id, sender=stranger)


def test_repeated_requests_within_the_hour__refused_then_allowed_for_a_claim_still_waiting(
    requests, open_claim, stranger, chain
):
    _, _, claim_id = open_claim()
    first = requests.request(claim_id, sender=stranger)
    with ape.reverts("requests: claim was asked for within the hour"):
        requests.request(claim_id, sender=stranger)
    chain.pending_timestamp = first.timestamp + RETRY_AFTER
    again = requests.request(claim_id, sender=stranger)
    ids = [decode_log_as_the_job_does(r.logs[0])["requestId"] for r in (first, again)]
    assert ids[0] != ids[1]  # a new run, not a duplicate of the first


def test_deploy__without_manager_or_job_id__refused(project, deployer, manager):
    with ape.reverts("requests: no manager"):
        deployer.deploy(project.AssessmentRequests, "0x" + "00" * 20, chainlink_spec_id())
    with ape.reverts("requests: no job id"):
        deployer.deploy(project.AssessmentRequests, manager, b"\x00" * 32)


def test_request_past_the_report_deadline__refused_so_every_member_is_not_made_to_send_a_vote_that_must_revert(
    requests, manager, open_claim, make_report, oracles, stranger, chain
):
    """A claim nobody decides stays SUBMITTED (until someone calls closeStale or escalates), but a report on it counts
    only until its deadline, 7 days after submission. A request after that made every member's node send a vote the
    manager must refuse ('oracle: report expired'), paying its gas: once an hour, for every such claim, for ever, for
    the price of one cheap call by anyone."""
    _, _, claim_id = open_claim()
    submitted = manager.claim(claim_id).timestamp
    report = make_report(claim_id)
    assert report.deadline == submitted + REPORT_VALIDITY_S
    chain.pending_timestamp = report.deadline + 1
    with ape.reverts("oracle: report expired"):  # what each member's vote would meet
        manager.voteReport(report.as_tuple(), sender=oracles[0])
    with ape.reverts("requests: the claim's reports have expired"):
        requests.request(claim_id, sender=stranger)
    assert requests.requestedAt(claim_id) == 0


def test_request_just_before_the_report_deadline__refused_when_no_vote_could_land_in_time(
    requests, manager, open_claim, stranger, chain
):
    _, _, early = open_claim()
    _, _, later = open_claim()  # submitted an hour or more after the first
    deadline = manager.claim(early).timestamp + REPORT_VALIDITY_S
    assert manager.claim(later).timestamp + REPORT_VALIDITY_S - VOTE_MARGIN >= deadline
    chain.pending_timestamp = deadline - VOTE_MARGIN + 1
    with ape.reverts("requests: the claim's reports have expired"):
        requests.request(early, sender=stranger)
    requests.request(later, sender=stranger)  # still time for the job to run and the votes to land
