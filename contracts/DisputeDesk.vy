# pragma version ~=0.4.3
"""
@title Dispute desk
@custom:contract-name DisputeDesk
@license MIT
@notice The ERC-792 arbitrable party of the claims: takes disputes and escalations to a product's
        arbitrator, holds the dispute bonds, receives the ruling and credits the bond to its winner.
        Publishes the ERC-1497 `MetaEvidence` (per product), `Evidence` and `Dispute` events.
@dev A separate contract so that `ClaimsManager` keeps headroom under EIP-170; the common claim
     path (submit, report, finalize, withdraw) never calls it. The claim's status lives in the
     manager: `dispute` and `escalate` ask the manager to mark the claim disputed (it checks the
     status, the window or timeout and the caller) before the arbitrator is called, and `rule`
     asks it to settle the claim. Each crossing costs one external call (about 5,000 gas with
     calldata). One desk serves exactly one manager: the manager's constructor calls `bind`.
     Holds ETH only: bonds of open disputes and credits (bonds won, overpayments).
"""


# ============================================================ INTERFACES

from interfaces import IArbitrator
from interfaces import IArbitrable
from interfaces import IClaimsManagerDisputes
from interfaces import IDisputeDesk

# @dev The arbitrable party of ERC-792 disputes about claims.
implements: IArbitrable

# @dev The manager binds the desk; the governor registers each product's arbitration terms.
implements: IDisputeDesk


# ============================================================ CONSTANTS

MAX_EXTRA_DATA: constant(uint256) = 256
MAX_URI: constant(uint256) = 256

# ERC-792 rulings, numbered so that any arbitrator (Kleros included) can give them; the desk maps them to payouts:
# 0 no ruling (the decision on record stands; a claim with none pays as ruling 2); 1 the insurer's side (the amount
# the oracle or the adjuster assessed, 0 if none); 2 the claimant's side (its counter-offer, else the claimed amount
# less the deductible); 3 no payout
RULING_REFUSED: constant(uint256) = 0
RULING_ASSESSED: constant(uint256) = 1
RULING_CLAIMANT: constant(uint256) = 2
RULING_NOTHING: constant(uint256) = 3
RULING_OPTIONS: constant(uint256) = 3

# A dispute the arbitrator has not ruled on this long after it opened may be closed by anyone, with the
# default ruling 0 (the decision on record stands; a claim without one pays the claimant's side) and the bond
# back to whoever posted it. Longer than the panel's own ruling period (14 days).
DISPUTE_TIMEOUT: public(constant(uint256)) = 30 * 86_400

# per-claim dispute word: disputer 0..159 | opened at 160..199 | escalated 200 | closed by timeout 201 |
# referred by a review 202
OPENED_SHIFT: constant(uint256) = 160
ESCALATED_BIT: constant(uint256) = 1 << 200
TIMED_OUT_BIT: constant(uint256) = 1 << 201
REFERRED_BIT: constant(uint256) = 1 << 202
MASK_8: constant(uint256) = 2**8 - 1
MASK_32: constant(uint256) = 2**32 - 1
MASK_40: constant(uint256) = 2**40 - 1
MASK_96: constant(uint256) = 2**96 - 1
MASK_160: constant(uint256) = 2**160 - 1
# per-product review word: adjuster 0..159 | review deadline in seconds 160..
REVIEW_DEADLINE_SHIFT: constant(uint256) = 160

# the manager's claim word and product rules word (see `ClaimsManager`), as far as the desk reads and writes them
SUBMITTED: constant(uint256) = 1
DECIDED: constant(uint256) = 2
DISPUTED: constant(uint256) = 3
REVIEW: constant(uint256) = 6
CLAIM_TIME_SHIFT: constant(uint256) = 16
CLAIM_CLAIMED_SHIFT: constant(uint256) = 56
CLAIM_PAYOUT_SHIFT: constant(uint256) = 152
CLAIM_FLAGS_SHIFT: constant(uint256) = 248
FLAG_ESCALATED: constant(uint256) = 1
FLAG_INSURER_DISPUTED: constant(uint256) = 2
FLAG_REFERRED: constant(uint256) = 4
RULES_WINDOW_SHIFT: constant(uint256) = 48
RULES_TIMEOUT_SHIFT: constant(uint256) = 80


# ============================================================ STRUCTS

# @dev What the desk reads of a claim from the manager (`ClaimsManager.claimRecord`).
struct ClaimRecord:
    word: uint256
    rules: uint256
    deductible: uint256
    holder: address
    insurer: address
    product_id: uint256


# ============================================================ STORAGE

manager: public(address)
governor: public(address)

