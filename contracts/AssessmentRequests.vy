# pragma version ~=0.4.3
"""
@title Assessment requests
@custom:contract-name AssessmentRequests
@license MIT
@notice Asks Chainlink nodes to assess a submitted claim: `request` emits the Operator's
        `OracleRequest` log that the shipped directrequest job (chainlink/claims_assessment_job.toml)
        listens for, with the claim id as its CBOR payload. Each committee member's node runs the
        job, asks its own adapter to assess the claim (the adapter reads every fact from the chain)
        and votes with `ClaimsManager.voteReport` from its own key.
@dev Anyone may ask (the claimant, a keeper, a committee member), and the caller
     pays the gas; nothing is paid in LINK. A request names only a claim that the manager holds and
     that is still waiting for the committee while its reports can still count (until `VOTE_MARGIN`
     before their deadline, `REPORT_VALIDITY` after submission), and the same claim can be asked for
     again only after `RETRY_AFTER`, so nobody can make nodes spend gas on votes that must revert, or
     block a claim's request by asking for its id before it exists.
"""


# ============================================================ INTERFACES

interface IClaimsView:
    # @dev The first fields of `ClaimsManager.claim` (policy id, status, decision, time); the rest are not read.
    def claim(claim_id: uint256) -> (uint256, uint256, uint8, uint256): view


# ============================================================ CONSTANTS

SUBMITTED: constant(uint256) = 1  # ClaimsManager's status of a claim waiting for its committee
RETRY_AFTER: constant(uint256) = 3_600  # a claim still waiting an hour later may be asked for again
# @dev A report's deadline is its claim's submission time plus this (oracle.domain.REPORT_VALIDITY_S); the
#      manager refuses votes after it, and a claim can stay waiting long after (until `closeStale`).
REPORT_VALIDITY: constant(uint256) = 7 * 86_400
VOTE_MARGIN: constant(uint256) = 600  # time for the job to run (2 confirmations, the bridge) and its vote to be mined
DATA_VERSION: constant(uint256) = 1
MAX_DATA: constant(uint256) = 17  # "claimId" as a CBOR text key (8 bytes) and a CBOR uint (up to 9 bytes)
# @dev What the job's `ethtx` task calls: the vote, named for nodes that read the log's callback fields.
VOTE_SELECTOR: constant(bytes4) = method_id(
    "voteReport((uint256,uint8,uint256,uint16,bytes32,bytes32,bytes32,bytes32,uint256,uint256))",
    output_type=bytes4,
)


# ============================================================ EVENTS

# @dev Chainlink Operator's `OracleRequest`, field for field, so a directrequest job decodes it.
event OracleRequest:
    specId: indexed(bytes32)
    requester: address
    requestId: bytes32
    payment: uint256
    callbackAddr: address
    callbackFunctionId: bytes4
    cancelExpiration: uint256
    dataVersion: uint256
    data: Bytes[MAX_DATA]


# ============================================================ STORAGE

# @dev The ClaimsManager whose claims are asked for.
manager: public(immutable(address))

# @dev The job's external job id as Chainlink encodes it into the log topic (the UUID's 32 hex
#      characters without dashes, as bytes).
specId: public(immutable(bytes32))

# @dev When each claim was last asked for (0: never).
requestedAt: public(HashMap[uint256, uint256])


# ============================================================ CONSTRUCTOR

@deploy
def __init__(manager_: address, spec_id: bytes32):
    """
    @notice Serve requests for `manager_`'s claims to the job whose topic-encoded id is `spec_id`.
    """
    assert manager_ != empty(address), "requests: no manager"
    assert spec_id != empty(bytes32), "requests: no job id"
    manager = manager_
    specId = spec_id


# ============================================================ REQUESTS

@external
def request(claim_id: uint256) -> bytes32:
    """
    @notice Ask the committee's Chainlink nodes to assess a claim that waits for their report.
    @param claim_id The claim, as in `ClaimSubmitted`.
    @return bytes32 The request id in the log.
    """
    policy_id: uint256 = 0
    status: uint256 = 0
    decision: uint8 = 0
    submitted: uint256 = 0
    policy_id, status, decision, submitted = staticcall IClaimsView(manager).claim(claim_id)
    assert status == SUBMITTED, "requests: claim is not waiting for the committee"
    assert block.timestamp + VOTE_MARGIN <= submitted + REPORT_VALIDITY, "requests: the claim's reports have expired"
    last: uint256 = self.requestedAt[claim_id]
    assert last == 0 or block.timestamp >= last + RETRY_AFTER, "requests: claim was asked for within the hour"
    self.requestedAt[claim_id] = block.timestamp
    # unique: one request per claim an hour at most
    request_id: bytes32 = keccak256(abi_encode(self, claim_id, block.timestamp))
    log OracleRequest(
        specId=specId,
        requester=msg.sender,
        requestId=request_id,
        payment=0,
        callbackAddr=manager,
        callbackFunctionId=VOTE_SELECTOR,
        cancelExpiration=block.timestamp + RETRY_AFTER,
        dataVersion=DATA_VERSION,
        data=concat(b"\x67claimId", self._cbor_uint(claim_id)),
    )
    return request_id


# ============================================================ INTERNAL

@internal
@pure
def _cbor_uint(number: uint256) -> Bytes[9]:
    """
    @notice `number` as a CBOR unsigned integer in its shortest form (major type 0).
    @dev Claim ids stay below 2**64 (a policy counter shifted by 12 bits).
    """
    assert number < 2**64, "requests: claim id beyond a CBOR uint64"
    if number < 24:
        return slice(convert(number, bytes32), 31, 1)
    if number < 2**8:
        return concat(b"\x18", slice(convert(number, bytes32), 31, 1))
    if number < 2**16:
        return concat(b"\x19", slice(convert(number, bytes32), 30, 2))
    if number < 2**32:
        return concat(b"\x1a", slice(convert(number, bytes32), 28, 4))
    return concat(b"\x1b", slice(convert(number, bytes32), 24, 8))
