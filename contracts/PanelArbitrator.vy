# pragma version ~=0.4.3
"""
@title Panel arbitrator
@custom:contract-name PanelArbitrator
@license MIT
@notice An ERC-792 arbitrator run by a panel of addresses: each dispute is decided by the first
        ruling that reaches `quorum` panel votes. Appeals are disabled. It lets the system work
        without an external court; Kleros' arbitrator plugs into products unchanged by address.
@dev Roles: anyone may open a dispute by paying the fee (the caller becomes the arbitrable party
     that receives the ruling); panelists vote; the owner manages the panel, the fee and the
     collected fees. Ownership moves in two steps (snekmate `ownable_2step`): `transfer_ownership`
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


# ============================================================ STRUCTS

struct PanelDispute:
    arbitrable: address
    choices: uint256
    status: uint8
    ruling: uint256


# ============================================================ STORAGE

fee: public(uint256)
quorum: public(uint256)
panel: public(DynArray[address, MAX_PANEL])
isPanelist: public(HashMap[address, bool])
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

event FeesWithdrawn:
    receiver: indexed(address)
    amount: uint256


# ============================================================ CONSTRUCTOR

@deploy
def __init__(panel: DynArray[address, MAX_PANEL], quorum: uint256, fee: uint256):
    """
    @notice Sets up the panel, its quorum and the arbitration fee; the deployer becomes owner.
    @dev Reverts on a quorum outside 1..len(panel) or a zero or duplicate panelist. Emits
         `OwnershipTransferred` (zero address to deployer), `PanelUpdated` and `FeeUpdated`.
    @param panel The panelists.
    @param quorum Votes a ruling needs.
    @param fee Arbitration fee in wei.
    """
    ownable.__init__()
    ownable_2step.__init__()
    self._set_panel(panel, quorum)
    self.fee = fee
    log FeeUpdated(fee=fee)


# ============================================================ ERC-792 (arbitrable contracts)

@external
@payable
def createDispute(_choices: uint256, _extraData: Bytes[MAX_EXTRA_DATA]) -> uint256:
    """
    @notice Opens a dispute for the calling arbitrable contract.
    @dev Anyone may call it: the caller becomes the dispute's arbitrable and receives the `rule`
         callback. Reverts when `msg.value` is below `fee` or `_choices` is zero. All of
         `msg.value` is kept as fees, an overpayment included (nothing is refunded).
    @param _choices Number of ruling options (rulings 1.._choices; 0 means refuse to arbitrate).
    @param _extraData Unused by the panel.
    @return uint256 The dispute id.
    """
    assert msg.value >= self.fee, "panel: arbitration fee not paid"
    assert _choices > 0, "panel: no choices"
    dispute_id: uint256 = self.disputeCount
    self.disputeCount = dispute_id + 1
    self.disputes[dispute_id] = PanelDispute(arbitrable=msg.sender, choices=_choices, status=WAITING, ruling=0)
    self.feesCollected += msg.value
    log DisputeCreation(_disputeID=dispute_id, _arbitrable=msg.sender)
    return dispute_id


@external
@view
def arbitrationCost(_extraData: Bytes[MAX_EXTRA_DATA]) -> uint256:
    """
    @notice The fee `createDispute` needs.
    @param _extraData Unused.
    @return uint256 Wei.
    """
    return self.fee


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
    @notice A panelist's vote; the first ruling with `quorum` votes is sent to the arbitrable.
    @dev Only a current panelist may vote, once per dispute (the record survives panel changes, so
         a panelist removed and added back cannot vote again). Reverts on an unknown or already
         ruled dispute and on a ruling above the dispute's choices. `quorum` is read at vote time.
         Effects before the interaction: the dispute is marked solved before the arbitrable's
         `rule` is called, so a re-entrant `vote` reverts. If `rule` reverts, the deciding vote
         reverts with it and the dispute stays open.
    @param dispute_id The dispute.
    @param ruling 0 (refuse to arbitrate) to the dispute's number of choices.
    """
    assert self.isPanelist[msg.sender], "panel: caller is not a panelist"
    record: PanelDispute = self.disputes[dispute_id]
    assert record.arbitrable != empty(address), "panel: unknown dispute"
    assert record.status == WAITING, "panel: dispute already ruled"
    assert ruling <= record.choices, "panel: ruling out of range"
    assert not self.hasVoted[dispute_id][msg.sender], "panel: already voted"
    self.hasVoted[dispute_id][msg.sender] = True
    count: uint256 = self.votes[dispute_id][ruling] + 1
    self.votes[dispute_id][ruling] = count
    log PanelVoted(disputeId=dispute_id, panelist=msg.sender, ruling=ruling, votes=count)
    if count >= self.quorum:
        self.disputes[dispute_id].status = SOLVED
        self.disputes[dispute_id].ruling = ruling
        log DisputeRuled(disputeId=dispute_id, ruling=ruling)
        extcall IArbitrable(record.arbitrable).rule(dispute_id, ruling)


# ============================================================ ADMINISTRATION (owner)

@external
def setPanel(panel: DynArray[address, MAX_PANEL], quorum: uint256):
    """
    @notice Replaces the panel and quorum; votes already cast stay counted.
    @dev Only the owner (reverts "ownable: caller is not the owner"). Reverts on a quorum outside
         1..len(panel) or a zero or duplicate panelist. Open disputes keep their votes; the new
         quorum applies from the next vote, so a ruling that already has enough votes under a
         lowered quorum is sent only when one more vote for it arrives.
    @param panel The panelists.
    @param quorum Votes a ruling needs.
    """
    ownable._check_owner()
    for member: address in self.panel:
        self.isPanelist[member] = False
    self._set_panel(panel, quorum)


@external
def setFee(fee: uint256):
    """
    @notice Sets the arbitration fee for new disputes.
    @dev Only the owner. Disputes already open keep what they paid.
    @param fee Wei.
    """
    ownable._check_owner()
    self.fee = fee
    log FeeUpdated(fee=fee)


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
    @notice Stores the panel and its quorum.
    @dev Expects the old panel's `isPanelist` flags to be cleared already.
    @param panel The panelists.
    @param quorum Votes a ruling needs.
    """
    assert quorum > 0 and quorum <= len(panel), "panel: quorum must be 1..panel size"
    for member: address in panel:
        assert member != empty(address), "panel: panelist is zero"
        assert not self.isPanelist[member], "panel: duplicate panelist"
        self.isPanelist[member] = True
    self.panel = panel
    self.quorum = quorum
    log PanelUpdated(panel=panel, quorum=quorum)