# per product: the arbitration and review terms, fixed at creation
_product_arbitrator: HashMap[uint256, address]
_product_extra_data: HashMap[uint256, Bytes[MAX_EXTRA_DATA]]
_product_bond: HashMap[uint256, uint256]
_product_insurer: HashMap[uint256, address]
_product_review: HashMap[uint256, uint256]  # see the review word above

# @dev ETH a product's insurer holds here for arbitration fees (its share when a claimant disputes, the whole
#      fee of a REFER it sends or lets go to the arbitrator); only the insurer withdraws it.
arbitrationReserve: public(HashMap[uint256, uint256])
totalReserves: public(uint256)
# @dev Per claim the claimant took to the arbitrator: the fee taken from the reserve to match the claimant's,
#      which reimburses the claimant if the ruling does not go against it, else returns to the reserve.
heldFee: public(HashMap[uint256, uint256])
heldFees: public(uint256)
# @dev The amount a disputing claimant recorded as its side (ruling 2); 0 for none (the claimed amount less the deductible).
counterOffer: public(HashMap[uint256, uint256])

# per claim: who disputed and the arbitrator's dispute id
_claim_dispute: HashMap[uint256, uint256]  # see the dispute word above
_claim_dispute_id: HashMap[uint256, uint256]
_dispute_claim: HashMap[address, HashMap[uint256, uint256]]  # arbitrator => disputeId => claimId

# ETH owed to accounts (dispute bonds won, fees reimbursed, overpayments)
credits: public(HashMap[address, uint256])
totalCredits: public(uint256)
heldBonds: public(uint256)


# ============================================================ EVENTS

event ClaimDisputed:
    claimId: indexed(uint256)
    disputer: indexed(address)
    disputeId: indexed(uint256)
    bond: uint256
    arbitrationFee: uint256
    counterOffer: uint256

event ClaimEscalated:
    claimId: indexed(uint256)
    caller: indexed(address)
    disputeId: indexed(uint256)
    arbitrationFee: uint256

event ReviewProposed:
    claimId: indexed(uint256)
    adjuster: indexed(address)
    payout: uint256
    windowEnds: uint256

event ClaimReferred:
    claimId: indexed(uint256)
    caller: indexed(address)
    disputeId: indexed(uint256)
    arbitrationFee: uint256

event ArbitrationDefaulted:
    claimId: indexed(uint256)
    payout: uint256

event ClaimRuled:
    claimId: indexed(uint256)
    ruling: uint256
    bondReceiver: address

event DisputeTimedOut:
    claimId: indexed(uint256)
    disputeId: indexed(uint256)
    ruling: uint256
    bondReturnedTo: address

event LateRulingIgnored:
    claimId: indexed(uint256)
    arbitrator: indexed(address)
    disputeId: indexed(uint256)
    ruling: uint256

event ReserveFunded:
    productId: indexed(uint256)
    sender: indexed(address)
    amount: uint256

event ReserveWithdrawn:
    productId: indexed(uint256)
    receiver: indexed(address)
    amount: uint256

event CreditWithdrawn:
    account: indexed(address)
    amount: uint256

# ERC-1497
event MetaEvidence:
    _metaEvidenceID: indexed(uint256)
    _evidence: String[MAX_URI]

event Evidence:
    _arbitrator: indexed(address)
    _evidenceGroupID: indexed(uint256)
    _party: indexed(address)
    _evidence: String[MAX_URI]

event Dispute:
    _arbitrator: indexed(address)
    _disputeID: indexed(uint256)
    _metaEvidenceID: uint256
    _evidenceGroupID: uint256


# ============================================================ SETUP (manager, governor)

@external
def bind(governor: address):
    """
    @notice Makes the caller the manager this desk serves, and `governor` its product governor.
    @dev Callable once; `ClaimsManager.__init__` calls it. Anyone calling first only wastes a
         deployment: the manager's constructor then reverts.
    @param governor The governor that registers products.
    """
    assert self.manager == empty(address), "disputes: desk already bound"
    self.manager = msg.sender
    self.governor = governor


@external
def registerProduct(
    product_id: uint256,
    insurer: address,
    arbitrator: address,
    extra_data: Bytes[MAX_EXTRA_DATA],
    bond: uint256,
    review: uint256,
    meta_evidence_uri: String[MAX_URI],
):
    """
    @notice Stores a new product's arbitration and review terms and publishes its ERC-1497 `MetaEvidence`.
    @dev Only the governor, from `ProductGovernor.createProduct`, which has checked the review deadline.
    @param product_id The product (also the MetaEvidence id).
    @param insurer The product's owner, who funds and withdraws its arbitration reserve.
    @param arbitrator The ERC-792 arbitrator.
    @param extra_data The arbitrator's extra data.
    @param bond The dispute bond in wei.
    @param review The adjuster (zero: the insurer) | the review deadline in seconds << 160.
    @param meta_evidence_uri The MetaEvidence URI.
    """
    assert msg.sender == self.governor, "disputes: not the governor"
    self._product_insurer[product_id] = insurer
    self._product_arbitrator[product_id] = arbitrator
    self._product_extra_data[product_id] = extra_data
    self._product_bond[product_id] = bond
    self._product_review[product_id] = review
    log MetaEvidence(_metaEvidenceID=product_id, _evidence=meta_evidence_uri)


