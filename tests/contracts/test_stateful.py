"""A hypothesis state machine (on anvil) drives random claim lifecycles against a Python model of the contracts.

REFERs go to the insurer's review (a proposal, or the arbitrator at the insurer's cost, by the adjuster or by
anyone after the deadline); claimants dispute with and without counter-offers; the desk's solvency (credits, bonds,
held fees and arbitration reserves, to the wei) is checked after every step. The insurer announces committee
rotations, cancels or applies them (applying right after a claim is filed, so rotations land in the middle of
claims), and holders cancel policies for a pro-rata refund of their class's premium while a change waits. Holders
declare a vehicle class when buying (one the product does not offer is refused) and pay that class's premium.

In CI (Makefile): 55 examples of at most 50 steps, and the run fails unless at least STATEFUL_MIN_STEPS = 2,000
steps really ran. Raise all three for a longer search.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from web3.exceptions import ContractLogicError as Web3Revert

from oracle.chain.deploy import DEMO_CLASS_FACTORS_BPS
from oracle.chain.report import Decision, Report, report_deadline, sign_quorum
from oracle.domain import REVIEW_DEADLINE_S, STALE_AFTER_S

from .conftest import ARBITRATION_FEE, DAY, ETH, MODEL_HASH, TERMS_HASH

pytestmark = pytest.mark.anvil

SUBMITTED, DECIDED, DISPUTED, RESOLVED, PAID, REVIEW = 1, 2, 3, 4, 5, 6
COVERAGE, DEDUCTIBLE, PREMIUM, BOND = 10 * ETH, ETH // 2, ETH // 10, ETH // 20
PANEL_RULING_PERIOD, DISPUTE_TIMEOUT = 14 * 24 * 3600, 30 * 24 * 3600
INSTANT_LIMIT, MIN_CONFIDENCE, WINDOW, TIMEOUT = ETH, 9000, 3 * DAY, DAY
INSTANT_DAILY_CAP = 2 * ETH  # small, so the cap is met within a day of instant payouts
MAX_OPEN_CLAIMS = 3
TERM = 365 * DAY
THRESHOLD = 2
RESERVE = 3 * ARBITRATION_FEE  # small, so that the insurer's reserve runs out and claims are won by default


@dataclass
class ModelPolicy:
    """What the model expects of one policy."""

    holder: object
    start: int
    premium: int = PREMIUM
    remaining: int = COVERAGE
    open_claims: int = 0


@dataclass
class ModelClaim:
    """What the model expects of one claim."""

    policy_id: int
    claimed: int
    status: int = SUBMITTED
    payout: int = 0
    decided_at: int = 0
    submitted_at: int = 0
    disputer: object = None
    insurer_disputed: bool = False
    escalated: bool = False
    referred: bool = False  # sent to the arbitrator from the adjuster's review
    counter_offer: int = 0
    held_fee: int = 0  # the insurer's matching fee while the claimant's dispute or escalation is open
    dispute_id: int = -1
    disputed_at: int = 0
    votes: dict = field(default_factory=dict)
    epoch: int = 1


class ClaimsMachine(RuleBasedStateMachine):
    """Random sequences of buy, submit, report, dispute, rule, finalize, withdraw and capital moves."""

    env: dict = {}
    steps_run = 0  # across all examples, to check the search did the work it claims
    old_epoch_decisions = 0  # decisions recorded on a claim after its product's committee rotated
    reviews = 0  # REFERs the adjuster answered or that went to the arbitrator from review
    defaults = 0  # claims won by default because the insurer's reserve could not match or pay a fee

    @initialize()
    def setup(self):
        """Snapshot the chain and create a fresh funded product."""
        e = self.env
        self.chain, self.manager, self.desk, self.arbitrator = e["chain"], e["manager"], e["desk"], e["arbitrator"]
        self.governor = e["governor"]
        self.snapshot = self.chain.snapshot()
        self.product_id = e["create_product"](
            capital=40 * ETH,
            instantLimit=INSTANT_LIMIT,
            instantDailyCap=INSTANT_DAILY_CAP,
            maxOpenClaims=MAX_OPEN_CLAIMS,
            reserve=RESERVE,
        )
        self.instant_day, self.instant_spent = -1, 0
        # rules epochs: each epoch's committee (the oracles' indexes; threshold 2), the pending change and its time
        self.epoch, self.committees = 1, {1: (0, 1, 2)}
        self.pending: tuple[int, ...] | None = None
        self.change_at = 0
        self.capital, self.locked = 40 * ETH, 0
        self.credits: dict[str, int] = {}
        self.held_bonds = 0
        self.reserve = RESERVE  # the product's arbitration reserve at the desk
        self.policies: dict[int, ModelPolicy] = {}
        self.claims: dict[int, ModelClaim] = {}
        self.paid_out: dict[int, int] = {}
        self.touched: set[int] = set()
        self.credits_touched = False
        self.credits_before_by_account = {a.address: self.desk.credits(a) for a in (e["insurer"], *e["holders"])}
        self.bonds_before = self.desk.heldBonds()
        self.balance_before = self.manager.balance - 40 * ETH
        for holder_index in (0, 1):
            self.buy(holder_index, holder_index)

    def teardown(self):
        """Check every claim once more, then put the chain back as it was before this example."""
        if getattr(self, "snapshot", None) is None:
            return
        try:
            if hasattr(self, "paid_out"):  # setup finished; else its own error is the one to report
                self.touched, self.credits_touched = set(self.claims), True
                self.claims_match_model()
        finally:
            self.chain.restore(self.snapshot)

    # ------------------------------------------------------------ helpers

    def now(self) -> int:
        return self.chain.pending_timestamp

    def claim_ids(self, *statuses) -> list[int]:
        return sorted(cid for cid, c in self.claims.items() if c.status in statuses)

    def pick_claim(self, data, *statuses) -> int:
        """A claim in one of `statuses` when there is one, else any claim."""
        preferred = self.claim_ids(*statuses)
        if preferred:
            claim_id = data.draw(st.sampled_from(preferred), label="claim")
        else:
            claim_id = data.draw(st.sampled_from(sorted(self.claims)), label="claim")
        self.touched.add(claim_id)
        return claim_id

    def report(self, claim_id: int, decision: Decision, payout: int, confidence: int) -> Report:
        root = keccak(b"evidence-%d" % claim_id)
        deadline = report_deadline(self.claims[claim_id].submitted_at)
        return Report(
            claim_id,
            int(decision),
            payout,
            confidence,
            keccak(b"x%d" % claim_id),
            MODEL_HASH,
            root,
            TERMS_HASH,
            self.claims[claim_id].epoch,
            deadline,
        )

    def fresh(self, claim_id: int) -> bool:
        """Whether a report signed for the claim is still before its deadline (whatever rotated since)."""
        return self.now() <= report_deadline(self.claims[claim_id].submitted_at)

    def in_committee(self, claim_id: int, *oracle_indexes: int) -> bool:
        """Whether every given oracle is on the committee of the claim's rules epoch (the one at its submission)."""
        return set(oracle_indexes) <= set(self.committees[self.claims[claim_id].epoch])

    def apply_decision(self, claim_id: int, decision: Decision, payout: int, confidence: int):
        claim = self.claims[claim_id]
        instant = (
            decision in (Decision.APPROVE, Decision.PARTIAL)
            and payout <= INSTANT_LIMIT
            and confidence >= MIN_CONFIDENCE
        )
        claim.payout, claim.decided_at = payout, self.last_timestamp()
        if instant:  # the product's instant payouts of the day stay within its cap, else the window opens
            day = claim.decided_at // DAY
            spent = self.instant_spent if day == self.instant_day else 0
            instant = spent + payout <= INSTANT_DAILY_CAP
            if instant:
                self.instant_day, self.instant_spent = day, spent + payout
        if instant:
            self.resolve(claim_id, payout)
        else:
            claim.status = REVIEW if decision == Decision.REFER else DECIDED

    def resolve(self, claim_id: int, payout: int):
        claim = self.claims[claim_id]
        policy = self.policies[claim.policy_id]
        final = min(payout, policy.remaining)
        policy.remaining -= final
        policy.open_claims -= 1
        claim.payout, claim.status = final, RESOLVED

    def expect_revert(self, method, *args, sender, value: int = 0, reason: str = ""):
        """Assert that calling `method` now would revert (with `reason` if given).

        A dry run at the pending block through web3 directly: ape's rich revert handling fetches traces
        and costs about a second per revert, which would dominate this machine's run time.
        """

        tx = {"from": sender.address, "to": method.contract.address, "data": method.encode_input(*args), "value": value}
        try:
            self.chain.provider.web3.eth.call(tx, "pending")
        except Web3Revert as exc:
            assert reason in str(exc), f"reverted with {exc}, expected {reason!r}"
            return
        raise AssertionError(f"{method.abi.name}{args} from {sender.address} did not revert")

    def last_timestamp(self) -> int:
        return self.chain.blocks.head.timestamp

    def credit(self, account, amount: int):
        if amount:
            self.credits[account.address] = self.credits.get(account.address, 0) + amount
            self.credits_touched = True

    # ------------------------------------------------------------ rules

    @rule(data=st.data(), chore=st.sampled_from(["capital", "buy", "credit", "release", "time", "reserve"]))
    def housekeeping(self, data, chore):
        """Insurer, holder and clock moves around the claims: capital, new policies, credits, expiry, time."""
        if chore == "capital":
            self.move_capital(
                data.draw(st.sampled_from([ETH, 5 * ETH, 30 * ETH]), label="amount"),
                data.draw(st.booleans(), label="deposit"),
            )
        elif chore == "buy":
            self.buy(
                data.draw(st.integers(0, 1), label="holder"),
                data.draw(st.integers(0, len(DEMO_CLASS_FACTORS_BPS)), label="vehicle class"),
            )
        elif chore == "credit":
            self.withdraw_credit(data.draw(st.sampled_from(["insurer", "holder0", "holder1"]), label="who"))
        elif chore == "reserve":
            self.move_reserve(
                data.draw(st.sampled_from([ARBITRATION_FEE, 2 * ARBITRATION_FEE]), label="amount"),
                data.draw(st.booleans(), label="deposit"),
            )
        elif chore == "release" and self.policies:
            self.release_policy(data.draw(st.sampled_from(sorted(self.policies)), label="policy"))
        else:
            self.advance_time(data.draw(st.sampled_from([3600, DAY, 3 * DAY, 200 * DAY]), label="seconds"))

    def move_capital(self, amount, deposit):
        insurer = self.env["insurer"]
        if deposit:
            self.manager.depositCapital(self.product_id, amount, value=amount, sender=insurer)
            self.capital += amount
        elif amount <= self.capital - self.locked:
            self.manager.withdrawCapital(self.product_id, amount, insurer, sender=insurer)
            self.capital -= amount
        else:
            self.expect_revert(
                self.manager.withdrawCapital,
                self.product_id,
                amount,
                insurer,
                sender=insurer,
                reason="capital: exceeds free capital",
            )

    def move_reserve(self, amount, deposit):
        """The insurer tops up or draws on its arbitration reserve (fees held for open disputes stay)."""
        insurer = self.env["insurer"]
        if deposit:
            self.desk.fundArbitration(self.product_id, value=amount, sender=insurer)
            self.reserve += amount
        elif amount <= self.reserve:
            self.desk.withdrawArbitrationReserve(self.product_id, amount, insurer, sender=insurer)
            self.reserve -= amount
        else:
            self.expect_revert(
                self.desk.withdrawArbitrationReserve,
                self.product_id,
                amount,
                insurer,
                sender=insurer,
                reason="claims: exceeds the arbitration reserve",
            )

    def buy(self, holder_index, vehicle_class):
        """A holder buys a policy for a vehicle of the class it declares, at that class's premium."""
        holder = self.env["holders"][holder_index]
        offered = vehicle_class < len(DEMO_CLASS_FACTORS_BPS)
        premium = PREMIUM * DEMO_CLASS_FACTORS_BPS[vehicle_class] // 10_000 if offered else PREMIUM
        if offered and self.capital - self.locked >= COVERAGE:
            receipt = self.manager.buyPolicy(
                self.product_id, keccak(b"car"), vehicle_class, value=premium, sender=holder
            )
            event = receipt.decode_logs(self.manager.PolicyPurchased)[0]
            assert event.premium == premium and event.vehicleClass == vehicle_class
            assert self.manager.policy(event.policyId).vehicleClass == vehicle_class
            self.policies[event.policyId] = ModelPolicy(holder=holder, start=event.start, premium=premium)
            self.capital += premium
            self.locked += COVERAGE
            return
        self.expect_revert(
            self.manager.buyPolicy,
            self.product_id,
            keccak(b"car"),
            vehicle_class,
            value=premium,
            sender=holder,
            reason="policies: not enough capital" if offered else "policies: vehicle class not offered",
        )

    @precondition(lambda self: self.policies)
    @rule(data=st.data(), amount=st.sampled_from([ETH // 2, 2 * ETH, 6 * ETH]))
    def submit(self, data, amount):
        policy_id = data.draw(st.sampled_from(sorted(self.policies)), label="policy")
        policy = self.policies[policy_id]
        claim_id = policy_id * 4096 + self.manager.policy(policy_id).claimCount + 1
        args = (policy_id, keccak(b"evidence-%d" % claim_id), "ipfs://e", policy.start, 1, 0, 0, amount)
        refusal = None
        if self.now() > policy.start + TERM:
            refusal = "claims: policy expired"
        elif policy.open_claims >= MAX_OPEN_CLAIMS:
            refusal = "claims: too many open claims"
        elif policy.remaining == 0:  # used up, or cancelled
            refusal = "claims: no coverage left"
        if refusal is not None:
            self.expect_revert(self.manager.submitClaim, *args, sender=policy.holder, reason=refusal)
            return
        receipt = self.manager.submitClaim(*args, sender=policy.holder)
        assert receipt.decode_logs(self.manager.ClaimSubmitted)[0].claimId == claim_id
        policy.open_claims += 1
        self.claims[claim_id] = ModelClaim(
            policy_id=policy_id, claimed=amount, submitted_at=self.last_timestamp(), epoch=self.epoch
        )
        assert self.manager.claim(claim_id).epoch == self.epoch
        self.touched.add(claim_id)

    @rule(data=st.data(), action=st.sampled_from(["announce", "announce", "apply", "apply", "cancel", "cancel_policy"]))
    def govern(self, data, action):
        """The insurer announces a rotation, withdraws it or (anyone) applies it; a holder cancels meanwhile."""
        insurer, oracles = self.env["insurer"], self.env["oracles"]
        if action == "announce":
            members = data.draw(st.sampled_from([(0, 1), (1, 2), (0, 2), (2, 1, 0)]), label="committee")
            receipt = self.governor.setCommittee(
                self.product_id, [oracles[i].address for i in members], THRESHOLD, sender=insurer
            )
            self.pending, self.change_at = members, receipt.timestamp + self.governor.changeDelay(self.product_id)
        elif action == "cancel":
            if self.pending is None:
                self.expect_revert(
                    self.governor.cancelChange, self.product_id, sender=insurer, reason="products: no change pending"
                )
                return
            self.governor.cancelChange(self.product_id, sender=insurer)
            self.pending = None
        elif action == "apply":
            if self.pending is None:
                self.expect_revert(
                    self.governor.applyChange,
                    self.product_id,
                    sender=self.env["stranger"],
                    reason="products: no change pending",
                )
                return
            # a claim filed just before the change lands stays with the committee it was filed under
            if self.now() < self.change_at - 2 * 3600:
                self.advance_time(self.change_at - 2 * 3600 - self.now())
            before = set(self.claims)
            if self.policies and data.draw(st.booleans(), label="claim first"):
                self.submit(data, 2 * ETH)
            if self.now() < self.change_at:
                self.advance_time(self.change_at - self.now())
            self.governor.applyChange(self.product_id, sender=self.env["stranger"])
            self.epoch += 1
            self.committees[self.epoch], self.pending = self.pending, None
            assert self.manager.committeeEpoch(self.product_id) == self.epoch
            for claim_id in set(self.claims) - before:  # the old committee decides it after the rotation
                self.report_signed(claim_id, Decision.APPROVE, 2, 9000, data.draw(st.sampled_from([2, 3]), label="n"))
        elif self.policies:
            self.cancel_policy(data.draw(st.sampled_from(sorted(self.policies)), label="policy"))

    def cancel_policy(self, policy_id):
        """The holder cancels while a change waits: its class's premium * (end - now) / term back, the coverage
        released."""
        policy = self.policies[policy_id]
        end = policy.start + TERM
        args = (policy_id, policy.holder)
        if self.pending is None or self.now() >= end or policy.open_claims or policy.remaining == 0:
            self.expect_revert(self.manager.cancelPolicy, *args, sender=policy.holder)
            return
        receipt = self.manager.cancelPolicy(*args, sender=policy.holder)
        event = receipt.decode_logs(self.manager.PolicyCancelled)[0]
        assert event.refund == policy.premium * (end - receipt.timestamp) // TERM
        assert event.releasedCoverage == policy.remaining
        self.capital -= event.refund
        self.locked -= policy.remaining
        policy.remaining = 0

    @precondition(lambda self: self.claims)
    @rule(data=st.data())
    def progress(self, data):
        """Take a claim up to three steps along paths its state allows (report, escalate, dispute, ...)."""
        claim_id = self.pick_claim(data, SUBMITTED, DECIDED, DISPUTED, RESOLVED, REVIEW)
        for _ in range(data.draw(st.integers(1, 3), label="steps")):
            if self.claims[claim_id].status == PAID:
                return
            self.progress_once(data, claim_id)

    def progress_once(self, data, claim_id):
        """One natural next action for a claim in its current state."""
        status = self.claims[claim_id].status
        if status == SUBMITTED:
            action = data.draw(st.sampled_from(["sign", "sign", "vote", "escalate", "stale", "refer"]), label="action")
            if action == "refer":  # a quorum REFER: the claim goes to the insurer's review
                self.report_signed(claim_id, Decision.REFER, 2, 5000, THRESHOLD)
                return
            if action == "escalate":
                self.advance_time(TIMEOUT)
            elif action == "stale":
                self.advance_time(TIMEOUT + STALE_AFTER_S)
        elif status == DECIDED:
            action = data.draw(st.sampled_from(["dispute", "finalize"]), label="action")
            if action == "finalize":
                self.advance_time(WINDOW)
        elif status == DISPUTED:
            action = data.draw(st.sampled_from(["rule", "rule", "default", "timeout"]), label="action")
        elif status == REVIEW:
            action = data.draw(st.sampled_from(["propose", "propose", "refer", "refer_late"]), label="action")
            if action == "refer_late":
                self.advance_time(REVIEW_DEADLINE_S)
                action = "refer"
        else:
            action = "withdraw"
        self.act(data, claim_id, action)

    @precondition(lambda self: self.claims)
    @rule(
        data=st.data(),
        action=st.sampled_from(
            [
                "sign",
                "vote",
                "escalate",
                "dispute",
                "finalize",
                "rule",
                "withdraw",
                "timeout",
                "stale",
                "propose",
                "refer",
            ]
        ),
    )
    def poke(self, data, action):
        """Try any action on any claim; the model says whether it must succeed or revert."""
        self.act(data, self.pick_claim(data), action)

    def act(self, data, claim_id, action):
        """Run one claim action with parameters drawn from `data`."""
        if action == "sign":
            self.report_signed(
                claim_id,
                data.draw(st.sampled_from(list(Decision)), label="decision"),
                data.draw(st.sampled_from([1, 2, 4]), label="share"),
                data.draw(st.sampled_from([5000, 9000, 9900]), label="confidence"),
                data.draw(st.sampled_from([1, 2, 2, 3]), label="signers"),
            )
        elif action == "vote":
            self.report_vote(
                claim_id,
                data.draw(st.sampled_from(list(Decision)), label="decision"),
                data.draw(st.integers(0, 2), label="voter"),
            )
        elif action == "escalate":
            self.escalate(claim_id)
        elif action == "dispute":
            self.dispute(
                claim_id, data.draw(st.booleans(), label="by_insurer"), data.draw(st.booleans(), label="counter_offer")
            )
        elif action == "propose":
            self.propose(claim_id, data.draw(st.sampled_from([0, 1, 2, 4]), label="share"))
        elif action == "refer":
            self.refer(claim_id, data.draw(st.booleans(), label="by_adjuster"))
        elif action == "finalize":
            self.finalize(claim_id)
        elif action == "rule":
            self.rule_dispute(claim_id, data.draw(st.integers(0, 3), label="ruling"))
        elif action == "default":
            self.default_ruling(claim_id)
        elif action == "timeout":
            self.close_timed_out(claim_id)
        elif action == "stale":
            self.close_stale(claim_id)
        else:
            self.withdraw_payout(claim_id, data.draw(st.booleans(), label="collect"))

    @staticmethod
    def report_valid(decision: Decision, payout: int, claimed: int) -> bool:
        """The contract's payout rules: REJECT and REFER carry 0, an approval 1..claimed - deductible."""
        if decision in (Decision.REJECT, Decision.REFER):
            return payout == 0
        return payout > 0 and payout + DEDUCTIBLE <= claimed

    def report_signed(self, claim_id, decision, share, confidence, signer_count):
        claim = self.claims[claim_id]
        # share 1 also tries a payout on a REJECT or REFER, and approvals of the full claimed amount
        refusal = decision in (Decision.REJECT, Decision.REFER)
        payout = 0 if refusal and share != 1 else claim.claimed // share
        report = self.report(claim_id, decision, payout, confidence)
        oracles = self.env["oracles"][:signer_count]
        signatures = sign_quorum(report, self.env["domain"], {o.address: o.private_key for o in oracles})
        valid = self.report_valid(decision, payout, claim.claimed) and self.fresh(claim_id)
        valid = valid and self.in_committee(claim_id, *range(signer_count))
        if claim.status == SUBMITTED and signer_count >= THRESHOLD and valid:
            self.manager.submitSignedReport(report.as_tuple(), signatures, sender=self.env["deployer"])
            ClaimsMachine.old_epoch_decisions += claim.epoch < self.epoch
            self.apply_decision(claim_id, decision, payout, confidence)
        else:
            self.expect_revert(
                self.manager.submitSignedReport, report.as_tuple(), signatures, sender=self.env["deployer"]
            )

    def report_vote(self, claim_id, decision, voter_index):
        """One committee vote; two votes for the same report (2 of 3) record it."""
        claim = self.claims[claim_id]
        payout = 0 if decision in (Decision.REJECT, Decision.REFER) else claim.claimed // 2
        report = self.report(claim_id, decision, payout, 8000)
        voter = self.env["oracles"][voter_index]
        invalid = not (
            self.report_valid(decision, payout, claim.claimed)
            and self.fresh(claim_id)
            and self.in_committee(claim_id, voter_index)
        )
        if claim.status != SUBMITTED or voter.address in claim.votes or invalid:
            self.expect_revert(self.manager.voteReport, report.as_tuple(), sender=voter)
            return
        self.manager.voteReport(report.as_tuple(), sender=voter)
        claim.votes[voter.address] = report
        if sum(1 for vote in claim.votes.values() if vote == report) >= THRESHOLD:
            ClaimsMachine.old_epoch_decisions += claim.epoch < self.epoch
            self.apply_decision(claim_id, decision, payout, 8000)

    def advance_time(self, seconds):
        self.chain.pending_timestamp += seconds
        self.chain.mine()

    def finalize(self, claim_id):
        claim = self.claims[claim_id]
        if claim.status == DECIDED and self.now() >= claim.decided_at + WINDOW:
            self.manager.finalize(claim_id, sender=self.env["stranger"])
            self.resolve(claim_id, claim.payout)
        else:
            self.expect_revert(self.manager.finalize, claim_id, sender=self.env["stranger"])

    def claimed_less_deductible(self, claim) -> int:
        return max(claim.claimed - DEDUCTIBLE, 0)

    def claimant_side(self, claim) -> int:
        """What ruling 2 pays: the claimant's counter-offer, else the claimed amount less the deductible."""
        return claim.counter_offer or self.claimed_less_deductible(claim)

    def match_fee(self, claim_id, by_claimant: bool, value: int) -> bool:
        """The desk holds the insurer's matching fee when the claimant goes to the arbitrator; a short reserve
        resolves the claim at the claimant's side at once and credits back what was sent (returns False)."""
        claim = self.claims[claim_id]
        if not by_claimant:
            return True
        if self.reserve < ARBITRATION_FEE:
            self.resolve(claim_id, self.claimant_side(claim))
            self.credit(self.policies[claim.policy_id].holder, value)
            ClaimsMachine.defaults += 1
            return False
        self.reserve -= ARBITRATION_FEE
        claim.held_fee = ARBITRATION_FEE
        return True

    def dispute(self, claim_id, by_insurer, with_offer):
        claim = self.claims[claim_id]
        who = self.env["insurer"] if by_insurer else self.policies[claim.policy_id].holder
        value = BOND + ARBITRATION_FEE
        offer = 0
        if with_offer and not by_insurer and claim.payout + 1 < self.claimed_less_deductible(claim):
            offer = (claim.payout + self.claimed_less_deductible(claim)) // 2
        if claim.status == DECIDED and self.now() < claim.decided_at + WINDOW:
            receipt = self.desk.disputeWithOffer(claim_id, offer, value=value, sender=who)
            claim.counter_offer = offer
            if not self.match_fee(claim_id, not by_insurer, value):
                return
            claim.dispute_id = receipt.decode_logs(self.desk.ClaimDisputed)[0].disputeId
            claim.status, claim.disputer, claim.insurer_disputed = DISPUTED, who, by_insurer
            claim.disputed_at = self.last_timestamp()
            self.held_bonds += BOND
        else:
            self.expect_revert(self.desk.disputeWithOffer, claim_id, offer, value=value, sender=who)

    def propose(self, claim_id, share):
        """The adjuster (the insurer here) proposes a share of the claimed amount less the deductible."""
        claim = self.claims[claim_id]
        payout = self.claimed_less_deductible(claim) // share if share else 0
        insurer = self.env["insurer"]
        if claim.status == REVIEW and self.now() < claim.decided_at + REVIEW_DEADLINE_S:
            self.desk.proposePayout(claim_id, payout, sender=insurer)
            claim.status, claim.payout, claim.decided_at = DECIDED, payout, self.last_timestamp()
            ClaimsMachine.reviews += 1
        else:
            self.expect_revert(self.desk.proposePayout, claim_id, payout, sender=insurer)

    def refer(self, claim_id, by_adjuster):
        """The adjuster, or anyone after the review deadline, sends a REFER to the arbitrator at the insurer's cost."""
        claim = self.claims[claim_id]
        who = self.env["insurer"] if by_adjuster else self.env["stranger"]
        late = self.now() >= claim.decided_at + REVIEW_DEADLINE_S
        if claim.status != REVIEW or not (by_adjuster or late):
            self.expect_revert(self.desk.referToArbitrator, claim_id, sender=who)
            return
        receipt = self.desk.referToArbitrator(claim_id, sender=who)
        ClaimsMachine.reviews += 1
        if self.reserve < ARBITRATION_FEE:
            self.resolve(claim_id, self.claimant_side(claim))
            ClaimsMachine.defaults += 1
            return
        self.reserve -= ARBITRATION_FEE
        claim.dispute_id = receipt.decode_logs(self.desk.ClaimReferred)[0].disputeId
        claim.status, claim.referred, claim.disputer = DISPUTED, True, who
        claim.disputed_at = self.last_timestamp()

    def close_stale(self, claim_id):
        claim = self.claims[claim_id]
        if claim.status == SUBMITTED and self.now() >= claim.submitted_at + TIMEOUT + STALE_AFTER_S:
            self.manager.closeStale(claim_id, sender=self.env["stranger"])
            self.resolve(claim_id, 0)
        else:
            self.expect_revert(self.manager.closeStale, claim_id, sender=self.env["stranger"])

    def escalate(self, claim_id):
        claim = self.claims[claim_id]
        who = self.policies[claim.policy_id].holder
        if claim.status == SUBMITTED and self.now() >= claim.submitted_at + TIMEOUT:
            receipt = self.desk.escalate(claim_id, value=ARBITRATION_FEE, sender=who)
            if not self.match_fee(claim_id, True, ARBITRATION_FEE):
                return
            claim.dispute_id = receipt.decode_logs(self.desk.ClaimEscalated)[0].disputeId
            claim.status, claim.escalated, claim.disputer = DISPUTED, True, who
            claim.disputed_at = self.last_timestamp()
        else:
            self.expect_revert(self.desk.escalate, claim_id, value=ARBITRATION_FEE, sender=who)

    def rule_dispute(self, claim_id, ruling):
        claim = self.claims[claim_id]
        if claim.status != DISPUTED:
            # no open dispute for this claim: the panel has nothing to rule on
            self.expect_revert(
                self.arbitrator.vote,
                max(claim.dispute_id, 0) + 10_000,
                ruling,
                sender=self.env["panelists"][0],
                reason="panel: unknown dispute",
            )
            return
        panel = self.env["panelists"]
        if self.now() >= claim.disputed_at + PANEL_RULING_PERIOD:
            # too late to vote: the panel's deadline passed, and anyone gives the default ruling instead
            self.expect_revert(
                self.arbitrator.vote, claim.dispute_id, ruling, sender=panel[0], reason="panel: ruling deadline passed"
            )
            self.default_ruling(claim_id)
            return
        self.arbitrator.vote(claim.dispute_id, ruling, sender=panel[0])
        self.arbitrator.vote(claim.dispute_id, ruling, sender=panel[1])
        self.settle(claim_id, ruling)

    def settle(self, claim_id, ruling):
        """A ruling's payout, bond and held fee (ruling 0: a refusal, a panel's default, the desk's timeout)."""
        claim = self.claims[claim_id]
        holder, insurer = self.policies[claim.policy_id].holder, self.env["insurer"]
        undecided = claim.escalated or claim.referred
        if ruling == 2 or (ruling == 0 and undecided):  # a claim with no decision on record pays the claimant's side
            payout = self.claimant_side(claim)
        elif ruling == 3:
            payout = 0
        else:
            payout = claim.payout  # the assessed amount: 0 for an escalated or referred claim
        if claim.held_fee:  # loser pays: the insurer's matching fee repays the claimant unless it lost
            if ruling in (0, 2):
                self.credit(claim.disputer, claim.held_fee)
            else:
                self.reserve += claim.held_fee
            claim.held_fee = 0
        if not undecided:
            self.held_bonds -= BOND
            if ruling == 0:
                self.credit(claim.disputer, BOND)
            elif claim.insurer_disputed:
                self.credit(insurer if ruling == 3 else holder, BOND)
            else:
                self.credit(holder if ruling == 2 else insurer, BOND)
        self.resolve(claim_id, payout)

    def default_ruling(self, claim_id):
        """The panel's deadline passes undecided; anyone gives the default ruling 0."""
        claim = self.claims[claim_id]
        if claim.status != DISPUTED:
            return
        if self.now() < claim.disputed_at + PANEL_RULING_PERIOD:
            self.advance_time(PANEL_RULING_PERIOD)
        self.arbitrator.ruleByDefault(claim.dispute_id, sender=self.env["stranger"])
        self.settle(claim_id, 0)

    def close_timed_out(self, claim_id):
        """The arbitrator never rules; after the desk's timeout anyone closes the dispute by default."""
        claim = self.claims[claim_id]
        if claim.status != DISPUTED:
            self.expect_revert(self.desk.closeTimedOutDispute, claim_id, sender=self.env["stranger"])
            return
        if self.now() < claim.disputed_at + DISPUTE_TIMEOUT:
            self.expect_revert(
                self.desk.closeTimedOutDispute,
                claim_id,
                sender=self.env["stranger"],
                reason="claims: dispute timeout not over",
            )
            self.advance_time(DISPUTE_TIMEOUT)
        self.desk.closeTimedOutDispute(claim_id, sender=self.env["stranger"])
        self.settle(claim_id, 0)

    def withdraw_payout(self, claim_id, collect=False):
        """`withdrawPayout` (resolved claims), or `collect` (also finalizes a decided claim past its window)."""
        claim = self.claims[claim_id]
        holder = self.policies[claim.policy_id].holder
        if collect and claim.status == DECIDED and self.now() >= claim.decided_at + WINDOW:
            if claim.payout == 0 or self.policies[claim.policy_id].remaining == 0:
                # nothing to pay after finalizing: the whole call reverts and the claim stays decided
                self.expect_revert(self.manager.collect, claim_id, holder, sender=holder)
                return
            self.resolve(claim_id, claim.payout)
            receipt = self.manager.collect(claim_id, holder, sender=holder)
        elif claim.status == RESOLVED and claim.payout > 0:
            if collect:
                receipt = self.manager.collect(claim_id, holder, sender=holder)
            else:
                receipt = self.manager.withdrawPayout(claim_id, sender=holder)
        else:
            method = self.manager.collect if collect else self.manager.withdrawPayout
            args = (claim_id, holder) if collect else (claim_id,)
            self.expect_revert(method, *args, sender=holder)
            return
        assert receipt.decode_logs(self.manager.PayoutWithdrawn)[0].amount == claim.payout
        self.paid_out[claim_id] = self.paid_out.get(claim_id, 0) + claim.payout
        self.capital -= claim.payout
        self.locked -= claim.payout
        claim.status = PAID
        self.touched.add(claim_id)

    def withdraw_credit(self, who):
        account = self.env["insurer"] if who == "insurer" else self.env["holders"][int(who[-1])]
        owed = self.credits.get(account.address, 0)
        if owed:
            self.desk.withdrawCredit(sender=account)
            self.credits[account.address] = 0
            self.credits_before_by_account[account.address] = 0
            self.credits_touched = True
        elif self.desk.credits(account) == 0:
            self.expect_revert(self.desk.withdrawCredit, sender=account, reason="claims: nothing to withdraw")

    def release_policy(self, policy_id):
        policy = self.policies[policy_id]
        expired = self.now() > policy.start + TERM
        if expired and policy.open_claims == 0 and policy.remaining > 0:
            self.manager.releasePolicy(policy_id, sender=self.env["stranger"])
            self.locked -= policy.remaining
            policy.remaining = 0
        else:
            self.expect_revert(self.manager.releasePolicy, policy_id, sender=self.env["stranger"])

    # ------------------------------------------------------------ invariants

    @invariant()
    def contract_holds_what_it_owes(self):
        if not hasattr(self, "product_id"):
            return
        ClaimsMachine.steps_run += 1  # invariants run once after initialization and after every step
        product = self.manager.product(self.product_id)
        assert (product.capital, product.locked) == (self.capital, self.locked)
        assert product.locked <= product.capital
        # the manager holds the capital, the desk the bonds, credits, held fees and reserves (all ETH here)
        assert self.manager.balance >= product.capital + self.balance_before
        desk = self.desk
        assert desk.balance == desk.totalCredits() + desk.heldBonds() + desk.heldFees() + desk.totalReserves()
        assert desk.heldBonds() - self.bonds_before == self.held_bonds
        assert desk.arbitrationReserve(self.product_id) == self.reserve
        held = sum(c.held_fee for c in self.claims.values())
        assert sum(desk.heldFee(cid) for cid, c in self.claims.items() if c.held_fee) == held

    @invariant()
    def claims_match_model(self):
        """Only quorum reports, rulings and finalization move a claim; the chain agrees with the model.

        Each step checks the claims it touched and their policies; teardown checks them all, which
        catches a change to a claim no step meant to touch.
        """
        for claim_id in sorted(getattr(self, "touched", ())):
            claim = self.claims[claim_id]
            onchain = self.manager.claim(claim_id)
            assert onchain.status == claim.status, claim_id
            if claim.status in (DECIDED, RESOLVED, PAID):
                assert onchain.payout == claim.payout
            remaining = self.manager.policy(claim.policy_id).remainingCoverage
            assert remaining == self.policies[claim.policy_id].remaining
        self.touched = set()
        if getattr(self, "credits_touched", False):
            for account in (self.env["insurer"], *self.env["holders"]):
                assert self.desk.credits(account) == self.credits_before_by_account[account.address] + self.credits.get(
                    account.address, 0
                ), f"bond credit of {account.address}"
            self.credits_touched = False

    @invariant()
    def no_claim_pays_twice_nor_beyond_coverage(self):
        for claim_id, paid in getattr(self, "paid_out", {}).items():
            assert paid == self.claims[claim_id].payout
        for policy_id, policy in getattr(self, "policies", {}).items():
            paid = sum(
                c.payout for c in self.claims.values() if c.policy_id == policy_id and c.status in (RESOLVED, PAID)
            )
            assert paid + policy.remaining <= COVERAGE


def test_claims_state_machine__random_lifecycles__model_and_invariants_hold(
    chain,
    manager,
    governor,
    desk,
    arbitrator,
    create_product,
    insurer,
    claimant,
    accounts,
    oracles,
    panelists,
    domain,
    deployer,
    stranger,
):
    ClaimsMachine.env = dict(
        chain=chain,
        manager=manager,
        governor=governor,
        desk=desk,
        arbitrator=arbitrator,
        create_product=create_product,
        insurer=insurer,
        holders=[claimant, accounts[13]],
        oracles=oracles,
        panelists=panelists,
        domain=domain,
        deployer=deployer,
        stranger=stranger,
    )
    ClaimsMachine.steps_run = ClaimsMachine.old_epoch_decisions = ClaimsMachine.reviews = ClaimsMachine.defaults = 0
    run_state_machine_as_test(
        ClaimsMachine,
        settings=settings(
            max_examples=int(os.environ.get("STATEFUL_EXAMPLES", "5")),
            stateful_step_count=int(os.environ.get("STATEFUL_STEPS", "30")),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=os.environ.get("CI") == "true",
        ),
    )
    minimum = int(os.environ.get("STATEFUL_MIN_STEPS", "0"))
    print(
        f"stateful machine ran {ClaimsMachine.steps_run} steps; "
        f"{ClaimsMachine.old_epoch_decisions} decisions on claims whose committee had rotated since; "
        f"{ClaimsMachine.reviews} REFERs reviewed or referred; {ClaimsMachine.defaults} claims won by default"
    )
    assert ClaimsMachine.steps_run >= minimum, f"only {ClaimsMachine.steps_run} steps ran; raise STATEFUL_EXAMPLES"
    assert ClaimsMachine.reviews or minimum < 2000, "the search never took a REFER through the review"
