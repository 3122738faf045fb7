# pragma version ~=0.4.3
"""
@title Claims manager
@custom:contract-name ClaimsManager
@license MIT
@notice Insurance products, capital, policies and claims decided by an oracle committee, with an
        ERC-792 dispute window in which an arbitrator can overturn the recorded decision.
@dev Lifecycle of a claim:
     SUBMITTED -(quorum report)-> DECIDED -(window over, finalize)-> RESOLVED -(withdraw)-> PAID
     SUBMITTED -(quorum report, small confident approval)-> RESOLVED
     DECIDED -(desk.dispute)-> DISPUTED -(desk.rule)-> RESOLVED
     SUBMITTED -(oracle timeout, desk.escalate)-> DISPUTED -(desk.rule)-> RESOLVED
     SUBMITTED -(quorum REFER)-> REVIEW -(adjuster, desk.proposePayout)-> DECIDED
     REVIEW -(adjuster, or anyone after the review deadline: desk.referToArbitrator)-> DISPUTED
     Hot records are packed by hand into single storage words (Vyper does not pack structs), which
     keeps a claim's lifecycle near 220k gas; the `product`, `policy` and `claim` getters unpack them.
     Accounting per product: `capital` is every unit the product owns in this contract; `locked` is
     the remaining coverage of live policies plus resolved payouts not yet withdrawn. The contract
     always holds at least the sum of all capital; the dispute desk holds the bonds and credits.
     Three contracts, so that this one keeps headroom under EIP-170: products are created and
     governed through `ProductGovernor`, disputes and escalations go through `DisputeDesk` (the
     ERC-792 arbitrable, which calls `openDispute` and `settleDispute` here). The common path
     (submit, report, finalize, withdraw) reads only this contract's storage and calls neither. The desk
     decides every move in and out of dispute and review (`claimRecord`, `moveClaim`, `settleClaim`).
     Rules epochs: a product's committee, threshold, approved models and instant-payout rules form
     one numbered set (epoch 1 at creation). The governor applies a new set only after announcing
     it for longer than a claim's longest path; every claim records the epoch in force when it was
     submitted and is judged under that set, so a later change never touches it.
"""


# ============================================================ INTERFACES

from interfaces import IProductGovernor
from interfaces import IDisputeDesk
from interfaces import IClaimsManagerAdmin
from interfaces import IClaimsManagerDisputes

# @dev The desk-only entry points through which `DisputeDesk` moves a claim into and out of dispute.
implements: IClaimsManagerDisputes

# @dev The governor-only entry points through which `ProductGovernor` stores products.
implements: IClaimsManagerAdmin


# ============================================================ MODULES

# @dev Stateless ETH and ERC-20 transfers (no-bool tokens included); needs no `uses:`.
from modules import asset_transfer

# @dev Signature recovery with the malleability check; stateless, so no `initializes:`.
from snekmate.utils import ecdsa

# @dev The EIP-712 domain (name, version, chain id, this address) that binds every report.
from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator

# @dev Exposes `eip712Domain()` (EIP-5267) so wallets and oracle nodes read the domain on-chain.
exports: eip712_domain_separator.eip712Domain


# ============================================================ CONSTANTS

# Claim status.
UNKNOWN: constant(uint256) = 0
SUBMITTED: constant(uint256) = 1
DECIDED: constant(uint256) = 2
DISPUTED: constant(uint256) = 3
RESOLVED: constant(uint256) = 4
PAID: constant(uint256) = 5
# @dev A REFER waits here for the insurer's adjuster (see `DisputeDesk.proposePayout` and `referToArbitrator`).
REVIEW: constant(uint256) = 6

# Oracle decisions.
APPROVE: constant(uint8) = 1
PARTIAL: constant(uint8) = 2
REJECT: constant(uint8) = 3
REFER: constant(uint8) = 4

MAX_COMMITTEE: constant(uint256) = 16
MAX_MODELS: constant(uint256) = 8
MAX_EXTRA_DATA: constant(uint256) = 256
MAX_URI: constant(uint256) = 256
MAX_BPS: constant(uint256) = 10_000
MAX_CLAIMS_PER_POLICY: constant(uint256) = 4095
MAX_AMOUNT: constant(uint256) = 2**96 - 1
MAX_PERIL: constant(uint256) = 15
# @dev Vehicle classes a product may price: class k is the k-th class of its terms' cost schedule.
MAX_CLASSES: constant(uint256) = 8
# @dev Claims name their place on-chain only to a 0.1-degree grid (about 11 km): enough for the weather check, and
#      public for ever; the precise place travels sealed inside the evidence manifest.
AREA_GRID_E6: constant(int256) = 100_000

REPORT_TYPEHASH: constant(bytes32) = keccak256(
    "Report(uint256 claimId,uint8 decision,uint256 payout,uint16 confidence,bytes32 explanationHash,bytes32 modelHash,bytes32 evidenceRoot,bytes32 termsHash,uint256 epoch,uint256 deadline)"
)

# Bit layout of the packed words.
MASK_4: constant(uint256) = 2**4 - 1
MASK_8: constant(uint256) = 2**8 - 1
MASK_12: constant(uint256) = 2**12 - 1
MASK_16: constant(uint256) = 2**16 - 1
MASK_20: constant(uint256) = 2**20 - 1
MASK_32: constant(uint256) = 2**32 - 1
MASK_36: constant(uint256) = 2**36 - 1
MASK_40: constant(uint256) = 2**40 - 1
MASK_96: constant(uint256) = 2**96 - 1
MASK_128: constant(uint256) = 2**128 - 1
MASK_160: constant(uint256) = 2**160 - 1

# policy word: holder 0..159 | productId 160..191 | end 192..227 | vehicleClass 228..231 | claimCount 232..243 |
#              openClaims 244..255 (36 bits of end last until the year 4147)
POLICY_PRODUCT_SHIFT: constant(uint256) = 160
POLICY_END_SHIFT: constant(uint256) = 192
POLICY_CLASS_SHIFT: constant(uint256) = 228
POLICY_COUNT_SHIFT: constant(uint256) = 232
POLICY_OPEN_SHIFT: constant(uint256) = 244

# claim word: status 0..7 | decision 8..15 | timestamp 16..55 | claimed 56..151 | payout 152..247 | flags 248..255;
#             while SUBMITTED the payout bits hold the rules epoch the claim is judged under
CLAIM_DECISION_SHIFT: constant(uint256) = 8
CLAIM_TIME_SHIFT: constant(uint256) = 16
CLAIM_CLAIMED_SHIFT: constant(uint256) = 56
CLAIM_PAYOUT_SHIFT: constant(uint256) = 152
CLAIM_FLAGS_SHIFT: constant(uint256) = 248
# set by the desk for a claim that reaches the arbitrator with no payout on record (escalated, or referred from the
# adjuster's review, which also sets 4); 2 marks a dispute by the insurer
FLAG_ESCALATED: constant(uint256) = 1

