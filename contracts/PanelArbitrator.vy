# pragma version ~=0.4.3
"""
@title Panel arbitrator
@custom:contract-name PanelArbitrator
@license MIT
@notice An ERC-792 arbitrator run by a panel of addresses: each dispute is decided by the first
        ruling that reaches its quorum of panel votes, or, once its ruling deadline has passed
        undecided, by the default ruling 0 (refuse to arbitrate), which anyone can trigger. Appeals
        are disabled. It lets the system work without an external court; Kleros' arbitrator plugs
        into products unchanged by address.
@dev Roles: anyone may open a dispute by paying the fee (the caller becomes the arbitrable party
     that receives the ruling); panelists vote; the owner manages the panel, the fee and the
     collected fees. Each dispute is frozen when opened: it keeps the panel (by panel epoch), the
     quorum and the deadline of that moment, so a later `setPanel` cannot change who decides it.
     The quorum is always above half the panel, so two rulings can never both reach it. A new fee
     takes effect `FEE_DELAY` after it is announced, so `setFee` cannot front-run a dispute.
     Ownership moves in two steps (snekmate `ownable_2step`): `transfer_ownership`
     names a pending owner, who must call `accept_ownership`; the current owner keeps control
     until then. `renounce_ownership` is deliberately not exported, see MODULES.
"""


# ============================================================ INTERFACES

from interfaces import IArbitrator
from interfaces import IArbitrable

# @dev The ERC-792 arbitrator interface, exactly.
implements: IArbitrator


# ============================================================ MODULES

# @dev The owner's address and `_check_owner`; its constructor makes the deployer the owner.
from snekmate.auth import ownable
initializes: ownable

# @dev Two-step ownership transfer on top of `ownable`: a mistyped or key-less address can only
# become pending, never owner, and the old owner stays in charge until the new one accepts.
from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]

# @dev The ownership surface: `owner`, `pending_owner`, `transfer_ownership` (also cancels a
# pending transfer when given the zero address) and `accept_ownership`.
# `renounce_ownership` is NOT exported: products fix their arbitrator's address for good, and
# only the owner can replace a panel that lost keys or quorum and withdraw the collected fees.
# An ownerless panel would leave every open and future dispute of those products hanging if its
# quorum became unreachable (the claim stays DISPUTED, its coverage locked and its bond held)
# and would strand the fees. Without it the owner can never become the zero address; to stop
# administering the panel, transfer it to a multisig or timelock instead.
exports: (
    ownable.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)


# ============================================================ CONSTANTS

MAX_PANEL: constant(uint256) = 16
MAX_EXTRA_DATA: constant(uint256) = 1024

# ERC-792 DisputeStatus
WAITING: constant(uint8) = 0
SOLVED: constant(uint8) = 2

# ERC-792: 0 means "refuse to arbitrate"; it is also the default ruling after the deadline
DEFAULT_RULING: constant(uint256) = 0
RULING_PERIOD: constant(uint256) = 14 * 86_400  # a dispute's panel has two weeks to reach its quorum
FEE_DELAY: constant(uint256) = 7 * 86_400  # a new fee applies to disputes opened a week after it is announced


# ============================================================ STRUCTS

struct PanelDispute:
    arbitrable: address
    choices: uint256
    status: uint8
    ruling: uint256
    epoch: uint256
    deadline: uint256


# ============================================================ STORAGE

_fee: uint256
pendingFee: public(uint256)
pendingFeeFrom: public(uint256)  # when `pendingFee` takes effect (0: nothing announced)
quorum: public(uint256)
panel: public(DynArray[address, MAX_PANEL])
panelEpoch: public(uint256)
_is_panelist: HashMap[uint256, HashMap[address, bool]]  # panel epoch => member
_epoch_quorum: HashMap[uint256, uint256]  # panel epoch => its quorum, which its disputes keep
disputeCount: public(uint256)
disputes: public(HashMap[uint256, PanelDispute])
votes: public(HashMap[uint256, HashMap[uint256, uint256]])  # disputeId => ruling => votes
hasVoted: public(HashMap[uint256, HashMap[address, bool]])
feesCollected: public(uint256)


# ============================================================ EVENTS

