"""The node's key: loaded from an encrypted keystore (or a dev mnemonic), never printed or logged."""

from __future__ import annotations

import argparse
import getpass
import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from oracle.chain.report import Domain, Report, sign_report
from oracle.domain import DEV_MNEMONIC
from oracle.privacy import Reader, encryption_key_message, identity_from_signature


class Signer:
    """Signs transactions and EIP-712 reports for one committee member."""

    def __init__(self, account: LocalAccount):
        """Wrap an eth-account key."""
        self._account = account

    @classmethod
    def from_keystore(cls, path: Path, password: str) -> Signer:
        """Decrypt a V3 keystore file (as geth and `cast wallet` write them)."""
        try:
            keystore = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read keystore {path}: {exc}") from None
        try:
            key = Account.decrypt(keystore, password)
        except ValueError:
            raise ValueError(f"wrong password for keystore {path}") from None
        return cls(Account.from_key(key))

    @classmethod
    def from_dev_mnemonic(cls, mnemonic: str, index: int) -> Signer:
        """Derive dev account `index` of a mnemonic (anvil's default accounts): for local chains only."""
        Account.enable_unaudited_hdwallet_features()
        return cls(Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}"))

    @property
    def address(self) -> str:
        """The member's checksummed address."""
        return self._account.address

    def sign_transaction(self, tx: dict) -> tuple[bytes, bytes]:
        """Sign a transaction; returns (raw bytes, hash)."""
        signed = self._account.sign_transaction(tx)
        return bytes(signed.raw_transaction), bytes(signed.hash)

    def sign_report(self, report: Report, domain: Domain) -> tuple[int, bytes, bytes]:
        """Sign a report in a manager's EIP-712 domain."""
        return sign_report(report, domain, self._account.key)

    def key_signature(self, chain_id: int, directory: str) -> bytes:
        """The account's signature over the key directory's message (deterministic, RFC 6979), which its evidence
        key and its insured-object salt are derived from, as the dApp derives them from a wallet's signature."""
        message = encryption_key_message(chain_id, directory, self.address)
        return bytes(self._account.sign_message(encode_defunct(text=message)).signature)

    def reader(self, chain_id: int, directory: str) -> Reader:
        """The account's evidence reader (the same key on every start and from a backup of the signing key)."""
        return Reader(self.address, identity_from_signature(self.key_signature(chain_id, directory)))

    def __repr__(self) -> str:
        """Show the address only: the key never appears in reprs, logs or tracebacks."""
        return f"Signer({self.address})"


def add_key_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose an account: a V3 keystore or an ape account alias (password from a file or a
    prompt), or a dev account."""
    key = parser.add_mutually_exclusive_group(required=True)
    key.add_argument("--keystore", type=Path, help="encrypted V3 keystore of the account's key")
    key.add_argument(
        "--account", metavar="ALIAS", help="an ape account alias (`ape accounts import ALIAS`): its keystore"
    )
    key.add_argument(
        "--dev-account", type=int, metavar="INDEX", help="use anvil's dev mnemonic account INDEX (local chains only)"
    )
    parser.add_argument("--password-file", type=Path, help="file holding the keystore password (else prompt)")


def signer_from_args(args: argparse.Namespace) -> Signer:
    """The signer the key options name; an unreadable password file or keystore raises ValueError."""
    if args.dev_account is not None:
        return Signer.from_dev_mnemonic(DEV_MNEMONIC, args.dev_account)
    keystore = ape_keystore(args.account) if getattr(args, "account", None) else args.keystore
    if args.password_file:
        try:
            password = args.password_file.read_text().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the password file {args.password_file}: {exc.strerror or exc}") from None
    else:
        password = getpass.getpass("keystore password: ")
    return Signer.from_keystore(keystore, password)


def ape_keystore(alias: str) -> Path:
    """The V3 keystore ape keeps for an account alias: $APE_DATA_FOLDER (default ~/.ape)/accounts/ALIAS.json."""
    if not alias or "/" in alias or alias.startswith("."):
        raise ValueError(f"not an ape account alias: {alias!r}")
    folder = Path(os.environ.get("APE_DATA_FOLDER") or Path.home() / ".ape")
    path = folder / "accounts" / f"{alias}.json"
    if not path.is_file():
        raise ValueError(
            f"no ape account {alias!r}: {path} does not exist (create it with `ape accounts import {alias}`)"
        )
    return path