# rules word (fixed at creation but for paused and epoch): perils 0..15 | term 16..47 | window 48..79 |
#             timeout 80..111 | paused 144..151 | epoch 152..183 | maxOpenClaims 248..255
RULES_TERM_SHIFT: constant(uint256) = 16
RULES_WINDOW_SHIFT: constant(uint256) = 48
RULES_TIMEOUT_SHIFT: constant(uint256) = 80
RULES_PAUSED_SHIFT: constant(uint256) = 144
RULES_EPOCH_SHIFT: constant(uint256) = 152
RULES_OPEN_SHIFT: constant(uint256) = 248  # the most open claims a policy may have (8 bits, the governor sets it)
# epoch word, one per (product, epoch): dailyCap 0..95 | threshold 112..119 | committeeSize 120..127 |
#             minConfidence 128..143 | instantLimit 152..247
EPOCH_THRESHOLD_SHIFT: constant(uint256) = 112
EPOCH_SIZE_SHIFT: constant(uint256) = 120
EPOCH_CONFIDENCE_SHIFT: constant(uint256) = 128
EPOCH_INSTANT_SHIFT: constant(uint256) = 152
# per-epoch records are keyed by productId | epoch << 32
EPOCH_KEY_SHIFT: constant(uint256) = 32
# the instant-payout budget word of a product: day (40 bits) at 96 | paid that day (96 bits) at 136
BUDGET_DAY_SHIFT: constant(uint256) = 96
BUDGET_SPENT_SHIFT: constant(uint256) = 136
DAY: constant(uint256) = 86_400
# @dev How long past its oracle timeout a claim nobody moved on (no report, no escalation) stays open before
#      anyone may close it with no payout (`closeStale`).
STALE_AFTER: constant(uint256) = 30 * DAY

# premium word, fixed at creation: base premium 0..95 | the factor of vehicle class k, in basis points of the base
#               premium (0: the class is not offered), 20 bits at 96 + 20k
PREMIUM_FACTOR_SHIFT: constant(uint256) = 96
PREMIUM_FACTOR_BITS: constant(uint256) = 20

# claim ids carry their policy: claimId = policyId * 4096 + index (index 1..4095).
CLAIM_INDEX_BITS: constant(uint256) = 12


# ============================================================ STRUCTS

struct Product:
    insurer: address
    asset: address
    coverageLimit: uint256
    deductible: uint256
    premium: uint256
    term: uint256
    perils: uint256
    threshold: uint256
    committeeSize: uint256
    instantLimit: uint256
    minConfidence: uint256
    disputeWindow: uint256
    disputeBond: uint256
    arbitrator: address
    oracleTimeout: uint256
    termsHash: bytes32
    paused: bool
    capital: uint256
    locked: uint256
    maxOpenClaims: uint256
    instantDailyCap: uint256

struct Policy:
    holder: address
    productId: uint256
    start: uint256
    end: uint256
    remainingCoverage: uint256
    claimCount: uint256
    openClaims: uint256
    vehicleClass: uint256

struct Claim:
    policyId: uint256
    status: uint256
    decision: uint8
    timestamp: uint256
    claimedAmount: uint256
    payout: uint256
    escalated: bool
    evidenceRoot: bytes32
    epoch: uint256

struct Report:
    claimId: uint256
    decision: uint8
    payout: uint256
    confidence: uint16
    explanationHash: bytes32
    modelHash: bytes32
    evidenceRoot: bytes32
    termsHash: bytes32
    epoch: uint256
    deadline: uint256

struct Signature:
    v: uint8
    r: bytes32
    s: bytes32


# ============================================================ STORAGE

# @dev Products are created and governed through this contract (see `ProductGovernor`).
governor: public(immutable(address))

# @dev Disputes and escalations go through this contract, the ERC-792 arbitrable (see `DisputeDesk`).
desk: public(immutable(address))

productCount: public(uint256)
policyCount: public(uint256)

# products
_product_insurer: HashMap[uint256, address]
_product_asset: HashMap[uint256, address]
_product_rules: HashMap[uint256, uint256]
_instant_budget: HashMap[uint256, uint256]  # day | paid that day (BUDGET_* shifts)
_product_limits: HashMap[uint256, uint256]  # coverageLimit 0..95 | deductible 96..191
_product_premium: HashMap[uint256, uint256]  # base premium | class factors (PREMIUM_FACTOR_* layout)
_product_bond: HashMap[uint256, uint256]
_product_arbitrator: HashMap[uint256, address]
_product_terms_hash: HashMap[uint256, bytes32]
_product_funds: HashMap[uint256, uint256]  # capital 0..127 | locked 128..255
# per (product, epoch), keyed by productId | epoch << 32: the rules a claim of that epoch is judged under
_epoch_rules: HashMap[uint256, uint256]
_is_member: HashMap[uint256, HashMap[address, bool]]
_model_approved: HashMap[uint256, HashMap[bytes32, bool]]

# policies and claims
_policies: HashMap[uint256, uint256]
_policy_coverage: HashMap[uint256, uint256]
_claims: HashMap[uint256, uint256]
_evidence_roots: HashMap[uint256, bytes32]

# vote path: votes per (claim, report digest, roster); one vote per member per claim and roster, where the
# roster is the claim's epoch word, which changes when a member leaves (votes cast before that are void)
_votes: HashMap[uint256, HashMap[bytes32, uint256]]
_voted: HashMap[uint256, HashMap[bytes32, bool]]


# ============================================================ EVENTS

event ProductCreated:
    productId: indexed(uint256)
    insurer: indexed(address)
    asset: indexed(address)
    termsHash: bytes32

event ProductPaused:
    productId: indexed(uint256)
    paused: bool

event CapitalDeposited:
    productId: indexed(uint256)
    sender: indexed(address)
    amount: uint256

event CapitalWithdrawn:
    productId: indexed(uint256)
    receiver: indexed(address)
    amount: uint256

event PolicyPurchased:
    policyId: indexed(uint256)
    productId: indexed(uint256)
    holder: indexed(address)
    insuredObject: bytes32
    vehicleClass: uint256
    start: uint256
    end: uint256
    premium: uint256
    coverage: uint256

event PolicyReleased:
    policyId: indexed(uint256)
    releasedCoverage: uint256

event PolicyCancelled:
    policyId: indexed(uint256)
    receiver: indexed(address)
    refund: uint256
    releasedCoverage: uint256

event ClaimSubmitted:
    claimId: indexed(uint256)
    policyId: indexed(uint256)
    holder: indexed(address)
    evidenceRoot: bytes32
    evidenceURI: String[MAX_URI]
    incidentTime: uint256
    peril: uint256
    latitudeE6: int256
    longitudeE6: int256
    claimedAmount: uint256

event ReportVoted:
    claimId: indexed(uint256)
    oracle: indexed(address)
    reportDigest: indexed(bytes32)
    votes: uint256

event ClaimDecided:
    claimId: indexed(uint256)
    decision: uint8
    payout: uint256
    confidence: uint16
    explanationHash: bytes32
    modelHash: bytes32
    instant: bool
    windowEnds: uint256

event ClaimClosedStale:
    claimId: indexed(uint256)

event ClaimResolved:
    claimId: indexed(uint256)
    payout: uint256

event PayoutWithdrawn:
    claimId: indexed(uint256)
    receiver: indexed(address)
    amount: uint256


# ============================================================ CONSTRUCTOR

@deploy
def __init__(governor_: address, desk_: address):
    """
    @notice Sets up the EIP-712 domain ("ClaimsOracle", "1") bound to this chain and address, and
            binds the product governor and the dispute desk.
    @dev Calls `governor_.bind(desk_)` and `desk_.bind(governor_)`, which each accepts once; deploy
         both first.
    @param governor_ The `ProductGovernor` through which products are created and governed.
    @param desk_ The `DisputeDesk` through which claims are disputed and escalated.
    """
    eip712_domain_separator.__init__("ClaimsOracle", "1")
    governor = governor_
    desk = desk_
    extcall IProductGovernor(governor_).bind(desk_)
    extcall IDisputeDesk(desk_).bind(governor_)


