# pragma version ~=0.4.3
"""
@title Arbitrable for tests
@notice Opens disputes on an arbitrator and records the rulings it receives.
"""

from ..interfaces import IArbitrator

rulings: public(HashMap[uint256, uint256])
ruled: public(HashMap[uint256, bool])


@external
@payable
def open(arbitrator: address, choices: uint256) -> uint256:
    """
    @notice Opens a dispute, paying the ETH sent as the fee.
    @param arbitrator The arbitrator.
    @param choices The number of ruling options.
    @return uint256 The dispute id.
    """
    return extcall IArbitrator(arbitrator).createDispute(choices, b"", value=msg.value)


@external
def rule(_disputeID: uint256, _ruling: uint256):
    """
    @notice ERC-792 callback: records the ruling.
    @param _disputeID The dispute.
    @param _ruling The ruling.
    """
    self.rulings[_disputeID] = _ruling
    self.ruled[_disputeID] = True