# ============================================================ ARBITRATION RESERVE

@external
@payable
def fundArbitration(product_id: uint256):
    """
    @notice Adds ETH to a product's arbitration reserve; anyone may fund it, only the insurer withdraws.
    @dev Reverts on an unknown product or no ETH.
    @param product_id The product.
    """
    assert self._product_insurer[product_id] != empty(address), "claims: unknown product"
    assert msg.value > 0, "claims: amount is zero"
    self.arbitrationReserve[product_id] += msg.value
    self.totalReserves += msg.value
    log ReserveFunded(productId=product_id, sender=msg.sender, amount=msg.value)


@external
@nonreentrant
def withdrawArbitrationReserve(product_id: uint256, amount: uint256, receiver: address):
    """
    @notice Withdraws ETH from a product's arbitration reserve (fees held for open disputes stay).
    @dev Only the product's insurer. An insurer whose reserve cannot pay its share of a fee loses that claim by
         default (see `dispute`), so withdrawing only ever hurts the insurer. Books before sending; non-reentrant.
    @param product_id The product.
    @param amount Wei.
    @param receiver Where the ETH goes.
    """
    assert msg.sender == self._product_insurer[product_id], "claims: not the insurer"
    assert receiver != empty(address), "claims: receiver is zero"
    assert amount <= self.arbitrationReserve[product_id], "claims: exceeds the arbitration reserve"
    self.arbitrationReserve[product_id] -= amount
    self.totalReserves -= amount
    raw_call(receiver, b"", value=amount)
    log ReserveWithdrawn(productId=product_id, receiver=receiver, amount=amount)


# ============================================================ DISPUTES

@external
@payable
@nonreentrant
def dispute(claim_id: uint256):
    """
    @notice Contests a recorded decision within its window, before the product's arbitrator.
    @dev As `disputeWithOffer` with no counter-offer (ruling 2 then pays the claimed amount less the deductible).
    @param claim_id The claim.
    """
    self._dispute(claim_id, 0, msg.value)


@external
@payable
@nonreentrant
def disputeWithOffer(claim_id: uint256, counter_offer: uint256):
    """
    @notice Contests a recorded decision within its window, recording the claimant's own number for ruling 2.
    @dev The caller (claimant or insurer) pays the dispute bond plus the arbitration fee (`disputeCost`); the
         excess is credited back. The bond goes to whoever the ruling favours. Loser pays: when the claimant
         disputes, the insurer's arbitration reserve puts up a matching fee, which reimburses the claimant
         unless the ruling goes against it (ruling 1 or 3); an insurer whose reserve is short loses by default
         (the claim resolves at once at the claimant's side, ruling 2, and everything sent is credited back).
         The counter-offer (claimant only; 0 for none) is the amount ruling 2 awards instead of the claimed
         amount less the deductible, above the decided payout. Reverts ("claims: ...") unless the claim is
         decided, its window open and the caller a party; non-reentrant.
    @param claim_id The claim.
    @param counter_offer The claimant's own number (0: the claimed amount less the deductible).
    """
    self._dispute(claim_id, counter_offer, msg.value)


@external
@payable
@nonreentrant
def escalate(claim_id: uint256):
    """
    @notice Takes a claim the committee left undecided past the oracle timeout to the arbitrator.
    @dev The caller (claimant or insurer) fronts the arbitration fee; no bond is due; the excess is credited
         back. When the claimant escalates, the insurer's reserve matches the fee and reimburses the claimant
         unless the ruling goes against it (ruling 1, which pays the assessed amount, none here, or 3); a short
         reserve resolves the claim at once at the claimant's side, as in `dispute`. The claim must await the
         oracle at least the product's oracle timeout after submission; non-reentrant.
    @param claim_id The claim.
    """
    c: ClaimRecord = self._record(claim_id)
    assert c.word & MASK_8 == SUBMITTED, "claims: not awaiting the oracle"
    assert block.timestamp >= self._since(c.word) + ((c.rules >> RULES_TIMEOUT_SHIFT) & MASK_32), "claims: oracle timeout not over"
    self._only_party(c.holder, c.insurer)
    fee: uint256 = self._fee(c.product_id)
    if not self._match_fee(claim_id, c.product_id, fee, msg.sender != c.insurer):
        self._default(claim_id, c.word, c.deductible, msg.value)
        return
    # the rules epoch rode in the payout bits: an escalated claim has no payout yet
    self._take(claim_id, c.word & ~(MASK_96 << CLAIM_PAYOUT_SHIFT), FLAG_ESCALATED, ESCALATED_BIT)
    dispute_id: uint256 = self._open_dispute(claim_id, c.product_id, fee, msg.value)
    log ClaimEscalated(claimId=claim_id, caller=msg.sender, disputeId=dispute_id, arbitrationFee=fee)