event DisputeCreation:
    _disputeID: indexed(uint256)
    _arbitrable: indexed(address)

event AppealPossible:
    _disputeID: indexed(uint256)
    _arbitrable: indexed(address)

event AppealDecision:
    _disputeID: indexed(uint256)
    _arbitrable: indexed(address)

event PanelVoted:
    disputeId: indexed(uint256)
    panelist: indexed(address)
    ruling: uint256
    votes: uint256

event DisputeRuled:
    disputeId: indexed(uint256)
    ruling: uint256

event PanelUpdated:
    panel: DynArray[address, MAX_PANEL]
    quorum: uint256

event FeeUpdated:
    fee: uint256

event FeeAnnounced:
    fee: uint256
    effectiveFrom: uint256

event DefaultRuled:
    disputeId: indexed(uint256)
    ruling: uint256

event FeesWithdrawn:
    receiver: indexed(address)
    amount: uint256


# ============================================================ CONSTRUCTOR

@deploy
def __init__(panel: DynArray[address, MAX_PANEL], quorum: uint256, fee: uint256):
    """
    @notice Sets up the panel, its quorum and the arbitration fee; the deployer becomes owner.
    @dev Reverts on a quorum not above half the panel (or above its size) or a zero or duplicate
         panelist. Emits `OwnershipTransferred` (zero address to deployer), `PanelUpdated` and
         `FeeUpdated`.
    @param panel The panelists.
    @param quorum Votes a ruling needs.
    @param fee Arbitration fee in wei.
    """
    ownable.__init__()
    ownable_2step.__init__()
    self._set_panel(panel, quorum)
    self._fee = fee
    log FeeUpdated(fee=fee)


# ============================================================ ERC-792 (arbitrable contracts)

@external
@payable
def createDispute(_choices: uint256, _extraData: Bytes[MAX_EXTRA_DATA]) -> uint256:
    """
    @notice Opens a dispute for the calling arbitrable contract.
    @dev Anyone may call it: the caller becomes the dispute's arbitrable and receives the `rule`
         callback. Reverts when `msg.value` is below `fee()` or `_choices` is zero. All of
         `msg.value` is kept as fees, an overpayment included (nothing is refunded). The dispute
         keeps the current panel epoch and quorum, and its deadline is `RULING_PERIOD` from now.
    @param _choices Number of ruling options (rulings 1.._choices; 0 means refuse to arbitrate).
    @param _extraData Unused by the panel.
    @return uint256 The dispute id.
    """
    assert msg.value >= self._current_fee(), "panel: arbitration fee not paid"
    assert _choices > 0, "panel: no choices"
    dispute_id: uint256 = self.disputeCount
    self.disputeCount = dispute_id + 1
    self.disputes[dispute_id] = PanelDispute(
        arbitrable=msg.sender, choices=_choices, status=WAITING, ruling=0, epoch=self.panelEpoch,
        deadline=block.timestamp + RULING_PERIOD,
    )
    self.feesCollected += msg.value
    log DisputeCreation(_disputeID=dispute_id, _arbitrable=msg.sender)
    return dispute_id


@external
@view
def arbitrationCost(_extraData: Bytes[MAX_EXTRA_DATA]) -> uint256:
    """
    @notice The fee `createDispute` needs.
    @dev An announced fee counts only from its `pendingFeeFrom`.
    @param _extraData Unused.
    @return uint256 Wei.
    """
    return self._current_fee()


@external
@view
def fee() -> uint256:
    """
    @notice The arbitration fee in force now (see `arbitrationCost`).
    @return uint256 Wei.
    """
    return self._current_fee()


@external
@view
def isPanelist(account: address) -> bool:
    """
    @notice Whether `account` is on the current panel (new disputes are decided by it).
    @param account The address.
    @return bool True for a current panelist.
    """
    return self._is_panelist[self.panelEpoch][account]


@external
@view
def isPanelistOf(dispute_id: uint256, account: address) -> bool:
    """
    @notice Whether `account` may vote on a dispute: a member of the panel it was opened under.
    @param dispute_id The dispute.
    @param account The address.
    @return bool True for a panelist of that dispute.
    """
    return self._is_panelist[self.disputes[dispute_id].epoch][account]


