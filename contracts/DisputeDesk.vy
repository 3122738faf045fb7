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

# ERC-792 rulings (the manager maps them to payouts)
RULING_REFUSED: constant(uint256) = 0
RULING_OPTIONS: constant(uint256) = 3

# A dispute the arbitrator has not ruled on this long after it opened may be closed by anyone, with the
# default ruling 0 (the oracle decision stands; an escalated claim pays its claimed amount less the
# deductible) and the bond back to whoever posted it. Longer than the panel's own ruling period (14 days).
DISPUTE_TIMEOUT: public(constant(uint256)) = 30 * 86_400

# per-claim dispute word: disputer 0..159 | opened at 160..199 | escalated 200 | closed by timeout 201
OPENED_SHIFT: constant(uint256) = 160
ESCALATED_BIT: constant(uint256) = 1 << 200
TIMED_OUT_BIT: constant(uint256) = 1 << 201
MASK_40: constant(uint256) = 2**40 - 1
MASK_160: constant(uint256) = 2**160 - 1


# ============================================================ STORAGE

manager: public(address)
governor: public(address)

# per product: the arbitration terms, fixed at creation
_product_arbitrator: HashMap[uint256, address]
_product_extra_data: HashMap[uint256, Bytes[MAX_EXTRA_DATA]]
_product_bond: HashMap[uint256, uint256]

# per claim: who disputed and the arbitrator's dispute id
_claim_dispute: HashMap[uint256, uint256]  # see the dispute word above
_claim_dispute_id: HashMap[uint256, uint256]
_dispute_claim: HashMap[address, HashMap[uint256, uint256]]  # arbitrator => disputeId => claimId

# ETH owed to accounts (dispute bonds won, overpayments)
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

event ClaimEscalated:
    claimId: indexed(uint256)
    caller: indexed(address)
    disputeId: indexed(uint256)
    arbitrationFee: uint256

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
    arbitrator: address,
    extra_data: Bytes[MAX_EXTRA_DATA],
    bond: uint256,
    meta_evidence_uri: String[MAX_URI],
):
    """
    @notice Stores a new product's arbitration terms and publishes its ERC-1497 `MetaEvidence`.
    @dev Only the governor, from `ProductGovernor.createProduct`.
    @param product_id The product (also the MetaEvidence id).
    @param arbitrator The ERC-792 arbitrator.
    @param extra_data The arbitrator's extra data.
    @param bond The dispute bond in wei.
    @param meta_evidence_uri The MetaEvidence URI.
    """
    assert msg.sender == self.governor, "disputes: not the governor"
    self._product_arbitrator[product_id] = arbitrator
    self._product_extra_data[product_id] = extra_data
    self._product_bond[product_id] = bond
    log MetaEvidence(_metaEvidenceID=product_id, _evidence=meta_evidence_uri)


# ============================================================ DISPUTES

@external
@payable
@nonreentrant
def dispute(claim_id: uint256):
    """
    @notice Contests a recorded decision within its window, before the product's arbitrator.
    @dev The caller (claimant or insurer) pays the dispute bond plus the arbitration fee. The bond
         goes to whoever the ruling favours. The manager checks that the claim is decided, its
         window open and the caller a party ("claims: ..."), and marks it disputed before the
         arbitrator's `createDispute` is called with exactly its fee. `msg.value` must cover
         `disputeCost`; the excess is credited to the caller for `withdrawCredit`; non-reentrant.
    @param claim_id The claim.
    """
    product_id: uint256 = extcall IClaimsManagerDisputes(self.manager).openDispute(claim_id, msg.sender, False)
    bond: uint256 = self._product_bond[product_id]
    assert msg.value >= bond, "claims: bond not paid"
    self.heldBonds += bond
    self._claim_dispute[claim_id] = convert(msg.sender, uint256) | (block.timestamp << OPENED_SHIFT)
    fee: uint256 = 0
    dispute_id: uint256 = 0
    fee, dispute_id = self._open_dispute(claim_id, product_id, msg.value - bond)
    log ClaimDisputed(claimId=claim_id, disputer=msg.sender, disputeId=dispute_id, bond=bond, arbitrationFee=fee)


@external
@payable
@nonreentrant
def escalate(claim_id: uint256):
    """
    @notice Takes a claim the committee left undecided past the oracle timeout to the arbitrator.
    @dev The claimant or the insurer pays the arbitration fee; no bond is due. The manager checks
         that the claim awaits the oracle at least the product's oracle timeout after submission
         and that the caller is a party, and marks it disputed before the arbitrator is called.
         `msg.value` must cover the arbitrator's fee; the excess is credited to the caller;
         non-reentrant.
    @param claim_id The claim.
    """
    product_id: uint256 = extcall IClaimsManagerDisputes(self.manager).openDispute(claim_id, msg.sender, True)
    self._claim_dispute[claim_id] = (
        convert(msg.sender, uint256) | (block.timestamp << OPENED_SHIFT) | ESCALATED_BIT
    )
    fee: uint256 = 0
    dispute_id: uint256 = 0
    fee, dispute_id = self._open_dispute(claim_id, product_id, msg.value)
    log ClaimEscalated(claimId=claim_id, caller=msg.sender, disputeId=dispute_id, arbitrationFee=fee)