# ============================================================ REVIEW OF A REFER

@external
def proposePayout(claim_id: uint256, payout: uint256):
    """
    @notice The adjuster's answer to a REFER: the amount the insurer offers, which opens the dispute window.
    @dev Only the product's adjuster (the insurer when none is set), before the review deadline (the REFER's
         time plus the product's review deadline). `payout` may be 0 and at most the claimed amount less the
         deductible. The claim becomes decided with this payout, as if reported; ruling 1 of a later dispute
         awards it. Emits `ReviewProposed`.
    @param claim_id The claim in review.
    @param payout The proposed payout.
    """
    c: ClaimRecord = self._record(claim_id)
    review_end: uint256 = self._check_review(c.word, c.product_id)
    assert msg.sender == self._adjuster(c.product_id, c.insurer), "review: not the adjuster"
    assert block.timestamp < review_end, "review: deadline passed"
    assert payout <= self._claimed_less_deductible(c.word, c.deductible), "review: payout above claimed less deductible"
    kept: uint256 = c.word & ~(MASK_40 << CLAIM_TIME_SHIFT) & ~(MASK_96 << CLAIM_PAYOUT_SHIFT) & ~MASK_8
    extcall IClaimsManagerDisputes(self.manager).moveClaim(
        claim_id, kept | DECIDED | (block.timestamp << CLAIM_TIME_SHIFT) | (payout << CLAIM_PAYOUT_SHIFT)
    )
    log ReviewProposed(
        claimId=claim_id, adjuster=msg.sender, payout=payout,
        windowEnds=block.timestamp + ((c.rules >> RULES_WINDOW_SHIFT) & MASK_32),
    )


@external
@nonreentrant
def referToArbitrator(claim_id: uint256):
    """
    @notice Sends a claim in review to the product's arbitrator at the insurer's cost.
    @dev The adjuster before the review deadline; anyone after it (an insurer that does nothing cannot stall the
         claim). The whole fee comes out of the product's arbitration reserve; when the reserve cannot pay it,
         the claim resolves at once at the claimant's side (ruling 2). No bond. Emits `ClaimReferred`.
    @param claim_id The claim in review.
    """
    c: ClaimRecord = self._record(claim_id)
    if block.timestamp < self._check_review(c.word, c.product_id):
        assert msg.sender == self._adjuster(c.product_id, c.insurer), "review: not the adjuster before the deadline"
    fee: uint256 = self._fee(c.product_id)
    reserve: uint256 = self.arbitrationReserve[c.product_id]
    if reserve < fee:
        self._default(claim_id, c.word, c.deductible, 0)
        return
    self.arbitrationReserve[c.product_id] = reserve - fee
    self.totalReserves -= fee
    # escalated too: like an escalation, it reaches the arbitrator with no payout on record (the manager's `claim`)
    self._take(claim_id, c.word, FLAG_ESCALATED | FLAG_REFERRED, REFERRED_BIT)
    dispute_id: uint256 = self._open_dispute(claim_id, c.product_id, fee, fee)
    log ClaimReferred(claimId=claim_id, caller=msg.sender, disputeId=dispute_id, arbitrationFee=fee)


# ============================================================ RULINGS

