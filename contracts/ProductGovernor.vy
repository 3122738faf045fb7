# pragma version ~=0.4.3
"""
@title Product governor
@custom:contract-name ProductGovernor
@license MIT
@notice Where insurers create products and change their adjustable rules (committee and threshold,
        approved models, instant-payout rules, sales). A change of the rules that govern sold
        policies is announced first and applies only after the product's change delay, which is
        longer than the longest path a claim can take; meanwhile holders who do not accept it may
        cancel their policies for a pro-rata refund (`ClaimsManager.cancelPolicy`).
@dev A separate contract so that the manager keeps headroom under EIP-170: product creation and
     administration are rare, so the extra external call they cost (about 2,600 gas plus calldata)
     is paid only here, while submit, report and collect read the manager's own storage. One
     governor serves exactly one manager: the manager's constructor calls `bind` once.
     Rules epochs: the committee, threshold, models and instant rules form one set, numbered from 1
     at creation; `applyChange` hands the next set to the manager, which judges every claim under
     the set in force at its submission. Only one change is pending at a time and a change applies
     no earlier than its delay after its (last) announcement, so epochs start at least one delay
     apart; the manager relies on that when a member leaves (see `ClaimsManager.removeMember`).
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
# @dev Vehicle classes a product may price, in the order of its terms' cost schedule; each class's premium is the
#      base premium times its factor in basis points (20 bits: at most 104.8575 times the base premium).
MAX_CLASSES: constant(uint256) = 8
MAX_CLASS_FACTOR: constant(uint256) = 2**20 - 1
# premium word, as `ClaimsManager` reads it: base premium 0..95 | factor of class k at 96 + 20k
PREMIUM_FACTOR_SHIFT: constant(uint256) = 96
PREMIUM_FACTOR_BITS: constant(uint256) = 20
# bounds a product must respect, so that a claimant always has a real chance to contest
MIN_DISPUTE_WINDOW: constant(uint256) = 86_400  # a day to read a decision and dispute it
MIN_ORACLE_TIMEOUT: constant(uint256) = 3_600  # an hour before a silent committee may be bypassed
MAX_DISPUTE_BOND: constant(uint256) = 10**18  # 1 ETH: a bond no claimant can pay is no remedy
MASK_8: constant(uint256) = 2**8 - 1
MASK_16: constant(uint256) = 2**16 - 1
MASK_32: constant(uint256) = 2**32 - 1
DAY: constant(uint256) = 86_400
# @dev Bounds of the time the insurer's adjuster has to review a REFER (`DisputeDesk.proposePayout`); the change
#      delay counts the upper bound.
MIN_REVIEW_DEADLINE: constant(uint256) = 3_600
MAX_REVIEW_DEADLINE: constant(uint256) = 14 * DAY
# the desk's review word: adjuster 0..159 | review deadline 160..
REVIEW_DEADLINE_SHIFT: constant(uint256) = 160
# @dev Added to the longest path of a claim, so that a change never lands in the block a path ends in.
CHANGE_MARGIN: constant(uint256) = DAY
# per-epoch records are keyed by productId | epoch << 32, as in the manager
EPOCH_KEY_SHIFT: constant(uint256) = 32

# rules word, as `ClaimsManager` reads it (see there): perils 0..15 | term 16..47 | window 48..79 |
# timeout 80..111; threshold, committee size, confidence, paused and instant limit are set by the manager
RULES_TERM_SHIFT: constant(uint256) = 16
RULES_WINDOW_SHIFT: constant(uint256) = 48
RULES_TIMEOUT_SHIFT: constant(uint256) = 80
RULES_OPEN_SHIFT: constant(uint256) = 248


# ============================================================ STRUCTS

struct RuleSet:
    members: DynArray[address, MAX_COMMITTEE]
    threshold: uint256
    models: DynArray[bytes32, MAX_MODELS]
    instantLimit: uint256
    minConfidence: uint256
    dailyCap: uint256

struct ProductConfig:
    asset: address
    coverageLimit: uint256
    deductible: uint256
    premium: uint256
    classFactors: DynArray[uint256, MAX_CLASSES]
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
    adjuster: address
    reviewDeadline: uint256


# ============================================================ STORAGE

manager: public(address)
desk: public(address)
insurerOf: public(HashMap[uint256, address])
_coverage_limit: HashMap[uint256, uint256]

# @dev How long a change waits between its announcement and `applyChange`, fixed at creation.
changeDelay: public(HashMap[uint256, uint256])
# @dev The product's current rules epoch (as the manager's `committeeEpoch`).
currentEpoch: public(HashMap[uint256, uint256])
# @dev When the pending change may be applied; 0 when none is pending.
changeEffectiveAt: public(HashMap[uint256, uint256])
_pending: HashMap[uint256, RuleSet]
# the rule set of each epoch, keyed by productId | epoch << 32 (members who left removed)
_rules: HashMap[uint256, RuleSet]


# ============================================================ EVENTS

event RulesChangeAnnounced:
    productId: indexed(uint256)
    members: DynArray[address, MAX_COMMITTEE]
    threshold: uint256
    models: DynArray[bytes32, MAX_MODELS]
    instantLimit: uint256
    minConfidence: uint256
    dailyCap: uint256
    effectiveAt: uint256

event RulesChangeCancelled:
    productId: indexed(uint256)

event RulesApplied:
    productId: indexed(uint256)
    epoch: indexed(uint256)
    members: DynArray[address, MAX_COMMITTEE]
    threshold: uint256
    models: DynArray[bytes32, MAX_MODELS]
    instantLimit: uint256
    minConfidence: uint256
    dailyCap: uint256

event MemberLeft:
    productId: indexed(uint256)
    member: indexed(address)
    epoch: uint256


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
         arbitrator and its extra data included: new terms mean a new product. So is the price of
         each vehicle class: `classFactors[k]` is the premium of the terms' k-th cost-schedule
         class in basis points of the base `premium` (a holder declares its class when buying and
         pays that class's premium; a dearer class costs more). Committee, approved
         models and instant-payout rules change only by an announced change (`setCommittee`,
         `setModelApproval`, `setInstantPayoutRules`, then `applyChange`); the pause flag at once.
         The change delay is fixed here: oracle timeout + `MAX_REVIEW_DEADLINE` + dispute window +
         the desk's `DISPUTE_TIMEOUT` + `CHANGE_MARGIN`, longer than any claim's path.
         Reverts ("products: ...") on an amount or term out of range, a dispute window under a day,
         an oracle timeout under an hour, no vehicle class or a class factor outside 1..2**20 - 1, a review deadline outside an hour..14 days (the adjuster, zero for
         the insurer itself, reviews REFERs; see `DisputeDesk`), a dispute bond above 1 ETH, an arbitrator or token without
         code, a zero terms hash, no approved model, a zero model hash or a bad committee
         (threshold outside 1..N, a zero or duplicate member). Moves no funds: capital comes with
         `ClaimsManager.depositCapital`. Emits `RulesApplied` for epoch 1; the manager emits
         `ProductCreated` and the dispute desk the ERC-1497 `MetaEvidence`.
    @param config Every parameter of the product (see `ProductConfig`).
    @return uint256 The new product id.
    """
    assert config.coverageLimit > 0, "products: coverage limit is zero"
    assert config.coverageLimit <= MAX_AMOUNT, "products: coverage too large"
    assert config.deductible < config.coverageLimit, "products: deductible too large"
    assert config.premium <= MAX_AMOUNT, "products: premium too large"
    assert len(config.classFactors) > 0, "products: no vehicle class"
    premium: uint256 = config.premium
    offset: uint256 = PREMIUM_FACTOR_SHIFT
    for factor: uint256 in config.classFactors:
        assert factor > 0 and factor <= MAX_CLASS_FACTOR, "products: bad class factor"
        premium = premium | (factor << offset)
        offset += PREMIUM_FACTOR_BITS
    assert config.term > 0 and config.term <= MASK_32, "products: term out of range"
    assert config.perils > 0 and config.perils <= MASK_16, "products: bad perils mask"
    assert config.disputeWindow >= MIN_DISPUTE_WINDOW and config.disputeWindow <= MASK_32, "products: bad dispute window"
    assert config.oracleTimeout >= MIN_ORACLE_TIMEOUT and config.oracleTimeout <= MASK_32, "products: bad oracle timeout"
    assert config.disputeBond <= MAX_DISPUTE_BOND, "products: dispute bond too large"
    assert config.arbitrator.is_contract, "products: arbitrator has no code"
    assert config.asset == empty(address) or config.asset.is_contract, "products: asset has no code"
    assert config.termsHash != empty(bytes32), "products: terms hash is zero"
    assert len(config.models) > 0, "products: no approved model"
    assert config.maxOpenClaims > 0 and config.maxOpenClaims <= MASK_8, "products: bad open-claims limit"
    assert (
        config.reviewDeadline >= MIN_REVIEW_DEADLINE and config.reviewDeadline <= MAX_REVIEW_DEADLINE
    ), "products: bad review deadline"

    rules: uint256 = (
        config.perils
        | (config.term << RULES_TERM_SHIFT)
        | (config.disputeWindow << RULES_WINDOW_SHIFT)
        | (config.oracleTimeout << RULES_TIMEOUT_SHIFT)
        | (config.maxOpenClaims << RULES_OPEN_SHIFT)
    )
    product_id: uint256 = extcall IClaimsManagerAdmin(self.manager).registerProduct(
        msg.sender, config.asset, config.coverageLimit | (config.deductible << 96), premium,
        config.disputeBond, config.arbitrator, config.termsHash, rules,
    )
    extcall IDisputeDesk(self.desk).registerProduct(
        product_id, msg.sender, config.arbitrator, config.arbitratorExtraData, config.disputeBond,
        convert(config.adjuster, uint256) | (config.reviewDeadline << REVIEW_DEADLINE_SHIFT), config.metaEvidenceURI,
    )
    self.insurerOf[product_id] = msg.sender
    self._coverage_limit[product_id] = config.coverageLimit
    self.changeDelay[product_id] = (
        config.oracleTimeout + MAX_REVIEW_DEADLINE + config.disputeWindow
        + staticcall IDisputeDesk(self.desk).DISPUTE_TIMEOUT() + CHANGE_MARGIN
    )
    first: RuleSet = RuleSet(
        members=config.committee, threshold=config.threshold, models=config.models,
        instantLimit=config.instantLimit, minConfidence=config.minConfidence, dailyCap=config.instantDailyCap,
    )
    self._check_rules(product_id, first)
    self._apply(product_id, first)
    return product_id


