"""Two workers of one node on one PostgreSQL store share the waiting claims: each assessed once and voted once."""

from __future__ import annotations

import asyncio

from web3 import Web3

from oracle.chain.contracts import ClaimsManagerClient
from oracle.chain.deploy import ETH, buy_policy, create_product, submit_claim
from oracle.claim.assessor import ClaimAssessor
from oracle.claim.evidence import store_evidence
from oracle.db import ASSESSING, DONE, NodeStore
from oracle.dev.devchain import DEV_MNEMONIC
from oracle.node.service import OracleNode
from oracle.node.signer import Signer
from tests.chain_fixtures import needs_model

pytestmark = needs_model
CLAIMS = 40


def test_take_jobs__two_stores__disjoint_batches_and_a_lapsed_lease_taken_back(postgres_url):
    first, second = NodeStore(postgres_url), NodeStore(postgres_url)
    try:
        first.add_jobs(1, "0xc", [(claim_id, {}, 1, b"\x00" * 32) for claim_id in range(1, 11)])
        a = first.take_jobs(1, "0xc", 4)
        b = second.take_jobs(1, "0xc", 4, skip=[9])
        assert [j.claim_id for j in a] == [1, 2, 3, 4] and [j.claim_id for j in b] == [5, 6, 7, 8]
        assert {j.state for j in a + b} == {ASSESSING}
        assert [j.claim_id for j in second.take_jobs(1, "0xc", 4)] == [9, 10]
        assert [j.claim_id for j in first.take_jobs(1, "0xc", 2, lease=-1)] == [1, 2]  # lease ran out: taken back
        assert first.try_lead("node") and not second.try_lead("node")
        first.close()
        assert second.try_lead("node")  # the leader's process went away: another worker leads
    finally:
        first.close()
        second.close()


def test_two_workers__one_postgres_store__40_claims_each_assessed_once_and_voted_once(world, model, postgres_url):
    w3, cas, manager = world["chain"].w3, world["cas"], world["manager"]
    config = {**world["config"], "maxOpenClaims": 255}  # one policy with all 40 claims open
    product_id = create_product(manager, world["insurer"], config, 50 * ETH)
    policy_id = buy_policy(manager, world["holder"], product_id, b"\x42" * 32)
    photos = sorted((world["data"] / "images/vds2500/val/minor").glob("*"))[:CLAIMS]
    assert len(photos) == CLAIMS
    for photo in photos:
        evidence = store_evidence(cas, [(photo.name, photo.read_bytes())])
        now = w3.eth.get_block("latest").timestamp
        submit_claim(
            manager, world["holder"], policy_id, evidence.root, evidence.uri, now, 1, 0, 0, ETH // 2 + ETH // 10
        )
    member = Signer.from_dev_mnemonic(DEV_MNEMONIC, 3)
    assessed: list[list[int]] = [[], []]
    workers = []
    for index in range(2):
        store = NodeStore(postgres_url)
        assessor = ClaimAssessor(cas, model, [], store, "test")
        load_batch = assessor.load_batch

        async def counted(claims, load_batch=load_batch, seen=assessed[index]):
            seen.extend(claim.claim_id for claim in claims)
            return await load_batch(claims)

        assessor.load_batch = counted
        client = ClaimsManagerClient(Web3(Web3.HTTPProvider(world["chain"].url)), manager.address)
        workers.append(OracleNode(client, store, assessor, member, confirmations=0, batch_claims=4))

    async def run() -> None:
        for _ in range(100):
            await asyncio.gather(*(worker.run_once() for worker in workers))
            if len(workers[0].store.jobs(workers[0].chain_id, manager.address, (DONE,))) == CLAIMS:
                return

    asyncio.run(run())
    for worker in workers:
        worker.store.close()
    claim_ids = [e.args.claimId for e in manager.contract.events.ClaimSubmitted().get_logs(from_block=0)]
    ours = claim_ids[-CLAIMS:]
    assert sorted(assessed[0] + assessed[1]) == sorted(ours)  # every claim into the model once, by one worker
    print(f"claims assessed by worker 0: {len(assessed[0])}, by worker 1: {len(assessed[1])}")
    voted = [e.args.claimId for e in manager.contract.events.ReportVoted().get_logs(from_block=0)]
    assert sorted(voted) == sorted(ours)  # one vote per claim
    assert w3.eth.get_transaction_count(member.address) == CLAIMS  # and no other transaction