# ============================================================ PRODUCTS (governor)

@external
def registerProduct(
    insurer: address,
    asset: address,
    limits: uint256,
    premium: uint256,
    bond: uint256,
    arbitrator: address,
    terms_hash: bytes32,
    rules: uint256,
) -> uint256:
    """
    @notice Stores a product the governor has checked; see `ProductGovernor.createProduct`.
    @dev Only the governor, which then applies the first rules epoch (`applyRules`). `limits` is
         coverageLimit | deductible << 96; `rules` carries perils, term, window, timeout and the
         open-claims limit. Emits `ProductCreated` (the desk emits `MetaEvidence`).
    @param insurer The product's owner.
    @param asset The payout asset (zero address for ETH).
    @param limits The packed coverage limit and deductible.
    @param premium The packed premium word: the base premium and each vehicle class's factor.
    @param bond The dispute bond in wei.
    @param arbitrator The ERC-792 arbitrator (the desk holds its extra data).
    @param terms_hash The off-chain terms document's hash.
    @param rules The packed rules word.
    @return uint256 The new product id.
    """
    self._only_governor()
    product_id: uint256 = self.productCount + 1
    assert product_id <= MASK_32, "products: too many products"
    self.productCount = product_id
    self._product_insurer[product_id] = insurer
    self._product_asset[product_id] = asset
    self._product_limits[product_id] = limits
    self._product_premium[product_id] = premium
    self._product_bond[product_id] = bond
    self._product_arbitrator[product_id] = arbitrator
    self._product_terms_hash[product_id] = terms_hash
    self._product_rules[product_id] = rules
    log ProductCreated(productId=product_id, insurer=insurer, asset=asset, termsHash=terms_hash)
    return product_id


@external
def updatePaused(product_id: uint256, paused: bool):
    """
    @notice Stops or resumes sales of new policies; see `ProductGovernor.setPaused`.
    @dev Only the governor.
    @param product_id The product.
    @param paused True to stop sales.
    """
    self._only_governor()
    rules: uint256 = self._product_rules[product_id]
    rules = rules & ~(MASK_8 << RULES_PAUSED_SHIFT)
    if paused:
        rules = rules | (1 << RULES_PAUSED_SHIFT)
    self._product_rules[product_id] = rules
    log ProductPaused(productId=product_id, paused=paused)


@external
def applyRules(
    product_id: uint256,
    members: DynArray[address, MAX_COMMITTEE],
    threshold: uint256,
    models: DynArray[bytes32, MAX_MODELS],
    instant_limit: uint256,
    min_confidence: uint256,
    daily_cap: uint256,
):
    """
    @notice Starts the product's next rules epoch; claims submitted from now on are judged under it.
    @dev Only the governor, which has checked every value and, after creation, waited out the
         announced delay (`ProductGovernor.applyChange`). Earlier epochs keep their records, so
         claims submitted under them are still judged by their own committee, threshold, models
         and instant rules. The governor emits `RulesApplied` and keeps each epoch's member list.
    @param product_id The product.
    @param members The N distinct oracle signer addresses.
    @param threshold M of N.
    @param models The approved model hashes.
    @param instant_limit Largest instant payout.
    @param min_confidence Minimum confidence for an instant payout, in basis points.
    @param daily_cap Most paid instantly per UTC day, all claims of the product together.
    """
    self._only_governor()
    rules: uint256 = self._product_rules[product_id]
    epoch: uint256 = ((rules >> RULES_EPOCH_SHIFT) & MASK_32) + 1
    self._product_rules[product_id] = (rules & ~(MASK_32 << RULES_EPOCH_SHIFT)) | (epoch << RULES_EPOCH_SHIFT)
    key: uint256 = product_id | (epoch << EPOCH_KEY_SHIFT)
    for member: address in members:
        self._is_member[key][member] = True
    for model: bytes32 in models:
        self._model_approved[key][model] = True
    self._epoch_rules[key] = (
        daily_cap
        | (threshold << EPOCH_THRESHOLD_SHIFT)
        | (len(members) << EPOCH_SIZE_SHIFT)
        | (min_confidence << EPOCH_CONFIDENCE_SHIFT)
        | (instant_limit << EPOCH_INSTANT_SHIFT)
    )


@external
def removeMember(product_id: uint256, member: address) -> bool:
    """
    @notice Takes a member who leaves on its own out of the current and the previous epoch at once.
    @dev Only the governor, from `ProductGovernor.leaveCommittee`. Its signatures stop counting and
         the votes already cast on those epochs' claims are void (each epoch's word changes, and
         votes count per word), so the others vote again. The threshold stays: a leaving member
         never lowers the bar, and when too few remain, claims go to the arbitrator by `escalate`.
         Two epochs suffice: epochs are at least the governor's change delay apart, which exceeds
         the oracle timeout plus `STALE_AFTER`, after which no report on a claim counts. The
         governor emits `MemberLeft` and updates its member lists.
    @param product_id The product.
    @param member The leaving member.
    @return bool Whether it was a member of either epoch.
    """
    self._only_governor()
    epoch: uint256 = (self._product_rules[product_id] >> RULES_EPOCH_SHIFT) & MASK_32
    found: bool = False
    for age: uint256 in range(2):
        if epoch > age:
            key: uint256 = product_id | ((epoch - age) << EPOCH_KEY_SHIFT)
            if self._is_member[key][member]:
                found = True
                self._is_member[key][member] = False
                self._epoch_rules[key] -= 1 << EPOCH_SIZE_SHIFT
    return found


# ============================================================ CAPITAL

@external
@payable
@nonreentrant
def depositCapital(product_id: uint256, amount: uint256):
    """
    @notice Adds capital to a product's pool (ETH as msg.value, or an approved ERC-20 amount).
    @dev Anyone may fund an existing product; the capital then belongs to the product and only its
         insurer can withdraw it. For ETH `msg.value` must equal `amount`; for a token it must be
         zero and `amount` is pulled with `transferFrom`. Reverts on an unknown product, a zero
         amount or capital above 2**128 - 1. Checks, effects, interactions: the capital is booked
         before the token is called (a failed pull reverts the booking with it), and the function
         is non-reentrant, as is every function that changes `capital` or `locked`, so a token
         hook can neither re-enter nor leave a stale copy of the books behind.
    @param product_id The product.
    @param amount The amount in the asset's base units.
    """
    assert self._product_insurer[product_id] != empty(address), "capital: unknown product"
    assert amount > 0, "capital: amount is zero"
    funds: uint256 = self._product_funds[product_id]
    assert (funds & MASK_128) + amount <= MASK_128, "capital: capital overflow"
    self._product_funds[product_id] = funds + amount
    asset_transfer._collect(self._product_asset[product_id], msg.sender, amount, msg.value)
    log CapitalDeposited(productId=product_id, sender=msg.sender, amount=amount)