@external
def setPaused(product_id: uint256, paused: bool):
    """
    @notice Stops or resumes sales of new policies at once; existing policies and claims are unaffected.
    @dev Only the product's insurer. The manager emits `ProductPaused`.
    @param product_id The product.
    @param paused True to stop sales.
    """
    self._only_insurer(product_id)
    extcall IClaimsManagerAdmin(self.manager).updatePaused(product_id, paused)


@external
def setCommittee(product_id: uint256, members: DynArray[address, MAX_COMMITTEE], threshold: uint256):
    """
    @notice Announces a new oracle committee and M-of-N threshold, which applies after the change delay.
    @dev Only the product's insurer. Amends the pending change if there is one (its other rules
         stay) and restarts the delay; claims submitted before the change applies keep their
         committee. Reverts on a threshold outside 1..N or a zero or duplicate member. Emits
         `RulesChangeAnnounced` with the full pending rule set and its effective time.
    @param product_id The product.
    @param members The N distinct oracle signer addresses.
    @param threshold M, the number of matching signatures or votes a report needs.
    """
    draft: RuleSet = self._draft(product_id)
    draft.members = members
    draft.threshold = threshold
    self._announce(product_id, draft)


@external
def setModelApproval(product_id: uint256, model_hash: bytes32, approved: bool):
    """
    @notice Announces approving or withdrawing a damage model (by its sha256), which applies after the change delay.
    @dev Only the product's insurer. Amends the pending change if there is one and restarts the
         delay. Reverts on a zero hash, an approval already in that state, or a ninth model.
         Withdrawing every model stops decisions on claims of the new epoch (they can then only be
         escalated). Emits `RulesChangeAnnounced`.
    @param product_id The product.
    @param model_hash The model hash reports must carry.
    @param approved True to approve.
    """
    assert model_hash != empty(bytes32), "products: model hash is zero"
    draft: RuleSet = self._draft(product_id)
    assert (model_hash in draft.models) != approved, "products: model approval unchanged"
    if approved:
        assert len(draft.models) < MAX_MODELS, "products: too many models"
        draft.models.append(model_hash)
    else:
        kept: DynArray[bytes32, MAX_MODELS] = []
        for model: bytes32 in draft.models:
            if model != model_hash:
                kept.append(model)
        draft.models = kept
    self._announce(product_id, draft)


