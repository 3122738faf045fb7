"""The key directory: where each account publishes the X25519 public key that claim evidence is sealed for."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.types import TxReceipt

from oracle.chain.contracts import contract_type

SignTransaction = Callable[[dict[str, Any]], tuple[bytes, bytes]]
"""Signs a transaction dict and returns (raw bytes, hash), as a node's Signer does."""

PUBLISH_WAIT_SECONDS = 30.0  # how long a worker that lost the race to publish waits to see the winner's key


def key_directory(w3: Web3, address: str) -> Contract:
    """The KeyDirectory contract at an address."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=contract_type("KeyDirectory")["abi"])


def published_key(directory: Contract, account: str) -> bytes | None:
    """The X25519 public key an account has published, or None if it has published none."""
    key = bytes(directory.functions.keyOf(Web3.to_checksum_address(account)).call())
    return None if key == bytes(32) else key


def publish_key(
    directory: Contract,
    account: str,
    public_key: bytes,
    sign: SignTransaction | None = None,
    wait_seconds: float = PUBLISH_WAIT_SECONDS,
) -> TxReceipt | None:
    """Publish an account's X25519 public key unless it is already the published one; `sign` signs locally,
    without it the account must be unlocked on the node (dev chains); a publication that fails waits up to
    `wait_seconds` for the same key to appear (another worker of the account won the race)."""
    if published_key(directory, account) == public_key:
        return None
    w3 = directory.w3
    sender = Web3.to_checksum_address(account)
    call = directory.functions.publish(public_key)
    try:
        if sign is None:
            tx_hash = call.transact({"from": sender})
        else:
            tx = call.build_transaction({"from": sender, "nonce": w3.eth.get_transaction_count(sender, "pending")})
            raw, _ = sign(dict(tx))
            tx_hash = w3.eth.send_raw_transaction(raw)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] == 1:
            return receipt
    except (ContractLogicError, Web3RPCError):
        pass  # refused ("key already published") or its nonce taken ("nonce too low") by another worker's publication
    # several workers of one member start together and publish the same key: one of them wins, the rest are done
    deadline = time.monotonic() + wait_seconds
    while published_key(directory, account) != public_key:
        if time.monotonic() >= deadline:
            raise RuntimeError(f"publishing the encryption key of {account} failed and the key is not there")
        time.sleep(0.2)
    return None
