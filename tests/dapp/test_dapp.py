"""The dApp in a real Chromium against the real stack: an insurer creates and funds a product, a claimant buys a
policy and has one claim paid at once and another disputed, an arbitrator panel rules, the claimant withdraws;
and a rejected signature, an oversized photo and a wrong network each give a clear message."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from eth_utils import keccak
from playwright.sync_api import expect

from oracle.chain.deploy import DAY, ETH, buy_policy, create_product
from oracle.dev.demo import confident_photos, default_photo_root
from oracle.dev.stack import insured_object_of, person_reader, product_defaults
from oracle.explain.evidence import load_manifest
from oracle.settings import load_settings
from tests.dapp.conftest import screenshot
from tests.factories import IMAGE_MAGIC

TIMEOUT_MS = 30_000
PROMPT_MS = 5_000  # a screen shows a confirmed transaction or a new block this soon (it reads that block at once)


def choose_account(page, role: str) -> None:
    """Pick the dev-wallet account that plays `role` and wait until the wallet bar shows it."""
    options = page.locator("#dev-account option")
    index = next(i for i, text in enumerate(options.all_inner_texts()) if text.startswith(f"{role} ("))
    address = options.nth(index).get_attribute("value")
    page.select_option("#dev-account", value=address)
    expect(page.locator("body")).to_have_attribute("data-wallet", address)


def open_app(page, stack, route: str = "") -> None:
    """Load the dApp and wait until it has its configuration."""
    page.goto(stack.url + (f"#/{route}" if route else ""))
    page.wait_for_selector("body[data-ready]", timeout=30_000)


def last_tx(page, label_start: str):
    """The newest transaction status line whose label starts with `label_start`."""
    return page.locator(f'#transactions .tx[data-label^="{label_start}"]').first


def transaction(page, label_start: str, action, outcome: str = "confirmed"):
    """Run `action` (a click), wait for the new transaction line it starts to end, and check how it ended."""
    before = int(page.locator("#transactions").get_attribute("data-count") or 0)
    action()
    new_line = f'#transactions .tx[data-label^="{label_start}"]'
    try:
        page.wait_for_function(
            "([selector, before]) => [...document.querySelectorAll(selector)].some(el => +el.dataset.seq > before)",
            arg=[new_line, before],
            timeout=TIMEOUT_MS,
        )
    except Exception:
        errors = [text for text in page.locator(".error, .notice").all_inner_texts() if text.strip()]
        shot = screenshot(page, f"failed-{label_start.replace(' ', '-').lower()}")
        raise AssertionError(f"{label_start!r} never started; messages on the page: {errors}; see {shot}") from None
    tx = page.locator(new_line).first
    expect(tx).to_have_attribute("data-state", re.compile("confirmed|failed"), timeout=TIMEOUT_MS)
    assert tx.get_attribute("data-state") == outcome, tx.inner_text()
    return tx


def confirmed_next(page, label_start: str) -> None:
    """Wait for the next transaction with this label (started by the app itself) to be confirmed."""
    tx = last_tx(page, label_start)
    expect(tx).to_have_attribute("data-state", re.compile("confirmed|failed"), timeout=TIMEOUT_MS)
    assert tx.get_attribute("data-state") == "confirmed", tx.inner_text()


def shown_block(page, number: int) -> None:
    """Wait until the open screen has rendered the chain as of block `number` or a later one."""
    page.wait_for_function("n => +(document.body.dataset.block || 0) >= n", arg=number, timeout=PROMPT_MS)


def eth_text(wei: int) -> str:
    """An amount as the dApp writes it (ui.js eth): ETH with at most 4 decimals, trailing zeros dropped."""
    whole, frac = divmod(wei, ETH)
    digits = f"{frac * 10_000 // ETH:04d}".rstrip("0")
    return f"{whole}.{digits} ETH" if digits else f"{whole} ETH"


def cover_left(page, manager, policy_id: int):
    """Expect the policy's card to show the cover the contract has left on it."""
    cover = manager.policy(policy_id)["remainingCoverage"]
    card = page.locator(f'li.policy[data-policy="{policy_id}"]')
    expect(card).to_contain_text(f"cover left {eth_text(cover)};", timeout=PROMPT_MS)
    return cover