@external
def setInstantPayoutRules(
    product_id: uint256, instant_limit: uint256, min_confidence: uint256, daily_cap: uint256 = max_value(uint256)
):
    """
    @notice Announces the largest approval paid without a dispute window, the confidence it needs
            and, optionally, the most paid that way per UTC day (left out: unchanged); they apply
            after the change delay.
    @dev Only the product's insurer. Amends the pending change if there is one and restarts the
         delay. Reverts when `instant_limit` exceeds the coverage limit, `min_confidence` exceeds
         10000 or the cap is over 2**96 - 1. Emits `RulesChangeAnnounced`.
    @param product_id The product.
    @param instant_limit Largest instant payout in base units (0 disables instant payouts).
    @param min_confidence Minimum oracle confidence in basis points.
    @param daily_cap Most paid instantly per UTC day across the product's claims.
    """
    draft: RuleSet = self._draft(product_id)
    draft.instantLimit = instant_limit
    draft.minConfidence = min_confidence
    if daily_cap != max_value(uint256):
        draft.dailyCap = daily_cap
    self._announce(product_id, draft)


@external
def cancelChange(product_id: uint256):
    """
    @notice Withdraws the pending change; the rules in force stay.
    @dev Only the product's insurer. Reverts "products: no change pending". Emits `RulesChangeCancelled`.
    @param product_id The product.
    """
    self._only_insurer(product_id)
    assert self.changeEffectiveAt[product_id] != 0, "products: no change pending"
    self.changeEffectiveAt[product_id] = 0
    self._pending[product_id] = empty(RuleSet)
    log RulesChangeCancelled(productId=product_id)


