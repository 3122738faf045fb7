# pragma version ~=0.4.3
"""
@title Panel arbitrator
@custom:contract-name PanelArbitrator
@license MIT
@notice An ERC-792 arbitrator run by a panel of addresses: each dispute is decided by the first
        ruling that reaches `quorum` panel votes. Appeals are disabled. It lets the system work
        without an external court; Kleros' arbitrator plugs into products unchanged by address.
"""


from interfaces import IArbitrator
from interfaces import IArbitrable

# @dev The ERC-792 arbitrator interface, exactly.
implements: IArbitrator


MAX_PANEL: constant(uint256) = 16
MAX_EXTRA_DATA: constant(uint256) = 1024

# ERC-792 DisputeStatus
WAITING: constant(uint8) = 0
SOLVED: constant(uint8) = 2


struct PanelDispute:
    arbitrable: address
    choices: uint256
    status: uint8
    ruling: uint256


owner: public(address)
fee: public(uint256)
quorum: public(uint256)
panel: public(DynArray[address, MAX_PANEL])
isPanelist: public(HashMap[address, bool])
disputeCount: public(uint256)
disputes: public(HashMap[uint256, PanelDispute])
votes: public(HashMap[uint256, HashMap[uint256, uint256]])  # disputeId => ruling => votes
hasVoted: public(HashMap[uint256, HashMap[address, bool]])
feesCollected: public(uint256)


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

event OwnershipTransferred:
    previousOwner: indexed(address)
    newOwner: indexed(address)


@deploy
def __init__(panel: DynArray[address, MAX_PANEL], quorum: uint256, fee: uint256):
    """
    @notice Sets up the panel, its quorum and the arbitration fee; the deployer becomes owner.
    @param panel The panelists.
    @param quorum Votes a ruling needs.
    @param fee Arbitration fee in wei.
    """
    self.owner = msg.sender
    self._set_panel(panel, quorum)
    self.fee = fee
    log FeeUpdated(fee=fee)


@external
@payable
def createDispute(_choices: uint256, _extraData: Bytes[MAX_EXTRA_DATA]) -> uint256:
    """
    @notice Opens a dispute for the calling arbitrable contract.
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
def vote(dispute_id: uint256, ruling: uint256):
    """
    @notice A panelist's vote; the first ruling with `quorum` votes is sent to the arbitrable.
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
    @param _disputeID The dispute.
    @return uint256 The ruling.
    """
    return self.disputes[_disputeID].ruling


@external
def setPanel(panel: DynArray[address, MAX_PANEL], quorum: uint256):
    """
    @notice Replaces the panel and quorum; votes already cast stay counted.
    @param panel The panelists.
    @param quorum Votes a ruling needs.
    """
    self._only_owner()
    for member: address in self.panel:
        self.isPanelist[member] = False
    self._set_panel(panel, quorum)


@external
def setFee(fee: uint256):
    """
    @notice Sets the arbitration fee for new disputes.
    @param fee Wei.
    """
    self._only_owner()
    self.fee = fee
    log FeeUpdated(fee=fee)


@external
def withdrawFees(receiver: address):
    """
    @notice Sends the collected arbitration fees to `receiver` (to pay the panel).
    @param receiver Where the fees go.
    """
    self._only_owner()
    amount: uint256 = self.feesCollected
    assert amount > 0, "panel: no fees"
    self.feesCollected = 0
    raw_call(receiver, b"", value=amount)
    log FeesWithdrawn(receiver=receiver, amount=amount)


@external
def transferOwnership(new_owner: address):
    """
    @notice Hands the panel's administration to `new_owner`.
    @param new_owner The new owner.
    """
    self._only_owner()
    assert new_owner != empty(address), "panel: new owner is zero"
    log OwnershipTransferred(previousOwner=self.owner, newOwner=new_owner)
    self.owner = new_owner


@internal
@view
def _only_owner():
    """
    @notice Reverts unless the caller is the owner.
    """
    assert msg.sender == self.owner, "panel: caller is not the owner"


@internal
def _set_panel(panel: DynArray[address, MAX_PANEL], quorum: uint256):
    """
    @notice Stores the panel and its quorum.
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
