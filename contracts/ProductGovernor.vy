# pragma version ~=0.4.3
"""
@title Product governor
@custom:contract-name ProductGovernor
@license MIT
@notice Where insurers create products and change their adjustable rules (committee, approved
        models, instant-payout rules, sales). Checks every parameter and hands the packed result to
        its `ClaimsManager`, which stores what the claim path reads.
@dev A separate contract so that the manager keeps headroom under EIP-170: product creation and
     administration are rare, so the extra external call they cost (about 2,600 gas plus calldata)
     is paid only here, while submit, report and collect read the manager's own storage. One
     governor serves exactly one manager: the manager's constructor calls `bind` once.
"""


# ============================================================ INTERFACES

from interfaces import IClaimsManagerAdmin
from interfaces import IDisputeDesk
from interfaces import IProductGovernor

# @dev The manager calls `bind` from its constructor.
implements: IProductGovernor


# ============================================================ CONSTANTS

MAX_COMMITTEE: constant(uint256) = 16
MAX_MODELS: constant(uint256) = 8
MAX_EXTRA_DATA: constant(uint256) = 256
MAX_URI: constant(uint256) = 256
MAX_BPS: constant(uint256) = 10_000
MAX_AMOUNT: constant(uint256) = 2**96 - 1
# bounds a product must respect, so that a claimant always has a real chance to contest
MIN_DISPUTE_WINDOW: constant(uint256) = 86_400  # a day to read a decision and dispute it
MIN_ORACLE_TIMEOUT: constant(uint256) = 3_600  # an hour before a silent committee may be bypassed
MAX_DISPUTE_BOND: constant(uint256) = 10**18  # 1 ETH: a bond no claimant can pay is no remedy
MASK_8: constant(uint256) = 2**8 - 1
MASK_16: constant(uint256) = 2**16 - 1
MASK_32: constant(uint256) = 2**32 - 1

# rules word, as `ClaimsManager` reads it (see there): perils 0..15 | term 16..47 | window 48..79 |
# timeout 80..111; threshold, committee size, confidence, paused and instant limit are set by the manager
RULES_TERM_SHIFT: constant(uint256) = 16
RULES_WINDOW_SHIFT: constant(uint256) = 48
RULES_TIMEOUT_SHIFT: constant(uint256) = 80
RULES_OPEN_SHIFT: constant(uint256) = 248


# ============================================================ STRUCTS

struct ProductConfig:
    asset: address
    coverageLimit: uint256
    deductible: uint256
    premium: uint256
    term: uint256
    perils: uint256
    committee: DynArray[address, MAX_COMMITTEE]
    threshold: uint256
    models: DynArray[bytes32, MAX_MODELS]
    instantLimit: uint256
    minConfidence: uint256
    disputeWindow: uint256
    disputeBond: uint256
    arbitrator: address
    arbitratorExtraData: Bytes[MAX_EXTRA_DATA]
    oracleTimeout: uint256
    termsHash: bytes32
    metaEvidenceURI: String[MAX_URI]
    maxOpenClaims: uint256
    instantDailyCap: uint256


# ============================================================ STORAGE

manager: public(address)
desk: public(address)
insurerOf: public(HashMap[uint256, address])
_coverage_limit: HashMap[uint256, uint256]
_instant_daily_cap: HashMap[uint256, uint256]


# ============================================================ EXTERNAL

@external
def bind(desk: address):
    """
    @notice Makes the caller the manager this governor serves, and `desk` its dispute desk.
    @dev Callable once; `ClaimsManager.__init__` calls it. Anyone calling first only wastes a
         deployment: the manager's constructor then reverts, and deploy scripts check `manager()`.
    @param desk The dispute desk that holds each product's arbitration terms.
    """
    assert self.manager == empty(address), "products: governor already bound"
    self.manager = msg.sender
    self.desk = desk