def claim_card(page, claim_id: int):
    return page.locator(f'#claims li[data-claim="{claim_id}"]')


def newest_claim_id(stack, holder: str) -> int:
    logs = stack.system.manager.contract.events.ClaimSubmitted().get_logs(
        from_block=0, argument_filters={"holder": holder}
    )
    return logs[-1].args.claimId


def submit_claim_in_browser(page, policy: int, photos, amount: str) -> None:
    """Open the claim form of the policy-th policy on the page, attach real photos, and send the claim."""
    page.locator("li.policy").nth(policy).locator("button.new-claim").click()
    form = page.locator("form.claim-form")
    form.locator('input[type="file"]').set_input_files([str(p) for p in photos])
    expect(form.locator(".previews li")).to_have_count(len(photos))
    form.locator('select[name="vehicleClass"]').select_option("sedan")
    form.locator('input[name="amount"]').fill(amount)
    transaction(page, "Submit claim", form.locator('button[type="submit"]').click)


@pytest.fixture(scope="module")
def photos(shared_data, model, tmp_path_factory):
    """Real validation photos the model reads clearly: two minor, two whole cars."""

    root = default_photo_root(load_settings())
    yield {"minor": confident_photos(root, model, "minor", 2), "whole": confident_photos(root, model, "whole", 2)}
    shutil.rmtree(root, ignore_errors=True)  # the folder of links default_photo_root made