@external
def applyChange(product_id: uint256):
    """
    @notice Applies the pending change once its delay is over, starting the product's next rules epoch; callable by anyone.
    @dev Reverts "products: no change pending" or "products: change delay not over". Claims
         submitted from the next block on are judged under the new rules; earlier claims keep
         theirs. Emits `RulesApplied`.
    @param product_id The product.
    """
    effective_at: uint256 = self.changeEffectiveAt[product_id]
    assert effective_at != 0, "products: no change pending"
    assert block.timestamp >= effective_at, "products: change delay not over"
    self.changeEffectiveAt[product_id] = 0
    self._apply(product_id, self._pending[product_id])
    self._pending[product_id] = empty(RuleSet)


@external
def leaveCommittee(product_id: uint256):
    """
    @notice Takes the caller out of the product's oracle committee at once (e.g. its key is compromised).
    @dev Only a member, for itself: nobody else can remove a member at once. It leaves the current
         and the previous epoch, so its signatures and votes stop counting on every claim still
         awaiting the oracle (votes cast on those epochs' claims before it left are void, and the
         others vote again), and the pending change, if it names it. Each threshold stays, so the
         remaining members never need fewer signatures than the claimant was promised; if too few
         remain, the claims go to the arbitrator by `escalate` after the oracle timeout. Reverts
         "products: not a committee member". Emits `MemberLeft` per epoch it left.
    @param product_id The product.
    """
    found: bool = extcall IClaimsManagerAdmin(self.manager).removeMember(product_id, msg.sender)
    epoch: uint256 = self.currentEpoch[product_id]
    for age: uint256 in range(2):
        if epoch > age:
            key: uint256 = product_id | ((epoch - age) << EPOCH_KEY_SHIFT)
            members: DynArray[address, MAX_COMMITTEE] = self._rules[key].members
            if msg.sender in members:
                self._rules[key].members = self._without(members, msg.sender)
                log MemberLeft(productId=product_id, member=msg.sender, epoch=epoch - age)
    if self.changeEffectiveAt[product_id] != 0 and msg.sender in self._pending[product_id].members:
        found = True
        self._pending[product_id].members = self._without(self._pending[product_id].members, msg.sender)
    assert found, "products: not a committee member"


# ============================================================ VIEWS

@external
@view
def changePending(product_id: uint256) -> bool:
    """
    @notice Whether the product has an announced change not yet applied or cancelled (holders may then cancel).
    @param product_id The product.
    @return bool True while a change is pending.
    """
    return self.changeEffectiveAt[product_id] != 0


@external
@view
def pendingRules(product_id: uint256) -> RuleSet:
    """
    @notice The rule set the pending change would apply (zeroed when none is pending; see `changeEffectiveAt`).
    @param product_id The product.
    @return RuleSet The announced rules.
    """
    return self._pending[product_id]


