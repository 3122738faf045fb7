"""Typed web3 access to the compiled contracts: ABIs from ape's build output, deployment, reads and events."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypedDict

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_typing import ChecksumAddress
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.types import RPCEndpoint, RPCError

from oracle.chain.report import Domain, Report, Signature
from oracle.deployment import Deployment
from oracle.domain import REPO_ROOT
from oracle.settings import LOG_CHUNK_BLOCKS

BUILD_MANIFEST = REPO_ROOT / ".build" / "__local__.json"
EIP1271_MAGIC = function_signature_to_4byte_selector("isValidSignature(bytes32,bytes)")
"""What an EIP-1271 contract's isValidSignature returns for a signature it accepts (0x1626ba7e)."""


class BuildMissingError(RuntimeError):
    """The compiled contracts are not there (run `ape compile` or `make setup`)."""


class ContractType(TypedDict):
    """A compiled contract: its ABI (JSON entries as the compiler wrote them) and deployment bytecode (0x-hex)."""

    abi: list[dict[str, Any]]
    bytecode: str


class Receipt(TypedDict):
    """A mined transaction's outcome as `ClaimsManagerClient.receipt` decodes it."""

    status: int
    blockNumber: int
    transactionHash: bytes


@cache
def contract_type(name: str, manifest: Path = BUILD_MANIFEST) -> ContractType:
    """The ABI and deployment bytecode of a compiled contract, read from ape's build manifest."""
    if not manifest.is_file():
        raise BuildMissingError(f"no compiled contracts at {manifest}: run `make setup` (or `ape compile`)")
    types = json.loads(manifest.read_text())["contractTypes"]
    if name not in types:
        raise BuildMissingError(f"contract {name!r} is not in {manifest}; compiled: {sorted(types)}")
    return ContractType(abi=types[name]["abi"], bytecode=types[name]["deploymentBytecode"]["bytecode"])


def block_ranges(first: int, last: int, chunk: int) -> Iterator[tuple[int, int]]:
    """[first, last] cut into consecutive inclusive ranges of at most `chunk` blocks."""
    if chunk < 1:
        raise ValueError(f"a log chunk must span at least one block, got {chunk}")
    while first <= last:
        yield first, min(last, first + chunk - 1)
        first += chunk


def abi_sha256(name: str) -> str:
    """The sha256 (hex) of a compiled contract's ABI as canonical JSON: what a deployment record pins."""
    canonical = json.dumps(contract_type(name)["abi"], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def abi_mismatches(record: Deployment) -> list[str]:
    """The contracts of a deployment record whose ABI differs from this checkout's build (another release)."""
    return sorted(name for name, deployed in record.contracts.items() if deployed.abi_sha256 != abi_sha256(name))


@dataclass(frozen=True)
class ClaimSubmitted:
    """A `ClaimSubmitted` event with where it was mined."""

    claim_id: int
    policy_id: int
    holder: str
    evidence_root: bytes
    evidence_uri: str
    incident_time: int
    peril: int
    latitude_e6: int
    longitude_e6: int
    claimed_amount: int
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    log_index: int


def _abi_type(item: dict[str, Any]) -> str:
    """The canonical ABI type of an input or output, tuples spelled out."""
    abi_type: str = item["type"]
    if abi_type.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + abi_type[len("tuple") :]
    return abi_type


def _normalise(abi_type: str, value: Any) -> Any:
    """Decoded values as web3 hands them out: checksummed addresses, plain bytes, lists for arrays."""
    if abi_type == "address":
        return to_checksum_address(value)
    if abi_type.endswith("[]"):
        return [_normalise(abi_type[:-2], v) for v in value]
    return value


class _Function:
    """One contract function's selector and codecs, computed once (web3's per-call machinery costs ~10 ms of
    CPU and two extra eth_chainId round trips per call; a node makes several calls per claim)."""

    def __init__(self, item: dict[str, Any]) -> None:
        self.inputs = [_abi_type(i) for i in item["inputs"]]
        self.selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(self.inputs)})")
        outputs = item.get("outputs", [])
        self.names: list[str]
        self.outputs: list[str]
        self.struct: bool
        if len(outputs) == 1 and outputs[0]["type"] == "tuple":  # a struct getter: name its fields
            self.names = [c["name"] for c in outputs[0]["components"]]
            self.outputs = [_abi_type(c) for c in outputs[0]["components"]]
            self.struct = True
        else:
            self.names, self.outputs, self.struct = [], [_abi_type(o) for o in outputs], False

    def data(self, *args: Any) -> str:
        """Call data for these arguments, as 0x-hex."""
        return "0x" + (self.selector + abi_encode(self.inputs, list(args))).hex()

    def decode(self, result: str) -> Any:
        """The call's return value: a dict of fields for a struct getter, else the single value or a tuple."""
        types = [f"({','.join(self.outputs)})"] if self.struct else self.outputs
        values = abi_decode(types, bytes.fromhex(result[2:]))
        if self.struct:
            return {name: _normalise(t, v) for name, t, v in zip(self.names, self.outputs, values[0], strict=True)}
        normalised = [_normalise(t, v) for t, v in zip(self.outputs, values, strict=True)]
        return normalised[0] if len(normalised) == 1 else tuple(normalised)