def test_insurer_claimant_arbitrator_end_to_end(page, stack, photos):
    """Product created and funded, a claim paid at once, a claim disputed and ruled for the claimant, withdrawals."""
    manager = stack.system.manager
    open_app(page, stack)
    expect(page.locator("h1")).to_contain_text("oracle")
    screenshot(page, "landing")

    # insurer: the product form comes filled with the demo defaults (committee, model hash, terms); create and fund
    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    transaction(page, "Create product", page.locator("form.product-form button[type=submit]").click)
    expect(last_tx(page, "Fund product")).to_be_visible(timeout=TIMEOUT_MS)
    confirmed_next(page, "Fund product")
    product_id = manager.contract.functions.productCount().call()
    assert manager.product(product_id)["capital"] == 100 * ETH
    assert manager.committee(product_id) == stack.roles.oracles
    expect(page.locator(f'#products-table tr[data-product="{product_id}"]')).to_contain_text(
        "100 ETH", timeout=TIMEOUT_MS
    )

    # claimant: two policies (one per car), ten days later (the terms flag claims in a policy's first week)
    choose_account(page, "claimant")
    page.goto(stack.url + "#/claimant")
    for count, vin in enumerate(("BROWSER-VIN-1", "BROWSER-VIN-2"), start=1):
        page.locator(f'li.product[data-product="{product_id}"] input[name="insured"]').fill(vin)
        transaction(
            page, "Buy policy", page.locator(f'li.product[data-product="{product_id}"] button[type="submit"]').click
        )
        # the list reads the purchase's block at once, not a cached answer from before it
        expect(page.locator("li.policy")).to_have_count(count, timeout=PROMPT_MS)
    policies = [int(p.get_attribute("data-policy")) for p in page.locator("li.policy").all()]
    covers = [cover_left(page, manager, policy) for policy in policies]

    # the screen follows new blocks without losing what is being typed: an open claim form keeps its input and focus
    page.locator("li.policy").nth(0).locator("button.new-claim").click()
    typing = page.locator('form.claim-form input[name="amount"]')
    typing.fill("0.8")
    stack.w3.provider.make_request("evm_increaseTime", [10 * DAY])
    stack.w3.provider.make_request("evm_mine", [])
    shown_block(page, stack.w3.eth.block_number)
    expect(typing).to_have_value("0.8")
    expect(typing).to_be_focused()
    page.locator("form.claim-form button.cancel").click()
    expect(page.locator("form.claim-form")).to_have_count(0)

    # claim 1: two minor-damage photos, small enough to pay at once
    submit_claim_in_browser(page, 0, photos["minor"], "0.8")
    first = newest_claim_id(stack, stack.roles.claimant)
    card = claim_card(page, first)
    expect(card).to_have_attribute("data-status", "resolved", timeout=TIMEOUT_MS)
    assert manager.claim(first)["payout"] == ETH // 10  # sedan minor repair 0.2 ETH less the 0.1 ETH deductible
    assert cover_left(page, manager, policies[0]) == covers[0] - ETH // 10  # the payout shows on the policy too
    card.locator("button.explain").click()
    expect(card.locator(".explanation")).to_contain_text("Payout arithmetic", timeout=TIMEOUT_MS)
    expect(card.locator(".explanation .verified")).to_be_visible()
    expect(card.locator(".finding img")).to_have_count(4)  # each photo with its heat map
    expect(card.locator('.finding img[data-opened="true"]')).to_have_count(4, timeout=TIMEOUT_MS)  # opened here
    # the photos were sealed in the browser: whoever asks the gateway for them gets ciphertext, without EXIF
    manifest = json.loads(load_manifest(manager.claim(first)["evidenceRoot"], stack.cas))
    assert {grant["to"] for grant in manifest["sealed"]["grants"]} >= {a.lower() for a in stack.roles.oracles}
    for entry in manifest["photos"]:
        body = page.request.get(stack.url + "content/" + entry["cid"]).body()
        assert len(body) == entry["bytes"] and not body.startswith(IMAGE_MAGIC) and b"Exif" not in body
    screenshot(page, "claimant")
    before = stack.w3.eth.get_balance(stack.roles.claimant)
    transaction(page, "Withdraw payout", card.locator("button.withdraw").click)
    expect(card).to_have_attribute("data-status", "paid", timeout=TIMEOUT_MS)
    assert stack.w3.eth.get_balance(stack.roles.claimant) > before

    # claim 2: photos of undamaged cars are rejected; the claimant disputes within the window
    submit_claim_in_browser(page, 1, photos["whole"], "2")
    second = newest_claim_id(stack, stack.roles.claimant)
    card = claim_card(page, second)
    expect(card).to_have_attribute("data-status", "decided, window open", timeout=TIMEOUT_MS)
    assert manager.claim(second)["decision"] == 3  # REJECT
    expect(card.locator(".dispute-cost")).to_contain_text("bond of 0.05 ETH")
    transaction(page, "Dispute claim", card.locator("button.dispute").click)
    expect(card).to_have_attribute("data-status", "disputed", timeout=TIMEOUT_MS)
    card.locator("details.evidence-form summary").click()
    card.locator('input[name="evidence-title"]').fill("Dashcam statement")
    card.locator('textarea[name="evidence-statement"]').fill("The dent is on the rear door, out of these photos' view.")
    transaction(page, "Submit evidence", card.locator("details.evidence-form button[type=submit]").click)
    # the photos are sealed: the claimant shares their key with the panel, as ERC-1497 evidence
    transaction(page, f"Share claim {second}", card.locator("button.share-key").click)

    # arbitrators: replay the decision, then two of the three panel members rule for the claimant
    for member in ("arbitration panel 1", "arbitration panel 2"):
        choose_account(page, member)
        page.goto(stack.url + "#/arbitrator")
        dispute = page.locator(f'#disputes li[data-claim="{second}"]')
        expect(dispute).to_be_visible(timeout=TIMEOUT_MS)
        if member.endswith("1"):
            expect(dispute.locator("button.rule-2")).to_contain_text("pays 1.9 ETH")
            expect(dispute.locator(".evidence-item")).to_contain_text(
                "Dashcam statement: The dent is on the rear door", timeout=TIMEOUT_MS
            )
            photos = dispute.locator(".evidence-photos img")
            expect(photos.first).to_have_attribute("data-opened", "true", timeout=TIMEOUT_MS)
            dispute.locator("button.replay").click()
            expect(dispute.locator("[data-match]")).to_have_attribute("data-match", "true", timeout=TIMEOUT_MS)
            expect(dispute.locator("table.replay")).to_contain_text("REJECT (3)")  # decisions by name, not code
            expect(dispute.locator("table.replay")).to_contain_text("0 ETH")
            expect(dispute.locator(".explanation")).to_be_visible(timeout=TIMEOUT_MS)
            screenshot(page, "arbitrator")
        transaction(page, "Rule on claim", dispute.locator("button.rule-2").click)
    record = manager.claim(second)
    assert record["status"] == 4 and record["payout"] == 2 * ETH - ETH // 10

    # the claimant withdraws the ruled payout and the returned bond
    choose_account(page, "claimant")
    page.goto(stack.url + "#/claimant")
    card = claim_card(page, second)
    expect(card).to_have_attribute("data-status", "resolved", timeout=TIMEOUT_MS)
    transaction(page, "Withdraw payout", card.locator("button.withdraw").click)
    expect(card).to_have_attribute("data-status", "paid", timeout=TIMEOUT_MS)
    transaction(page, "Withdraw credit", page.locator("#credits button").click)
    expect(page.locator("#credits button")).to_have_count(0, timeout=PROMPT_MS)
    assert cover_left(page, manager, policies[1]) == covers[1] - (2 * ETH - ETH // 10)
    assert stack.system.desk.functions.credits(stack.roles.claimant).call() == 0

    # the insurer's dashboard reflects it all
    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    row = page.locator(f'#products-table tr[data-product="{product_id}"]')
    # premiums 2 x 0.1 ETH, payouts 0.1 + 1.9 ETH
    expect(row.locator(".loss-ratio")).to_have_text("1000.0%", timeout=TIMEOUT_MS)
    screenshot(page, "insurer")
    row.locator(f'input[name="amount-{product_id}"]').fill("1.5")
    capital = manager.product(product_id)["capital"]
    transaction(page, "Withdraw from product", row.locator("button", has_text="Withdraw").click)
    assert manager.product(product_id)["capital"] == capital - 3 * ETH // 2
    row = page.locator(f'#products-table tr[data-product="{product_id}"]')
    transaction(page, "Pause product", row.locator("button", has_text="Pause").click)
    assert manager.product(product_id)["paused"] is True
    assert page.problems == []


def test_claimant_screen_fits_a_narrow_phone_screen(page, stack):
    page.set_viewport_size({"width": 360, "height": 740})
    open_app(page, stack)
    choose_account(page, "claimant")
    page.goto(stack.url + "#/claimant")
    expect(page.locator("h1")).to_have_text("Claimant")
    page.wait_for_timeout(500)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a 360 px screen"
    screenshot(page, "claimant-narrow")


def test_browser_and_python_derive_the_same_evidence_key_and_insured_object(page, stack):
    """The dApp's WebCrypto derivation and oracle.privacy agree: a key one publishes, the other can open."""
    open_app(page, stack)
    choose_account(page, "arbitration panel 1")
    derived = page.evaluate(
        """async () => {
          const keys = await import("/app/keys.js");
          const seal = await import("/app/seal.js");
          const me = await keys.myIdentity();
          return { publicKey: seal.toHex(me.publicKey), insured: await keys.insuredObject(" ab 123 ") };
        }"""
    )
    panelist = stack.roles.panel[0]
    expected = person_reader(stack.w3, stack.system.keys.address, stack.chain.accounts.index(panelist))
    assert derived["publicKey"] == "0x" + expected.public_key.hex()
    assert derived["insured"] == "0x" + insured_object_of(stack, panelist, "AB123").hex()
    assert page.problems == []


INJECTED_WALLET = """
window.ethereum = {
  isTestWallet: true,
  async request({ method, params }) {
    if (method === "eth_chainId") return "%(chain)s";
    if (method === "net_version") return String(parseInt("%(chain)s", 16));
    if (method === "eth_requestAccounts" || method === "eth_accounts") return ["%(account)s"];
    if (method === "eth_sendTransaction" && %(reject)s) {
      const error = new Error("User rejected the request.");
      error.code = 4001;
      throw error;
    }
    const response = await fetch("/rpc", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: params || [] }) });
    const body = await response.json();
    if (body.error) {
      const e = new Error(body.error.message); e.code = body.error.code; e.data = body.error.data; throw e;
    }
    return body.result;
  },
  on() {}, removeListener() {},
};
"""


def wallet_script(stack, chain_id: int, reject: bool) -> str:
    """An EIP-1193 wallet for the page that reports `chain_id` and can refuse to sign, as a user would."""
    return INJECTED_WALLET % {
        "chain": hex(chain_id),
        "account": stack.roles.second_claimant,
        "reject": "true" if reject else "false",
    }


def create_product_directly(stack) -> int:
    """A product for the error cases, created over web3 so these tests do not depend on the insurer flow."""

    config = product_defaults(stack.roles, stack.system.arbitrator.address, stack.model_hash, stack.terms_hash)
    return create_product(stack.system.manager, stack.roles.insurer, config, 20 * ETH)


def test_rejected_signature_says_nothing_was_sent(page, stack):
    product_id = create_product_directly(stack)
    page.add_init_script(wallet_script(stack, stack.w3.eth.chain_id, reject=True))
    open_app(page, stack)
    page.locator("#connect-wallet").click()
    expect(page.locator("#account")).to_contain_text("wallet:")
    page.goto(stack.url + "#/claimant")
    product = page.locator(f'li.product[data-product="{product_id}"]')
    product.locator('input[name="insured"]').fill("REJECT-VIN")
    tx = transaction(page, "Buy policy", product.locator('button[type="submit"]').click, outcome="failed")
    expect(tx).to_contain_text("You rejected the request in your wallet; nothing was sent.")
    policies = stack.system.manager.contract.events.PolicyPurchased().get_logs(
        from_block=0, argument_filters={"holder": stack.roles.second_claimant}
    )
    assert policies == []


def test_wrong_network_is_named_and_blocks_transactions(page, stack):
    product_id = create_product_directly(stack)
    page.add_init_script(wallet_script(stack, 1, reject=False))
    open_app(page, stack)
    page.locator("#connect-wallet").click()
    expect(page.locator("#network-error")).to_contain_text(
        f"Wrong network: your wallet is on chain 1, but the contracts are on chain {stack.w3.eth.chain_id}"
    )
    page.goto(stack.url + "#/claimant")
    product = page.locator(f'li.product[data-product="{product_id}"]')
    product.locator('input[name="insured"]').fill("WRONG-NET-VIN")
    tx = transaction(page, "Buy policy", product.locator('button[type="submit"]').click, outcome="failed")
    expect(tx).to_contain_text("Wrong network")


def test_oversized_photo_is_refused_before_upload(page, stack):

    product_id = create_product_directly(stack)
    buy_policy(stack.system.manager, stack.roles.second_claimant, product_id, keccak(b"BIG-PHOTO-VIN"))
    open_app(page, stack)
    choose_account(page, "claimant 2")
    page.goto(stack.url + "#/claimant")
    page.locator("li.policy").last.locator("button.new-claim").click()
    form = page.locator("form.claim-form")
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (11 * 1024 * 1024)
    form.locator('input[type="file"]').set_input_files([{"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": big}])
    expect(form.locator("#photo-error")).to_contain_text('"huge.jpg" is 11.0 MB; photos may be at most 10 MB each.')
    form.locator('input[name="amount"]').fill("1")
    form.locator('button[type="submit"]').click()
    expect(form.locator("#claim-error")).to_contain_text("photos may be at most 10 MB each")
    assert stack.cas.cid_for_keccak(keccak(big)) is None  # nothing was uploaded


def test_contract_revert__reason_in_words_and_nothing_changes(page, stack):
    product_id = create_product_directly(stack)
    capital = stack.system.manager.product(product_id)["capital"]
    open_app(page, stack)
    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    row = page.locator(f'#products-table tr[data-product="{product_id}"]')
    row.locator(f'input[name="amount-{product_id}"]').fill("1000")
    tx = transaction(page, "Withdraw from product", row.locator("button", has_text="Withdraw").click, outcome="failed")
    expect(tx).to_contain_text("The contract refused: that is more than the product's free (unlocked) capital")
    assert stack.system.manager.product(product_id)["capital"] == capital
