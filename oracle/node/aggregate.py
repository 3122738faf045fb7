"""The aggregated report path: members swap EIP-712 signatures through a relay and one of them sends them in one tx."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import requests

from oracle.chain.contracts import ClaimsManagerClient
from oracle.chain.report import Domain, Report
from oracle.db import DONE, JobView, NodeStore
from oracle.encoding import MAX_JSON_DEPTH, json_depth
from oracle.node.signer import Signer
from oracle.node.submitter import TransactionSubmitter
from oracle.wire.fields import BadRequestError
from oracle.wire.signed_report import SignedReport, parse_signed_report

log = logging.getLogger(__name__)
MAX_RELAY_RESPONSE_BYTES = 1024 * 1024


class RelayError(RuntimeError):
    """The signature relay could not be reached or refused a request."""


class SignatureRelayClient:
    """HTTP access to a signature relay (`oracle.adapter.signatures`); everything it returns is untrusted."""

    def __init__(self, base_url: str, timeout: float = 5.0):
        """Talk to the relay at `base_url` (e.g. http://127.0.0.1:8080)."""
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        self.http = requests.Session()

    def publish(self, signed: SignedReport) -> None:
        """Post one signed report."""
        self._request("POST", "/signatures", json=signed.wire())

    def fetch(self, domain: Domain, claim_id: int) -> list:
        """The raw entries the relay holds for a claim (unvalidated: the caller checks each one)."""
        body = self._request("GET", f"/signatures/{domain.chain_id}/{domain.verifying_contract}/{claim_id}")
        entries = body.get("signatures") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise RelayError(f"relay {self.base_url} answered without a signatures list")
        return entries

    def _request(self, method: str, path: str, **kwargs) -> object:
        """One request with a timeout and a bound on the answer's size; RelayError on any failure."""
        url = self.base_url + path
        try:
            with self.http.request(method, url, timeout=self.timeout, stream=True, **kwargs) as response:
                body = response.raw.read(MAX_RELAY_RESPONSE_BYTES + 1, decode_content=True)
                if len(body) > MAX_RELAY_RESPONSE_BYTES:
                    raise RelayError(f"relay answer from {url} is over {MAX_RELAY_RESPONSE_BYTES} bytes")
                if response.status_code >= 300:
                    raise RelayError(f"relay {method} {url} answered {response.status_code}: {body[:300]!r}")
                if json_depth(body) > MAX_JSON_DEPTH:  # the relay is untrusted: deep JSON could crash the parser
                    raise RelayError(f"relay answer from {url} nests more than {MAX_JSON_DEPTH} deep")
                return json.loads(body)
        except (requests.RequestException, ValueError) as exc:
            raise RelayError(f"relay {method} {url} failed: {type(exc).__name__}: {exc}") from None


class AggregateSubmitter(TransactionSubmitter):
    """Publishes this member's signature and sends `submitSignedReport` once it holds M of them and it is its turn."""

    # Turns: the member at committee index claimId mod N sends as soon as it sees a quorum; the member k places
    # after it waits k x fallback_seconds from when it first saw the quorum, in case those before it are silent.
    kind = "signed report"

    def __init__(
        self,
        client: ClaimsManagerClient,
        store: NodeStore,
        signer: Signer,
        relay: SignatureRelayClient,
        fallback_seconds: float = 30.0,
        receipt_timeout: float = 60,
        clock: Callable[[], float] = time.monotonic,
    ):
        """Submit through `client`, exchange signatures through `relay`, record progress in `store`."""
        super().__init__(client, store, signer, receipt_timeout)
        self.relay, self.fallback_seconds, self.clock = relay, fallback_seconds, clock
        self._quorum_since: dict[int, float] = {}

    def submit(self, job: JobView, report: Report) -> str:
        """Move the job on: publish, collect, and send once it is this member's turn; returns the job's state."""
        state = self.send_once(job, lambda: self._transaction(job, report))
        if state == DONE:
            self._quorum_since.pop(job.claim_id, None)
        return state

    def _transaction(self, job: JobView, report: Report) -> dict | None:
        """The `submitSignedReport` transaction if this member holds a quorum and it is its turn, else None."""
        product_id = job.event["context"]["product_id"]
        committee = self.client.committee(product_id, report.epoch)
        if self.signer.address not in committee:
            raise ValueError(
                f"{self.signer.address} is not in the committee of product {product_id} for rules epoch {report.epoch}"
            )
        domain = self.client.domain()
        own = self.signer.sign_report(report, domain)  # deterministic (RFC 6979): a restart signs the same bytes
        try:
            signatures = self.collect(domain, report, committee)
            if self.signer.address not in signatures:
                self.relay.publish(SignedReport.build(domain, report, self.signer.address, own))
        except RelayError as exc:
            log.warning("claim %d: signature relay unavailable (%s); retrying next poll", job.claim_id, exc)
            return None
        signatures[self.signer.address] = own
        threshold = self.client.threshold(product_id, report.epoch)
        if len(signatures) < threshold or not self._my_turn(job.claim_id, committee):
            return None
        others = sorted(address for address in signatures if address != self.signer.address)
        chosen = sorted([self.signer.address, *others[: threshold - 1]], key=lambda address: int(address, 16))
        log.info("claim %d: sending %d signatures from %s", job.claim_id, len(chosen), ", ".join(chosen))
        return self.client.signed_report_tx(report, [signatures[address] for address in chosen], self.signer.address)

    def collect(self, domain: Domain, report: Report, committee: list[str]) -> dict[str, tuple]:
        """The relay's signatures over exactly `report` in `domain` by committee members, by member address."""
        members = {address.lower(): address for address in committee}
        found, ignored = {}, 0
        for entry in self.relay.fetch(domain, report.claimId):
            try:
                signed = parse_signed_report(entry)  # the signature must recover to the signer it names
            except BadRequestError:
                ignored += 1
                continue
            member = members.get(signed.signer.lower())
            if member is None or signed.domain() != domain or signed.report() != report:
                ignored += 1
                continue
            found[member] = signed.vrs()
        if ignored:
            log.debug(
                "claim %d: ignored %d relay entries that are no member's signature of our report",
                report.claimId,
                ignored,
            )
        return found

    def _my_turn(self, claim_id: int, committee: list[str]) -> bool:
        """Whether this member sends now: at once if designated, else after its place in the fallback order."""
        rank = (committee.index(self.signer.address) - claim_id % len(committee)) % len(committee)
        if rank == 0:
            return True
        waited = self.clock() - self._quorum_since.setdefault(claim_id, self.clock())
        if waited >= rank * self.fallback_seconds:
            log.warning(
                "claim %d: designated member %s has not sent in %.0f s; sending as fallback %d",
                claim_id,
                committee[claim_id % len(committee)],
                waited,
                rank,
            )
            return True
        return False
