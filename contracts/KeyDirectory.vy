# pragma version ~=0.4.3
"""
@title Key directory
@custom:contract-name KeyDirectory
@license MIT
@notice Where an account publishes the X25519 public key that claim evidence is sealed for. Only the
        account itself can publish or replace its key, so a key here is bound to its address: the
        dApp wraps a claim's content key for each committee member, the insurer and the arbitrator
        from what they published here. Publishing a new key (a new version) is how an account
        rotates; evidence sealed for an old key stays readable only while its holder keeps that
        old private key, which is how erasure by destroying keys works.
"""


event EncryptionKeyPublished:
    account: indexed(address)
    key: bytes32
    version: uint256


# @dev The account's current X25519 public key (zero: none published).
keyOf: public(HashMap[address, bytes32])

# @dev How many keys the account has published; grants name the version they were made for.
versionOf: public(HashMap[address, uint256])


@external
def publish(key: bytes32):
    """
    @notice Publish (or rotate to) the caller's X25519 public key.
    @param key The 32-byte public key; it must differ from the current one.
    """
    assert key != empty(bytes32), "KeyDirectory: empty key"
    assert key != self.keyOf[msg.sender], "KeyDirectory: key already published"
    version: uint256 = self.versionOf[msg.sender] + 1
    self.keyOf[msg.sender] = key
    self.versionOf[msg.sender] = version
    log EncryptionKeyPublished(account=msg.sender, key=key, version=version)