@external
def rule(_disputeID: uint256, _ruling: uint256):
    """
    @notice ERC-792 callback: the product's arbitrator gives its final ruling.
    @dev 0 refused: the decision on record stands (a claim without one, escalated or referred, is paid the
         claimant's side); 1 the insurer's side: the amount the oracle or the adjuster assessed (0 when there
         is none); 2 the claimant's side: its counter-offer, else the claimed amount less the deductible; 3
         nothing; all within the remaining coverage. Loser pays: the bond goes to the side the ruling favours
         (back to the disputer on 0), and the claimant's fee is reimbursed from the insurer's matching fee on 0
         or 2. Only the arbitrator that created the dispute, once: the dispute is looked up by caller and id
         and forgotten when ruled, so a second call reverts "claims: not the arbitrator". Reverts on a ruling
         above 3. Credits only; nothing is sent. Not `@nonreentrant`: an arbitrator may rule from inside
         `createDispute`. A ruling after `closeTimedOutDispute` is accepted and ignored (`LateRulingIgnored`).
    @param _disputeID The arbitrator's dispute id.
    @param _ruling The ruling, 0 to 3.
    """
    claim_id: uint256 = self._dispute_claim[msg.sender][_disputeID]
    assert claim_id != 0, "claims: not the arbitrator"
    assert _ruling <= RULING_OPTIONS, "claims: ruling out of range"
    self._dispute_claim[msg.sender][_disputeID] = 0
    if self._claim_dispute[claim_id] & TIMED_OUT_BIT != 0:
        log LateRulingIgnored(claimId=claim_id, arbitrator=msg.sender, disputeId=_disputeID, ruling=_ruling)
        return
    bond_receiver: address = self._settle(claim_id, _ruling)
    log IArbitrable.Ruling(_arbitrator=msg.sender, _disputeID=_disputeID, _ruling=_ruling)
    log ClaimRuled(claimId=claim_id, ruling=_ruling, bondReceiver=bond_receiver)


@external
@nonreentrant
def closeTimedOutDispute(claim_id: uint256):
    """
    @notice Closes a dispute its arbitrator left unruled for `DISPUTE_TIMEOUT`; callable by anyone.
    @dev Resolves the claim with the default ruling 0: the decision on record stands, and a claim without one
         (escalated or referred; the insurer chose the silent committee and the arbitrator) pays the claimant's
         side, within the remaining coverage. Nobody lost a ruling: the bond goes back to whoever posted it,
         and a claimant's fee is reimbursed from the insurer's matching fee. A later `rule` is ignored.
         Reverts unless the claim is disputed and its dispute is at least `DISPUTE_TIMEOUT` old.
    @param claim_id The claim.
    """
    word: uint256 = self._claim_dispute[claim_id]
    assert word != 0 and word & TIMED_OUT_BIT == 0, "claims: no open dispute"
    assert block.timestamp >= ((word >> OPENED_SHIFT) & MASK_40) + DISPUTE_TIMEOUT, "claims: dispute timeout not over"
    self._claim_dispute[claim_id] = word | TIMED_OUT_BIT
    # reverts "claims: dispute already ruled" if the arbitrator ruled in time
    returned_to: address = self._settle(claim_id, RULING_REFUSED)
    log DisputeTimedOut(
        claimId=claim_id, disputeId=self._claim_dispute_id[claim_id], ruling=RULING_REFUSED, bondReturnedTo=returned_to
    )


@external
def submitEvidence(claim_id: uint256, evidence_uri: String[MAX_URI]):
    """
    @notice Publishes ERC-1497 evidence for a claim (claimant, insurer or a member of the product's current committee).
    @dev Reverts on an unknown claim or another caller. Allowed in any status, even after the
         ruling. Only emits `Evidence` (naming the product's arbitrator); nothing is stored.
    @param claim_id The claim, used as the evidence group id.
    @param evidence_uri URI of the evidence JSON (e.g. the oracle's explanation).
    """
    holder: address = empty(address)
    insurer: address = empty(address)
    product_id: uint256 = 0
    status: uint256 = 0
    holder, insurer, product_id, status = staticcall IClaimsManagerDisputes(self.manager).claimParties(claim_id)
    assert status != 0, "claims: unknown claim"
    assert (
        msg.sender == holder
        or msg.sender == insurer
        or staticcall IClaimsManagerDisputes(self.manager).isCommitteeMember(
            product_id, staticcall IClaimsManagerDisputes(self.manager).committeeEpoch(product_id), msg.sender
        )
    ), "claims: not a party"
    log Evidence(
        _arbitrator=self._product_arbitrator[product_id], _evidenceGroupID=claim_id,
        _party=msg.sender, _evidence=evidence_uri,
    )


@external
@nonreentrant
def withdrawCredit():
    """
    @notice Pays the caller the ETH credited to them (dispute bonds won, fees reimbursed, overpayments).
    @dev Reverts when there is none. Zeroes the credit before sending the ETH with all remaining
         gas; non-reentrant. An account that cannot receive ETH uses `withdrawCreditTo`.
    """
    self._withdraw_credit(msg.sender)


@external
@nonreentrant
def withdrawCreditTo(receiver: address):
    """
    @notice Pays the caller's credit to `receiver` (e.g. for a holder contract that cannot take ETH).
    @dev As `withdrawCredit`; reverts on a zero receiver.
    @param receiver Where the ETH goes.
    """
    assert receiver != empty(address), "claims: receiver is zero"
    self._withdraw_credit(receiver)


