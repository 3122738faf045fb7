"""A scripted claim lifecycle on a local chain: deploy, configure, claim, decide, dispute, pay, with gas per step."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import keccak

from oracle.chain.deploy import DAY, DEMO_VEHICLE_CLASS, ETH, demo_product_config
from oracle.chain.report import Domain, Report, report_deadline, sign_quorum
from oracle.domain import ARBITRATION_RESERVE_WEI, REVIEW_DEADLINE_S, STALE_AFTER_S, ClaimStatus, Decision

DEMO_MODEL_HASH = keccak(b"damage-model-demo")
DEMO_TERMS_HASH = keccak(b"terms-demo")
# The steps `make bench-gas` must report, in lifecycle order.
GAS_KEYS = (
    "create_product",
    "buy_policy",
    "submit_claim",
    "report_signed_2of3",
    "report_vote",
    "finalize",
    "withdraw",
    "collect",
    "dispute",
    "rule",
    "close_stale",
    "review_propose",
    "review_to_arbitrator",
    "escalate",
)


@dataclass
class LifecycleResult:
    """Gas per step, and where each scripted claim ended up (path -> (status, payout))."""

    gas: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, tuple[int, int]] = field(default_factory=dict)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `claims-oracle lifecycle`."""
    parser.add_argument(
        "--network", default="ethereum:local:foundry", help="ape network choice; the default starts a local anvil node"
    )
    parser.add_argument("--gas-json", type=Path, help="also write the gas per step to this JSON file")


def run(args: argparse.Namespace) -> int:
    """Run the lifecycle on the chosen network, print the gas table and optionally write it as JSON."""
    from ape import networks

    with networks.parse_network_choice(args.network):
        result = run_lifecycle()
    print(format_outcomes(result.outcomes))
    print()
    print(format_gas_table(result.gas))
    gas = result.gas
    if args.gas_json:
        args.gas_json.parent.mkdir(parents=True, exist_ok=True)
        args.gas_json.write_text(json.dumps(gas, indent=2, sort_keys=True) + "\n")
        print(f"wrote {args.gas_json}", file=sys.stderr)
    return 0


