# pragma version ~=0.4.3
"""
@title Mock arbitrator for tests
@notice A free ERC-792 arbitrator whose owner forwards any ruling, even invalid ones, to test how
        the arbitrable side guards itself. It can also be told to reuse a dispute id.
"""

from ..interfaces import IArbitrable

nextDisputeId: public(uint256)
reuseIds: public(bool)


@external
def setReuseIds(reuse: bool):
    """
    @notice Makes every new dispute get id 0 (a misbehaving arbitrator).
    @param reuse True to reuse ids.
    """
    self.reuseIds = reuse


@external
@payable
def createDispute(_choices: uint256, _extraData: Bytes[1024]) -> uint256:
    """
    @notice Opens a dispute and returns its id.
    @param _choices Unused.
    @param _extraData Unused.
    @return uint256 The dispute id.
    """
    if self.reuseIds:
        return 0
    dispute_id: uint256 = self.nextDisputeId
    self.nextDisputeId = dispute_id + 1
    return dispute_id


@external
@view
def arbitrationCost(_extraData: Bytes[1024]) -> uint256:
    """
    @notice Arbitration is free here.
    @param _extraData Unused.
    @return uint256 Zero.
    """
    return 0


@external
def giveRuling(arbitrable: address, dispute_id: uint256, ruling: uint256):
    """
    @notice Forwards `ruling` for `dispute_id` to `arbitrable`, unchecked.
    @param arbitrable The arbitrable contract.
    @param dispute_id The dispute.
    @param ruling Any number.
    """
    extcall IArbitrable(arbitrable).rule(dispute_id, ruling)
