# pragma version ~=0.4.3
"""
@title Reentrant claimant for tests
@notice A policy holder contract that, when paid, calls back into the claims manager to try to
        withdraw the same payout (or a credit, or a cancellation refund) a second time.
"""

interface IClaimsManager:
    def buyPolicy(product_id: uint256, insured_object: bytes32, vehicle_class: uint256) -> uint256: payable
    def submitClaim(policy_id: uint256, evidence_root: bytes32, evidence_uri: String[256], incident_time: uint256, peril: uint256, latitude_e6: int256, longitude_e6: int256, claimed_amount: uint256) -> uint256: nonpayable
    def withdrawPayout(claim_id: uint256): nonpayable
    def withdrawCredit(): nonpayable
    def cancelPolicy(policy_id: uint256, receiver: address): nonpayable

target: public(IClaimsManager)
attackClaimId: public(uint256)
attackCredit: public(bool)
attackCancelPolicyId: public(uint256)
reentered: public(bool)
reentrySucceeded: public(bool)


@deploy
def __init__(target: address):
    """
    @notice Points the attacker at the claims manager.
    @param target The claims manager.
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
    return extcall self.target.buyPolicy(product_id, keccak256("attacker"), 1, value=msg.value)  # the demo sedan: base premium


@external
def claim(policy_id: uint256, amount: uint256, incident_time: uint256) -> uint256:
    """
    @notice Submits a claim on its policy.
    @param policy_id The policy.
    @param amount Claimed amount.
    @param incident_time When it happened.
    @return uint256 The claim id.
    """
    return extcall self.target.submitClaim(policy_id, keccak256("evidence"), "ipfs://x", incident_time, 0, 0, 0, amount)


@external
def withdraw(claim_id: uint256):
    """
    @notice Withdraws a payout, arming the reentry.
    @param claim_id The claim.
    """
    self.attackClaimId = claim_id
    self.attackCredit = False
    extcall self.target.withdrawPayout(claim_id)


@external
def cancel(policy_id: uint256):
    """
    @notice Cancels its policy with the refund paid to itself, arming the reentry.
    @param policy_id The policy.
    """
    self.attackCancelPolicyId = policy_id
    extcall self.target.cancelPolicy(policy_id, self)


@external
def withdrawCredit():
    """
    @notice Withdraws a credit, arming the reentry.
    """
    self.attackCredit = True
    extcall self.target.withdrawCredit()


@external
@payable
def __default__():
    """
    @notice On payment, tries once to withdraw again and records whether that worked.
    """
    if self.reentered:
        return
    self.reentered = True
    success: bool = False
    if self.attackCancelPolicyId != 0:
        success = raw_call(
            self.target.address,
            abi_encode(self.attackCancelPolicyId, self, method_id=method_id("cancelPolicy(uint256,address)")),
            revert_on_failure=False,
        )
    elif self.attackCredit:
        success = raw_call(self.target.address, method_id("withdrawCredit()"), revert_on_failure=False)
    else:
        success = raw_call(
            self.target.address,
            abi_encode(self.attackClaimId, method_id=method_id("withdrawPayout(uint256)")),
            revert_on_failure=False,
        )
    self.reentrySucceeded = success