@external
@nonreentrant
def withdrawCapital(product_id: uint256, amount: uint256, receiver: address):
    """
    @notice Withdraws free capital (capital not locked by policies or owed payouts).
    @dev Only the product's insurer. Reverts on a zero amount, a zero receiver, or more than
         capital minus locked. Books the withdrawal before sending ETH (all remaining gas) or
         tokens; non-reentrant.
    @param product_id The product.
    @param amount The amount in the asset's base units.
    @param receiver Where the capital goes.
    """
    self._only_insurer(product_id)
    assert amount > 0, "capital: amount is zero"
    assert receiver != empty(address), "capital: receiver is zero"
    funds: uint256 = self._product_funds[product_id]
    capital: uint256 = funds & MASK_128
    locked: uint256 = funds >> 128
    assert amount <= capital - locked, "capital: exceeds free capital"
    self._product_funds[product_id] = funds - amount
    asset_transfer._send(self._product_asset[product_id], receiver, amount)
    log CapitalWithdrawn(productId=product_id, receiver=receiver, amount=amount)


# ============================================================ POLICIES

@external
@payable
@nonreentrant
def buyPolicy(product_id: uint256, insured_object: bytes32, vehicle_class: uint256) -> uint256:
    """
    @notice Buys a policy on a vehicle of the declared class by paying that class's premium; locks
            its coverage in the pool.
    @dev Anyone may buy and becomes the holder. The class is the policy's for its whole term: the
         oracle prices every claim's repair for it, and the claimant never names a class again.
         The premium (`premiumOf`) joins the product's capital and the full coverage limit is
         locked until the policy is released or paid out. For ETH `msg.value` must equal the
         premium exactly; for a token it must be zero and the premium is pulled with
         `transferFrom`. Reverts on an unknown or paused product, a class the product does not
         offer, or when free capital is below the coverage limit. Books the policy before
         collecting the premium; non-reentrant.
    @param product_id The product.
    @param insured_object An identifier of the insured object (e.g. keccak256 of a VIN).
    @param vehicle_class The insured vehicle's class: its index in the terms' cost schedule.
    @return uint256 The new policy id.
    """
    rules: uint256 = self._product_rules[product_id]
    assert rules != 0, "policies: unknown product"
    assert (rules >> RULES_PAUSED_SHIFT) & MASK_8 == 0, "policies: product is paused"
    coverage: uint256 = self._product_limits[product_id] & MASK_96
    premium: uint256 = self._premium(product_id, vehicle_class)
    funds: uint256 = self._product_funds[product_id]
    capital: uint256 = funds & MASK_128
    locked: uint256 = funds >> 128
    assert capital - locked >= coverage, "policies: not enough capital"
    assert capital + premium <= MASK_128, "policies: capital overflow"

    policy_id: uint256 = self.policyCount + 1
    assert policy_id <= MASK_32, "policies: too many policies"
    self.policyCount = policy_id
    end: uint256 = block.timestamp + ((rules >> RULES_TERM_SHIFT) & MASK_32)
    self._policies[policy_id] = (
        convert(msg.sender, uint256) | (product_id << POLICY_PRODUCT_SHIFT) | (end << POLICY_END_SHIFT)
        | (vehicle_class << POLICY_CLASS_SHIFT)
    )
    self._policy_coverage[policy_id] = coverage
    self._product_funds[product_id] = (capital + premium) | ((locked + coverage) << 128)

    asset_transfer._collect(self._product_asset[product_id], msg.sender, premium, msg.value)
    log PolicyPurchased(
        policyId=policy_id, productId=product_id, holder=msg.sender, insuredObject=insured_object,
        vehicleClass=vehicle_class, start=block.timestamp, end=end, premium=premium, coverage=coverage,
    )
    return policy_id


@external
@nonreentrant
def releasePolicy(policy_id: uint256):
    """
    @notice Releases the locked coverage of an expired policy with no open claims; callable by anyone.
    @dev Reverts on an unknown policy, before the policy's end, while a claim is open, or when the
         coverage was already released or used up. Moves no funds: the remaining coverage leaves
         `locked` and becomes free capital. Non-reentrant, so a payout token's hook cannot call
         it in the middle of a transfer.
    @param policy_id The policy.
    """
    word: uint256 = self._policies[policy_id]
    assert word != 0, "policies: unknown policy"
    assert block.timestamp > (word >> POLICY_END_SHIFT) & MASK_36, "policies: policy not expired"
    assert (word >> POLICY_OPEN_SHIFT) & MASK_12 == 0, "policies: open claims"
    remaining: uint256 = self._policy_coverage[policy_id]
    assert remaining > 0, "policies: nothing to release"
    self._policy_coverage[policy_id] = 0
    product_id: uint256 = (word >> POLICY_PRODUCT_SHIFT) & MASK_32
    self._product_funds[product_id] -= remaining << 128
    log PolicyReleased(policyId=policy_id, releasedCoverage=remaining)


@external
@nonreentrant
def cancelPolicy(policy_id: uint256, receiver: address):
    """
    @notice Cancels the caller's policy while its product has a rules change announced, refunding
            the premium for the rest of the term to `receiver` and releasing the coverage.
    @dev Only the policy holder, before the policy's end, with no open claim, while the governor
         reports a change pending (`ProductGovernor.changePending`). The refund is
         the premium of the policy's class * (end - now) / term, out of the product's capital; resolved payouts not yet
         withdrawn stay payable. Books everything (coverage zero, which also refuses later claims)
         before sending ETH or tokens; non-reentrant. Emits `PolicyCancelled`.
    @param policy_id The policy.
    @param receiver Where the refund goes.
    """
    assert receiver != empty(address), "policies: receiver is zero"
    word: uint256 = self._policies[policy_id]
    assert convert(word & MASK_160, address) == msg.sender, "policies: not the policy holder"
    end: uint256 = (word >> POLICY_END_SHIFT) & MASK_36
    assert block.timestamp < end, "policies: policy expired"
    assert (word >> POLICY_OPEN_SHIFT) & MASK_12 == 0, "policies: open claims"
    product_id: uint256 = (word >> POLICY_PRODUCT_SHIFT) & MASK_32
    assert staticcall IProductGovernor(governor).changePending(product_id), "policies: no rules change pending"
    remaining: uint256 = self._policy_coverage[policy_id]
    assert remaining > 0, "policies: nothing to release"
    refund: uint256 = self._premium(product_id, (word >> POLICY_CLASS_SHIFT) & MASK_4) * (end - block.timestamp) // (
        (self._product_rules[product_id] >> RULES_TERM_SHIFT) & MASK_32
    )
    self._policy_coverage[policy_id] = 0
    # the refund leaves capital, the coverage leaves locked: capital - refund | (locked - remaining) << 128
    funds: uint256 = self._product_funds[product_id]
    assert (funds & MASK_128) - refund >= (funds >> 128) - remaining, "policies: not enough capital"
    self._product_funds[product_id] = funds - refund - (remaining << 128)
    asset_transfer._send(self._product_asset[product_id], receiver, refund)
    log PolicyCancelled(policyId=policy_id, receiver=receiver, refund=refund, releasedCoverage=remaining)


# ============================================================ CLAIMS

