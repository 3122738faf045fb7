"""Publishing an evidence key in the KeyDirectory, as a node does when it starts."""

from __future__ import annotations

import pytest

from oracle.chain import keys
from oracle.chain.deploy import deploy
from oracle.chain.keys import key_directory, publish_key, published_key
from oracle.dev.devchain import dev_chain


def test_two_workers_of_one_member_publish_the_same_key_at_once__the_later_one_starts(monkeypatch):
    """Workers of one member started together both saw no key, both published, and the later one died on
    "KeyDirectory: key already published" (seen in the workers benchmark); it now finds its key there and goes on."""
    with dev_chain() as chain:
        directory = key_directory(chain.w3, deploy(chain.w3, "KeyDirectory", sender=chain.accounts[0]).address)
        member, key = chain.accounts[3], b"\x11" * 32
        assert publish_key(directory, member, key) is not None  # the first worker
        looked = []

        def before_the_first_was_mined(contract, account):
            looked.append(account)
            return None if len(looked) == 1 else bytes(contract.functions.keyOf(account).call())

        monkeypatch.setattr(keys, "published_key", before_the_first_was_mined)
        assert publish_key(directory, member, key) is None  # the second worker: its key is there, nothing to do
        assert len(looked) == 2  # it looked again after the refusal
        monkeypatch.undo()
        with pytest.raises(RuntimeError, match="reverted"):  # refused and the key still not seen there: an error
            monkeypatch.setattr(keys, "published_key", lambda contract, account: None)
            publish_key(directory, member, b"\x11" * 32)
        assert published_key(directory, member) == key