def run_lifecycle() -> LifecycleResult:
    """Deploy fresh contracts on the connected chain and take claims through every path, measuring gas."""
    from ape import accounts, chain, project

    deployer, insurer, claimant, *rest = accounts.test_accounts
    oracles, panelists = rest[:3], rest[3:6]
    result = LifecycleResult()
    gas = result.gas

    def outcome(path: str, claim_id: int) -> None:
        claim = manager.claim(claim_id)
        result.outcomes[path] = (int(claim.status), int(claim.payout))

    arbitrator = deployer.deploy(project.PanelArbitrator, [p.address for p in panelists], 2, ETH // 100)
    governor = deployer.deploy(project.ProductGovernor)
    desk = deployer.deploy(project.DisputeDesk)
    manager = deployer.deploy(project.ClaimsManager, governor, desk)
    domain = Domain(chain_id=chain.chain_id, verifying_contract=manager.address)
    keys = {o.address: o.private_key for o in oracles}

    config = demo_product_config([o.address for o in oracles], 2, arbitrator.address, DEMO_MODEL_HASH, DEMO_TERMS_HASH)
    receipt = governor.createProduct(config, sender=insurer)
    gas["create_product"] = receipt.gas_used
    product_id = receipt.decode_logs(manager.ProductCreated)[0].productId
    gas["deposit_capital"] = manager.depositCapital(product_id, 50 * ETH, value=50 * ETH, sender=insurer).gas_used
    gas["fund_arbitration"] = desk.fundArbitration(product_id, value=ARBITRATION_RESERVE_WEI, sender=insurer).gas_used

    sedan = DEMO_VEHICLE_CLASS  # the holder declares its vehicle's class and pays that class's premium
    receipt = manager.buyPolicy(
        product_id, keccak(b"VIN-DEMO"), sedan, value=manager.premiumOf(product_id, sedan), sender=claimant
    )
    gas["buy_policy"] = receipt.gas_used
    policy_id = receipt.decode_logs(manager.PolicyPurchased)[0].policyId

    def submit(amount: int) -> int:
        chain.pending_timestamp += 3600
        incident = chain.pending_timestamp - 600
        receipt = manager.submitClaim(
            policy_id,
            keccak(b"manifest-%d" % amount),
            "ipfs://evidence",
            incident,
            1,
            41_900_000,
            -93_100_000,
            amount,
            sender=claimant,
        )
        gas["submit_claim"] = max(gas.get("submit_claim", 0), receipt.gas_used)
        return receipt.decode_logs(manager.ClaimSubmitted)[0].claimId

    def report(claim_id: int, decision: Decision, payout: int, confidence: int) -> Report:
        return Report(
            claim_id,
            int(decision),
            payout,
            confidence,
            keccak(b"explanation-%d" % claim_id),
            DEMO_MODEL_HASH,
            bytes(manager.claim(claim_id).evidenceRoot),
            DEMO_TERMS_HASH,
            int(manager.claim(claim_id).epoch),
            report_deadline(int(manager.claim(claim_id).timestamp)),
        )

    # 1. approval through the window: submit, 2-of-3 signed report, finalize, withdraw
    claim_id = submit(3 * ETH)
    decision = report(claim_id, Decision.APPROVE, 2 * ETH + ETH // 2, 8500)
    signatures = sign_quorum(decision, domain, dict(list(keys.items())[:2]))
    gas["report_signed_2of3"] = manager.submitSignedReport(decision.as_tuple(), signatures, sender=deployer).gas_used
    chain.pending_timestamp += 3 * DAY
    gas["finalize"] = manager.finalize(claim_id, sender=deployer).gas_used
    gas["withdraw"] = manager.withdrawPayout(claim_id, sender=claimant).gas_used
    outcome("approve_window_finalize_withdraw", claim_id)

    # 1b. the same path with the holder collecting in one transaction (finalize and pay, to a receiver)
    claim_id = submit(3 * ETH + 1)
    decision = report(claim_id, Decision.APPROVE, 2 * ETH + ETH // 2, 8500)
    signatures = sign_quorum(decision, domain, dict(list(keys.items())[:2]))
    manager.submitSignedReport(decision.as_tuple(), signatures, sender=deployer)
    chain.pending_timestamp += 3 * DAY
    gas["collect"] = manager.collect(claim_id, claimant, sender=claimant).gas_used
    outcome("approve_window_collect", claim_id)

    # 2. instant payout: a small confident approval pays at once
    claim_id = submit(ETH)
    decision = report(claim_id, Decision.APPROVE, ETH // 2, 9600)
    signatures = sign_quorum(decision, domain, dict(list(keys.items())[:2]))
    gas["report_signed_instant"] = manager.submitSignedReport(decision.as_tuple(), signatures, sender=deployer).gas_used
    outcome("approve_instant", claim_id)

    # 3. rejection through the vote path, disputed by the claimant, ruled for the claimant
    claim_id = submit(2 * ETH)
    decision = report(claim_id, Decision.REJECT, 0, 7000)
    gas["report_vote_first"] = manager.voteReport(decision.as_tuple(), sender=oracles[0]).gas_used
    gas["report_vote"] = manager.voteReport(decision.as_tuple(), sender=oracles[1]).gas_used
    receipt = desk.dispute(claim_id, value=desk.disputeCost(claim_id), sender=claimant)
    gas["dispute"] = receipt.gas_used
    dispute_id = receipt.decode_logs(desk.ClaimDisputed)[0].disputeId
    arbitrator.vote(dispute_id, 2, sender=panelists[0])
    gas["rule"] = arbitrator.vote(dispute_id, 2, sender=panelists[1]).gas_used
    gas["withdraw_credit"] = desk.withdrawCredit(sender=claimant).gas_used
    outcome("reject_vote_dispute_claimant_wins", claim_id)

    # 3b. a REFER goes to the insurer's adjuster (the insurer here), who proposes a payout; the window opens
    claim_id = submit(2 * ETH + 1)
    decision = report(claim_id, Decision.REFER, 0, 5000)
    signatures = sign_quorum(decision, domain, dict(list(keys.items())[:2]))
    gas["review_refer_report"] = manager.submitSignedReport(decision.as_tuple(), signatures, sender=deployer).gas_used
    gas["review_propose"] = desk.proposePayout(claim_id, ETH // 2, sender=insurer).gas_used
    chain.pending_timestamp += 3 * DAY
    manager.collect(claim_id, claimant, sender=claimant)
    outcome("refer_review_proposal_collect", claim_id)

    # 3c. a REFER nobody reviews: after the review deadline anyone sends it to the arbitrator at the insurer's cost;
    # the arbitrator awards the insurer's side (nothing was assessed), and the insurer still paid the whole fee
    claim_id = submit(2 * ETH + 2)
    decision = report(claim_id, Decision.REFER, 0, 5000)
    signatures = sign_quorum(decision, domain, dict(list(keys.items())[:2]))
    manager.submitSignedReport(decision.as_tuple(), signatures, sender=deployer)
    chain.pending_timestamp += REVIEW_DEADLINE_S
    receipt = desk.referToArbitrator(claim_id, sender=deployer)
    gas["review_to_arbitrator"] = receipt.gas_used
    dispute_id = receipt.decode_logs(desk.ClaimReferred)[0].disputeId
    arbitrator.vote(dispute_id, 1, sender=panelists[0])
    arbitrator.vote(dispute_id, 1, sender=panelists[1])
    outcome("refer_unreviewed_arbitrator_insurer_side", claim_id)

    # 3d. a silent committee: the claimant escalates after the oracle timeout, wins, and gets its fee back
    claim_id = submit(2 * ETH + 3)
    chain.pending_timestamp += DAY
    receipt = desk.escalate(claim_id, value=desk.disputeCost(claim_id) - config["disputeBond"], sender=claimant)
    gas["escalate"] = receipt.gas_used
    dispute_id = receipt.decode_logs(desk.ClaimEscalated)[0].disputeId
    arbitrator.vote(dispute_id, 2, sender=panelists[0])
    arbitrator.vote(dispute_id, 2, sender=panelists[1])
    desk.withdrawCredit(sender=claimant)
    outcome("silent_committee_escalated_claimant_wins", claim_id)

    # 4. a claim nobody moved on: no report, no escalation; anyone closes it 30 days past the oracle timeout
    claim_id = submit(ETH)
    chain.pending_timestamp += DAY + STALE_AFTER_S
    gas["close_stale"] = manager.closeStale(claim_id, sender=deployer).gas_used
    outcome("stale_closed_by_anyone", claim_id)

    # 5. governance of a live policy: the insurer announces a rotation; a holder who does not accept it cancels
    # for a pro-rata refund while it waits; anyone applies it after the delay; a member leaves at once
    second = manager.buyPolicy(
        product_id, keccak(b"VIN-DEMO-2"), sedan, value=manager.premiumOf(product_id, sedan), sender=claimant
    )
    second_id = second.decode_logs(manager.PolicyPurchased)[0].policyId
    members = [o.address for o in oracles[1:]] + [panelists[0].address]
    gas["announce_change"] = governor.setCommittee(product_id, members, 2, sender=insurer).gas_used
    gas["cancel_policy"] = manager.cancelPolicy(second_id, claimant, sender=claimant).gas_used
    chain.pending_timestamp = max(chain.pending_timestamp, governor.changeEffectiveAt(product_id))
    gas["apply_change"] = governor.applyChange(product_id, sender=deployer).gas_used
    gas["leave_committee"] = governor.leaveCommittee(product_id, sender=oracles[1]).gas_used

    # one claim alone, as a holder now takes it: submit, a 2-of-3 signed report, collect (finalize and pay in
    # one transaction); the older two-step ending (finalize, then withdraw) is reported beside it
    gas["lifecycle_total"] = gas["submit_claim"] + gas["report_signed_2of3"] + gas["collect"]
    gas["lifecycle_total_two_step"] = (
        gas["submit_claim"] + gas["report_signed_2of3"] + gas["finalize"] + gas["withdraw"]
    )
    result.gas = {key: int(value) for key, value in gas.items()}
    return result


def format_outcomes(outcomes: dict[str, tuple[int, int]]) -> str:
    """A plain-text table of where each scripted claim ended."""
    width = max(len(path) for path in outcomes)
    lines = [f"{'claim path'.ljust(width)}  {'status':<9} {'payout (ETH)':>12}", "-" * (width + 24)]
    for path, (status, payout) in outcomes.items():
        lines.append(f"{path.ljust(width)}  {ClaimStatus(status).name.lower():<9} {payout / ETH:>12.4f}")
    return "\n".join(lines)


def format_gas_table(gas: dict[str, int]) -> str:
    """A plain-text table of gas per step."""
    width = max(len(key) for key in gas)
    lines = [f"{'step'.ljust(width)}  {'gas':>9}", "-" * (width + 11)]
    lines += [f"{key.ljust(width)}  {value:>9,}" for key, value in gas.items()]
    return "\n".join(lines)