@external
def submitClaim(
    policy_id: uint256,
    evidence_root: bytes32,
    evidence_uri: String[MAX_URI],
    incident_time: uint256,
    peril: uint256,
    latitude_e6: int256,
    longitude_e6: int256,
    claimed_amount: uint256,
) -> uint256:
    """
    @notice Submits a claim on the caller's policy; the oracle committee picks it up from the event.
    @dev Only the policy holder, until the policy's end. Reverts on an incident outside the term
         or in the future, a peril the product does not cover, a zero evidence root, a claimed
         amount of zero or above 2**96 - 1, coordinates out of range or finer than the 0.1-degree
         grid (the precise place stays sealed in the evidence), a 4096th claim, or a claim beyond
         the product's most open claims per policy (`maxOpenClaims`, K), or a policy with no
         coverage left (used up or cancelled). Stores only what later steps check (evidence root,
         claimed amount, status, time and the product's current rules epoch, under which the claim
         is judged). Moves no funds; the open claim keeps the policy's coverage locked until it is
         resolved.
    @param policy_id The caller's policy.
    @param evidence_root keccak256 of the canonical evidence manifest (photo content ids).
    @param evidence_uri Where the manifest can be fetched (content id URI).
    @param incident_time Unix time of the incident, within the policy term and not in the future.
    @param peril The peril's bit index in the product's perils mask.
    @param latitude_e6 Incident latitude in millionths of a degree, on the 0.1-degree grid.
    @param longitude_e6 Incident longitude in millionths of a degree, on the 0.1-degree grid.
    @param claimed_amount The amount claimed in base units of the payout asset.
    @return uint256 The claim id (policyId * 4096 + index).
    """
    word: uint256 = self._policies[policy_id]
    assert convert(word & MASK_160, address) == msg.sender, "claims: not the policy holder"
    end: uint256 = (word >> POLICY_END_SHIFT) & MASK_36
    assert block.timestamp <= end, "claims: policy expired"
    rules: uint256 = self._product_rules[(word >> POLICY_PRODUCT_SHIFT) & MASK_32]
    assert incident_time >= end - ((rules >> RULES_TERM_SHIFT) & MASK_32), "claims: incident before start"
    assert incident_time <= block.timestamp, "claims: incident in the future"
    assert peril <= MAX_PERIL and (rules >> peril) & 1 == 1, "claims: peril not covered"
    assert evidence_root != empty(bytes32), "claims: evidence root is zero"
    assert claimed_amount > 0, "claims: claimed amount is zero"
    assert claimed_amount <= MAX_AMOUNT, "claims: claimed amount too large"
    assert latitude_e6 >= -90_000_000 and latitude_e6 <= 90_000_000, "claims: latitude out of range"
    assert longitude_e6 >= -180_000_000 and longitude_e6 <= 180_000_000, "claims: longitude out of range"
    assert latitude_e6 % AREA_GRID_E6 == 0 and longitude_e6 % AREA_GRID_E6 == 0, "claims: place finer than 0.1 degree"

    index: uint256 = ((word >> POLICY_COUNT_SHIFT) & MASK_12) + 1
    assert index <= MAX_CLAIMS_PER_POLICY, "claims: too many claims"
    assert (word >> POLICY_OPEN_SHIFT) & MASK_12 < rules >> RULES_OPEN_SHIFT, "claims: too many open claims"
    assert self._policy_coverage[policy_id] > 0, "claims: no coverage left"
    # claimCount and openClaims both grow by one; openClaims cannot overflow as it is <= claimCount
    self._policies[policy_id] = word + (1 << POLICY_COUNT_SHIFT) + (1 << POLICY_OPEN_SHIFT)
    claim_id: uint256 = (policy_id << CLAIM_INDEX_BITS) | index
    # the rules epoch in force now rides in the payout bits until a decision replaces it
    self._claims[claim_id] = (
        SUBMITTED
        | (block.timestamp << CLAIM_TIME_SHIFT)
        | (claimed_amount << CLAIM_CLAIMED_SHIFT)
        | (((rules >> RULES_EPOCH_SHIFT) & MASK_32) << CLAIM_PAYOUT_SHIFT)
    )
    self._evidence_roots[claim_id] = evidence_root

    log ClaimSubmitted(
        claimId=claim_id, policyId=policy_id, holder=msg.sender, evidenceRoot=evidence_root,
        evidenceURI=evidence_uri, incidentTime=incident_time, peril=peril,
        latitudeE6=latitude_e6, longitudeE6=longitude_e6, claimedAmount=claimed_amount,
    )
    return claim_id


# ============================================================ ORACLE REPORTS

@external
def submitSignedReport(report: Report, signatures: DynArray[Signature, MAX_COMMITTEE]):
    """
    @notice Records an oracle decision signed by at least M committee members (EIP-712).
    @dev Signatures must be ordered by strictly increasing signer address, which rules out
         counting one signer twice. Anyone may relay the transaction. Reverts ("oracle: ...")
         unless the claim awaits a decision and the report matches its evidence root, the
         product's terms hash and an approved model, with a known decision, a confidence up to
         10000 and a payout consistent with the decision and at most the claimed amount, and
         unless every signer is a member of the committee of the claim's rules epoch (the one in
         force when it was submitted) who has not left. A small confident approval under that
         epoch's instant rules is resolved at once (still paid by `withdrawPayout`); otherwise the
         dispute window opens. Moves no funds.
    @param report The decision (see `Report`).
    @param signatures At least M signatures over `reportDigest(report)`.
    """
    claim_word: uint256 = self._claims[report.claimId]
    product_id: uint256 = self._product_of_claim(report.claimId)
    key: uint256 = self._check_report(report, claim_word, product_id)
    assert len(signatures) >= (self._epoch_rules[key] >> EPOCH_THRESHOLD_SHIFT) & MASK_8, "oracle: not enough signatures"
    digest: bytes32 = self._report_digest(report)
    previous: address = empty(address)
    for signature: Signature in signatures:
        signer: address = ecdsa._recover_vrs(
            digest, convert(signature.v, uint256), convert(signature.r, uint256), convert(signature.s, uint256)
        )
        assert convert(signer, uint256) > convert(previous, uint256), "oracle: signers not ascending"
        assert self._is_member[key][signer], "oracle: signer not in committee"
        previous = signer
    self._record_decision(report, claim_word, key, product_id)


@external
def voteReport(report: Report):
    """
    @notice Casts the caller's committee vote for a report; the M-th matching vote records it.
    @dev The shape a Chainlink node's ethtx task can send. Only members of the committee of the
         claim's rules epoch who have not left; one vote per member per claim (and per roster: a
         member leaving voids the votes cast before it). Votes count per report digest, so members
         who vouch for different reports do not add up. Reverts on a report that does not match
         the claim, as `submitSignedReport` does. The M-th matching vote records the decision
         exactly as `submitSignedReport` would; no funds move.
    @param report The decision the caller vouches for.
    """
    claim_word: uint256 = self._claims[report.claimId]
    product_id: uint256 = self._product_of_claim(report.claimId)
    key: uint256 = self._check_report(report, claim_word, product_id)
    assert self._is_member[key][msg.sender], "oracle: caller not in committee"
    roster: uint256 = self._epoch_rules[key]
    voter_key: bytes32 = keccak256(abi_encode(msg.sender, roster))
    assert not self._voted[report.claimId][voter_key], "oracle: already voted"
    self._voted[report.claimId][voter_key] = True
    digest: bytes32 = self._report_digest(report)
    vote_key: bytes32 = keccak256(abi_encode(digest, roster))
    votes: uint256 = self._votes[report.claimId][vote_key] + 1
    self._votes[report.claimId][vote_key] = votes
    log ReportVoted(claimId=report.claimId, oracle=msg.sender, reportDigest=digest, votes=votes)
    if votes >= (roster >> EPOCH_THRESHOLD_SHIFT) & MASK_8:
        self._record_decision(report, claim_word, key, product_id)


@external
@view
def reportDigest(report: Report) -> bytes32:
    """
    @notice The EIP-712 digest committee members sign for `report`.
    @param report The decision.
    @return bytes32 The typed-data hash bound to this chain and contract.
    """
    return self._report_digest(report)


# ============================================================ DECISIONS AND DISPUTES (desk)

