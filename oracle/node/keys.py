"""A member's evidence key: derived from its signing key, published in the key directory before it takes claims."""

from __future__ import annotations

import logging

from web3 import Web3

from oracle.chain.keys import key_directory, publish_key
from oracle.node.signer import Signer
from oracle.privacy import Reader

log = logging.getLogger(__name__)


def member_reader(w3: Web3, signer: Signer, directory_address: str) -> Reader:
    """Derive the member's evidence reader and publish its public key if the directory does not hold it yet."""
    reader = signer.reader(int(w3.eth.chain_id), directory_address)
    if publish_key(key_directory(w3, directory_address), signer.address, reader.public_key, signer.sign_transaction):
        log.info("published the encryption key of %s in the key directory %s", signer.address, directory_address)
    return reader
