# pragma version ~=0.4.3
"""
@title Mock ERC-20 for tests
@notice A token with public minting. Built with `returns_bool` false, `transfer` and
        `transferFrom` return no data at all, like USDT.
"""

balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
totalSupply: public(uint256)
decimals: public(uint8)
returnsBool: public(bool)

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


@deploy
def __init__(returns_bool: bool):
    """
    @notice A token with 6 decimals, like USDC.
    @param returns_bool False to return no data from transfers (USDT-style).
    """
    self.decimals = 6
    self.returnsBool = returns_bool


@external
def mint(receiver: address, amount: uint256):
    """
    @notice Mints `amount` to `receiver` (test helper).
    @param receiver Who gets the tokens.
    @param amount How many.
    """
    self.balanceOf[receiver] += amount
    self.totalSupply += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Lets `spender` move `amount` of the caller's tokens.
    @param spender The spender.
    @param amount The allowance.
    @return bool True.
    """
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
@raw_return
def transfer(receiver: address, amount: uint256) -> Bytes[32]:
    """
    @notice Moves the caller's tokens.
    @param receiver Who gets them.
    @param amount How many.
    @return Bytes ABI true, or nothing for a USDT-style token.
    """
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=msg.sender, receiver=receiver, value=amount)
    return self._success()


@external
@raw_return
def transferFrom(sender: address, receiver: address, amount: uint256) -> Bytes[32]:
    """
    @notice Moves tokens under an allowance.
    @param sender Whose tokens.
    @param receiver Who gets them.
    @param amount How many.
    @return Bytes ABI true, or nothing for a USDT-style token.
    """
    self.allowance[sender][msg.sender] -= amount
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)
    return self._success()


@internal
@view
def _success() -> Bytes[32]:
    """
    @notice The raw return data of a successful transfer.
    @return Bytes ABI-encoded true, or empty for a USDT-style token.
    """
    if self.returnsBool:
        return abi_encode(True)
    return b""