@external
def finalize(claim_id: uint256):
    """
    @notice Makes a decision final once its dispute window has passed undisputed; callable by anyone.
    @dev Reverts unless the claim is decided and undisputed and its window (decision time plus the
         product's window) is over. Caps the payout by the policy's remaining coverage; no funds
         move, the holder then calls `withdrawPayout` (or `collect` does both in one transaction).
    @param claim_id The claim.
    """
    word: uint256 = self._claims[claim_id]
    assert word & MASK_8 == DECIDED, "claims: not awaiting finalize"
    self._check_window_over(claim_id, word)
    self._resolve(claim_id, word, (word >> CLAIM_PAYOUT_SHIFT) & MASK_96)


@external
def closeStale(claim_id: uint256):
    """
    @notice Closes a claim nobody moved on: the committee never reported and neither party escalated
            within `STALE_AFTER` past the oracle timeout; callable by anyone. It resolves with no
            payout, which frees the policy's open-claim slot and lets `releasePolicy` run.
    @dev Reverts unless the claim still awaits the oracle and the oracle timeout plus `STALE_AFTER`
         has passed since submission. Emits `ClaimClosedStale` and `ClaimResolved`.
    @param claim_id The claim.
    """
    word: uint256 = self._claims[claim_id]
    assert word & MASK_8 == SUBMITTED, "claims: not awaiting the oracle"
    rules: uint256 = self._product_rules[self._product_of_claim(claim_id)]
    since: uint256 = (word >> CLAIM_TIME_SHIFT) & MASK_40
    assert block.timestamp >= since + ((rules >> RULES_TIMEOUT_SHIFT) & MASK_32) + STALE_AFTER, "claims: not stale yet"
    log ClaimClosedStale(claimId=claim_id)
    self._resolve(claim_id, word, 0)


@external
def moveClaim(claim_id: uint256, word: uint256):
    """
    @notice Stores a claim's next packed word for the desk (into dispute, out of review).
    @dev Only the dispute desk, which has checked the status, the deadlines and the caller from `claimRecord`
         and moves no claim to RESOLVED or PAID this way (`settleClaim` does).
    @param claim_id The claim.
    @param word The claim's new packed word.
    """
    assert msg.sender == desk, "claims: not the dispute desk"
    self._claims[claim_id] = word


@external
def settleClaim(claim_id: uint256, payout: uint256):
    """
    @notice Resolves an open claim with `payout`, for the desk (a ruling, or an insurer that cannot pay arbitration).
    @dev Only the dispute desk, which maps the ruling to the payout; the remaining coverage caps it. Reverts
         "claims: dispute already ruled" on a claim already resolved or paid (or unknown).
    @param claim_id The claim.
    @param payout The payout before the coverage cap.
    """
    assert msg.sender == desk, "claims: not the dispute desk"
    word: uint256 = self._claims[claim_id]
    status: uint256 = word & MASK_8
    assert status != UNKNOWN and status != RESOLVED and status != PAID, "claims: dispute already ruled"
    self._resolve(claim_id, word, payout)


@external
@view
def claimRecord(claim_id: uint256) -> (uint256, uint256, uint256, address, address, uint256):
    """
    @notice What the desk checks a dispute, an escalation or a review against.
    @param claim_id The claim.
    @return uint256 The claim's packed word.
    @return uint256 The product's packed rules word.
    @return uint256 The product's deductible.
    @return address The policy holder.
    @return address The product's insurer.
    @return uint256 The product.
    """
    product_id: uint256 = self._product_of_claim(claim_id)
    return (
        self._claims[claim_id], self._product_rules[product_id], self._product_limits[product_id] >> 96,
        self._holder_of_claim(claim_id), self._product_insurer[product_id], product_id,
    )


@external
@view
def claimParties(claim_id: uint256) -> (address, address, uint256, uint256):
    """
    @notice Who a claim is between, for the dispute desk and for clients.
    @param claim_id The claim.
    @return address The policy holder.
    @return address The product's insurer.
    @return uint256 The product.
    @return uint256 The claim's status (0 for an unknown claim).
    """
    product_id: uint256 = self._product_of_claim(claim_id)
    return self._holder_of_claim(claim_id), self._product_insurer[product_id], product_id, self._claims[claim_id] & MASK_8



# ============================================================ WITHDRAWALS

@external
@nonreentrant
def withdrawPayout(claim_id: uint256):
    """
    @notice Pays the policy holder a resolved claim's payout (pull payment).
    @dev Only the policy holder, once, for a resolved claim with a payout above zero (a zero payout
         stays resolved). Marks the claim paid and takes the payout out of both capital and locked
         before sending ETH (all remaining gas) or tokens; non-reentrant. A holder that cannot take
         ETH uses `collect` with another receiver.
    @param claim_id The claim.
    """
    word: uint256 = self._claims[claim_id]
    assert word & MASK_8 == RESOLVED, "claims: no payout to withdraw"
    self._pay(claim_id, word, msg.sender)


@external
@nonreentrant
def collect(claim_id: uint256, receiver: address):
    """
    @notice Finalizes a decided claim whose window is over, if needed, and pays its payout to `receiver`.
    @dev One transaction instead of `finalize` then `withdrawPayout`. Only the policy holder, who
         chooses where the payout goes (a holder contract that cannot receive ETH is paid
         elsewhere). Reverts on a zero receiver, a claim neither resolved nor decided with its
         window over ("claims: no payout to collect"), or a zero payout (the claim stays resolved).
         Books before sending; non-reentrant.
    @param claim_id The claim.
    @param receiver Where the payout goes.
    """
    assert receiver != empty(address), "claims: receiver is zero"
    word: uint256 = self._claims[claim_id]
    if word & MASK_8 == DECIDED:
        self._check_window_over(claim_id, word)
        word = self._resolve(claim_id, word, (word >> CLAIM_PAYOUT_SHIFT) & MASK_96)
    assert word & MASK_8 == RESOLVED, "claims: no payout to collect"
    self._pay(claim_id, word, receiver)


# ============================================================ VIEWS

@external
@view
def product(product_id: uint256) -> Product:
    """
    @notice A product's parameters and its capital, with the rules of its current epoch.
    @dev An unknown id returns a zeroed record.
    @param product_id The product.
    @return Product The unpacked record.
    """
    rules: uint256 = self._product_rules[product_id]
    limits: uint256 = self._product_limits[product_id]
    funds: uint256 = self._product_funds[product_id]
    current: uint256 = self._epoch_rules[product_id | (((rules >> RULES_EPOCH_SHIFT) & MASK_32) << EPOCH_KEY_SHIFT)]
    return Product(
        insurer=self._product_insurer[product_id],
        asset=self._product_asset[product_id],
        coverageLimit=limits & MASK_96,
        deductible=limits >> 96,
        premium=self._product_premium[product_id] & MASK_96,
        term=(rules >> RULES_TERM_SHIFT) & MASK_32,
        perils=rules & MASK_16,
        threshold=(current >> EPOCH_THRESHOLD_SHIFT) & MASK_8,
        committeeSize=(current >> EPOCH_SIZE_SHIFT) & MASK_8,
        instantLimit=(current >> EPOCH_INSTANT_SHIFT) & MASK_96,
        minConfidence=(current >> EPOCH_CONFIDENCE_SHIFT) & MASK_16,
        disputeWindow=(rules >> RULES_WINDOW_SHIFT) & MASK_32,
        disputeBond=self._product_bond[product_id],
        arbitrator=self._product_arbitrator[product_id],
        oracleTimeout=(rules >> RULES_TIMEOUT_SHIFT) & MASK_32,
        termsHash=self._product_terms_hash[product_id],
        paused=(rules >> RULES_PAUSED_SHIFT) & MASK_8 != 0,
        capital=funds & MASK_128,
        locked=funds >> 128,
        maxOpenClaims=rules >> RULES_OPEN_SHIFT,
        instantDailyCap=current & MASK_96,
    )


