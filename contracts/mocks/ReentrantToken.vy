# pragma version ~=0.4.3
"""
@title Reentrant token for tests
@notice An ERC-20 whose `transfer` or `transferFrom` calls back into the claims manager once (a
        hostile payout asset with ERC-777-style hooks), recording whether the nested call got through.
"""

balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
target: public(address)
payload: public(Bytes[100])
armed: public(bool)
armedFrom: public(bool)
reentrySucceeded: public(bool)


@external
def mint(receiver: address, amount: uint256):
    """
    @notice Mints tokens (test helper).
    @param receiver Who gets them.
    @param amount How many.
    """
    self.balanceOf[receiver] += amount


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Sets an allowance.
    @param spender The spender.
    @param amount The allowance.
    @return bool True.
    """
    self.allowance[msg.sender][spender] = amount
    return True


@external
def arm(target: address, payload: Bytes[100]):
    """
    @notice Makes the next `transfer` call `target` with `payload`.
    @param target The contract to re-enter.
    @param payload The call data.
    """
    self.target = target
    self.payload = payload
    self.armed = True


@external
def armTransferFrom(target: address, payload: Bytes[100]):
    """
    @notice Makes the next `transferFrom` call `target` with `payload` before moving the tokens.
    @param target The contract to re-enter.
    @param payload The call data.
    """
    self.target = target
    self.payload = payload
    self.armedFrom = True


@external
def transfer(receiver: address, amount: uint256) -> bool:
    """
    @notice Moves tokens, re-entering the target first if armed.
    @param receiver Who gets them.
    @param amount How many.
    @return bool True.
    """
    if self.armed:
        self.armed = False
        self.reentrySucceeded = raw_call(self.target, self.payload, revert_on_failure=False)
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[receiver] += amount
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    """
    @notice Moves tokens under an allowance.
    @param sender Whose tokens.
    @param receiver Who gets them.
    @param amount How many.
    @return bool True.
    """
    if self.armedFrom:
        self.armedFrom = False
        self.reentrySucceeded = raw_call(self.target, self.payload, revert_on_failure=False)
    self.allowance[sender][msg.sender] -= amount
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    return True