# ============================================================ VIEWS

@external
@view
def disputeCost(claim_id: uint256) -> uint256:
    """
    @notice What `dispute` must be sent: the product's bond plus the arbitrator's current fee (`escalate` needs the fee).
    @dev Reads the fee from the arbitrator at call time, so it can change before `dispute` is
         sent. Reverts for an unknown claim (its product has no arbitrator).
    @param claim_id The claim.
    @return uint256 Wei to send.
    """
    product_id: uint256 = self._product_of_claim(claim_id)
    return self._product_bond[product_id] + self._fee(product_id)


@external
@view
def arbitratorExtraData(product_id: uint256) -> Bytes[MAX_EXTRA_DATA]:
    """
    @notice The extra data passed to the product's arbitrator (court, juror count).
    @param product_id The product.
    @return Bytes The extra data.
    """
    return self._product_extra_data[product_id]


@external
@view
def reviewTerms(product_id: uint256) -> (address, uint256):
    """
    @notice Who reviews the product's REFERs and how long they have.
    @param product_id The product.
    @return address The adjuster (the insurer when the product names none).
    @return uint256 The review deadline in seconds after the REFER.
    """
    return self._adjuster(product_id, self._product_insurer[product_id]), self._product_review[product_id] >> REVIEW_DEADLINE_SHIFT


@external
@view
def disputeOf(claim_id: uint256) -> (address, uint256, uint256):
    """
    @notice Who disputed, escalated or referred a claim, the arbitrator's dispute id, and when it opened.
    @dev Zero address and zeros for a claim never taken to the arbitrator.
    @param claim_id The claim.
    @return address The disputer.
    @return uint256 The dispute id.
    @return uint256 When the dispute opened (`closeTimedOutDispute` is possible `DISPUTE_TIMEOUT` later).
    """
    word: uint256 = self._claim_dispute[claim_id]
    return convert(word & MASK_160, address), self._claim_dispute_id[claim_id], (word >> OPENED_SHIFT) & MASK_40


# ============================================================ INTERNAL

@internal
def _dispute(claim_id: uint256, counter_offer: uint256, paid: uint256):
    """
    @notice Takes a decided claim to the arbitrator for the caller (see `disputeWithOffer`).
    @param claim_id The claim.
    @param counter_offer The claimant's counter-offer, 0 for none.
    @param paid The ETH the caller sent.
    """
    c: ClaimRecord = self._record(claim_id)
    assert c.word & MASK_8 == DECIDED, "claims: not in dispute window"
    assert block.timestamp < self._since(c.word) + ((c.rules >> RULES_WINDOW_SHIFT) & MASK_32), "claims: window closed"
    self._only_party(c.holder, c.insurer)
    bond: uint256 = self._product_bond[c.product_id]
    assert paid >= bond, "claims: bond not paid"
    flags: uint256 = FLAG_INSURER_DISPUTED
    if msg.sender != c.insurer:
        flags = 0
        if counter_offer != 0:
            assert counter_offer > (c.word >> CLAIM_PAYOUT_SHIFT) & MASK_96, "claims: counter-offer not above the payout"
            assert counter_offer <= self._claimed_less_deductible(c.word, c.deductible), "claims: counter-offer above claimed less deductible"
            self.counterOffer[claim_id] = counter_offer
    else:
        assert counter_offer == 0, "claims: only the claimant makes a counter-offer"
    fee: uint256 = self._fee(c.product_id)
    if not self._match_fee(claim_id, c.product_id, fee, flags == 0):
        self._default(claim_id, c.word, c.deductible, paid)
        return
    self.heldBonds += bond
    self._take(claim_id, c.word & ~(MASK_8 << CLAIM_FLAGS_SHIFT), flags, 0)
    dispute_id: uint256 = self._open_dispute(claim_id, c.product_id, fee, paid - bond)
    log ClaimDisputed(
        claimId=claim_id, disputer=msg.sender, disputeId=dispute_id, bond=bond, arbitrationFee=fee, counterOffer=counter_offer
    )


@internal
@view
def _record(claim_id: uint256) -> ClaimRecord:
    """
    @notice The manager's record of a claim; reverts on an unknown claim.
    @param claim_id The claim.
    @return ClaimRecord The claim word, rules word, deductible, holder, insurer and product.
    """
    c: ClaimRecord = empty(ClaimRecord)
    c.word, c.rules, c.deductible, c.holder, c.insurer, c.product_id = staticcall IClaimsManagerDisputes(
        self.manager
    ).claimRecord(claim_id)
    assert c.word != 0, "claims: unknown claim"
    return c