@external
@view
def premiumOf(product_id: uint256, vehicle_class: uint256) -> uint256:
    """
    @notice What a policy on a vehicle of `vehicle_class` costs on the product (fixed at creation).
    @dev Reverts "policies: vehicle class not offered" for a class the product does not price.
    @param product_id The product.
    @param vehicle_class The class: its index in the terms' cost schedule.
    @return uint256 The premium in the asset's base units.
    """
    return self._premium(product_id, vehicle_class)


@external
@view
def isCommitteeMember(product_id: uint256, epoch: uint256, account: address) -> bool:
    """
    @notice Whether `account`'s signature or vote counts for claims of the product's rules epoch.
    @param product_id The product.
    @param epoch The rules epoch.
    @param account The address.
    @return bool True for a member that has not left.
    """
    return self._is_member[product_id | (epoch << EPOCH_KEY_SHIFT)][account]


@external
@view
def committeeEpoch(product_id: uint256) -> uint256:
    """
    @notice The product's current rules epoch (1 at creation, one more per applied change); new claims record it.
    @param product_id The product.
    @return uint256 The epoch.
    """
    return (self._product_rules[product_id] >> RULES_EPOCH_SHIFT) & MASK_32


@external
@view
def isModelApproved(product_id: uint256, epoch: uint256, model_hash: bytes32) -> bool:
    """
    @notice Whether reports on claims of the product's rules epoch may carry `model_hash`.
    @param product_id The product.
    @param epoch The rules epoch.
    @param model_hash The model's sha256.
    @return bool True when approved.
    """
    return self._model_approved[product_id | (epoch << EPOCH_KEY_SHIFT)][model_hash]


@external
@view
def policy(policy_id: uint256) -> Policy:
    """
    @notice A policy's record.
    @dev An unknown id returns a zeroed record.
    @param policy_id The policy.
    @return Policy The unpacked record.
    """
    word: uint256 = self._policies[policy_id]
    product_id: uint256 = (word >> POLICY_PRODUCT_SHIFT) & MASK_32
    end: uint256 = (word >> POLICY_END_SHIFT) & MASK_36
    term: uint256 = (self._product_rules[product_id] >> RULES_TERM_SHIFT) & MASK_32
    start: uint256 = 0
    if word != 0:
        start = end - term
    return Policy(
        holder=convert(word & MASK_160, address),
        productId=product_id,
        start=start,
        end=end,
        remainingCoverage=self._policy_coverage[policy_id],
        claimCount=(word >> POLICY_COUNT_SHIFT) & MASK_12,
        openClaims=(word >> POLICY_OPEN_SHIFT) & MASK_12,
        vehicleClass=(word >> POLICY_CLASS_SHIFT) & MASK_4,
    )


@external
@view
def claim(claim_id: uint256) -> Claim:
    """
    @notice A claim's record.
    @dev An unknown id returns status 0 (unknown) with `policyId` still read from the id's upper
         bits. `epoch` is the rules epoch a claim awaiting the oracle is judged under (0 once
         decided or escalated).
    @param claim_id The claim.
    @return Claim The unpacked record.
    """
    word: uint256 = self._claims[claim_id]
    epoch: uint256 = 0
    if word & MASK_8 == SUBMITTED:
        epoch = (word >> CLAIM_PAYOUT_SHIFT) & MASK_32
        word = word & ~(MASK_96 << CLAIM_PAYOUT_SHIFT)
    return Claim(
        policyId=claim_id >> CLAIM_INDEX_BITS,
        status=word & MASK_8,
        decision=convert((word >> CLAIM_DECISION_SHIFT) & MASK_8, uint8),
        timestamp=(word >> CLAIM_TIME_SHIFT) & MASK_40,
        claimedAmount=(word >> CLAIM_CLAIMED_SHIFT) & MASK_96,
        payout=(word >> CLAIM_PAYOUT_SHIFT) & MASK_96,
        escalated=(word >> CLAIM_FLAGS_SHIFT) & FLAG_ESCALATED != 0,
        evidenceRoot=self._evidence_roots[claim_id],
        epoch=epoch,
    )


# ============================================================ INTERNAL

@internal
@view
def _only_governor():
    """
    @notice Reverts unless the caller is the product governor.
    """
    assert msg.sender == governor, "products: not the governor"


@internal
@view
def _only_insurer(product_id: uint256):
    """
    @notice Reverts unless the caller is the product's insurer.
    @param product_id The product.
    """
    assert self._product_insurer[product_id] == msg.sender, "products: not the insurer"


@internal
@view
def _premium(product_id: uint256, vehicle_class: uint256) -> uint256:
    """
    @notice The premium of a vehicle class: the base premium times the class's factor in basis points.
    @dev Reverts "policies: vehicle class not offered" for a class with no factor.
    @param product_id The product.
    @param vehicle_class The class.
    @return uint256 The premium.
    """
    word: uint256 = self._product_premium[product_id]
    factor: uint256 = 0
    if vehicle_class < MAX_CLASSES:
        factor = (word >> (PREMIUM_FACTOR_SHIFT + vehicle_class * PREMIUM_FACTOR_BITS)) & MASK_20
    assert factor != 0, "policies: vehicle class not offered"
    return (word & MASK_96) * factor // MAX_BPS


@internal
@view
def _product_of_claim(claim_id: uint256) -> uint256:
    """
    @notice The product a claim belongs to, through its policy.
    @param claim_id The claim.
    @return uint256 The product id (0 for an unknown claim).
    """
    return (self._policies[claim_id >> CLAIM_INDEX_BITS] >> POLICY_PRODUCT_SHIFT) & MASK_32


@internal
@view
def _holder_of_claim(claim_id: uint256) -> address:
    """
    @notice The holder of the policy a claim was made on.
    @param claim_id The claim.
    @return address The policy holder.
    """
    return convert(self._policies[claim_id >> CLAIM_INDEX_BITS] & MASK_160, address)