@external
@payable
def appeal(_disputeID: uint256, _extraData: Bytes[MAX_EXTRA_DATA]):
    """
    @notice Appeals are disabled on this panel.
    @dev Always reverts, so no ETH sent with it is ever kept.
    @param _disputeID The dispute.
    @param _extraData Unused.
    """
    raise "panel: appeals are disabled"


@external
@view
def appealCost(_disputeID: uint256, _extraData: Bytes[MAX_EXTRA_DATA]) -> uint256:
    """
    @notice Appeals are disabled: the cost is unpayable.
    @param _disputeID The dispute.
    @param _extraData Unused.
    @return uint256 The maximum uint256.
    """
    return max_value(uint256)


@external
@view
def appealPeriod(_disputeID: uint256) -> (uint256, uint256):
    """
    @notice Appeals are disabled: the period is empty.
    @param _disputeID The dispute.
    @return uint256 Start (0).
    @return uint256 End (0).
    """
    return (0, 0)


@external
@view
def disputeStatus(_disputeID: uint256) -> uint8:
    """
    @notice ERC-792 status: 0 waiting, 2 solved.
    @dev Reverts on an unknown dispute id (unlike `currentRuling`). Status 1 (appealable) is never
         used since appeals are disabled.
    @param _disputeID The dispute.
    @return uint8 The status.
    """
    assert self.disputes[_disputeID].arbitrable != empty(address), "panel: unknown dispute"
    return self.disputes[_disputeID].status


@external
@view
def currentRuling(_disputeID: uint256) -> uint256:
    """
    @notice The ruling given, or 0 while undecided.
    @dev Also 0 for an unknown dispute and for a refusal to arbitrate: read `disputeStatus` to tell
         them apart.
    @param _disputeID The dispute.
    @return uint256 The ruling.
    """
    return self.disputes[_disputeID].ruling


# ============================================================ PANEL

@external
def vote(dispute_id: uint256, ruling: uint256):
    """
    @notice A panelist's vote; the first ruling with the dispute's quorum is sent to the arbitrable.
    @dev Only a member of the panel the dispute was opened under, once per dispute, before the
         dispute's deadline (after it, `ruleByDefault`). Reverts on an unknown or already ruled
         dispute and on a ruling above the dispute's choices. The quorum is the dispute's own (above
         half its panel, so no two rulings can both reach it). Effects before the interaction: the
         dispute is marked solved before the arbitrable's `rule` is called, so a re-entrant `vote`
         reverts. If `rule` reverts, the deciding vote reverts with it and the dispute stays open.
    @param dispute_id The dispute.
    @param ruling 0 (refuse to arbitrate) to the dispute's number of choices.
    """
    record: PanelDispute = self.disputes[dispute_id]
    assert record.arbitrable != empty(address), "panel: unknown dispute"
    assert self._is_panelist[record.epoch][msg.sender], "panel: caller is not a panelist"
    assert record.status == WAITING, "panel: dispute already ruled"
    assert block.timestamp < record.deadline, "panel: ruling deadline passed"
    assert ruling <= record.choices, "panel: ruling out of range"
    assert not self.hasVoted[dispute_id][msg.sender], "panel: already voted"
    self.hasVoted[dispute_id][msg.sender] = True
    count: uint256 = self.votes[dispute_id][ruling] + 1
    self.votes[dispute_id][ruling] = count
    log PanelVoted(disputeId=dispute_id, panelist=msg.sender, ruling=ruling, votes=count)
    if count >= self._epoch_quorum[record.epoch]:
        self._rule(dispute_id, record.arbitrable, ruling)


@external
def ruleByDefault(dispute_id: uint256):
    """
    @notice Gives the default ruling 0 (refuse to arbitrate) to a dispute its panel left undecided
            past its deadline; callable by anyone.
    @dev So a split panel (votes 1/2/3 with quorum 2 of 3) cannot keep a dispute open for ever. The
         arbitrable decides what a refusal means (the claims desk: the oracle decision stands; an
         escalated claim pays its claimed amount less the deductible). Reverts on an unknown or
         ruled dispute, or before the deadline.
    @param dispute_id The dispute.
    """
    record: PanelDispute = self.disputes[dispute_id]
    assert record.arbitrable != empty(address), "panel: unknown dispute"
    assert record.status == WAITING, "panel: dispute already ruled"
    assert block.timestamp >= record.deadline, "panel: ruling deadline not passed"
    log DefaultRuled(disputeId=dispute_id, ruling=DEFAULT_RULING)
    self._rule(dispute_id, record.arbitrable, DEFAULT_RULING)


