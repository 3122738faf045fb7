"""`claims-oracle deploy` on anvil from a keystore account (signed locally, sent raw), and the deployment record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from eth_account import Account
from eth_utils import keccak

from oracle.chain.contracts import ClaimsManagerClient, abi_mismatches, abi_sha256, contract_type
from oracle.chain.deploy import ETH, buy_policy, chainlink_spec_id, submit_claim
from oracle.cli import main
from oracle.db import NodeStore
from oracle.deployment import read_deployment
from oracle.dev.devchain import dev_chain, free_port
from oracle.node import deploy as deploy_command
from oracle.node.watcher import ClaimWatcher
from oracle.settings import load_settings
from tests.chain_fixtures import MODEL_PATH, needs_model
from tests.node.test_metrics import scrape

PASSWORD = "correct horse battery staple"


@pytest.fixture
def keystore_account(tmp_path):
    """A fresh key in a V3 keystore (cheap KDF for the test), its password file, and its account."""
    account = Account.create()
    keystore = tmp_path / "deployer.json"
    keystore.write_text(json.dumps(Account.encrypt(account.key, PASSWORD, kdf="pbkdf2", iterations=2)))
    password = tmp_path / "password"
    password.write_text(PASSWORD + "\n")
    return account, keystore, password


def product_file(tmp_path, committee: list[str]) -> str:
    """A product JSON file: a 2-of-3 committee, the deployed panel as arbitrator, 20 ETH of capital."""
    path = tmp_path / "product.json"
    path.write_text(
        json.dumps(
            {
                "committee": committee,
                "threshold": 2,
                "models": ["0x" + keccak(b"model").hex()],
                "termsHash": "0x" + keccak(b"terms").hex(),
                "arbitrator": "panel",
                "capital": str(20 * ETH),
                "coverageLimit": 8 * ETH,
            }
        )
    )
    return str(path)


@needs_model
def test_deploy__keystore_account__deploys_creates_the_product_and_writes_the_record(
    tmp_path, keystore_account, capsys
):
    account, keystore, password = keystore_account
    with dev_chain() as chain:
        w3, dev = chain.w3, chain.accounts
        w3.eth.wait_for_transaction_receipt(
            w3.eth.send_transaction({"from": dev[0], "to": account.address, "value": 50 * ETH})
        )
        dev_nonces = [w3.eth.get_transaction_count(a) for a in dev]
        out = tmp_path / "deployment.json"
        code = main(
            [
                "deploy",
                "--rpc-url", chain.url,
                "--keystore", str(keystore),
                "--password-file", str(password),
                "--panel", ",".join(dev[6:9]),
                "--product", product_file(tmp_path, dev[3:6]),
                "--out", str(out),
            ]
        )  # fmt: skip
        printed = capsys.readouterr()
        assert code == 0, printed.err
        record = read_deployment(out)
        assert record.chain_id == 31337 and record.deployer == account.address
        assert set(record.contracts) == {
            "PanelArbitrator",
            "ProductGovernor",
            "DisputeDesk",
            "ClaimsManager",
            "KeyDirectory",
            "AssessmentRequests",
        }
        for name, contract in record.contracts.items():
            assert w3.eth.get_code(contract.address) != b"", name
            assert contract.abi_sha256 == abi_sha256(name)
        assert abi_mismatches(record) == []
        assert record.block_number <= min(
            w3.eth.get_transaction_receipt(tx)["blockNumber"] for tx in _sent_by(w3, account.address)
        )
        manager = ClaimsManagerClient(w3, record.contracts["ClaimsManager"].address)
        [product_id] = record.product_ids
        product = manager.product(product_id)
        assert product["insurer"] == account.address and product["capital"] == 20 * ETH
        assert product["arbitrator"] == record.contracts["PanelArbitrator"].address
        assert product["coverageLimit"] == 8 * ETH and manager.committee(product_id, 1) == dev[3:6]
        requests = w3.eth.contract(
            address=record.contracts["AssessmentRequests"].address, abi=_abi("AssessmentRequests")
        )
        assert requests.functions.manager().call() == manager.address
        assert requests.functions.specId().call() == chainlink_spec_id()  # the shipped job's id
        # every transaction came from the keystore account, signed here: the dev accounts sent nothing
        assert [w3.eth.get_transaction_count(a) for a in dev] == dev_nonces
        # 6 contracts, createProduct, depositCapital, fundArbitration
        assert w3.eth.get_transaction_count(account.address) == 9
        assert account.key.hex().removeprefix("0x") not in printed.out + printed.err
        assert PASSWORD not in printed.out + printed.err

        # a node's settings come from the record alone, and its watcher finds a claim from the deployment block on
        settings = load_settings(deployment=out)
        assert settings.contract_address == record.contracts["ClaimsManager"].address
        assert settings.key_directory_address == record.contracts["KeyDirectory"].address
        assert (settings.chain_id, settings.start_block) == (31337, record.block_number)
        holder = dev[2]
        policy_id = buy_policy(manager, holder, product_id, keccak(b"VIN-DEPLOY"))
        now = w3.eth.get_block("latest").timestamp
        claim_id = submit_claim(manager, holder, policy_id, keccak(b"m"), "ipfs://m", now, 1, 0, 0, ETH)
        store = NodeStore(f"sqlite:///{tmp_path / 'node.db'}")
        watcher = ClaimWatcher(
            ClaimsManagerClient(w3, settings.contract_address), store, confirmations=0, start_block=settings.start_block
        )
        assert watcher.poll() == [claim_id]

        # and a node process started from the record alone finds the claim (its metrics say so)
        assert _node_sees_claims(tmp_path, chain.url, out) == 1


def _node_sees_claims(tmp_path, rpc_url: str, record) -> float:
    """Run `claims-oracle node --deployment` until its metrics count a claim seen (or it exits); returns the count."""
    port = free_port()
    env = {
        **os.environ,
        "CLAIMS_ORACLE_DB_URL": f"sqlite:///{tmp_path / 'process.db'}",
        "CLAIMS_ORACLE_CONTENT_STORE_URL": f"file://{tmp_path / 'cas'}",
        "CLAIMS_ORACLE_STATE_DIR": str(tmp_path),
        "CLAIMS_ORACLE_CONFIRMATIONS": "0",
        "CLAIMS_ORACLE_MODEL_PATH": str(MODEL_PATH),
    }
    command = [sys.executable, "-m", "oracle.cli", "node", "--rpc-url", rpc_url, "--deployment", str(record)]
    command += ["--dev-account", "3", "--metrics-port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = 0.0
    try:
        for _ in range(240):  # up to about two minutes on a busy machine
            if process.poll() is not None:
                break
            try:
                seen = scrape(port).get("claims_oracle_claims_seen_total", 0.0)
            except OSError:
                seen = 0.0  # not serving yet
            if seen:
                break
            time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return seen


def _abi(name: str) -> list:
    """The compiled ABI of contract `name`."""
    return contract_type(name)["abi"]


def _sent_by(w3, address: str) -> list[bytes]:
    """The hashes of the transactions `address` sent, found by walking the (short) test chain."""
    hashes = []
    for number in range(w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["from"] == address:
                hashes.append(tx["hash"])
    return hashes


def test_deploy__wrong_password__says_so_without_a_traceback(tmp_path, keystore_account, capsys):
    _, keystore, password = keystore_account
    password.write_text("wrong")
    code = main(["deploy", "--keystore", str(keystore), "--password-file", str(password), "--out", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 2
    assert "wrong password" in err and "Traceback" not in err


def test_deploy__product_file_without_committee__names_the_missing_fields(tmp_path, keystore_account, capsys):
    _, keystore, password = keystore_account
    product = tmp_path / "p.json"
    product.write_text(json.dumps({"threshold": 1}))
    code = main(["deploy", "--keystore", str(keystore), "--password-file", str(password), "--product", str(product)])
    assert code == 2
    assert "lacks committee, models, termsHash" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("factors", "message"),
    [([], "must list 1..8 factors"), ([10_000] * 9, "must list 1..8 factors"), ([0], "factors of 1..1048575")],
)
def test_deploy__product_file_with_bad_class_factors__says_so_without_a_traceback(
    tmp_path, keystore_account, capsys, factors, message
):
    _, keystore, password = keystore_account
    product = tmp_path / "p.json"
    fields = {
        "committee": ["0x" + "11" * 20],
        "threshold": 1,
        "models": ["0x" + "22" * 32],
        "termsHash": "0x" + "33" * 32,
    }
    product.write_text(json.dumps({**fields, "classFactors": factors}))
    code = main(["deploy", "--keystore", str(keystore), "--password-file", str(password), "--product", str(product)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_node__broken_deployment_record__clear_error(tmp_path, capsys):
    record = tmp_path / "deployment.json"
    record.write_text(json.dumps({"format": 1, "contracts": {}}))
    code = main(["node", "--deployment", str(record), "--dev-account", "3"])
    err = capsys.readouterr().err
    assert code == 2
    assert "contracts.ClaimsManager is missing" in err and "Traceback" not in err


def test_deploy__ape_account_alias_on_a_named_network__deploys_from_the_alias_keystore(
    tmp_path, keystore_account, monkeypatch, capsys
):
    account, keystore, password = keystore_account
    (tmp_path / "ape" / "accounts").mkdir(parents=True)
    keystore.rename(tmp_path / "ape" / "accounts" / "insurer-ops.json")  # where `ape accounts import` keeps it
    config = tmp_path / "ape-config.yaml"
    config.write_text("node:\n  ethereum:\n    devnet:\n      uri: $TEST_DEVNET_RPC_URL\n")
    monkeypatch.setenv("APE_DATA_FOLDER", str(tmp_path / "ape"))
    monkeypatch.setattr(deploy_command, "APE_CONFIG", config)
    with dev_chain(accounts=0) as chain:
        chain.w3.provider.make_request("anvil_setBalance", [account.address, hex(10 * ETH)])
        monkeypatch.setenv("TEST_DEVNET_RPC_URL", chain.url)
        out = tmp_path / "deployment.json"
        args = ["deploy", "--network", "ethereum:devnet", "--account", "insurer-ops"]
        code = main([*args, "--password-file", str(password), "--out", str(out)])
        assert code == 0, capsys.readouterr().err
        record = read_deployment(out)
        assert record.deployer == account.address and record.chain_id == 31337
        assert chain.w3.eth.get_code(record.contracts["ClaimsManager"].address) != b""


@pytest.mark.parametrize(
    ("network", "says"),
    [
        ("ethereum:nowhere", "named there: ethereum:mainnet, ethereum:sepolia"),
        ("sepolia", "set the environment variable in its uri '$SEPOLIA_RPC_URL'"),
    ],
)
def test_deploy__network_not_configured__says_what_to_set(
    tmp_path, keystore_account, monkeypatch, capsys, network, says
):
    _, keystore, password = keystore_account
    monkeypatch.delenv("SEPOLIA_RPC_URL", raising=False)
    code = main(["deploy", "--network", network, "--keystore", str(keystore), "--password-file", str(password)])
    err = capsys.readouterr().err
    assert code == 2 and says in err and "Traceback" not in err


def test_deploy__unknown_ape_alias__says_where_it_looked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("APE_DATA_FOLDER", str(tmp_path))
    code = main(["deploy", "--account", "nobody", "--password-file", str(tmp_path / "pw")])
    err = capsys.readouterr().err
    assert code == 2 and f"no ape account 'nobody': {tmp_path / 'accounts' / 'nobody.json'}" in err


def test_deploy__provider_token_in_the_network_uri__never_printed_when_the_chain_fails(
    tmp_path, keystore_account, monkeypatch, capsys
):
    """A provider token kept out of the repository in the environment (`uri: $SEPOLIA_RPC_URL`) must not reach stderr
    (CI logs) when the chain does not answer: the message names the host only, and the error's own text is scrubbed."""
    _, keystore, password = keystore_account
    token = "s3cr3t-provider-token"
    monkeypatch.setenv("SEPOLIA_RPC_URL", f"http://user:hunter2@127.0.0.1:{free_port()}/v3/{token}?key={token}")
    code = main(["deploy", "--network", "sepolia", "--keystore", str(keystore), "--password-file", str(password)])
    err = capsys.readouterr().err
    assert code == 1 and "did not answer" in err and "127.0.0.1" in err
    assert token not in err and "hunter2" not in err
