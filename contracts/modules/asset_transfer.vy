# pragma version ~=0.4.3
"""
@title Asset transfers
@notice Moves the payout asset of a product in and out of the contract: native ETH when the
        asset is the zero address, otherwise one ERC-20, including tokens whose `transfer` and
        `transferFrom` return no bool (USDT-style).
@dev Stateless: callers keep their own books and guard against reentrancy.
"""

from ethereum.ercs import IERC20


NATIVE: constant(address) = empty(address)


@internal
def _collect(asset: address, payer: address, amount: uint256, eth_sent: uint256):
    """
    @notice Takes `amount` of `asset` from `payer` into this contract.
    @dev For ETH the exact amount must arrive as `msg.value`; for a token `msg.value` must be zero.
    @param asset The payout asset (zero address for ETH).
    @param payer The account that pays.
    @param amount The amount in the asset's base units.
    @param eth_sent The caller's `msg.value`.
    """
    if asset == NATIVE:
        assert eth_sent == amount, "asset: wrong ETH amount sent"
        return
    assert eth_sent == 0, "asset: ETH sent for a token"
    if amount == 0:
        return
    self._call_token(asset, abi_encode(payer, self, amount, method_id=method_id("transferFrom(address,address,uint256)")))


@internal
def _send(asset: address, receiver: address, amount: uint256):
    """
    @notice Sends `amount` of `asset` from this contract to `receiver`.
    @param asset The payout asset (zero address for ETH).
    @param receiver The account that receives.
    @param amount The amount in the asset's base units.
    """
    if amount == 0:
        return
    if asset == NATIVE:
        raw_call(receiver, b"", value=amount)
        return
    self._call_token(asset, abi_encode(receiver, amount, method_id=method_id("transfer(address,uint256)")))


@internal
def _call_token(token: address, payload: Bytes[100]):
    """
    @notice Calls a token and accepts either no return data or a true bool.
    @param token The ERC-20 contract.
    @param payload The ABI-encoded call.
    """
    assert token.is_contract, "asset: token has no code"
    success: bool = False
    response: Bytes[32] = b""
    success, response = raw_call(token, payload, max_outsize=32, revert_on_failure=False)
    assert success, "asset: token transfer reverted"
    if len(response) != 0:
        assert convert(response, bool), "asset: transfer returned false"