class _Event:
    """One event's topic and decoder for raw `eth_getLogs` entries."""

    def __init__(self, item: dict[str, Any]) -> None:
        types = [_abi_type(i) for i in item["inputs"]]
        self.topic = "0x" + keccak(text=f"{item['name']}({','.join(types)})").hex()
        self.indexed: list[tuple[str, str]] = [
            (i["name"], t) for i, t in zip(item["inputs"], types, strict=True) if i.get("indexed")
        ]
        self.plain: list[tuple[str, str]] = [
            (i["name"], t) for i, t in zip(item["inputs"], types, strict=True) if not i.get("indexed")
        ]

    def decode(self, log: dict[str, Any]) -> dict[str, Any]:
        """The event's arguments by name."""
        args = {}
        # topics[0] is the event's signature, then one topic per indexed argument
        for (name, abi_type), topic in zip(self.indexed, log["topics"][1:], strict=True):
            args[name] = _normalise(abi_type, abi_decode([abi_type], bytes.fromhex(topic[2:]))[0])
        values = abi_decode([t for _, t in self.plain], bytes.fromhex(log["data"][2:]))
        args.update({name: _normalise(t, v) for (name, t), v in zip(self.plain, values, strict=True)})
        return args


@cache
def _codecs(name: str) -> tuple[dict[str, _Function], dict[str, _Event]]:
    abi = contract_type(name)["abi"]
    functions = {item["name"]: _Function(item) for item in abi if item.get("type") == "function"}
    events = {item["name"]: _Event(item) for item in abi if item.get("type") == "event"}
    return functions, events


def _revert_error(error: RPCError) -> Exception:
    """The exception web3 raises for a JSON-RPC error: ContractLogicError for a revert, else Web3RPCError."""
    message = str(error.get("message", error))
    if error.get("code") == 3 or "revert" in message.lower():
        return ContractLogicError(
            message if message.startswith("execution reverted") else f"execution reverted: {message}",
            data=error.get("data"),
        )
    return Web3RPCError(repr(error), rpc_response={"error": error})


@dataclass(frozen=True)
class PolicyPurchased:
    """A `PolicyPurchased` event: which insured object a policy covers."""

    policy_id: int
    insured_object: bytes
    block_number: int