@external
def rule(_disputeID: uint256, _ruling: uint256):
    """
    @notice ERC-792 callback: the product's arbitrator gives its final ruling.
    @dev 0 refused keeps the oracle's payout (an escalated claim, which has none, is paid the
         claimed amount less the deductible); 1 uphold keeps the oracle's payout (nothing for an
         escalated claim); 2 pays the claimed amount less the deductible; 3 pays nothing; all
         within the remaining coverage (the manager applies the ruling). Only the arbitrator that created the dispute,
         once: the dispute is looked up by caller and id and forgotten when ruled, so a second
         call reverts "claims: not the arbitrator". Reverts on a ruling above 3. The bond (none
         for an escalation) is credited to its winner for `withdrawCredit`; nothing is sent. Not
         `@nonreentrant`: an arbitrator may rule from inside `createDispute`. A ruling that comes
         after the dispute was closed by `closeTimedOutDispute` is accepted and ignored (event
         `LateRulingIgnored`), so an arbitrator's late call never reverts.
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
    bond_receiver: address = extcall IClaimsManagerDisputes(self.manager).settleDispute(claim_id, _ruling)
    if bond_receiver != empty(address):
        bond: uint256 = self._product_bond[self._product_of_claim(claim_id)]
        self.heldBonds -= bond
        self._credit(bond_receiver, bond)
    log IArbitrable.Ruling(_arbitrator=msg.sender, _disputeID=_disputeID, _ruling=_ruling)
    log ClaimRuled(claimId=claim_id, ruling=_ruling, bondReceiver=bond_receiver)


@external
@nonreentrant
def closeTimedOutDispute(claim_id: uint256):
    """
    @notice Closes a dispute its arbitrator left unruled for `DISPUTE_TIMEOUT`; callable by anyone.
    @dev Resolves the claim with the default ruling 0: the oracle decision stands, and an escalated
         claim (no oracle decision; the insurer chose both the silent committee and the arbitrator)
         pays its claimed amount less the deductible, within the remaining coverage. The bond goes
         back to whoever posted it (nobody lost a ruling). The arbitration fee stays with the
         arbitrator: ERC-792 has no refund. A later `rule` for this dispute is ignored. Reverts
         unless the claim is disputed and its dispute is at least `DISPUTE_TIMEOUT` old.
    @param claim_id The claim.
    """
    word: uint256 = self._claim_dispute[claim_id]
    assert word != 0 and word & TIMED_OUT_BIT == 0, "claims: no open dispute"
    assert block.timestamp >= ((word >> OPENED_SHIFT) & MASK_40) + DISPUTE_TIMEOUT, "claims: dispute timeout not over"
    self._claim_dispute[claim_id] = word | TIMED_OUT_BIT
    # reverts "claims: dispute already ruled" if the arbitrator ruled in time
    extcall IClaimsManagerDisputes(self.manager).settleDispute(claim_id, RULING_REFUSED)
    disputer: address = convert(word & MASK_160, address)
    returned_to: address = empty(address)
    if word & ESCALATED_BIT == 0:
        bond: uint256 = self._product_bond[self._product_of_claim(claim_id)]
        self.heldBonds -= bond
        self._credit(disputer, bond)
        returned_to = disputer
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
    @notice Pays the caller the ETH credited to them (dispute bonds won, overpayments).
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
    @notice What `dispute` must be sent: the product's bond plus the arbitrator's current fee.
    @dev Reads the fee from the arbitrator at call time, so it can change before `dispute` is
         sent. Reverts for an unknown claim (its product has no arbitrator).
    @param claim_id The claim.
    @return uint256 Wei to send.
    """
    product_id: uint256 = self._product_of_claim(claim_id)
    arbitrator: IArbitrator = IArbitrator(self._product_arbitrator[product_id])
    return self._product_bond[product_id] + staticcall arbitrator.arbitrationCost(self._product_extra_data[product_id])


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
def disputeOf(claim_id: uint256) -> (address, uint256, uint256):
    """
    @notice Who disputed or escalated a claim, the arbitrator's dispute id, and when it opened.
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
def _open_dispute(claim_id: uint256, product_id: uint256, paid: uint256) -> (uint256, uint256):
    """
    @notice Creates the ERC-792 dispute for a claim and emits the ERC-1497 `Dispute` event.
    @dev Forwards exactly the arbitrator's fee and credits any excess back to the caller.
    @param claim_id The claim.
    @param product_id The claim's product.
    @param paid The ETH the caller sent for the arbitration fee.
    @return uint256 The fee forwarded.
    @return uint256 The arbitrator's dispute id.
    """
    arbitrator: address = self._product_arbitrator[product_id]
    extra_data: Bytes[MAX_EXTRA_DATA] = self._product_extra_data[product_id]
    fee: uint256 = staticcall IArbitrator(arbitrator).arbitrationCost(extra_data)
    assert paid >= fee, "claims: arbitration fee not paid"
    self._credit(msg.sender, paid - fee)
    dispute_id: uint256 = extcall IArbitrator(arbitrator).createDispute(RULING_OPTIONS, extra_data, value=fee)
    assert self._dispute_claim[arbitrator][dispute_id] == 0, "claims: dispute id reused"
    self._dispute_claim[arbitrator][dispute_id] = claim_id
    self._claim_dispute_id[claim_id] = dispute_id
    log Dispute(_arbitrator=arbitrator, _disputeID=dispute_id, _metaEvidenceID=product_id, _evidenceGroupID=claim_id)
    return fee, dispute_id


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