@internal
@view
def _check_report(report: Report, claim_word: uint256, product_id: uint256) -> uint256:
    """
    @notice Checks a report against the claim and product it names; returns the claim's epoch key.
    @dev The report must name the claim's rules epoch (the one in force at submission: later
         changes never touch a claim, and signatures for another epoch do not count), a deadline
         not yet passed (signatures expire), and come before the claim turns stale (`closeStale`).
         The payout rules the off-chain assessment follows, enforced here: REJECT and REFER carry 0;
         APPROVE and PARTIAL carry at least 1 and at most the claimed amount less the deductible.
         The remaining coverage caps every payout when the claim resolves (`_resolve`).
    @param report The decision.
    @param claim_word The claim's packed word.
    @param product_id The claim's product.
    @return uint256 The claim's epoch key (productId | epoch << 32).
    """
    assert claim_word & MASK_8 == SUBMITTED, "oracle: claim not awaiting one"
    # signatures for another epoch, or too old, do not count
    epoch: uint256 = (claim_word >> CLAIM_PAYOUT_SHIFT) & MASK_32
    assert report.epoch == epoch, "oracle: report for another committee epoch"
    assert block.timestamp <= report.deadline, "oracle: report expired"
    rules: uint256 = self._product_rules[product_id]
    assert block.timestamp < ((claim_word >> CLAIM_TIME_SHIFT) & MASK_40) + ((rules >> RULES_TIMEOUT_SHIFT) & MASK_32) + STALE_AFTER, "oracle: claim is stale"
    key: uint256 = product_id | (epoch << EPOCH_KEY_SHIFT)
    assert report.evidenceRoot == self._evidence_roots[report.claimId], "oracle: evidence root mismatch"
    assert report.termsHash == self._product_terms_hash[product_id], "oracle: terms hash mismatch"
    assert self._model_approved[key][report.modelHash], "oracle: model not approved"
    assert report.decision >= APPROVE and report.decision <= REFER, "oracle: unknown decision"
    assert convert(report.confidence, uint256) <= MAX_BPS, "oracle: confidence over 10000"
    if report.decision == REJECT or report.decision == REFER:
        # a refusal pays nothing unless disputed; a referral goes to the adjuster's review (a person names the amount)
        assert report.payout == 0, "oracle: REJECT or REFER with a payout"
    else:
        assert report.payout > 0, "oracle: approval without payout"
        # never more than the claimant asked for, less the product's deductible
        deductible: uint256 = self._product_limits[product_id] >> 96
        claimed: uint256 = (claim_word >> CLAIM_CLAIMED_SHIFT) & MASK_96
        assert report.payout + deductible <= claimed, "oracle: payout above claimed less deductible"
    return key


@internal
@view
def _report_digest(report: Report) -> bytes32:
    """
    @notice EIP-712 typed-data hash of a report in this contract's domain.
    @param report The decision.
    @return bytes32 The digest to sign.
    """
    struct_hash: bytes32 = keccak256(
        abi_encode(
            REPORT_TYPEHASH, report.claimId, report.decision, report.payout, report.confidence,
            report.explanationHash, report.modelHash, report.evidenceRoot, report.termsHash, report.epoch,
            report.deadline,
        )
    )
    return eip712_domain_separator._hash_typed_data_v4(struct_hash)


@internal
def _record_decision(report: Report, claim_word: uint256, key: uint256, product_id: uint256):
    """
    @notice Records a quorum decision: pays a small confident approval at once while the product's
            instant payouts of the day stay within the daily cap of the claim's epoch, else opens the window.
    @param report The decision.
    @param claim_word The claim's packed word.
    @param key The claim's epoch key.
    @param product_id The claim's product.
    """
    terms: uint256 = self._epoch_rules[key]
    instant: bool = (
        (report.decision == APPROVE or report.decision == PARTIAL)
        and report.payout <= (terms >> EPOCH_INSTANT_SHIFT) & MASK_96
        and convert(report.confidence, uint256) >= (terms >> EPOCH_CONFIDENCE_SHIFT) & MASK_16
    )
    if instant:
        # the one path with no human in it: past the day's cap, a decision opens the window as usual
        budget: uint256 = self._instant_budget[product_id]
        today: uint256 = block.timestamp // DAY
        spent: uint256 = 0
        if (budget >> BUDGET_DAY_SHIFT) & MASK_40 == today:
            spent = budget >> BUDGET_SPENT_SHIFT
        if spent + report.payout > terms & MASK_96:
            instant = False
        else:
            self._instant_budget[product_id] = (today << BUDGET_DAY_SHIFT) | ((spent + report.payout) << BUDGET_SPENT_SHIFT)
    # keep claimed amount and flags; set decision, time and payout; status follows
    word: uint256 = claim_word & ((MASK_96 << CLAIM_CLAIMED_SHIFT) | (MASK_8 << CLAIM_FLAGS_SHIFT))
    word = word | (convert(report.decision, uint256) << CLAIM_DECISION_SHIFT) | (block.timestamp << CLAIM_TIME_SHIFT)
    word = word | (report.payout << CLAIM_PAYOUT_SHIFT)
    window_end: uint256 = 0
    if report.decision == REFER:
        # a person decides: the insurer's adjuster reviews it at the desk, before the product's review deadline
        self._claims[report.claimId] = word | REVIEW
    elif not instant:
        window_end = block.timestamp + ((self._product_rules[product_id] >> RULES_WINDOW_SHIFT) & MASK_32)
        self._claims[report.claimId] = word | DECIDED
    log ClaimDecided(
        claimId=report.claimId, decision=report.decision, payout=report.payout, confidence=report.confidence,
        explanationHash=report.explanationHash, modelHash=report.modelHash, instant=instant, windowEnds=window_end,
    )
    if instant:
        self._resolve(report.claimId, word, report.payout)


@internal
@view
def _check_window_over(claim_id: uint256, word: uint256):
    """
    @notice Reverts while a decided claim's dispute window is open.
    @param claim_id The claim.
    @param word The claim's packed word.
    """
    rules: uint256 = self._product_rules[self._product_of_claim(claim_id)]
    window_end: uint256 = ((word >> CLAIM_TIME_SHIFT) & MASK_40) + ((rules >> RULES_WINDOW_SHIFT) & MASK_32)
    assert block.timestamp >= window_end, "claims: window still open"


@internal
def _pay(claim_id: uint256, word: uint256, receiver: address):
    """
    @notice Pays a resolved claim's payout to `receiver`; only the holder may ask.
    @dev Marks the claim paid and takes the payout out of capital and locked before the transfer.
    @param claim_id The claim (resolved).
    @param word The claim's packed word.
    @param receiver Where the payout goes.
    """
    holder: address = self._holder_of_claim(claim_id)
    assert msg.sender == holder, "claims: not the policy holder"
    payout: uint256 = (word >> CLAIM_PAYOUT_SHIFT) & MASK_96
    assert payout > 0, "claims: no payout to withdraw"
    self._claims[claim_id] = (word & ~MASK_8) | PAID
    product_id: uint256 = self._product_of_claim(claim_id)
    # the payout leaves both capital and locked: (capital - payout) | (locked - payout) << 128
    self._product_funds[product_id] -= payout | (payout << 128)
    asset_transfer._send(self._product_asset[product_id], receiver, payout)
    log PayoutWithdrawn(claimId=claim_id, receiver=receiver, amount=payout)


@internal
def _resolve(claim_id: uint256, word: uint256, payout: uint256) -> uint256:
    """
    @notice Makes a claim final with `payout`, capped by the policy's remaining coverage.
    @dev The payout stays in the product's locked capital until the holder withdraws it.
    @param claim_id The claim.
    @param word The claim's packed word.
    @param payout The payout before the coverage cap.
    @return uint256 The claim's new packed word.
    """
    policy_id: uint256 = claim_id >> CLAIM_INDEX_BITS
    final_payout: uint256 = payout
    if final_payout > 0:
        remaining: uint256 = self._policy_coverage[policy_id]
        final_payout = min(final_payout, remaining)
        self._policy_coverage[policy_id] = remaining - final_payout
    new_word: uint256 = (word & ~MASK_8 & ~(MASK_96 << CLAIM_PAYOUT_SHIFT)) | RESOLVED | (final_payout << CLAIM_PAYOUT_SHIFT)
    self._claims[claim_id] = new_word
    self._policies[policy_id] -= 1 << POLICY_OPEN_SHIFT
    log ClaimResolved(claimId=claim_id, payout=final_payout)
    return new_word