class ClaimsManagerClient:
    """Reads and events of one deployed ClaimsManager."""

    def __init__(self, w3: Web3, address: str, log_chunk_blocks: int = LOG_CHUNK_BLOCKS) -> None:
        """Bind to the manager at `address` on the chain `w3` talks to; history is read `log_chunk_blocks` blocks
        per `eth_getLogs` at most."""
        self.w3 = w3
        self.log_chunk_blocks = log_chunk_blocks
        self.contract = w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=contract_type("ClaimsManager")["abi"]
        )
        self._functions, self._events = _codecs("ClaimsManager")
        self._chain_id: int | None = None
        self._governor: ChecksumAddress | None = None

    @property
    def address(self) -> str:
        """The manager's checksummed address."""
        return self.contract.address

    @property
    def chain_id(self) -> int:
        """The chain's id, asked once (a node talks to one chain for its whole life)."""
        if self._chain_id is None:
            self._chain_id = self.w3.eth.chain_id
        return self._chain_id

    def rpc(self, method: str, params: list[Any]) -> Any:
        """One raw JSON-RPC request; an error answer raises as web3 would (ContractLogicError for a revert)."""
        response = self.w3.provider.make_request(RPCEndpoint(method), params)
        if "error" in response:
            raise _revert_error(response["error"])
        return response["result"]

    def call(self, function: str, *args: Any, block: int | str = "latest") -> Any:
        """Call a view function; a struct comes back as a dict of the contract's field names."""
        codec = self._functions[function]
        block_id = hex(block) if isinstance(block, int) else block
        return codec.decode(self.rpc("eth_call", [{"to": self.address, "data": codec.data(*args)}, block_id]))

    def block_timestamp(self, number: int) -> int:
        """The timestamp of block `number`."""
        block = self.rpc("eth_getBlockByNumber", [hex(number), False])
        if block is None:
            raise ValueError(f"block {number} is not on the chain")
        return int(block["timestamp"], 16)

    def receipt(self, tx_hash: bytes) -> Receipt | None:
        """A transaction's receipt (status, blockNumber as ints), or None while it is not mined."""
        receipt = self.rpc("eth_getTransactionReceipt", ["0x" + bytes(tx_hash).hex()])
        if receipt is None:
            return None
        return Receipt(
            status=int(receipt["status"], 16),
            blockNumber=int(receipt["blockNumber"], 16),
            transactionHash=bytes.fromhex(receipt["transactionHash"][2:]),
        )

    def domain(self) -> Domain:
        """The EIP-712 domain reports for this manager are signed in."""
        return Domain(chain_id=self.chain_id, verifying_contract=self.address)

    def claim(self, claim_id: int, block: int | str = "latest") -> dict[str, Any]:
        """The claim record as a dict of the contract's field names."""
        return self._struct("claim", claim_id, block)

    def policy(self, policy_id: int, block: int | str = "latest") -> dict[str, Any]:
        """The policy record as a dict of the contract's field names."""
        return self._struct("policy", policy_id, block)

    def product(self, product_id: int, block: int | str = "latest") -> dict[str, Any]:
        """The product record as a dict of the contract's field names."""
        return self._struct("product", product_id, block)

    @property
    def governor(self) -> ChecksumAddress:
        """The address of the manager's `ProductGovernor` (asked once: the manager binds it for good)."""
        if self._governor is None:
            self._governor = Web3.to_checksum_address(self.call("governor"))
        return self._governor

    def governor_call(self, function: str, *args: Any, block: int | str = "latest") -> Any:
        """Call a view function of the manager's `ProductGovernor`."""
        codec = _codecs("ProductGovernor")[0][function]
        block_id = hex(block) if isinstance(block, int) else block
        return codec.decode(self.rpc("eth_call", [{"to": self.governor, "data": codec.data(*args)}, block_id]))

    def committee(self, product_id: int, epoch: int, block: int | str = "latest") -> list[str]:
        """The committee whose signatures count for claims of the product's rules `epoch` (leavers removed)."""
        return list(self.governor_call("committee", product_id, epoch, block=block))

    def threshold(self, product_id: int, epoch: int) -> int:
        """How many signatures a report on a claim of the product's rules `epoch` needs."""
        return int(self.governor_call("rulesAt", product_id, epoch)["threshold"])

    def committee_epoch(self, product_id: int) -> int:
        """The product's current rules epoch, which new claims record."""
        return int(self.call("committeeEpoch", product_id))

    def report_epoch(self, claim_id: int, product_id: int, block: int | str = "latest") -> int:
        """The rules epoch a report on the claim must name: the one recorded at its submission while it awaits the
        oracle (the product's current epoch once it no longer does, when no report can land anyway)."""
        return int(self.claim(claim_id, block)["epoch"]) or self.committee_epoch(product_id)

    def claims_submitted(self, from_block: int, to_block: int) -> list[ClaimSubmitted]:
        """Every `ClaimSubmitted` event mined in [from_block, to_block], in chain order."""
        return self.scan(from_block, to_block)[0]

    def scan(self, from_block: int, to_block: int) -> tuple[list[ClaimSubmitted], list[PolicyPurchased]]:
        """Every `ClaimSubmitted` and `PolicyPurchased` event mined in [from_block, to_block], in chain order, read
        with one `eth_getLogs` per chunk of blocks."""
        if to_block < from_block:
            return [], []
        submitted, purchased = self._events["ClaimSubmitted"], self._events["PolicyPurchased"]
        logs = self.logs([[submitted.topic, purchased.topic]], from_block, to_block)
        claims: list[ClaimSubmitted] = []
        policies: list[PolicyPurchased] = []
        for log in logs:
            if log["topics"][0] == submitted.topic:
                claims.append(_claim_submitted(log, submitted.decode(log)))
            elif log["topics"][0] == purchased.topic:
                args = purchased.decode(log)
                policies.append(
                    PolicyPurchased(args["policyId"], bytes(args["insuredObject"]), int(log["blockNumber"], 16))
                )
        return claims, policies

    def logs(self, topics: list[Any], from_block: int, to_block: int | None = None) -> list[dict[str, Any]]:
        """This contract's raw logs matching `topics` in [from_block, to_block] (None: the head), in chain order,
        asked for `log_chunk_blocks` blocks at a time."""
        last = int(self.rpc("eth_blockNumber", []), 16) if to_block is None else to_block
        found: list[dict[str, Any]] = []
        for first, end in block_ranges(from_block, last, self.log_chunk_blocks):
            found += self.rpc(
                "eth_getLogs",
                [{"address": self.address, "fromBlock": hex(first), "toBlock": hex(end), "topics": topics}],
            )
        return sorted(
            (log for log in found if not log.get("removed")),
            key=lambda log: (int(log["blockNumber"], 16), int(log["logIndex"], 16)),
        )

    def claim_submitted(self, claim_id: int, from_block: int = 0) -> ClaimSubmitted | None:
        """The `ClaimSubmitted` event of one claim on the current chain (mined from `from_block` on), or None."""
        submitted = self._events["ClaimSubmitted"]
        logs = self.logs([submitted.topic, _uint_topic(claim_id)], from_block)
        return _claim_submitted(logs[-1], submitted.decode(logs[-1])) if logs else None

    def claim_decided(self, claim_id: int, from_block: int = 0) -> dict[str, Any] | None:
        """The `ClaimDecided` event of one claim (decision, payout, confidence, hashes), or None."""
        decided = self._events["ClaimDecided"]
        logs = self.logs([decided.topic, _uint_topic(claim_id)], from_block)
        return decided.decode(logs[-1]) if logs else None

    def policies_of(self, holder: str, from_block: int = 0) -> list[int]:
        """The ids of every policy `holder` bought (its `PolicyPurchased` events mined from `from_block` on)."""
        return self._ids_naming("PolicyPurchased", 3, holder, from_block)

    def products_of(self, insurer: str, from_block: int = 0) -> list[int]:
        """The ids of every product `insurer` created (its `ProductCreated` events mined from `from_block` on)."""
        return self._ids_naming("ProductCreated", 2, insurer, from_block)

    def _ids_naming(self, event: str, topic_index: int, account: str, from_block: int) -> list[int]:
        """The first indexed ids of this manager's `event` logs whose indexed topic `topic_index` is `account`."""
        topic = "0x" + bytes.fromhex(Web3.to_checksum_address(account)[2:]).rjust(32, b"\0").hex()
        topics: list[str | None] = [self._events[event].topic, None, None, None][: topic_index + 1]
        topics[topic_index] = topic
        logs = self.rpc(
            "eth_getLogs",
            [{"address": self.address, "fromBlock": hex(from_block), "toBlock": "latest", "topics": topics}],
        )
        return [int(log["topics"][1], 16) for log in logs if not log.get("removed")]

    def latest_timestamp(self) -> int:
        """The timestamp of the newest block (the chain's clock)."""
        return int(self.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def contract_accepts_signature(self, account: str, digest: bytes, signature: bytes) -> bool | None:
        """EIP-1271: whether the contract at `account` accepts `signature` over `digest` (its isValidSignature
        returns the magic value); None when `account` has no code (an externally owned account)."""
        address = to_checksum_address(account)
        if self.rpc("eth_getCode", [address, "latest"]) in (None, "", "0x"):
            return None
        data = "0x" + (EIP1271_MAGIC + abi_encode(["bytes32", "bytes"], [digest, signature])).hex()
        try:
            result = self.rpc("eth_call", [{"to": address, "data": data}, "latest"])
        except ContractLogicError:
            return False  # a contract that reverts refuses the signature
        return isinstance(result, str) and bytes.fromhex(result[2:]).startswith(EIP1271_MAGIC)

    def evidence_uris(self, from_block: int, to_block: int) -> list[str]:
        """The ERC-1497 evidence URIs the manager's dispute desk published in [from_block, to_block]."""
        if to_block < from_block:
            return []
        desk = self.w3.eth.contract(
            address=Web3.to_checksum_address(self.call("desk")), abi=contract_type("DisputeDesk")["abi"]
        )
        logs = desk.events.Evidence().get_logs(from_block=from_block, to_block=to_block)
        return [str(log.args._evidence) for log in logs]

    def products_left(self, from_block: int, to_block: int) -> set[int]:
        """The products whose committee a member left in [from_block, to_block] (the governor's `MemberLeft`
        events, asked `log_chunk_blocks` blocks at a time): a leave voids the votes cast on their claims."""
        governor = self.w3.eth.contract(address=self.governor, abi=contract_type("ProductGovernor")["abi"])
        products: set[int] = set()
        for first, end in block_ranges(from_block, to_block, self.log_chunk_blocks):
            products.update(
                int(log.args.productId) for log in governor.events.MemberLeft().get_logs(from_block=first, to_block=end)
            )
        return products

    def insured_object(self, policy_id: int, policy_start: int, last_block: int) -> bytes:
        """The insured object of a policy, read from its `PolicyPurchased` event in the blocks of its start time."""
        first, last = blocks_at_time(self.w3, policy_start, last_block)
        purchased = self._events["PolicyPurchased"]
        logs = self.logs([purchased.topic, _uint_topic(policy_id)], first, last) if first <= last else []
        if not logs:
            raise ValueError(
                f"no PolicyPurchased event of policy {policy_id} in blocks {first}..{last} (timestamp {policy_start})"
            )
        return bytes(purchased.decode(logs[-1])["insuredObject"])

    def vote_report_tx(self, report: Report, sender: str, fees: dict[str, int] | None = None) -> dict[str, Any]:
        """An unsigned `voteReport` transaction from `sender`, with gas estimated (a revert raises
        ContractLogicError with the reason) and EIP-1559 fees (`fees`, else `fee_fields()`)."""
        data = self._functions["voteReport"].data(report.as_tuple())
        return self.transaction(sender, data, fees)

    def transaction(self, sender: str, data: str, fees: dict[str, int] | None = None) -> dict[str, Any]:
        """An unsigned call of this manager with `data` from `sender`: gas estimated with headroom, fees set."""
        estimate = int(self.rpc("eth_estimateGas", [{"from": sender, "to": self.address, "data": data}]), 16)
        # headroom: between the estimate and the mining another member's vote may land first and make ours the
        # deciding one, which also records the decision (and may pay out); unused gas is not charged
        gas = estimate + max(estimate // 2, 60_000)
        return {
            "from": sender,
            "to": self.address,
            "data": data,
            "value": 0,
            "gas": gas,
            "chainId": self.chain_id,
            **(fees or self.fee_fields()),
        }

    def fee_fields(self) -> dict[str, int]:
        """EIP-1559 fee fields as web3 fills them by default: tip, and twice the base fee on top."""
        tip = int(self.rpc("eth_maxPriorityFeePerGas", []), 16)
        base = int(self.rpc("eth_getBlockByNumber", ["latest", False]).get("baseFeePerGas", "0x0"), 16)
        return {"maxPriorityFeePerGas": tip, "maxFeePerGas": tip + 2 * base}

    def nonce(self, address: str) -> int:
        """`address`'s next nonce counting its pending transactions."""
        return int(self.rpc("eth_getTransactionCount", [address, "pending"]), 16)

    def mined_nonce(self, address: str) -> int:
        """`address`'s next nonce counting mined transactions only (below it every nonce is used up)."""
        return int(self.rpc("eth_getTransactionCount", [address, "latest"]), 16)

    def send_raw(self, raw: bytes) -> None:
        """Broadcast a signed transaction."""
        self.rpc("eth_sendRawTransaction", ["0x" + bytes(raw).hex()])

    def signed_report_tx(self, report: Report, signatures: list[Signature], sender: str) -> dict[str, Any]:
        """An unsigned `submitSignedReport` transaction from `sender`, with gas estimated."""
        return dict(
            self.contract.functions.submitSignedReport(report.as_tuple(), signatures).build_transaction(
                {"from": sender}
            )
        )

    def _struct(self, function: str, key: int, block: int | str) -> dict[str, Any]:
        """Call a struct getter and name its fields as the ABI does."""
        record: dict[str, Any] = self.call(function, key, block=block)
        return record


def blocks_at_time(w3: Web3, timestamp: int, last_block: int) -> tuple[int, int]:
    """The first and last block in [0, last_block] stamped `timestamp`, by bisection (empty range if none)."""
    stamps: dict[int, int] = {}

    def first_after(moment: int) -> int:
        low, high = 0, last_block + 1  # the answer is in [low, high]; high means "no such block"
        while low < high:
            middle = (low + high) // 2
            if middle not in stamps:
                stamps[middle] = w3.eth.get_block(middle)["timestamp"]
            low, high = (middle + 1, high) if stamps[middle] <= moment else (low, middle)
        return low

    return first_after(timestamp - 1), first_after(timestamp) - 1


def _uint_topic(value: int) -> str:
    """An indexed uint256 argument as a log topic."""
    return "0x" + value.to_bytes(32, "big").hex()


def _claim_submitted(log: dict[str, Any], args: dict[str, Any]) -> ClaimSubmitted:
    """A raw `ClaimSubmitted` log and its decoded arguments as a typed record."""
    return ClaimSubmitted(
        claim_id=args["claimId"],
        policy_id=args["policyId"],
        holder=args["holder"],
        evidence_root=bytes(args["evidenceRoot"]),
        evidence_uri=args["evidenceURI"],
        incident_time=args["incidentTime"],
        peril=args["peril"],
        latitude_e6=args["latitudeE6"],
        longitude_e6=args["longitudeE6"],
        claimed_amount=args["claimedAmount"],
        block_number=int(log["blockNumber"], 16),
        block_hash=bytes.fromhex(log["blockHash"][2:]),
        tx_hash=bytes.fromhex(log["transactionHash"][2:]),
        log_index=int(log["logIndex"], 16),
    )
