"""The oracle report as EIP-712 typed data: the bytes committee members sign for the contract."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_keys.exceptions import BadSignature
from eth_keys.exceptions import ValidationError as KeysValidationError
from eth_utils import keccak

from oracle.domain import BPS, REPORT_VALIDITY_S, Decision

DOMAIN_NAME = "ClaimsOracle"
DOMAIN_VERSION = "1"
MAX_CONFIDENCE_BPS = BPS
SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
"""The largest `s` the contract's ecdsa module accepts (it refuses malleable high-s signatures)."""

Signature = tuple[int, bytes, bytes]
"""(v, r, s) as the contract's `Signature` struct wants them."""
ReportTuple = tuple[int, int, int, int, bytes, bytes, bytes, bytes, int, int]
"""A report in the field order of the contract's `Report` struct."""

REPORT_TYPES = {
    "Report": [
        {"name": "claimId", "type": "uint256"},
        {"name": "decision", "type": "uint8"},
        {"name": "payout", "type": "uint256"},
        {"name": "confidence", "type": "uint16"},
        {"name": "explanationHash", "type": "bytes32"},
        {"name": "modelHash", "type": "bytes32"},
        {"name": "evidenceRoot", "type": "bytes32"},
        {"name": "termsHash", "type": "bytes32"},
        {"name": "epoch", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


@dataclass(frozen=True)
class Report:
    """One oracle decision on one claim, bound to its evidence, terms and model, to the committee epoch that
    decided it (a rotation voids earlier signatures) and to a deadline (unix time) after which it expires."""

    claimId: int
    decision: int
    payout: int
    confidence: int
    explanationHash: bytes
    modelHash: bytes
    evidenceRoot: bytes
    termsHash: bytes
    epoch: int
    deadline: int

    def __post_init__(self) -> None:
        """Reject values the contract would refuse, with the offending value named."""
        if self.decision not in set(Decision):
            raise ValueError(f"decision must be one of {[int(d) for d in Decision]}, got {self.decision}")
        if not 0 <= self.confidence <= MAX_CONFIDENCE_BPS:
            raise ValueError(f"confidence must be 0..{MAX_CONFIDENCE_BPS} basis points, got {self.confidence}")
        if self.payout < 0 or self.claimId <= 0:
            raise ValueError(f"payout must be >= 0 and claimId > 0, got {self.payout}, {self.claimId}")
        if self.epoch <= 0 or self.deadline <= 0:
            raise ValueError(f"epoch and deadline must be > 0, got {self.epoch}, {self.deadline}")
        for name in ("explanationHash", "modelHash", "evidenceRoot", "termsHash"):
            value = getattr(self, name)
            if not isinstance(value, bytes | bytearray) or len(value) != 32:
                raise ValueError(f"{name} must be 32 bytes, got {value!r}")

    def as_tuple(self) -> ReportTuple:
        """The report in the field order of the contract's `Report` struct."""
        return tuple(asdict(self).values())


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain of one deployed claims manager on one chain."""

    chain_id: int
    verifying_contract: str

    def as_dict(self) -> dict[str, Any]:
        """The domain in the shape eth-account expects."""
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


def _signable(report: Report, domain: Domain) -> SignableMessage:
    """The EIP-712 signable message for a report in a domain."""
    message = {k: (bytes(v) if isinstance(v, bytearray) else v) for k, v in asdict(report).items()}
    return encode_typed_data(domain_data=domain.as_dict(), message_types=REPORT_TYPES, message_data=message)


def report_digest(report: Report, domain: Domain) -> bytes:
    """The 32-byte typed-data hash the contract recomputes for `report`."""

    signable = _signable(report, domain)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_report(report: Report, domain: Domain, private_key: bytes | str) -> Signature:
    """Sign `report` and return (v, r, s) as the contract's `Signature` struct wants them."""
    signed = Account.sign_message(_signable(report, domain), private_key=private_key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def recover_signer(report: Report, domain: Domain, signature: Signature) -> str:
    """The address that produced `signature` over `report` in `domain`; ValueError for one the contract refuses."""
    v, r, s = signature
    vrs = (v, int.from_bytes(r, "big"), int.from_bytes(s, "big"))
    if v not in (27, 28):
        raise ValueError(f"signature v must be 27 or 28, got {v}")
    if not 0 < vrs[2] <= SECP256K1_HALF_N:
        raise ValueError("signature s is zero or in the upper half of the curve order (malleable)")
    try:
        signer: str = Account.recover_message(_signable(report, domain), vrs=vrs)  # untyped (a combomethod)
    except (BadSignature, KeysValidationError) as exc:  # r is no point's x coordinate, or out of range
        raise ValueError(f"the signature recovers to no public key ({type(exc).__name__})") from None
    return signer


def sign_quorum(report: Report, domain: Domain, keys_by_address: dict[str, bytes | str]) -> list[Signature]:
    """Signatures from every given signer, ordered by ascending signer address as the contract requires."""
    ordered = sorted(keys_by_address.items(), key=lambda item: int(item[0], 16))
    return [sign_report(report, domain, key) for _, key in ordered]


def report_deadline(submitted_at: int) -> int:
    """The deadline every committee member puts in its report on a claim submitted at `submitted_at`: the same
    for all of them (their signatures must cover one digest), `REPORT_VALIDITY_S` after the submission."""
    return submitted_at + REPORT_VALIDITY_S
