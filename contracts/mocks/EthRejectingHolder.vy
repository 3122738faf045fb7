# pragma version ~=0.4.3
"""
@title ETH-rejecting policy holder for tests
@notice A holder contract (a smart wallet or vault, say) that has no payable fallback, so it cannot
        receive ETH: paid to itself it reverts, paid to a receiver it names it is paid.
"""

interface IClaimsManager:
    def buyPolicy(product_id: uint256, insured_object: bytes32, vehicle_class: uint256) -> uint256: payable
    def submitClaim(policy_id: uint256, evidence_root: bytes32, evidence_uri: String[256], incident_time: uint256, peril: uint256, latitude_e6: int256, longitude_e6: int256, claimed_amount: uint256) -> uint256: nonpayable
    def withdrawPayout(claim_id: uint256): nonpayable
    def collect(claim_id: uint256, receiver: address): nonpayable

target: public(IClaimsManager)


@deploy
def __init__(target: address):
    """
    @notice Points the holder at a claims manager.
    @param target The manager.
    """
    self.target = IClaimsManager(target)


@external
@payable
def buy(product_id: uint256) -> uint256:
    """
    @notice Buys a policy with the ETH sent.
    @param product_id The product.
    @return uint256 The policy id.
    """
    return extcall self.target.buyPolicy(product_id, keccak256("holder-contract"), 1, value=msg.value)  # the demo sedan: base premium


@external
def claim(policy_id: uint256, amount: uint256, incident_time: uint256) -> uint256:
    """
    @notice Submits a claim.
    @param policy_id The policy.
    @param amount The claimed amount.
    @param incident_time When it happened.
    @return uint256 The claim id.
    """
    return extcall self.target.submitClaim(policy_id, keccak256("evidence"), "ipfs://x", incident_time, 1, 0, 0, amount)


@external
def withdraw(claim_id: uint256):
    """
    @notice Asks for the payout to itself (reverts: it cannot take ETH).
    @param claim_id The claim.
    """
    extcall self.target.withdrawPayout(claim_id)


@external
def collectTo(claim_id: uint256, receiver: address):
    """
    @notice Collects the payout to `receiver`.
    @param claim_id The claim.
    @param receiver Where the payout goes.
    """
    extcall self.target.collect(claim_id, receiver)
