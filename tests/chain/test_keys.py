"""Publishing an evidence key in the KeyDirectory, as a node does when it starts."""

from __future__ import annotations

import threading

import pytest

from oracle.chain import keys
from oracle.chain.deploy import deploy
from oracle.chain.keys import key_directory, publish_key, published_key
from oracle.dev.devchain import dev_chain
from oracle.domain import DEV_MNEMONIC
from oracle.node.signer import Signer


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
        with pytest.raises(RuntimeError, match="the key is not there"):  # refused and the key never seen: an error
            monkeypatch.setattr(keys, "published_key", lambda contract, account: None)
            publish_key(directory, member, b"\x11" * 32, wait_seconds=0.3)
        assert published_key(directory, member) == key


def test_two_signing_workers_of_one_member_take_the_same_nonce__the_loser_waits_for_the_key_and_starts():
    """Workers of one member that sign locally both read the same pending nonce; the first publication is mined and
    the second is refused "nonce too low" (both fresh-clone runs of the workers benchmark died so); the loser now
    waits for the winner's key instead of dying."""
    with dev_chain() as chain:
        directory = key_directory(chain.w3, deploy(chain.w3, "KeyDirectory", sender=chain.accounts[0]).address)
        signer, key = Signer.from_dev_mnemonic(DEV_MNEMONIC, 5), b"\x22" * 32
        both_hold_a_nonce = threading.Barrier(2, timeout=30)

        def sign_after_both_read_the_nonce(tx):
            both_hold_a_nonce.wait()
            return signer.sign_transaction(tx)

        outcomes: list[object] = []

        def worker():
            try:
                outcomes.append(publish_key(directory, signer.address, key, sign_after_both_read_the_nonce))
            except Exception as exc:  # noqa: BLE001 - the test reports whatever a worker died of
                outcomes.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        assert sorted(o is None for o in outcomes) == [False, True]  # one published, the other found it there
        assert published_key(directory, signer.address) == key