@external
@view
def rulesAt(product_id: uint256, epoch: uint256) -> RuleSet:
    """
    @notice The rule set of a rules epoch (`currentEpoch` for the one in force, a claim's `epoch` for its own).
    @dev Members who left are no longer listed.
    @param product_id The product.
    @param epoch The rules epoch.
    @return RuleSet The epoch's rules.
    """
    return self._rules[product_id | (epoch << EPOCH_KEY_SHIFT)]


@external
@view
def committee(product_id: uint256, epoch: uint256) -> DynArray[address, MAX_COMMITTEE]:
    """
    @notice The oracle committee whose signatures count for claims of a rules epoch.
    @param product_id The product.
    @param epoch The rules epoch.
    @return DynArray The member addresses, without those who left.
    """
    return self._rules[product_id | (epoch << EPOCH_KEY_SHIFT)].members


# ============================================================ INTERNAL

@internal
@view
def _only_insurer(product_id: uint256):
    """
    @notice Reverts unless the caller is the product's insurer.
    @param product_id The product.
    """
    assert self.insurerOf[product_id] == msg.sender, "products: not the insurer"


@internal
@view
def _draft(product_id: uint256) -> RuleSet:
    """
    @notice The rule set a new announcement starts from: the pending one, else the one in force; insurer only.
    @param product_id The product.
    @return RuleSet The draft.
    """
    self._only_insurer(product_id)
    if self.changeEffectiveAt[product_id] != 0:
        return self._pending[product_id]
    return self._rules[product_id | (self.currentEpoch[product_id] << EPOCH_KEY_SHIFT)]


@internal
@view
def _check_rules(product_id: uint256, rules: RuleSet):
    """
    @notice Reverts ("products: ...") on a bad committee, a zero model hash or instant rules out of range.
    @param product_id The product.
    @param rules The rule set.
    """
    assert rules.threshold > 0 and rules.threshold <= len(rules.members), "products: bad threshold"
    for i: uint256 in range(len(rules.members), bound=MAX_COMMITTEE):
        assert rules.members[i] != empty(address), "products: zero member"
        for j: uint256 in range(i, bound=MAX_COMMITTEE):
            assert rules.members[j] != rules.members[i], "products: duplicate member"
    for model: bytes32 in rules.models:
        assert model != empty(bytes32), "products: model hash is zero"
    assert rules.instantLimit <= self._coverage_limit[product_id], "products: instant over coverage"
    assert rules.minConfidence <= MAX_BPS, "products: confidence over 10000"
    assert rules.dailyCap <= MAX_AMOUNT, "products: daily cap too large"


@internal
def _announce(product_id: uint256, rules: RuleSet):
    """
    @notice Checks `rules` and makes it the pending change, effective one change delay from now.
    @param product_id The product.
    @param rules The full rule set to apply.
    """
    self._check_rules(product_id, rules)
    effective_at: uint256 = block.timestamp + self.changeDelay[product_id]
    self._pending[product_id] = rules
    self.changeEffectiveAt[product_id] = effective_at
    log RulesChangeAnnounced(
        productId=product_id, members=rules.members, threshold=rules.threshold, models=rules.models,
        instantLimit=rules.instantLimit, minConfidence=rules.minConfidence, dailyCap=rules.dailyCap,
        effectiveAt=effective_at,
    )


@internal
def _apply(product_id: uint256, rules: RuleSet):
    """
    @notice Starts the product's next rules epoch with `rules`, here and in the manager.
    @param product_id The product.
    @param rules The checked rule set.
    """
    epoch: uint256 = self.currentEpoch[product_id] + 1
    self.currentEpoch[product_id] = epoch
    self._rules[product_id | (epoch << EPOCH_KEY_SHIFT)] = rules
    extcall IClaimsManagerAdmin(self.manager).applyRules(
        product_id, rules.members, rules.threshold, rules.models, rules.instantLimit, rules.minConfidence,
        rules.dailyCap,
    )
    log RulesApplied(
        productId=product_id, epoch=epoch, members=rules.members, threshold=rules.threshold, models=rules.models,
        instantLimit=rules.instantLimit, minConfidence=rules.minConfidence, dailyCap=rules.dailyCap,
    )


@internal
@pure
def _without(members: DynArray[address, MAX_COMMITTEE], member: address) -> DynArray[address, MAX_COMMITTEE]:
    """
    @notice `members` without `member`, in the same order.
    @param members The list.
    @param member The address to drop.
    @return DynArray The remaining members.
    """
    kept: DynArray[address, MAX_COMMITTEE] = []
    for other: address in members:
        if other != member:
            kept.append(other)
    return kept
