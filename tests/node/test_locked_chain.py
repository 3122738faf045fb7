"""A deployment where no account is unlocked: anvil with no dev accounts, `claims-oracle deploy` from a keystore,
then three `claims-oracle node` processes and the `claims-oracle adapter` gateway started from the deployment record
alone, each member with its own keystore and IPFS peer; the demo's sample claims run against it, every transaction
signed where its key lives."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak
from web3.types import RPCEndpoint

from oracle.adapter.uploads import PERMIT_HEADER, sign_permit
from oracle.assess import DEFAULT_TERMS_PATH
from oracle.cas.unixfs import cid_for_bytes
from oracle.chain.contracts import ClaimsManagerClient, contract_type
from oracle.chain.deploy import ETH, buy_policy
from oracle.chain.keys import publish_key, published_key
from oracle.cli import main
from oracle.deployment import read_deployment
from oracle.dev.demo import CLAIMS_OPEN, drive_claims, file_claims, format_table, sample_claims
from oracle.dev.devchain import dev_chain, free_port
from oracle.dev.stack import GENESIS
from oracle.node.signer import Signer
from oracle.privacy import insured_object_commitment, insured_object_salt
from oracle.settings import load_settings
from oracle.vision import DamageModel
from oracle.vision.data import list_samples
from tests.chain_fixtures import MODEL_PATH, needs_model

PASSWORD = "locked chain, keys on disk"
START_TIMEOUT_S = 240.0  # three nodes and a gateway loading the model on a busy 2-core machine
SETTLE_TIMEOUT_S = 240.0
_PEER_LINE = re.compile(r"IPFS peer \S+ listening; others dial (\S+)")


class GatewayUploads:
    """The claimant's side of `POST /content`, as the dApp uploads: each blob with a permit the holder signed."""

    def __init__(self, url: str, holder_key: bytes) -> None:
        self.url = url
        self.permit = sign_permit(holder_key, url, int(time.time()) + 3600)

    def put(self, data: bytes) -> str:
        """Upload `data` (ciphertext or the manifest) and return its content id, checked against ours."""
        request = urllib.request.Request(
            f"{self.url}/content", data=data, headers={PERMIT_HEADER: self.permit}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            cid = json.loads(response.read())["cid"]
        assert cid == cid_for_bytes(data), "the gateway named another content id for the bytes we sent"
        return cid


def _keystore(folder: Path, name: str, account) -> Path:
    """Write `account`'s key to a V3 keystore (cheap KDF for the test) and return its path."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps(Account.encrypt(account.key, PASSWORD, kdf="pbkdf2", iterations=2)))
    return path


def _wait_for_line(log: Path, text: str, process: subprocess.Popen, timeout: float) -> None:
    """Wait until `text` appears in a process's log; fail with the log's end if it exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(
        f"{log.name}: no {text!r} (exit {process.poll()}); log ends:\n{log.read_text(errors='replace')[-3000:]}"
    )


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    """Wait until the gateway answers GET /health; fail with its log's end if it exits or time runs out."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(
        f"the gateway did not serve (exit {process.poll()}); log ends:\n{log.read_text(errors='replace')[-3000:]}"
    )


def _photo_root(tmp_path: Path, data_dir: Path) -> Path:
    """The demo's class-per-folder view of the val photos (the model never trained on them)."""
    root = tmp_path / "photos"
    for sample in list_samples(data_dir):
        if sample.split == "val":
            (root / sample.label).mkdir(parents=True, exist_ok=True)
            source = data_dir / sample.path
            (root / sample.label / source.name).symlink_to(source)
    return root


@needs_model
def test_dev_accounts_locked__nodes_and_gateway_from_the_record_alone__demo_claims_end_as_expected(
    tmp_path, shared_data
):
    settings = load_settings()
    model = DamageModel.load(MODEL_PATH)
    claims = sample_claims(_photo_root(tmp_path, settings.data_dir), model)
    people = {name: Account.create() for name in ("insurer", "claimant", "member0", "member1", "member2")}
    people.update({f"panel{i}": Account.create() for i in range(3)})
    signers = {name: Signer(account) for name, account in people.items()}
    members = [people[f"member{i}"].address for i in range(3)]
    password = tmp_path / "password"
    password.write_text(PASSWORD + "\n")
    processes: list[subprocess.Popen] = []
    with dev_chain(timestamp=GENESIS, accounts=0) as chain:
        w3 = chain.w3
        assert w3.eth.accounts == []  # nothing is unlocked: every transaction below is signed where its key lives
        for account in people.values():
            w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [account.address, hex(1000 * ETH)])
        terms = DEFAULT_TERMS_PATH.read_bytes()
        product = tmp_path / "product.json"
        product.write_text(
            json.dumps(
                {
                    "committee": members,
                    "threshold": 2,
                    "models": ["0x" + model.model_sha256],
                    "termsHash": "0x" + keccak(terms).hex(),
                    "arbitrator": "panel",
                    "capital": str(50 * ETH),
                    "deductible": str(ETH // 10),
                    "instantLimit": str(ETH // 2),
                    "minConfidence": 8000,
                }
            )
        )
        record_path = tmp_path / "deployment.json"
        code = main(
            [
                "deploy",
                "--rpc-url", chain.url,
                "--keystore", str(_keystore(tmp_path, "insurer", people["insurer"])),
                "--password-file", str(password),
                "--panel", ",".join(people[f"panel{i}"].address for i in range(3)),
                "--product", str(product),
                "--out", str(record_path),
            ]
        )  # fmt: skip
        assert code == 0
        record = read_deployment(record_path)
        [product_id] = record.product_ids
        manager = ClaimsManagerClient(w3, record.address("ClaimsManager"))
        keys = w3.eth.contract(address=record.address("KeyDirectory"), abi=contract_type("KeyDirectory")["abi"])
        panel = w3.eth.contract(address=record.address("PanelArbitrator"), abi=contract_type("PanelArbitrator")["abi"])

        try:
            # the gateway: its own IPFS peer (CLAIMS_ORACLE_IPFS_PEER), everything else from the record
            port = free_port()
            gateway_url = f"http://127.0.0.1:{port}"
            gateway_log = tmp_path / "gateway.log"
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            gateway_env = {
                **env,
                "CLAIMS_ORACLE_RPC_URL": chain.url,
                "CLAIMS_ORACLE_STATE_DIR": str(tmp_path / "gateway"),
                "CLAIMS_ORACLE_DB_URL": f"sqlite:///{tmp_path / 'gateway' / 'gateway.db'}",
                "CLAIMS_ORACLE_IPFS_PEER": "true",
            }
            command = [sys.executable, "-m", "oracle.cli", "adapter", "--deployment", str(record_path)]
            command += ["--host", "127.0.0.1", "--port", str(port)]
            with gateway_log.open("w") as out:
                processes.append(subprocess.Popen(command, env=gateway_env, stdout=out, stderr=subprocess.STDOUT))
            _wait_until_serving(gateway_url, processes[-1], gateway_log)
            gateway_peer = _PEER_LINE.search(gateway_log.read_text()).group(1)  # the multiaddr members dial
            # the insurer puts its terms document on the gateway, as the dApp's product form does
            request = urllib.request.Request(f"{gateway_url}/api/terms", data=terms, method="POST")
            with urllib.request.urlopen(request, timeout=60) as response:
                assert json.loads(response.read())["termsHash"] == "0x" + keccak(terms).hex()
            # three members, each with its keystore, database, state folder and IPFS peer
            for i in range(3):
                folder = tmp_path / f"member{i}"
                folder.mkdir()
                log = tmp_path / f"member{i}.log"
                node_env = {
                    **env,
                    "CLAIMS_ORACLE_DB_URL": f"sqlite:///{folder / 'node.db'}",
                    "CLAIMS_ORACLE_STATE_DIR": str(folder),
                    "CLAIMS_ORACLE_CONFIRMATIONS": "0",
                    "CLAIMS_ORACLE_POLL_INTERVAL_S": "0.2",
                    "CLAIMS_ORACLE_MODEL_THREADS": "1",
                    "CLAIMS_ORACLE_IPFS_PEER": "true",
                    "CLAIMS_ORACLE_IPFS_PEERS": json.dumps([gateway_peer]),
                    "CLAIMS_ORACLE_IPFS_GATEWAY_URL": gateway_url,
                }
                command = [sys.executable, "-m", "oracle.cli", "node", "--rpc-url", chain.url]
                command += [
                    "--deployment",
                    str(record_path),
                    "--keystore",
                    str(_keystore(folder, "key", people[f"member{i}"])),
                ]
                command += ["--password-file", str(password)]
                with log.open("w") as out:
                    processes.append(subprocess.Popen(command, env=node_env, stdout=out, stderr=subprocess.STDOUT))
            for i, process in enumerate(processes[1:]):
                _wait_for_line(tmp_path / f"member{i}.log", " ready", process, START_TIMEOUT_S)
            for member in members:  # each node published its evidence key, signed with its own key
                assert published_key(keys, member) is not None

            # the insurer and the claimant publish their keys and the claimant insures one car per claim, as in the dApp
            chain_id = int(w3.eth.chain_id)
            for name in ("insurer", "claimant"):
                signer = signers[name]
                publish_key(
                    keys, signer.address, signer.reader(chain_id, keys.address).public_key, signer.sign_transaction
                )
            claimant = signers["claimant"]
            salt = insured_object_salt(claimant.key_signature(chain_id, keys.address))
            for claim in claims:
                claim.policy_id = buy_policy(manager, claimant, product_id, insured_object_commitment(salt, claim.name))
            w3.provider.make_request(RPCEndpoint("evm_setNextBlockTimestamp"), [CLAIMS_OPEN])
            w3.provider.make_request(RPCEndpoint("evm_mine"), [])
            readers = [(a, published_key(keys, a)) for a in (*members, signers["insurer"].address, claimant.address)]
            uploads = GatewayUploads(gateway_url, people["claimant"].key)
            asyncio.run(file_claims(manager, uploads, claimant, claims, w3, readers))
            panelists = [signers[f"panel{i}"] for i in range(3)]
            ok = asyncio.run(drive_claims(w3, manager, panel, claimant, panelists, claims, SETTLE_TIMEOUT_S))
            assert ok, format_table(claims)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
    shutil.rmtree(tmp_path / "photos", ignore_errors=True)