@external
def createProduct(config: ProductConfig) -> uint256:
    """
    @notice Creates an insurance product owned by the caller.
    @dev Anyone may call it and becomes the product's insurer. Economic terms are immutable, the
         arbitrator and its extra data included: new terms mean a new product. Committee, approved
         models, instant-payout rules and the pause flag stay adjustable by the insurer.
         Reverts ("products: ...") on an amount or term out of range, a dispute window under a day,
         an oracle timeout under an hour, a dispute bond above 1 ETH, an arbitrator or token without
         code, a zero terms hash, no approved model, or (in the manager) a zero model hash or a bad
         committee (threshold outside 1..N, a zero or duplicate member). Moves no funds: capital
         comes with `ClaimsManager.depositCapital`. The manager emits `ProductCreated`,
         `CommitteeUpdated`, `ModelApprovalSet` and `InstantPayoutRulesSet`; the dispute desk
         stores the arbitration terms and emits the ERC-1497 `MetaEvidence`.
    @param config Every parameter of the product (see `ProductConfig`).
    @return uint256 The new product id.
    """
    assert config.coverageLimit > 0, "products: coverage limit is zero"
    assert config.coverageLimit <= MAX_AMOUNT, "products: coverage too large"
    assert config.deductible < config.coverageLimit, "products: deductible too large"
    assert config.premium <= MAX_AMOUNT, "products: premium too large"
    assert config.term > 0 and config.term <= MASK_32, "products: term out of range"
    assert config.perils > 0 and config.perils <= MASK_16, "products: bad perils mask"
    assert config.instantLimit <= config.coverageLimit, "products: instant over coverage"
    assert config.minConfidence <= MAX_BPS, "products: confidence over 10000"
    assert config.disputeWindow >= MIN_DISPUTE_WINDOW and config.disputeWindow <= MASK_32, "products: bad dispute window"
    assert config.oracleTimeout >= MIN_ORACLE_TIMEOUT and config.oracleTimeout <= MASK_32, "products: bad oracle timeout"
    assert config.disputeBond <= MAX_DISPUTE_BOND, "products: dispute bond too large"
    assert config.arbitrator.is_contract, "products: arbitrator has no code"
    assert config.asset == empty(address) or config.asset.is_contract, "products: asset has no code"
    assert config.termsHash != empty(bytes32), "products: terms hash is zero"
    assert len(config.models) > 0, "products: no approved model"
    assert config.maxOpenClaims > 0 and config.maxOpenClaims <= MASK_8, "products: bad open-claims limit"
    assert config.instantDailyCap <= MAX_AMOUNT, "products: daily cap too large"

    rules: uint256 = (
        config.perils
        | (config.term << RULES_TERM_SHIFT)
        | (config.disputeWindow << RULES_WINDOW_SHIFT)
        | (config.oracleTimeout << RULES_TIMEOUT_SHIFT)
        | (config.maxOpenClaims << RULES_OPEN_SHIFT)
    )
    product_id: uint256 = extcall IClaimsManagerAdmin(self.manager).registerProduct(
        msg.sender, config.asset, config.coverageLimit | (config.deductible << 96), config.premium,
        config.disputeBond, config.arbitrator, config.termsHash, rules, config.committee, config.threshold,
        config.models,
    )
    extcall IDisputeDesk(self.desk).registerProduct(
        product_id, config.arbitrator, config.arbitratorExtraData, config.disputeBond, config.metaEvidenceURI
    )
    self.insurerOf[product_id] = msg.sender
    self._coverage_limit[product_id] = config.coverageLimit
    self._instant_daily_cap[product_id] = config.instantDailyCap
    extcall IClaimsManagerAdmin(self.manager).updateInstantRules(
        product_id, config.instantLimit, config.minConfidence, config.instantDailyCap
    )
    return product_id