# ============================================================ ADMINISTRATION (owner)

@external
def setPanel(panel: DynArray[address, MAX_PANEL], quorum: uint256):
    """
    @notice Replaces the panel and quorum for disputes opened from now on.
    @dev Only the owner (reverts "ownable: caller is not the owner"). Starts a new panel epoch:
         open disputes keep the panel, quorum and deadline they were opened with. Reverts on a
         quorum not above half the panel or above its size, or a zero or duplicate panelist.
    @param panel The panelists.
    @param quorum Votes a ruling needs.
    """
    ownable._check_owner()
    self.panelEpoch += 1
    self._set_panel(panel, quorum)


@external
def setFee(fee: uint256):
    """
    @notice Announces a new arbitration fee, in force `FEE_DELAY` from now.
    @dev Only the owner. Until then `arbitrationCost` stays the fee in force, so an owner cannot
         front-run a dispute with a higher fee; a second announcement replaces the first. Disputes
         already open keep what they paid.
    @param fee Wei.
    """
    ownable._check_owner()
    self._fee = self._current_fee()
    self.pendingFee = fee
    self.pendingFeeFrom = block.timestamp + FEE_DELAY
    log FeeAnnounced(fee=fee, effectiveFrom=block.timestamp + FEE_DELAY)


@external
def withdrawFees(receiver: address):
    """
    @notice Sends the collected arbitration fees to `receiver` (to pay the panel).
    @dev Only the owner. Sends every fee collected since the last withdrawal, from open and ruled
         disputes alike, forwarding all remaining gas; reverts when nothing was collected or the
         receiver rejects the ETH. `feesCollected` is zeroed before the call, so a re-entrant
         withdrawal finds nothing. `receiver` is not checked: the zero address burns the fees.
    @param receiver Where the fees go.
    """
    ownable._check_owner()
    amount: uint256 = self.feesCollected
    assert amount > 0, "panel: no fees"
    self.feesCollected = 0
    raw_call(receiver, b"", value=amount)
    log FeesWithdrawn(receiver=receiver, amount=amount)


# ============================================================ INTERNAL

@internal
def _set_panel(panel: DynArray[address, MAX_PANEL], quorum: uint256):
    """
    @notice Stores the panel of the current epoch and its quorum.
    @dev The quorum must be above half the panel: two different rulings can then never both reach
         it, and a ruling needs a real majority.
    @param panel The panelists.
    @param quorum Votes a ruling needs.
    """
    assert quorum * 2 > len(panel) and quorum <= len(panel), "panel: quorum must be above half the panel"
    epoch: uint256 = self.panelEpoch
    for member: address in panel:
        assert member != empty(address), "panel: panelist is zero"
        assert not self._is_panelist[epoch][member], "panel: duplicate panelist"
        self._is_panelist[epoch][member] = True
    self.panel = panel
    self.quorum = quorum
    self._epoch_quorum[epoch] = quorum
    log PanelUpdated(panel=panel, quorum=quorum)


@internal
@view
def _current_fee() -> uint256:
    """
    @notice The fee in force now: the announced one once its time has come.
    @return uint256 Wei.
    """
    if self.pendingFeeFrom != 0 and block.timestamp >= self.pendingFeeFrom:
        return self.pendingFee
    return self._fee


@internal
def _rule(dispute_id: uint256, arbitrable: address, ruling: uint256):
    """
    @notice Marks a dispute solved with `ruling` and sends the ruling to its arbitrable.
    @param dispute_id The dispute.
    @param arbitrable Who receives `rule`.
    @param ruling The ruling.
    """
    self.disputes[dispute_id].status = SOLVED
    self.disputes[dispute_id].ruling = ruling
    log DisputeRuled(disputeId=dispute_id, ruling=ruling)
    extcall IArbitrable(arbitrable).rule(dispute_id, ruling)