@internal
@pure
def _since(word: uint256) -> uint256:
    """
    @notice When a claim entered its status (submission, decision or REFER).
    @param word The claim word.
    @return uint256 The time.
    """
    return (word >> CLAIM_TIME_SHIFT) & MASK_40


@internal
@pure
def _claimed_less_deductible(word: uint256, deductible: uint256) -> uint256:
    """
    @notice The claimed amount less the deductible, or 0.
    @param word The claim word.
    @param deductible The product's deductible.
    @return uint256 The amount.
    """
    claimed: uint256 = (word >> CLAIM_CLAIMED_SHIFT) & MASK_96
    if claimed > deductible:
        return claimed - deductible
    return 0


@internal
@view
def _only_party(holder: address, insurer: address):
    """
    @notice Reverts unless the caller is the claimant or the insurer.
    @param holder The policy holder.
    @param insurer The product's insurer.
    """
    assert msg.sender == holder or msg.sender == insurer, "claims: not claimant or insurer"


@internal
@view
def _adjuster(product_id: uint256, insurer: address) -> address:
    """
    @notice Who reviews the product's REFERs: its adjuster, else its insurer.
    @param product_id The product.
    @param insurer The product's insurer.
    @return address The adjuster.
    """
    adjuster: address = convert(self._product_review[product_id] & MASK_160, address)
    if adjuster == empty(address):
        return insurer
    return adjuster


@internal
@view
def _check_review(word: uint256, product_id: uint256) -> uint256:
    """
    @notice Reverts unless the claim awaits the adjuster's review; returns the review deadline.
    @param word The claim word.
    @param product_id The product.
    @return uint256 The time the review deadline passes.
    """
    assert word & MASK_8 == REVIEW, "review: claim not in review"
    return self._since(word) + (self._product_review[product_id] >> REVIEW_DEADLINE_SHIFT)


@internal
@view
def _fee(product_id: uint256) -> uint256:
    """
    @notice The product's arbitrator's current fee.
    @param product_id The product.
    @return uint256 Wei.
    """
    return staticcall IArbitrator(self._product_arbitrator[product_id]).arbitrationCost(self._product_extra_data[product_id])


@internal
def _match_fee(claim_id: uint256, product_id: uint256, fee: uint256, by_claimant: bool) -> bool:
    """
    @notice When the claimant goes to the arbitrator, holds a matching fee from the insurer's reserve.
    @dev Returns False, holding nothing, when the reserve is short (the insurer then loses by default).
    @param claim_id The claim.
    @param product_id The product.
    @param fee The arbitration fee.
    @param by_claimant Whether the claimant is the caller (the insurer pays its own way).
    @return bool Whether the claim may go to the arbitrator.
    """
    if not by_claimant:
        return True
    reserve: uint256 = self.arbitrationReserve[product_id]
    if reserve < fee:
        return False
    self.arbitrationReserve[product_id] = reserve - fee
    self.totalReserves -= fee
    self.heldFee[claim_id] = fee
    self.heldFees += fee
    return True


@internal
def _default(claim_id: uint256, word: uint256, deductible: uint256, paid: uint256):
    """
    @notice Resolves a claim the insurer cannot pay to arbitrate at the claimant's side, crediting back what was sent.
    @param claim_id The claim.
    @param word The claim word.
    @param deductible The product's deductible.
    @param paid The ETH the caller sent, credited back.
    """
    payout: uint256 = self._claimant_side(claim_id, word, deductible)
    extcall IClaimsManagerDisputes(self.manager).settleClaim(claim_id, payout)
    self._credit(msg.sender, paid)
    log ArbitrationDefaulted(claimId=claim_id, payout=payout)


@internal
@view
def _claimant_side(claim_id: uint256, word: uint256, deductible: uint256) -> uint256:
    """
    @notice What ruling 2 awards: the claimant's counter-offer, else the claimed amount less the deductible.
    @param claim_id The claim.
    @param word The claim word.
    @param deductible The product's deductible.
    @return uint256 The payout before the coverage cap.
    """
    offer: uint256 = self.counterOffer[claim_id]
    if offer != 0:
        return offer
    return self._claimed_less_deductible(word, deductible)


@internal
def _take(claim_id: uint256, word: uint256, flags: uint256, dispute_bits: uint256):
    """
    @notice Marks the claim disputed in the manager (with `flags`) and records the caller as its disputer.
    @param claim_id The claim.
    @param word The claim word to keep (status replaced).
    @param flags The claim word's flags.
    @param dispute_bits The desk's own bits of the dispute word.
    """
    extcall IClaimsManagerDisputes(self.manager).moveClaim(
        claim_id, (word & ~MASK_8) | DISPUTED | (flags << CLAIM_FLAGS_SHIFT)
    )
    self._claim_dispute[claim_id] = convert(msg.sender, uint256) | (block.timestamp << OPENED_SHIFT) | dispute_bits