@external
def setPaused(product_id: uint256, paused: bool):
    """
    @notice Stops or resumes sales of new policies; existing policies and claims are unaffected.
    @dev Only the product's insurer. The manager emits `ProductPaused`.
    @param product_id The product.
    @param paused True to stop sales.
    """
    self._only_insurer(product_id)
    extcall IClaimsManagerAdmin(self.manager).updatePaused(product_id, paused)


@external
def setCommittee(product_id: uint256, members: DynArray[address, MAX_COMMITTEE], threshold: uint256):
    """
    @notice Replaces the oracle committee and its M-of-N threshold (e.g. to rotate a key).
    @dev Only the product's insurer. Starts a new committee epoch in the manager, so votes cast by
         the previous committee no longer count, and signed reports must carry the new members'
         signatures. Decisions already recorded stand. Reverts on a threshold outside 1..N or a
         zero or duplicate member.
    @param product_id The product.
    @param members The N distinct oracle signer addresses.
    @param threshold M, the number of matching signatures or votes a report needs.
    """
    self._only_insurer(product_id)
    extcall IClaimsManagerAdmin(self.manager).updateCommittee(product_id, members, threshold)


@external
def leaveCommittee(product_id: uint256):
    """
    @notice Takes the caller out of the product's oracle committee at once (e.g. its key is compromised).
    @dev Only a member, for itself: nobody else can remove a member at once. Starts a new committee
         epoch, so signatures and votes collected before it no longer count. The threshold stays,
         so the remaining members never need fewer signatures than the claimant was promised; if
         too few remain, claims go to the arbitrator by `escalate` after the oracle timeout.
         Reverts "products: not a committee member".
    @param product_id The product.
    """
    extcall IClaimsManagerAdmin(self.manager).removeMember(product_id, msg.sender)


@external
def setModelApproval(product_id: uint256, model_hash: bytes32, approved: bool):
    """
    @notice Approves or withdraws approval of a damage model (by its sha256) for reports.
    @dev Only the product's insurer; reverts on a zero hash. Applies to reports recorded from now
         on: decisions already recorded stand. Withdrawing every model stops new decisions (claims
         can then only be escalated).
    @param product_id The product.
    @param model_hash The model hash reports must carry.
    @param approved True to approve.
    """
    self._only_insurer(product_id)
    assert model_hash != empty(bytes32), "products: model hash is zero"
    extcall IClaimsManagerAdmin(self.manager).updateModel(product_id, model_hash, approved)


@external
def setInstantPayoutRules(
    product_id: uint256, instant_limit: uint256, min_confidence: uint256, daily_cap: uint256 = max_value(uint256)
):
    """
    @notice Sets the largest approval paid without a dispute window, the confidence it needs and,
            optionally, the most paid that way per UTC day (left out: unchanged).
    @dev Only the product's insurer. Reverts when `instant_limit` exceeds the coverage limit,
         `min_confidence` exceeds 10000 or the cap is over 2**96 - 1. Applies to decisions
         recorded from now on.
    @param product_id The product.
    @param instant_limit Largest instant payout in base units (0 disables instant payouts).
    @param min_confidence Minimum oracle confidence in basis points.
    @param daily_cap Most paid instantly per UTC day across the product's claims.
    """
    self._only_insurer(product_id)
    assert instant_limit <= self._coverage_limit[product_id], "products: instant over coverage"
    assert min_confidence <= MAX_BPS, "products: confidence over 10000"
    cap: uint256 = daily_cap
    if cap == max_value(uint256):
        cap = self._instant_daily_cap[product_id]
    assert cap <= MAX_AMOUNT, "products: daily cap too large"
    self._instant_daily_cap[product_id] = cap
    extcall IClaimsManagerAdmin(self.manager).updateInstantRules(product_id, instant_limit, min_confidence, cap)


# ============================================================ INTERNAL

@internal
@view
def _only_insurer(product_id: uint256):
    """
    @notice Reverts unless the caller is the product's insurer.
    @param product_id The product.
    """
    assert self.insurerOf[product_id] == msg.sender, "products: not the insurer"