@internal
def _settle(claim_id: uint256, ruling: uint256) -> address:
    """
    @notice Resolves a disputed claim by `ruling` and moves its bond and held fee; returns who got the bond.
    @param claim_id The claim.
    @param ruling The ruling, 0 to 3.
    @return address The bond's receiver (zero when there is none: an escalation or a referral).
    """
    c: ClaimRecord = self._record(claim_id)
    dispute_word: uint256 = self._claim_dispute[claim_id]
    disputer: address = convert(dispute_word & MASK_160, address)
    undecided: bool = dispute_word & (ESCALATED_BIT | REFERRED_BIT) != 0
    payout: uint256 = 0
    if ruling == RULING_CLAIMANT or (ruling == RULING_REFUSED and undecided):
        payout = self._claimant_side(claim_id, c.word, c.deductible)
    elif ruling != RULING_NOTHING:
        payout = (c.word >> CLAIM_PAYOUT_SHIFT) & MASK_96
    extcall IClaimsManagerDisputes(self.manager).settleClaim(claim_id, payout)

    # loser pays: the claimant's fee comes back out of the insurer's matching fee unless the ruling is against it
    held: uint256 = self.heldFee[claim_id]
    if held != 0:
        self.heldFee[claim_id] = 0
        self.heldFees -= held
        if ruling == RULING_CLAIMANT or ruling == RULING_REFUSED:
            self._credit(disputer, held)
        else:
            self.arbitrationReserve[c.product_id] += held
            self.totalReserves += held

    if undecided:
        return empty(address)
    receiver: address = disputer
    if (c.word >> CLAIM_FLAGS_SHIFT) & FLAG_INSURER_DISPUTED != 0:
        if ruling == RULING_ASSESSED or ruling == RULING_CLAIMANT:
            receiver = c.holder
    elif ruling == RULING_ASSESSED or ruling == RULING_NOTHING:
        receiver = c.insurer
    bond: uint256 = self._product_bond[c.product_id]
    self.heldBonds -= bond
    self._credit(receiver, bond)
    return receiver


@internal
@view
def _product_of_claim(claim_id: uint256) -> uint256:
    """
    @notice The product a claim belongs to, read from the manager.
    @param claim_id The claim.
    @return uint256 The product id (0 for an unknown claim).
    """
    holder: address = empty(address)
    insurer: address = empty(address)
    product_id: uint256 = 0
    status: uint256 = 0
    holder, insurer, product_id, status = staticcall IClaimsManagerDisputes(self.manager).claimParties(claim_id)
    return product_id


@internal
def _open_dispute(claim_id: uint256, product_id: uint256, fee: uint256, paid: uint256) -> uint256:
    """
    @notice Creates the ERC-792 dispute for a claim and emits the ERC-1497 `Dispute` event.
    @dev Forwards exactly the arbitrator's fee and credits any excess back to the caller.
    @param claim_id The claim.
    @param product_id The claim's product.
    @param fee The arbitrator's fee.
    @param paid The ETH available for the fee.
    @return uint256 The arbitrator's dispute id.
    """
    assert paid >= fee, "claims: arbitration fee not paid"
    self._credit(msg.sender, paid - fee)
    arbitrator: address = self._product_arbitrator[product_id]
    dispute_id: uint256 = extcall IArbitrator(arbitrator).createDispute(
        RULING_OPTIONS, self._product_extra_data[product_id], value=fee
    )
    assert self._dispute_claim[arbitrator][dispute_id] == 0, "claims: dispute id reused"
    self._dispute_claim[arbitrator][dispute_id] = claim_id
    self._claim_dispute_id[claim_id] = dispute_id
    log Dispute(_arbitrator=arbitrator, _disputeID=dispute_id, _metaEvidenceID=product_id, _evidenceGroupID=claim_id)
    return dispute_id


@internal
def _withdraw_credit(receiver: address):
    """
    @notice Pays the caller's whole credit to `receiver`, zeroing it first.
    @param receiver Where the ETH goes.
    """
    amount: uint256 = self.credits[msg.sender]
    assert amount > 0, "claims: nothing to withdraw"
    self.credits[msg.sender] = 0
    self.totalCredits -= amount
    raw_call(receiver, b"", value=amount)
    log CreditWithdrawn(account=msg.sender, amount=amount)


@internal
def _credit(account: address, amount: uint256):
    """
    @notice Credits ETH to an account for a later `withdrawCredit`.
    @param account The receiver.
    @param amount Wei.
    """
    if amount == 0:
        return
    self.credits[account] += amount
    self.totalCredits += amount
