"""The dApp in a real Chromium against the real stack: an insurer creates and funds a product, a claimant buys a
policy and has one claim paid at once and another disputed, an arbitrator panel rules, the claimant withdraws;
and a rejected signature, an oversized photo and a wrong network each give a clear message."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
from eth_utils import keccak
from playwright.sync_api import expect

from oracle.assess import peril_index
from oracle.chain.deploy import DAY, ETH, buy_policy, create_product, desk_of, governor_of, submit_claim, transact
from oracle.chain.keys import published_key
from oracle.claim.evidence import store_evidence
from oracle.dev.demo import confident_photos, default_photo_root
from oracle.dev.stack import evidence_readers, insured_object_of, person_reader, product_defaults
from oracle.domain import ARBITRATION_RESERVE_WEI, HEIC_BRANDS, REPO_ROOT, ClaimStatus, Peril, public_area
from oracle.explain.evidence import load_manifest
from oracle.privacy import SealError, unwrap_key
from oracle.settings import load_settings
from tests.dapp.conftest import screenshot
from tests.factories import IMAGE_MAGIC, make_jpeg

TIMEOUT_MS = 30_000
RAW_TERMS = re.compile(r"\b(INFO|REFER|REJECT|APPROVE|PARTIAL|bps|ERC-1497|ERC-792|sha256|keccak\w*)\b")
"""Codes and jargon the default view of a screen must not show (issue 19); technical details may."""
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


def iso_seconds(value: str) -> int:
    """A datetime-local value (UTC, with or without seconds) as seconds since the epoch."""
    from datetime import UTC, datetime

    return int(datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp())


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


def choose_place(form, query: str = "des mo", label: str = "Des Moines, Iowa, United States") -> None:
    """Search the claim form's place field and pick the first town it offers, which must carry `label`."""
    form.locator('input[name="place-search"]').fill(query)
    found = form.locator(".place-results button.place").first
    expect(found).to_contain_text(label, timeout=PROMPT_MS)
    found.click()
    expect(form.locator(".place-chosen")).to_contain_text(f"Place: {label}")


def declare_class(product, name: str = "sedan") -> None:
    """Choose the vehicle class in a product's buy form (its options read "name: premium" once the prices are read)."""
    option = product.locator('select[name="vehicleClass"] option', has_text=f"{name}:")
    expect(option).to_have_count(1, timeout=PROMPT_MS)
    product.locator('select[name="vehicleClass"]').select_option(option.get_attribute("value"))


def submit_claim_in_browser(page, policy: int, photos, amount: str) -> None:
    """Open the claim form of the policy-th policy on the page, attach real photos, and send the claim."""
    page.locator("li.policy").nth(policy).locator("button.new-claim").click()
    form = page.locator("form.claim-form")
    form.locator('input[name="photos"]').set_input_files([str(p) for p in photos])
    expect(form.locator(".previews li")).to_have_count(len(photos))
    choose_place(form)
    form.locator('input[name="amount"]').fill(amount)
    transaction(page, "Submit claim", form.locator('button[type="submit"]').click)


@pytest.fixture(scope="module")
def photos(shared_data, model, tmp_path_factory):
    """Real validation photos the model reads clearly: two minor, two whole cars, and two other minor ones for a
    test that needs photos no earlier claim used (a reused photo is a fraud signal)."""

    root = default_photo_root(load_settings())
    yield {
        "minor": confident_photos(root, model, "minor", 2),
        "whole": confident_photos(root, model, "whole", 2),
        "unused minor": confident_photos(root, model, "minor", 2, skip=2),
    }
    shutil.rmtree(root, ignore_errors=True)  # the folder of links default_photo_root made


def test_insurer_claimant_arbitrator_end_to_end(page, stack, photos):
    """Product created and funded, a claim paid at once, a claim disputed and ruled for the claimant, withdrawals."""
    manager = stack.system.manager
    open_app(page, stack)
    expect(page.locator("h1")).to_contain_text("oracle")
    screenshot(page, "landing")

    # insurer: the product form comes filled with the demo defaults (committee, model hash, terms); create it, keep
    # it paused while it is funded, then put it on sale
    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    transaction(page, "Create product", page.locator("form.product-form button[type=submit]").click)
    product_id = manager.contract.functions.productCount().call()
    for step in ("Pause", "Fund", "Unpause"):
        expect(last_tx(page, f"{step} product {product_id}")).to_be_visible(timeout=TIMEOUT_MS)
        confirmed_next(page, f"{step} product {product_id}")
    assert manager.product(product_id)["capital"] == 100 * ETH and manager.product(product_id)["paused"] is False
    assert desk_of(manager).functions.arbitrationReserve(product_id).call() == ARBITRATION_RESERVE_WEI
    assert manager.committee(product_id, 1) == stack.roles.oracles
    expect(page.locator(f'#products-table tr[data-product="{product_id}"]')).to_contain_text(
        "100 ETH", timeout=TIMEOUT_MS
    )

    # claimant: two policies (one per car), ten days later (the terms flag claims in a policy's first week)
    choose_account(page, "claimant")
    page.goto(stack.url + "#/claimant")
    for count, vin in enumerate(("BROWSER-VIN-1", "BROWSER-VIN-2"), start=1):
        page.locator(f'li.product[data-product="{product_id}"] input[name="insured"]').fill(vin)
        declare_class(page.locator(f'li.product[data-product="{product_id}"]'))
        transaction(
            page, "Buy policy", page.locator(f'li.product[data-product="{product_id}"] button[type="submit"]').click
        )
        # the list reads the purchase's block at once, not a cached answer from before it
        expect(page.locator("li.policy")).to_have_count(count, timeout=PROMPT_MS)
    policies = [int(p.get_attribute("data-policy")) for p in page.locator("li.policy").all()]
    # each policy names its vehicle (kept in this browser, not on-chain) and what it pays per damage level
    first_policy = page.locator(f'li.policy[data-policy="{policies[0]}"]')
    expect(first_policy.locator(".insured")).to_have_text("Insures vehicle BROWSER-VIN-1.")
    first_policy.locator("details.pays summary").click()
    sedan = first_policy.locator("details.pays tr", has_text="sedan")
    expect(sedan).to_contain_text("0.1 ETH")  # minor: the 0.2 ETH estimate less the 0.1 ETH deductible
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
    expect(card.locator(".claim-policy")).to_have_text(f"On policy {policies[0]}, vehicle BROWSER-VIN-1.")
    expect(card).to_have_attribute("data-status", "resolved", timeout=TIMEOUT_MS)
    assert manager.claim(first)["payout"] == ETH // 10  # sedan minor repair 0.2 ETH less the 0.1 ETH deductible
    assert cover_left(page, manager, policies[0]) == covers[0] - ETH // 10  # the payout shows on the policy too
    card.locator("button.explain").click()
    expect(card.locator(".explanation")).to_contain_text("Payout arithmetic", timeout=TIMEOUT_MS)
    expect(card.locator(".explanation .verified")).to_be_visible()
    assert not RAW_TERMS.findall(card.locator(".explanation").inner_text())  # codes and hashes only behind a toggle
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
    expect(card.locator(".next-step")).to_contain_text("If you do nothing, you receive 0 ETH on ")
    card.locator("button.dispute").click()  # money: a confirmation first, saying what it costs and who decides next
    expect(card.locator(".confirm")).to_contain_text("a bond of 0.05 ETH, returned if the panel rules for you")
    card.locator(".confirm button.cancel").click()
    expect(card.locator(".confirm")).to_have_count(0)
    card.locator("button.dispute").click()
    transaction(page, "Dispute claim", card.locator(".confirm button.cost-confirm").click)
    # the photos are sealed: the same flow then shares their key with the panel, as ERC-1497 evidence
    confirmed_next(page, f"Share claim {second} with the arbitration panel")
    expect(card).to_have_attribute("data-status", "disputed", timeout=TIMEOUT_MS)
    shows_no_jargon(page, "claimant")
    card.locator("details.evidence-form summary").click()
    card.locator('input[name="evidence-title"]').fill("Dashcam statement")
    card.locator('textarea[name="evidence-statement"]').fill("The dent is on the rear door, out of these photos' view.")
    transaction(page, "Submit evidence", card.locator("details.evidence-form button[type=submit]").click)

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
            expect(dispute.locator(".explanation")).to_be_visible(timeout=TIMEOUT_MS)
            shows_no_jargon(page, "arbitrator")
            # a photo full size: zoom, and its heat map shown in its place and hidden again
            finding = dispute.locator(".finding").first
            expect(finding.locator('img[data-opened="true"]')).to_have_count(2, timeout=TIMEOUT_MS)
            finding.locator("button.view-photo").click()
            viewer = page.locator("dialog.viewer")
            expect(viewer).to_be_visible()
            shown = viewer.locator("img.viewed")
            photo_src = shown.get_attribute("src")
            viewer.locator("button.zoom-in").click()
            expect(shown).to_have_attribute("data-zoom", "1.5")
            viewer.locator("button.toggle-heat").click()
            expect(shown).to_have_attribute("alt", re.compile("^heat map"))
            assert shown.get_attribute("src") != photo_src
            viewer.locator("button.toggle-heat").click()
            expect(shown).to_have_attribute("src", photo_src)
            page.keyboard.press("Escape")
            expect(viewer).to_have_count(0)
            dispute.locator("button.replay").click()
            expect(dispute.locator("[data-match]")).to_have_attribute("data-match", "true", timeout=TIMEOUT_MS)
            expect(dispute.locator("table.replay")).to_contain_text("REJECT (3)")  # decisions by name, not code
            expect(dispute.locator("table.replay")).to_contain_text("0 ETH")
            expect(dispute.locator(".explanation")).to_be_visible(timeout=TIMEOUT_MS)
            screenshot(page, "arbitrator")
        dispute.locator("button.rule-2").click()  # a vote is final: a confirmation first, saying what it pays
        expect(dispute.locator(".confirm")).to_contain_text("the claimant would receive 1.9 ETH")
        transaction(page, "Rule on claim", dispute.locator("button.confirm-vote").click)
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
    # the payouts (2 ETH) are the longest bar, at the chart's full length; the premiums a tenth of it
    widths = page.locator(".chart rect").evaluate_all("rects => rects.map((r) => +r.getAttribute('width'))")
    assert widths == [24, 240], widths
    screenshot(page, "insurer")
    row.locator(f'input[name="amount-{product_id}"]').fill("1.5")
    capital = manager.product(product_id)["capital"]
    transaction(page, "Withdraw from product", row.locator("button", has_text="Withdraw").click)
    assert manager.product(product_id)["capital"] == capital - 3 * ETH // 2
    row = page.locator(f'#products-table tr[data-product="{product_id}"]')
    transaction(page, "Pause product", row.locator("button", has_text="Pause").click)
    assert manager.product(product_id)["paused"] is True
    assert page.problems == []


def sideways_overflow(page) -> int:
    """How many px the page is wider than the screen (0 or less: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_narrow_screen_breaks_once_the_claim_form_opens(page, stack, photos):
    """At 360 and 390 px nothing scrolls sideways, with the claim form open and photos chosen too."""
    product_id = create_product_directly(stack)
    buy_policy(stack.system.manager, stack.roles.second_claimant, product_id, keccak(b"NARROW-VIN"))
    page.set_viewport_size({"width": 360, "height": 740})
    open_app(page, stack)
    choose_account(page, "claimant 2")
    page.goto(stack.url + "#/claimant")
    expect(page.locator("h1")).to_have_text("Claimant")
    expect(page.locator("li.policy").first).to_be_visible(timeout=TIMEOUT_MS)
    assert sideways_overflow(page) <= 0, "the claimant screen is wider than a 360 px screen"
    page.locator("li.policy").last.locator("button.new-claim").click()
    form = page.locator("form.claim-form")
    form.locator('input[name="photos"]').set_input_files([str(p) for p in photos["minor"]])
    expect(form.locator(".previews li")).to_have_count(len(photos["minor"]))
    camera = form.locator('input[name="camera"]')  # on a phone this opens the camera; each photo taken is added
    expect(camera).to_have_attribute("capture", "environment")
    camera.set_input_files([str(photos["whole"][0])])
    expect(form.locator(".previews li")).to_have_count(len(photos["minor"]) + 1)
    for width in (360, 390):
        page.set_viewport_size({"width": width, "height": 740})
        page.wait_for_function("w => window.innerWidth === w", arg=width)
        overflow = sideways_overflow(page)
        assert overflow <= 0, f"with the claim form open the page is {overflow} px wider than a {width} px screen"
    assert page.problems == []


def test_pdf_renamed_jpg__named_in_words_before_upload(page, stack):
    """A PDF or a HEIC photo with a .jpg name is refused in the page, numbered from 1, in words, before any upload."""
    product_id = create_product_directly(stack)
    buy_policy(stack.system.manager, stack.roles.second_claimant, product_id, keccak(b"PDF-VIN"))
    open_app(page, stack)
    choose_account(page, "claimant 2")
    page.goto(stack.url + "#/claimant")
    page.locator("li.policy").last.locator("button.new-claim").click()
    form = page.locator("form.claim-form")
    jpeg = {"name": "front.jpg", "mimeType": "image/jpeg", "buffer": make_jpeg(1)}
    pdf = b"%PDF-1.4\n% a scanned repair quote\n"
    renamed = {"name": "quote.jpg", "mimeType": "image/jpeg", "buffer": pdf}
    form.locator('input[name="photos"]').set_input_files([jpeg, renamed])
    expect(form.locator("#photo-error")).to_have_text(
        'Photo 2, "quote.jpg", is a PDF document, not a JPEG, PNG or WebP photo, whatever its name says. '
        "Choose the JPEG, PNG or WebP photo itself."
    )
    form.locator('input[name="amount"]').fill("1")
    form.locator('button[type="submit"]').click()
    expect(form.locator("#claim-error")).to_contain_text('Photo 2, "quote.jpg", is a PDF document')
    heic = b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64
    iphone = {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": heic}
    form.locator('input[name="photos"]').set_input_files([iphone])
    expect(form.locator("#photo-error")).to_contain_text('Photo 1, "IMG_0001.jpg", is a HEIC photo')
    expect(form.locator("#photo-error")).to_contain_text("Most Compatible")
    for message in form.locator(".error").all_inner_texts():
        assert "Error" not in message and "BytesIO" not in message and "photo 0" not in message.lower()
    assert stack.cas.cid_for_keccak(keccak(pdf)) is None  # nothing was uploaded
    assert page.problems == []


def test_claim_on_a_freshly_bought_policy__default_incident_time_is_valid(page, stack, photos):
    """The form's default incident time lies within the policy even when no block was mined since the purchase."""
    product_id = create_product_directly(stack)
    policy_id = buy_policy(stack.system.manager, stack.roles.second_claimant, product_id, keccak(b"FRESH-VIN"))
    start = stack.system.manager.policy(policy_id)["start"]
    open_app(page, stack)
    choose_account(page, "claimant 2")
    page.goto(stack.url + "#/claimant")
    card = page.locator(f'li.policy[data-policy="{policy_id}"]')
    card.locator("button.new-claim").click()
    form = page.locator("form.claim-form")
    default = form.locator('input[name="incident"]').input_value()
    assert start <= iso_seconds(default) <= stack.w3.eth.get_block("latest")["timestamp"], (default, start)
    # a time in the policy's first minute but before its start says so with the seconds that tell them apart
    message = page.evaluate(
        """async ([start]) => {
          const { checkIncidentTime, incidentInputValue } = await import("/app/claimant.js");
          try { checkIncidentTime(incidentInputValue(start - 1), start, start); } catch (e) { return e.message; }
          return "";
        }""",
        [start],
    )
    before, started = re.findall(r"\d{2}:\d{2}:\d{2} UTC", message)
    assert "is before the policy started" in message and before != started, message
    form.locator('input[name="photos"]').set_input_files([str(p) for p in photos["minor"]])
    form.locator('input[name="amount"]').fill("0.5")
    choose_place(form)
    transaction(page, "Submit claim", form.locator('button[type="submit"]').click)
    assert newest_claim_id(stack, stack.roles.second_claimant) > 0
    assert page.problems == []


REFERRED_EXPLANATION = {
    "claim": {
        "claimId": 7,
        "submittedAt": 1551657600,
        "incident": {
            "perilName": "collision",
            "timeIso": "2019-03-04T00:00:00Z",
            "latE6": 41600000,
            "lonE6": -93600000,
            "claimedAmount": str(ETH // 5),
        },
    },
    "inputs": {"photos": []},
    "rules": [{"id": "confidence.low", "outcome": "REFER", "reason": "confidence 87.0% is below the 90.0% required"}],
    "payoutArithmetic": {
        "estimate": str(ETH // 5),
        "vehicleClass": "sedan",
        "severity": "minor",
        "claimed": str(ETH // 5),
        "loss": str(ETH // 5),
        "deductible": str(ETH // 10),
        "net": str(ETH // 10),
        "remainingCoverage": str(5 * ETH),
        "payout": str(ETH // 10),
    },
    "findings": [],
    "fraudSignals": [],
    "sources": None,
    "model": {"id": "damage", "sha256": "0x" + "ab" * 32},
    "code": {"version": "test"},
    "termsHash": "0x" + "cd" * 32,
    "decision": {"code": 4, "name": "REFER"},
    "payout": "0",
    "confidenceBps": 8700,
}


def test_explanation_contradicts_itself__hypothetical_payout_marked_and_no_raw_terms(page, stack):
    """A referred claim's header and arithmetic agree (the 0.1 ETH is what approval would pay); codes, basis points
    and hashes sit behind the closed "Technical details" toggle."""
    open_app(page, stack)
    view = page.evaluate(
        """async ([doc]) => {
          const { renderExplanation } = await import("/app/explain.js");
          const el = renderExplanation(doc, "0x" + "ef".repeat(32));
          document.getElementById("view").replaceChildren(el);
          const text = el.innerText;
          el.querySelector("details.technical").open = true;
          return { text, technical: el.querySelector("details.technical").innerText };
        }""",
        [REFERRED_EXPLANATION],
    )
    text = view["text"]
    assert "Decision: sent to a person for review; it pays 0 ETH." in text
    assert "If the claim were approved (it is not, so far)" in text and "it would pay 0.1 ETH" in text
    assert "This is not a payout: the decision pays 0 ETH." in text
    assert "Confidence 87.0%: how sure the oracle is of what it found in the photos" in text
    assert "Needs a person: confidence 87.0% is below" in text
    assert not RAW_TERMS.findall(text), RAW_TERMS.findall(text)
    assert "REFER (4)" in view["technical"] and "8700 basis points" in view["technical"]
    assert page.problems == []


def test_explanation_read_right_after_the_decision__waits_for_it_to_reach_the_gateway(page, stack):
    """The committee's explanation reaches the gateway a moment after the decision (nodes announce it, the gateway
    fetches it from their peers); a claimant who opens it first used to read "not in the content store (HTTP 404)".
    The dApp now asks again until it arrives and shows it, still hash-checked."""
    open_app(page, stack)
    body = json.dumps({"decision": "late but here"}, separators=(",", ":")).encode()
    digest = "0x" + keccak(body).hex()
    answers = []

    def late(route):
        answers.append(404 if len(answers) < 2 else 200)
        route.fulfill(status=answers[-1], body=body if answers[-1] == 200 else b"not yet")

    page.route(f"**/explanations/{digest}?wait=*", late)
    doc = page.evaluate(
        """async ([hash]) => (await import("/app/explain.js")).fetchExplanation(hash)""",
        [digest],
    )
    assert doc == {"decision": "late but here"} and answers == [404, 404, 200]
    page.unroute(f"**/explanations/{digest}?wait=*")


def test_reload_loses_everything__wallet_and_half_filled_claim_kept(page, stack, photos):
    """A reload keeps the wallet choice and a half-filled claim form, photos and place included; Cancel forgets the
    draft."""
    product_id = create_product_directly(stack)
    policy_id = buy_policy(stack.system.manager, stack.roles.second_claimant, product_id, keccak(b"RELOAD-VIN"))
    open_app(page, stack)
    choose_account(page, "claimant 2")
    page.goto(stack.url + "#/claimant")
    page.locator(f'li.policy[data-policy="{policy_id}"] button.new-claim').click()
    form = page.locator(f'li.policy[data-policy="{policy_id}"] form.claim-form')
    form.locator('input[name="photos"]').set_input_files([str(p) for p in photos["minor"]])
    expect(form.locator(".previews li")).to_have_count(len(photos["minor"]))
    form.locator('input[name="amount"]').fill("0,7")
    choose_place(form)
    page.reload()
    page.wait_for_selector("body[data-ready]", timeout=TIMEOUT_MS)
    expect(page.locator("body")).to_have_attribute("data-wallet", stack.roles.second_claimant)
    expect(page.locator("#dev-account")).to_have_value(stack.roles.second_claimant)
    expect(form.locator('input[name="amount"]')).to_have_value("0,7", timeout=TIMEOUT_MS)
    expect(form.locator('input[name="lat"]')).to_have_value("41.600540")  # the place chosen, and what it is
    expect(form.locator(".place-chosen")).to_contain_text("Place: Des Moines, Iowa, United States. The exact point")
    expect(form.locator(".previews li")).to_have_count(len(photos["minor"]))
    expect(form.locator(".previews li").first).to_contain_text(photos["minor"][0].name)
    form.locator("button.cancel").click()
    page.reload()
    page.wait_for_selector("body[data-ready]", timeout=TIMEOUT_MS)
    expect(page.locator(f'li.policy[data-policy="{policy_id}"]')).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("form.claim-form")).to_have_count(0)
    assert page.problems == []


def shows_no_jargon(page, screen: str) -> None:
    """Fail naming the raw codes or jargon the open screen's default view shows."""
    found = RAW_TERMS.findall(page.locator("#view").inner_text())
    assert not found, f"the {screen} screen shows {sorted(set(found))}"


def test_default_views_show_no_codes_or_jargon__confidence_in_percent(page, stack):
    """Each role's main screen, as it first opens, uses words (no REFER, bps, ERC-1497, sha256...); the insurer
    types confidence in percent, with a decimal comma too, and the contract gets basis points."""
    product_id = create_product_directly(stack)
    open_app(page, stack)
    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    expect(page.locator("form.product-form")).to_be_visible(timeout=TIMEOUT_MS)
    row = page.locator(f'#products-table tr[data-product="{product_id}"]')
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    shows_no_jargon(page, "insurer")
    # two products can be told apart: cover, premium, perils and open claims beside the id
    expect(row.locator("th")).to_contain_text("cover 10 ETH, base premium 0.1 ETH; collision, hail")
    expect(row.locator("th")).to_contain_text("0 open claim(s)")
    expect(page.locator('form.product-form input[name="minConfidence"]')).to_have_value("80")
    row.locator("details summary").click()
    row.locator(f'input[name="confidence-{product_id}"]').fill("85,5")
    transaction(
        page, f"Announce instant rules of product {product_id}", row.locator("button", has_text="Announce rules").click
    )
    # announced, not applied: the rules in force stay until the product's change delay is over
    pending = governor_of(stack.system.manager).functions.pendingRules(product_id).call()
    assert pending[4] == 8550 and stack.system.manager.product(product_id)["minConfidence"] == 8000
    expect(row.locator(".rules-change")).to_contain_text("at 85.5% confidence", timeout=PROMPT_MS)
    expect(row.locator(".rules-change")).to_contain_text("in force from")
    for role, screen, ready in (
        ("claimant 2", "claimant", "#products li.product"),
        ("arbitration panel 1", "arbitrator", "#disputes li"),
    ):
        choose_account(page, role)
        page.goto(stack.url + f"#/{screen}")
        expect(page.locator(ready).first).to_be_visible(timeout=TIMEOUT_MS)
        shows_no_jargon(page, screen)
    assert page.problems == []


def test_times_in_the_users_local_time(browser, stack):
    """Chain times read in the reader's own time zone, named; the page's clock zone is the person's, not UTC."""
    context = browser.new_context(timezone_id="America/Chicago", locale="en-US")
    try:
        tab = context.new_page()
        open_app(tab, stack)
        text = tab.evaluate("async () => (await import('/app/ui.js')).when(1551657600)")  # 2019-03-04 00:00 UTC
        assert text == "Mar 3, 2019, 06:00 PM CST", text
    finally:
        context.close()


def test_buy_form_asks_the_vehicle_class_and_shows_each_class_premium__claim_form_offers_none(page, stack):
    """The buy form names every class the product sells with its premium (a dearer class costs more) and buys
    nothing until one is chosen; the policy keeps the class declared, on-chain and on its card, and its claim form
    has no class to choose."""
    manager = stack.system.manager
    product_id = create_product_directly(stack)
    terms = page.request.get(f"{stack.url}explanations/0x{stack.terms_hash.hex()}").json()
    names = list(terms["costSchedule"])
    premiums = [manager.call("premiumOf", product_id, k) for k in range(len(names))]
    assert premiums[names.index("luxury")] > premiums[names.index("sedan")] > premiums[names.index("compact")]
    open_app(page, stack)
    choose_account(page, "claimant 2")
    page.goto(stack.url + "#/claimant")
    product = page.locator(f'li.product[data-product="{product_id}"]')
    listed = ", ".join(f"{name} {eth_text(premium)}" for name, premium in zip(names, premiums, strict=True))
    expect(product.locator(".class-premiums")).to_have_text(f"Premium by vehicle class: {listed}.", timeout=PROMPT_MS)
    expect(product.locator('select[name="vehicleClass"] option')).to_have_count(len(names) + 1)

    product.locator('input[name="insured"]').fill("LUXURY-VIN")
    product.locator('button[type="submit"]').click()
    expect(product.locator(".field-error")).to_have_text(
        "Choose the vehicle's class: it sets the premium and what the policy pays for repairs."
    )
    expect(product.locator('select[name="vehicleClass"]')).to_be_focused()
    holder = stack.roles.second_claimant
    bought = manager.contract.events.PolicyPurchased()
    assert bought.get_logs(from_block=0, argument_filters={"holder": holder, "productId": product_id}) == []

    declare_class(product, "luxury")
    luxury = premiums[names.index("luxury")]
    expect(product.locator('button[type="submit"]')).to_have_text(f"Buy policy for {eth_text(luxury)}")
    owned = page.locator("li.policy").count()
    transaction(page, "Buy policy", product.locator('button[type="submit"]').click)
    expect(page.locator("li.policy")).to_have_count(owned + 1, timeout=PROMPT_MS)
    [log] = bought.get_logs(from_block=0, argument_filters={"holder": holder, "productId": product_id})
    assert log.args.vehicleClass == names.index("luxury") and log.args.premium == luxury
    assert manager.policy(log.args.policyId)["vehicleClass"] == names.index("luxury")
    card = page.locator(f'li.policy[data-policy="{log.args.policyId}"]')
    expect(card.locator(".vehicle-class")).to_have_text(
        "Vehicle class: luxury, declared when buying; every claim's repair is priced for it.", timeout=PROMPT_MS
    )
    card.locator("button.new-claim").click()
    form = card.locator("form.claim-form")
    expect(form.locator('input[name="amount"]')).to_be_visible()
    expect(form.locator('select[name="vehicleClass"]')).to_have_count(0)
    expect(form).not_to_contain_text("Vehicle class")
    assert page.problems == []


def test_errors_sit_next_to_the_field__vehicle_id(page, stack):
    """Buying without a vehicle id says so beside the field, not at the top of the page."""
    product_id = create_product_directly(stack)
    open_app(page, stack)
    choose_account(page, "claimant 2")
    page.goto(stack.url + "#/claimant")
    product = page.locator(f'li.product[data-product="{product_id}"]')
    product.locator('button[type="submit"]').click()
    expect(product.locator(".error")).to_have_text("Enter the insured vehicle's id (its VIN or plate) before buying.")
    expect(product.locator('input[name="insured"]')).to_be_focused()
    expect(page.locator("#notices .notice")).to_have_count(0)
    assert page.problems == []


def field_error(form, name: str):
    """The message shown under the input named `name` (inside its labelled field)."""
    return form.locator(f'.field:has([name="{name}"]) > .field-error')


def test_errors_sit_next_to_the_field__claim_amount_incident_time_product_form_and_funding(page, stack, photos):
    """A bad claimed amount or incident time, a bad coverage limit or no peril in the product form, and a zero amount
    to fund each say so right under that input, which is marked invalid and gets the focus; nothing is sent."""
    form = open_claim_form(page, stack, "FIELD-ERRORS-VIN")
    form.locator('input[name="photos"]').set_input_files([str(p) for p in photos["minor"]])
    form.locator('input[name="amount"]').fill("lots")
    form.locator('button[type="submit"]').click()
    expect(field_error(form, "amount")).to_have_text('Claimed amount: "lots" is not an amount in ETH (e.g. 0.5 or 0,5)')
    expect(form.locator('input[name="amount"]')).to_be_focused()
    expect(form.locator('input[name="amount"]')).to_have_attribute("aria-invalid", "true")
    form.locator('input[name="amount"]').fill("0,5")
    form.locator('input[name="incident"]').fill("2099-01-01T00:00")
    form.locator('button[type="submit"]').click()
    expect(field_error(form, "incident")).to_contain_text("is after the chain's current time")
    expect(field_error(form, "amount")).to_have_text("")
    expect(form.locator('input[name="amount"]')).not_to_have_attribute("aria-invalid", "true")
    expect(form.locator('input[name="incident"]')).to_be_focused()

    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    product = page.locator("form.product-form")
    count = stack.system.manager.contract.functions.productCount().call()
    product.locator('input[name="coverageLimit"]').fill("ten")
    product.locator("button[type=submit]").click()
    expect(field_error(product, "coverageLimit")).to_have_text(
        'Coverage limit: "ten" is not an amount in ETH (e.g. 0.5 or 0,5)'
    )
    expect(product.locator('input[name="coverageLimit"]')).to_be_focused()
    product.locator('input[name="coverageLimit"]').fill("10")
    for box in product.locator(".perils input[type=checkbox]").all():
        box.uncheck()
    product.locator("button[type=submit]").click()
    expect(product.locator(".field:has(#perils) > .field-error")).to_have_text("Cover at least one peril.")
    expect(field_error(product, "coverageLimit")).to_have_text("")
    assert stack.system.manager.contract.functions.productCount().call() == count  # nothing was sent
    row = page.locator("#products-table tbody tr").first
    name = row.locator('input[name^="amount-"]').get_attribute("name")
    row.locator(f'input[name="{name}"]').fill("0")
    row.locator("button", has_text="Fund").click()
    expect(field_error(row, name)).to_have_text("Amount must be more than zero.")
    expect(page.locator("#notices .notice")).to_have_count(0)
    assert page.problems == []


def tab_to(page, selector: str, limit: int = 300) -> None:
    """Press Tab (only) until the focused element matches `selector`, as a keyboard user moves through the page."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_claimant_main_task_with_the_keyboard_alone(page, stack, photos):
    """Buy a policy and file a claim with only Tab, typing and Enter (the photos go to the focused file input)."""
    product_id = create_product_directly(stack)
    open_app(page, stack)
    choose_account(page, "claimant 2")
    page.goto(stack.url + "#/claimant")
    product = f'li.product[data-product="{product_id}"]'
    expect(page.locator(product)).to_be_visible(timeout=TIMEOUT_MS)
    page.locator("body").focus()
    tab_to(page, f'{product} input[name="insured"]')
    page.keyboard.type("KEYBOARD-VIN")
    expect(page.locator(f'{product} select[name="vehicleClass"] option')).to_have_count(6, timeout=PROMPT_MS)
    tab_to(page, f'{product} select[name="vehicleClass"]')
    page.keyboard.press("ArrowDown")  # the first class (compact)
    expect(page.locator(f'{product} button[type="submit"]')).to_have_text("Buy policy for 0.08 ETH")
    tab_to(page, f'{product} button[type="submit"]')
    owned = page.locator("li.policy").count()
    transaction(page, "Buy policy", lambda: page.keyboard.press("Enter"))
    expect(page.locator("li.policy")).to_have_count(owned + 1, timeout=PROMPT_MS)
    policy_id = max(int(p.get_attribute("data-policy")) for p in page.locator("li.policy").all())
    policy = f'li.policy[data-policy="{policy_id}"]'
    expect(page.locator(policy)).to_contain_text("Insures vehicle KEYBOARD-VIN.", timeout=PROMPT_MS)
    tab_to(page, f"{policy} button.new-claim")
    page.keyboard.press("Enter")
    tab_to(page, f'{policy} input[name="photos"]')
    # the operating system's file dialog is not the page's: headless Chromium opened none on a key press here, so
    # the files are handed to the focused input directly, as that dialog would
    page.locator(f'{policy} input[name="photos"]').set_input_files([str(p) for p in photos["minor"]])
    expect(page.locator(f"{policy} .previews li")).to_have_count(len(photos["minor"]))
    tab_to(page, f'{policy} input[name="amount"]')
    page.keyboard.type("0,5")
    tab_to(page, f'{policy} input[name="place-search"]')
    page.keyboard.type("Des Moines")
    expect(page.locator(f"{policy} .place-results button.place").first).to_be_visible(timeout=PROMPT_MS)
    tab_to(page, f"{policy} .place-results button.place")
    page.keyboard.press("Enter")
    expect(page.locator(f"{policy} .place-chosen")).to_contain_text("Place: Des Moines, Iowa, United States")
    tab_to(page, f'{policy} form.claim-form button[type="submit"]')
    transaction(page, "Submit claim", lambda: page.keyboard.press("Enter"))
    assert page.problems == []


AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"


def test_accessibility__no_serious_or_critical_axe_violations_on_each_role_screen(browser, stack, photos):
    """axe-core (npm), injected into each role's main screen with its forms open (the insurer's with a claim in its
    review queue, a refused proposal and the referral's confirmation), finds nothing serious or critical."""
    product_id = create_product_directly(stack)
    buy_policy(stack.system.manager, stack.roles.second_claimant, product_id, keccak(b"AXE-VIN"))
    _, in_review = referred_claim(stack, photos["minor"], "AXE-REVIEW-VIN")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # to inject axe
    try:
        tab = context.new_page()
        open_app(tab, stack)
        found = {}
        for role, screen, ready in (
            ("claimant 2", "claimant", "li.policy"),
            ("insurer", "insurer", "form.product-form"),
            ("arbitration panel 1", "arbitrator", "#disputes li"),
        ):
            choose_account(tab, role)
            tab.goto(stack.url + f"#/{screen}")
            expect(tab.locator(ready).first).to_be_visible(timeout=TIMEOUT_MS)
            if screen == "claimant":
                tab.locator("li.policy").last.locator("button.new-claim").click()
                expect(tab.locator("form.claim-form")).to_be_visible()
            if screen == "insurer":
                queued = tab.locator(f'#review-queue li[data-claim="{in_review}"]')
                queued.locator('input[name="proposal"]').fill("99", timeout=TIMEOUT_MS)
                expect(queued.locator(".proposal .field-error")).to_contain_text("At most")
                queued.locator("button.refer").click()
                expect(queued.locator(".confirm")).to_be_visible()
            tab.add_script_tag(path=str(AXE))
            violations = tab.evaluate(
                """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
                  .filter((v) => v.impact === "serious" || v.impact === "critical")
                  .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")}`)
                """
            )
            if violations:
                found[screen] = violations
        assert not found, found
    finally:
        context.close()


def test_amounts_in_eth_accept_a_decimal_comma(page, stack):
    """0,7 and 0.7 are the same amount; a thousands separator is refused in words."""
    open_app(page, stack)
    parsed = page.evaluate(
        """async () => {
          const { parseEth } = await import("/app/ui.js");
          let refused = "";
          try { parseEth("1,000.5", "Amount"); } catch (e) { refused = e.message; }
          return { comma: String(parseEth("0,7", "Amount")), point: String(parseEth("0.7", "Amount")), refused };
        }"""
    )
    assert parsed["comma"] == parsed["point"] == str(7 * ETH // 10)
    assert parsed["refused"] == 'Amount: "1,000.5" is not an amount in ETH (e.g. 0.5 or 0,5)'


def test_loss_ratio_chart__bars_scaled_to_the_largest_premium_or_payout(page, stack):
    """A payout larger than every premium sets the chart's full length; no bar runs past it."""
    open_app(page, stack)
    widths = page.evaluate(
        """async () => {
          const { chart } = await import("/app/insurer.js");
          const eth = (tenths) => BigInt(tenths) * 10n ** 17n;
          const stats = [{ id: 1n, premiums: eth(7), payouts: eth(50) }, { id: 2n, premiums: eth(10), payouts: 0n }];
          const svg = chart(stats);
          return [...svg.querySelectorAll("rect")].map((r) => +r.getAttribute("width"));
        }"""
    )
    # product 1: premiums 0.7 ETH, payouts 5 ETH (the maximum); product 2: premiums 1 ETH, payouts 0
    assert widths == [240 * 7 // 50, 240, 240 * 10 // 50, 1], widths


def test_product_creation_and_funding__never_on_sale_unfunded_and_no_duplicate(page, stack):
    """Capital the account lacks is refused before anything is sent; a funding that fails leaves the new product
    paused, says so beside the form (in view on a phone), and pressing again funds that product, never a second."""
    manager = stack.system.manager
    deposit = "0x" + keccak(b"depositCapital(uint256,uint256)")[:4].hex()
    data = 'String(params[0].data || "")'
    reject_once = f'{data}.startsWith("{deposit}") && !window.__refused && (window.__refused = true)'
    page.add_init_script(wallet_script(stack, stack.w3.eth.chain_id, reject_once, account=stack.roles.insurer))
    page.set_viewport_size({"width": 390, "height": 800})
    open_app(page, stack)
    page.locator("#connect-wallet").click()
    expect(page.locator("#account")).to_contain_text("wallet:")
    page.goto(stack.url + "#/insurer")
    form = page.locator("form.product-form")
    error = page.locator("#product-error")
    count = manager.contract.functions.productCount().call()

    form.locator('input[name="capital"]').fill("100000000")
    form.locator("button[type=submit]").click()
    expect(error).to_contain_text("not enough for 100000000 ETH of initial capital", timeout=TIMEOUT_MS)
    expect(error).to_be_in_viewport()
    assert manager.contract.functions.productCount().call() == count  # nothing was created

    form.locator('input[name="capital"]').fill("2")
    transaction(page, "Create product", form.locator("button[type=submit]").click)
    product_id = count + 1
    expect(last_tx(page, f"Fund product {product_id}")).to_have_attribute("data-state", "failed", timeout=TIMEOUT_MS)
    expect(error).to_contain_text(f"Product {product_id} was created but not funded, so it stays paused")
    expect(error).to_be_in_viewport()
    expect(form.locator(".tx-near")).to_contain_text("You rejected the request in your wallet")  # beside the button
    assert manager.product(product_id)["paused"] is True and manager.product(product_id)["capital"] == 0

    retry = form.locator("button[type=submit]")
    expect(retry).to_have_text(f"Fund product {product_id} and put it on sale")
    transaction(page, f"Fund product {product_id}", retry.click)
    confirmed_next(page, f"Unpause product {product_id}")
    assert manager.contract.functions.productCount().call() == product_id  # no duplicate
    assert manager.product(product_id)["capital"] == 2 * ETH and manager.product(product_id)["paused"] is False
    expect(retry).to_have_text("Upload terms, create product and fund it")
    expect(form.locator('input[name="capital"]')).to_have_value("100.0")  # the form is back to its defaults
    assert page.problems == []


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
    if (method === "eth_sendTransaction" && (%(reject)s)) {
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


def wallet_script(stack, chain_id: int, reject: bool | str, account: str | None = None) -> str:
    """An EIP-1193 wallet for the page that reports `chain_id` and can refuse to sign, as a user would (`reject`:
    always, never, or a JS condition on the call's `params`)."""
    return INJECTED_WALLET % {
        "chain": hex(chain_id),
        "account": account or stack.roles.second_claimant,
        "reject": reject if isinstance(reject, str) else "true" if reject else "false",
    }


def create_product_directly(stack, **fields) -> int:
    """A product for the error cases, created over web3 so these tests do not depend on the insurer flow."""

    config = product_defaults(stack.roles, stack.system.arbitrator.address, stack.model_hash, stack.terms_hash)
    return create_product(stack.system.manager, stack.roles.insurer, {**config, **fields}, 20 * ETH)


def unpriced_class_product(stack, **fields) -> tuple[int, int]:
    """A product that sells one class more than its terms' cost schedule prices (as a hand-made product file could),
    and that class's index: (product, class)."""
    factors = product_defaults(stack.roles, stack.system.arbitrator.address, stack.model_hash, stack.terms_hash)[
        "classFactors"
    ]
    return create_product_directly(stack, classFactors=[*factors, 10_000], **fields), len(factors)


def test_pending_rules_change__insurer_sees_it_and_a_holder_cancels_for_a_refund(page, stack):
    """An announced change shows on the insurer's row with its time; a holder of the product sees it, with the
    refund for the rest of the term, and cancels the policy; the insurer can withdraw the change."""
    manager = stack.system.manager
    product_id = create_product_directly(stack)
    policy_id = buy_policy(manager, stack.roles.second_claimant, product_id, keccak(b"CHANGE-VIN"))
    open_app(page, stack)
    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    row = page.locator(f'#products-table tr[data-product="{product_id}"]')
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    row.locator("details summary").click()
    row.locator(f'input[name="instant-{product_id}"]').fill("0")
    transaction(
        page, f"Announce instant rules of product {product_id}", row.locator("button", has_text="Announce rules").click
    )
    expect(row.locator(".rules-change")).to_contain_text("instant payouts up to 0 ETH", timeout=PROMPT_MS)

    choose_account(page, "claimant 2")
    page.goto(stack.url + "#/claimant")
    card = page.locator(f'li.policy[data-policy="{policy_id}"]')
    expect(card.locator(".rules-change")).to_contain_text("announced new rules", timeout=TIMEOUT_MS)
    button = card.locator("button.cancel-policy")
    expect(button).to_contain_text("Cancel policy for about 0.")  # most of the 0.1 ETH premium
    transaction(page, f"Cancel policy {policy_id}", button.click)
    assert manager.policy(policy_id)["remainingCoverage"] == 0
    expect(card).to_contain_text("cover left 0 ETH;", timeout=PROMPT_MS)

    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    transaction(
        page, f"Cancel the rules change of product {product_id}", row.locator("button", has_text="Cancel change").click
    )
    assert governor_of(manager).functions.changeEffectiveAt(product_id).call() == 0
    assert page.problems == []


def test_rejected_signature_says_nothing_was_sent(page, stack):
    product_id = create_product_directly(stack)
    page.add_init_script(wallet_script(stack, stack.w3.eth.chain_id, reject=True))
    open_app(page, stack)
    page.locator("#connect-wallet").click()
    expect(page.locator("#account")).to_contain_text("wallet:")
    page.goto(stack.url + "#/claimant")
    product = page.locator(f'li.product[data-product="{product_id}"]')
    product.locator('input[name="insured"]').fill("REJECT-VIN")
    declare_class(product)
    tx = transaction(page, "Buy policy", product.locator('button[type="submit"]').click, outcome="failed")
    expect(tx).to_contain_text("You rejected the request in your wallet; nothing was sent.")
    policies = stack.system.manager.contract.events.PolicyPurchased().get_logs(
        from_block=0, argument_filters={"holder": stack.roles.second_claimant, "productId": product_id}
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
    declare_class(product)
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
    huge = {"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": big}
    form.locator('input[name="photos"]').set_input_files([huge])
    expect(form.locator("#photo-error")).to_contain_text('"huge.jpg" is 11.0 MB; photos may be at most 10 MB each.')
    form.locator('input[name="amount"]').fill("1")
    form.locator('button[type="submit"]').click()
    expect(form.locator("#claim-error")).to_contain_text("photos may be at most 10 MB each")
    assert stack.cas.cid_for_keccak(keccak(big)) is None  # nothing was uploaded


def test_results_appear_far_from_the_action__shown_beside_the_button(page, stack):
    """On a phone a refused transaction's reason shows beside the button pressed, in view, not only at the top."""
    product_id = create_product_directly(stack)
    page.set_viewport_size({"width": 390, "height": 740})
    open_app(page, stack)
    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    row = page.locator(f'#products-table tr[data-product="{product_id}"]')
    row.locator(f'input[name="amount-{product_id}"]').fill("1000")
    transaction(page, "Withdraw from product", row.locator("button", has_text="Withdraw").click, outcome="failed")
    beside = row.locator(".tx-near")
    expect(beside).to_have_attribute("data-state", "failed")
    expect(beside).to_contain_text("that is more than the product's free (unlocked) capital")
    expect(beside).to_be_in_viewport()
    assert page.problems == []


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


PLACE_E6 = (41_600_000, -93_600_000)  # Des Moines, where the demo's weather records are
DECIDE_S = 60  # the committee decides a claim this soon (1-3 s on an idle machine)


def decided_claim(
    stack,
    photos,
    vehicle: str,
    amount: int,
    policy_id: int | None = None,
    unpriced_class: bool = False,
    for_panel: bool = True,
) -> tuple[int, int]:
    """A claim by the second claimant (on a new policy for `vehicle` unless `policy_id` is given), its photos sealed
    as the dApp seals them (`for_panel`: for the panel too, as if the claimant had shared them), filed over web3 and
    waited on until the committee decides and its explanation is on the gateway, (policy, claim); with
    `unpriced_class` the new policy's class is one the product sells but the cost schedule does not list, which leaves
    the committee no repair estimate, so it refers the claim to the insurer's review."""
    manager, holder = stack.system.manager, stack.roles.second_claimant
    if policy_id is None:
        insured = insured_object_of(stack, holder, vehicle)
        if unpriced_class:
            product_id, vehicle_class = unpriced_class_product(stack)
            policy_id = buy_policy(manager, holder, product_id, insured, vehicle_class)
        else:
            policy_id = buy_policy(manager, holder, create_product_directly(stack), insured)
    panel = [(member, published_key(stack.system.keys, member)) for member in stack.roles.panel if for_panel]
    evidence = store_evidence(
        stack.cas,
        [(p.name, p.read_bytes()) for p in photos],
        sealed_for=[*evidence_readers(stack, holder), *panel],
        place_e6=PLACE_E6,
    )
    lat_e6, lon_e6 = public_area(PLACE_E6)
    start = manager.policy(policy_id)["start"]
    collision = peril_index(Peril.COLLISION)
    claim_id = submit_claim(
        manager, holder, policy_id, evidence.root, evidence.uri, start, collision, lat_e6, lon_e6, amount
    )
    deadline = time.monotonic() + DECIDE_S
    while manager.claim(claim_id)["status"] == ClaimStatus.SUBMITTED:
        assert time.monotonic() < deadline, f"the committee did not decide claim {claim_id} within {DECIDE_S} s"
        time.sleep(0.2)
    # the explanation reaches the gateway a moment after the decision; a page that asked before then would be
    # answered 404 while it waits (the dApp asks again), which Chromium logs as a console error
    decided = manager.contract.events.ClaimDecided().get_logs(from_block=0, argument_filters={"claimId": claim_id})
    while stack.cas.cid_for_keccak(bytes(decided[0].args.explanationHash)) is None:
        assert time.monotonic() < deadline, f"claim {claim_id}'s explanation did not reach the gateway in {DECIDE_S} s"
        time.sleep(0.2)
    return policy_id, claim_id


def dispute_over_web3(stack, claim_id: int) -> int:
    """The second claimant disputes a decided claim and files a statement as evidence; the panel's dispute id."""
    desk, holder = stack.system.desk, stack.roles.second_claimant
    transact(stack.w3, desk.functions.dispute(claim_id), holder, value=desk.functions.disputeCost(claim_id).call())
    statement = json.dumps({"name": "Repair quote", "description": "The garage quotes 1.9 ETH."}).encode()
    transact(stack.w3, desk.functions.submitEvidence(claim_id, f"ipfs://{stack.cas.put(statement)}"), holder)
    return desk.functions.disputeOf(claim_id).call()[1]


MADE: dict[tuple[int, str], object] = {}
"""Claims made once per stack and shared by the tests that read them (a module-scoped fixture set up after
function-scoped ones makes ape rebase the module's fixtures, browser included)."""


def once(stack, name: str, make):
    """`make()`'s answer, made the first time any test asks for `name` on this stack."""
    key = (id(stack), name)
    if key not in MADE:
        MADE[key] = make()
    return MADE[key]


def make_ruled_claim(stack, photos) -> int:
    """A rejected claim the claimant disputed with evidence, the panel ruled for the claimant, and the claimant
    withdrew: every step a timeline shows."""
    _, claim_id = decided_claim(stack, photos["whole"], "RULED-VIN", 2 * ETH)
    dispute_id = dispute_over_web3(stack, claim_id)
    for member in stack.roles.panel[:2]:
        transact(stack.w3, stack.system.arbitrator.functions.vote(dispute_id, 2), member)
    transact(stack.w3, stack.system.manager.contract.functions.withdrawPayout(claim_id), stack.roles.second_claimant)
    return claim_id


@pytest.fixture
def ruled_claim(stack, photos):
    """The ruled and paid claim (made once per stack)."""
    return once(stack, "ruled", lambda: make_ruled_claim(stack, photos))


@pytest.fixture
def disputed_claim(stack, photos, ruled_claim):
    """A rejected claim the claimant disputed, waiting for the panel (after the ruled one: a history to show)."""

    def make():
        policy_id, claim_id = decided_claim(stack, photos["whole"], "DISPUTED-VIN", 2 * ETH)
        return {"policy": policy_id, "claim": claim_id, "dispute": dispute_over_web3(stack, claim_id)}

    return once(stack, "disputed", make)


def claimant_screen(page, stack, role: str = "claimant 2") -> None:
    """Open the claimant screen as `role` and wait until its claims list is drawn."""
    open_app(page, stack)
    choose_account(page, role)
    page.goto(stack.url + "#/claimant")
    expect(page.locator("#claims")).to_be_visible(timeout=TIMEOUT_MS)


NEXT_STEPS = """async ([now]) => {
  const { nextStep } = await import("/app/claimant.js");
  const { when } = await import("/app/ui.js");
  const { state } = await import("/app/chain.js");
  const eth = (tenths) => String(BigInt(tenths) * 10n ** 17n);
  const product = { oracleTimeout: 86400n, deductible: eth(1), disputeBond: eth(1), insurer: "0x0", arbitrator: "0x0" };
  const record = (status, decision, payout, escalated = false) =>
    ({ status, decision, payout, escalated, timestamp: now - 3600, claimedAmount: eth(20) });
  const decided = (decision, payout) => ({ decision, payout, windowEnds: now + 7200 });
  const { staleAfterS } = state.config.constants;
  const adjuster = "0x00000000000000000000000000000000000000a1";
  const review = { adjuster, endsAt: now + 7 * 86400, coverLeft: eth(99) };
  const fee = { total: eth(1), bond: 0n, reserve: eth(10) };
  const referred = (extra) =>
    ({ record: record(6, 4, "0"), decided: decided(4, "0"), product, now, review, cost: fee, ...extra });
  const claims = {
    waiting: { record: record(1, 0, "0"), product, now },
    silent: { record: record(1, 0, "0"), product, now: now + 2 * 86400 },
    window: { record: record(2, 2, eth(4)), decided: decided(2, eth(4)), windowEnds: now + 7200, product, now },
    referred: referred({}),
    reviewLate: referred({ now: now + 8 * 86400 }),
    reviewUnpaid: referred({ cost: { ...fee, reserve: 0n } }),
    proposal: { record: record(2, 4, eth(5)), decided: decided(4, "0"), windowEnds: now + 7200, product, now },
    closed: { record: record(2, 2, eth(4)), decided: decided(2, eth(4)), windowEnds: now + 7200, product,
      now: now + 9000 },
    disputed: { record: record(3, 3, "0"), decided: decided(3, "0"), product, now, ruleBy: now + 14 * 86400 },
    escalated: { record: record(3, 0, "0", true), product, now, ruleBy: now + 14 * 86400 },
    nothing: { record: record(4, 3, "0"), product, now },
    waitingPayout: { record: record(4, 2, eth(4)), product, now },
    paid: { record: record(5, 2, eth(4)), product, now },
  };
  const text = Object.fromEntries(Object.entries(claims).map(([k, c]) => [k, nextStep(c)]));
  const dates = { timeout: when(now - 3600 + 86400), stale: when(now - 3600 + 86400 + staleAfterS),
    window: when(now + 7200), rule: when(now + 14 * 86400), review: when(now + 7 * 86400) };
  return { text, dates };
}"""


def test_each_claim_state_says_what_happens_next_by_when_and_what_doing_nothing_pays(page, stack, disputed_claim):
    """Every state names the next step, its date from the product's oracle timeout, dispute window or the panel's
    deadline, and what doing nothing pays; on the chain, a disputed claim names its panel's own deadline."""
    open_app(page, stack)
    now = stack.w3.eth.get_block("latest")["timestamp"]
    result = page.evaluate(NEXT_STEPS, [now])
    text, dates = result["text"], result["dates"]
    assert f"If it has not decided by {dates['timeout']}, you can take the claim to" in text["waiting"]
    assert f"you receive 0 ETH: the claim is closed on {dates['stale']}" in text["waiting"]
    assert f"did not decide by {dates['timeout']}: you can take the claim to the arbitration panel" in text["silent"]
    assert f"If you do nothing, you receive 0.4 ETH on {dates['window']}, when the dispute window" in text["window"]
    assert (
        f"the insurer's adjuster must decide by {dates['review']}: propose an amount (which you may then dispute) or "
        "send the claim to the arbitration panel at the insurer's cost. If it does not, anyone, you too, can send your "
        "claim to the arbitration panel at the insurer's cost; the arbitration panel then decides; if it does not "
        "rule, you receive 1.9 ETH."
    ) in text["referred"]
    assert text["reviewLate"].startswith(
        f"The insurer's adjuster did not decide by {dates['review']}: anyone, you too, can now send your claim"
    )
    assert "Until someone does, the claim waits and pays nothing." in text["reviewLate"]
    assert "settles it at once, since the insurer's arbitration reserve cannot pay" in text["reviewUnpaid"]
    assert text["proposal"].startswith(
        f"The insurer's adjuster proposed 0.5 ETH. If you do nothing, you receive 0.5 ETH on {dates['window']}"
    )
    assert "Finalize the claim to receive 0.4 ETH" in text["closed"]
    assert f"by {dates['rule']} at the latest" in text["disputed"] and "you receive 0 ETH." in text["disputed"]
    assert "If it has not ruled by then, you receive 1.9 ETH." in text["escalated"]  # claimed less the deductible
    assert text["nothing"] == "Closed: the claim pays nothing, and nothing more happens."
    assert "withdraw your 0.4 ETH when you like" in text["waitingPayout"]
    assert text["paid"] == "Done: 0.4 ETH was paid to your account."
    assert not RAW_TERMS.findall(" ".join(text.values()))

    # on the chain: the disputed claim's date is its panel dispute's own deadline
    deadline = stack.system.arbitrator.functions.disputes(disputed_claim["dispute"]).call()[-1]
    claimant_screen(page, stack)
    shown = page.evaluate("async ([t]) => (await import('/app/ui.js')).when(t)", [deadline])
    card = claim_card(page, disputed_claim["claim"])
    expect(card.locator(".next-step")).to_contain_text(f"the arbitration panel decides, by {shown} at the latest")
    expect(card.locator(".claim-policy")).to_contain_text(f"On policy {disputed_claim['policy']}")
    assert page.problems == []


def test_claim_timeline__every_transaction_evidence_decision_dispute_and_ruling(page, stack, ruled_claim):
    """The timeline lists the claim's steps from the chain, in order, each with its time and transaction, and its
    decision links to the explanation."""
    claimant_screen(page, stack)
    card = claim_card(page, ruled_claim)
    expect(card).to_have_attribute("data-status", "paid", timeout=TIMEOUT_MS)
    card.locator("details.timeline summary").click()
    steps = card.locator(".timeline-steps li")
    expect(steps.last).to_have_attribute("data-event", "PayoutWithdrawn", timeout=TIMEOUT_MS)
    events = [e for e in steps.evaluate_all("els => els.map((el) => el.dataset.event)")]
    distinct = [e for i, e in enumerate(events) if i == 0 or events[i - 1] != e]
    assert distinct[:5] == ["ClaimSubmitted", "ReportVoted", "ClaimDecided", "ClaimDisputed", "Evidence"], events
    assert {"PanelVoted", "ClaimRuled", "ClaimResolved"} <= set(distinct[5:]), events
    assert events.count("PanelVoted") == 2 and events[-1] == "PayoutWithdrawn", events
    texts = steps.all_inner_texts()
    assert "The arbitrator ruled: The claimant's amount." in texts[events.index("ClaimRuled")]
    assert "Disputed by you: bond 0.05 ETH" in texts[events.index("ClaimDisputed")]
    assert "1.9 ETH paid to you." in texts[-1] and re.search(r"transaction 0x[0-9a-f]{10}", texts[-1])
    evidence_link = card.locator(".timeline-steps li[data-event=Evidence] a")
    expect(evidence_link).to_have_attribute("href", re.compile("^/content/"))
    card.locator(".timeline-steps button.timeline-explanation").click()
    expect(card.locator(".explanation .verified")).to_be_visible(timeout=TIMEOUT_MS)
    assert not RAW_TERMS.findall(card.locator(".timeline").inner_text())
    assert page.problems == []


ESCALATION = """async ([now]) => {
  const { escalateConfirmation, disputeConfirmation } = await import("/app/claimant.js");
  const { when } = await import("/app/ui.js");
  const { state } = await import("/app/chain.js");
  const eth = (tenths) => BigInt(tenths) * 10n ** 17n;
  const product = { oracleTimeout: 86400n, deductible: eth(1), disputeBond: eth(1) };
  const record = { status: 1n, claimedAmount: eth(20), timestamp: now - 90000 };
  let closed = 0;
  const close = () => { closed += 1; };
  const escalate = escalateConfirmation({ id: 7n, record, product, now, cost: { total: eth(2), bond: 0n } }, close);
  const dispute = disputeConfirmation({ id: 8n, record, product, now, cost: { total: eth(3), bond: eth(1) } }, close);
  document.getElementById("view").replaceChildren(escalate, dispute);
  escalate.querySelector("button.cancel").click();
  return { escalate: escalate.innerText, dispute: dispute.innerText, closed,
    latest: when(now + state.config.constants.disputeTimeoutS) };
}"""


def test_money_actions_ask_first__escalate_and_dispute_say_the_cost_who_decides_and_when(page, stack):
    """Escalating a claim the committee left undecided, like disputing, first says what it costs, what comes back,
    who decides next and by when; cancelling sends nothing."""
    open_app(page, stack)
    now = stack.w3.eth.get_block("latest")["timestamp"]
    shown = page.evaluate(ESCALATION, [now])
    escalate, dispute = shown["escalate"], shown["dispute"]
    assert (
        "sends 0.2 ETH from your account: the arbitration fee, which the insurer pays back if the panel rules for you "
        "or does not rule (no bond is due)"
    ) in escalate
    assert "The panel then decides instead of the oracle" in escalate
    assert f"by {shown['latest']} at the latest" in escalate
    assert "if it does not rule, the claim pays what you claimed less the deductible, 1.9 ETH" in escalate
    assert "Take it to the panel and pay 0.2 ETH" in escalate
    assert (
        "a bond of 0.1 ETH, returned if the panel rules for you, and an arbitration fee of 0.2 ETH, which the"
        in dispute
    )
    assert "insurer pays back if the panel rules for you or does not rule" in dispute
    assert f"by {shown['latest']} at the latest" in dispute and "Dispute and pay 0.3 ETH" in dispute
    assert shown["closed"] == 1  # "Keep things as they are" closed the step and sent nothing
    assert page.problems == []


def open_claim_form(page, stack, vehicle: str):
    """The second claimant's claim form on a new policy, open on the claimant screen."""
    policy_id = buy_policy(
        stack.system.manager, stack.roles.second_claimant, create_product_directly(stack), keccak(vehicle.encode())
    )
    claimant_screen(page, stack)
    page.locator(f'li.policy[data-policy="{policy_id}"] button.new-claim').click()
    return page.locator(f'li.policy[data-policy="{policy_id}"] form.claim-form')


def test_iphone_heic_photo_is_refused_before_upload_with_a_way_forward(page, stack):
    """On a phone the camera opens from the form; a HEIC/HEIF photo (any of the brands phones write, whatever its
    name) is refused by its first bytes, with how to get a JPEG, and nothing is uploaded."""
    form = open_claim_form(page, stack, "HEIC-VIN")
    camera = form.locator('input[name="camera"]')
    expect(camera).to_have_attribute("capture", "environment")
    expect(camera).to_have_attribute("accept", re.compile("image/jpeg"))
    for brand in HEIC_BRANDS:
        heic = b"\x00\x00\x00\x18ftyp" + brand + b"\x00" * 64
        camera.set_input_files([{"name": f"IMG_{brand.decode()}.jpg", "mimeType": "image/jpeg", "buffer": heic}])
        error = form.locator("#photo-error")
        expect(error).to_contain_text(f'Photo 1, "IMG_{brand.decode()}.jpg", is a HEIC photo')
        expect(error).to_contain_text('Set your camera to "Most Compatible" (JPEG), or export the photo as JPEG')
        assert stack.cas.cid_for_keccak(keccak(heic)) is None  # refused in the page: nothing was uploaded
        form.locator('input[name="photos"]').set_input_files([])  # start again with no photo
    assert page.problems == []


HEAT_VIEWER = """async () => {
  const { heatmapLegend, openViewer } = await import("/app/explain.js");
  const pixel = (rgb) => { const c = document.createElement("canvas"); c.width = c.height = 2;
    const g = c.getContext("2d"); g.fillStyle = rgb; g.fillRect(0, 0, 2, 2); return c.toDataURL(); };
  const photo = Object.assign(new Image(), { src: pixel("#777"), alt: "claim photo 1" });
  const heat = Object.assign(new Image(), { src: pixel("#d21e14"), alt: "heat map of photo 1" });
  document.getElementById("view").replaceChildren(heatmapLegend());
  openViewer(photo, heat, "Photo 1: no damage seen");
}"""


def test_heat_maps_have_a_legend__scale_what_red_means_and_no_damage_maps_are_relative(page, stack):
    """The explanation's heat maps come with their colour scale and the words that red is where the model looked
    most in that photo, not damage; the full-size viewer shows the legend while the heat map is on."""
    open_app(page, stack)
    page.evaluate(HEAT_VIEWER)
    legend = page.locator("#view .heatmap-legend")
    expect(legend.locator(".scale")).to_have_text(re.compile("blue, looked at least.*red, looked at most"))
    ramp = legend.locator(".ramp").evaluate("el => el.style.background")
    assert "rgb(20, 40, 160)" in ramp and "rgb(220, 30, 20)" in ramp, ramp  # the nodes' own ramp, end to end
    words = legend.inner_text()
    assert "not an amount of damage" in words and "scaled to its own photo" in words
    assert "even on a photo the model read as no damage" in words and "is not evidence of damage" in words
    viewer = page.locator("dialog.viewer")
    expect(viewer.locator(".heatmap-legend")).to_be_hidden()
    viewer.locator("button.toggle-heat").click()
    expect(viewer.locator(".heatmap-legend")).to_be_visible()
    expect(viewer.locator("img.viewed")).to_have_attribute("alt", "heat map of photo 1")
    viewer.locator("button.toggle-heat").click()
    expect(viewer.locator(".heatmap-legend")).to_be_hidden()
    assert page.problems == []


def arbitrator_screen(page, stack, member: str, claim_id: int):
    """Open the arbitrator screen as panel member `member` and answer the card of the claim's dispute."""
    open_app(page, stack)
    choose_account(page, f"arbitration panel {member}")
    page.goto(stack.url + "#/arbitrator")
    dispute = page.locator(f'#disputes > li[data-claim="{claim_id}"]')  # not the claimant histories' entries
    expect(dispute).to_be_visible(timeout=TIMEOUT_MS)
    return dispute


def test_arbitrator_sees_the_claimants_history_full_size_photos_and_what_each_ruling_pays(
    page, stack, disputed_claim, ruled_claim
):
    """In one card: the policy's age at the incident and the holder's other claims, each photo full size with zoom
    and its heat map over it, rulings in money, and a confirmation (cost, finality, deadline) before any vote."""
    claim_id = disputed_claim["claim"]
    dispute = arbitrator_screen(page, stack, "2", claim_id)
    history = dispute.locator(".claimant-history")
    expect(history.locator(".policy-age")).to_contain_text(f"Policy {disputed_claim['policy']} started")
    expect(history.locator(".policy-age")).to_contain_text("the incident came 0 day(s) after it started")
    expect(history.locator(f'.other-claims li[data-claim="{ruled_claim}"]')).to_contain_text("paid, ")
    expect(history.locator(f'.other-claims li[data-claim="{ruled_claim}"]')).to_contain_text("paid 1.9 ETH")
    expect(dispute.locator(".evidence-item")).to_contain_text("Repair quote: The garage quotes 1.9 ETH.")

    finding = dispute.locator(".finding").first
    expect(finding.locator('img[data-opened="true"]')).to_have_count(2, timeout=TIMEOUT_MS)
    finding.locator("button.view-photo").click()
    viewer = page.locator("dialog.viewer")
    shown = viewer.locator("img.viewed")
    viewer.locator("button.zoom-in").click()
    viewer.locator("button.zoom-in").click()
    expect(shown).to_have_attribute("data-zoom", "2")
    assert shown.evaluate("img => img.getBoundingClientRect().width") > viewer.evaluate("d => d.clientWidth")
    viewer.locator("button.toggle-heat").click()
    expect(shown).to_have_attribute("alt", re.compile("^heat map"))
    expect(viewer.locator(".heatmap-legend")).to_be_visible()
    viewer.locator("button.close-viewer").click()
    expect(viewer).to_have_count(0)

    expect(dispute.locator("button.rule-1")).to_contain_text("pays 0 ETH")  # the oracle turned it down
    expect(dispute.locator("button.rule-2")).to_contain_text("pays 1.9 ETH")  # claimed less the deductible
    expect(dispute.locator("button.rule-3")).to_contain_text("pays 0 ETH")
    dispute.locator("button.rule-2").click()
    deadline = stack.system.arbitrator.functions.disputes(disputed_claim["dispute"]).call()[-1]
    by = page.evaluate("async ([t]) => (await import('/app/ui.js')).when(t)", [deadline])
    confirm = dispute.locator(".confirm")
    expect(confirm).to_contain_text("the claimant would receive 1.9 ETH")
    expect(confirm).to_contain_text("Voting costs only the transaction's gas, and a vote cannot be changed")
    expect(confirm).to_contain_text(f"by {by} at the latest; if it has not by then, the claim pays 0 ETH")
    confirm.locator("button.cancel").click()
    expect(dispute.locator(".confirm")).to_have_count(0)
    voted = stack.system.arbitrator.functions.hasVoted(disputed_claim["dispute"], stack.roles.panel[1]).call()
    assert voted is False  # choosing again sent nothing
    shows_no_jargon(page, "arbitrator")
    assert page.problems == []


def test_policy_shows_what_it_insures_and_pays_per_damage_level__claims_name_policy_and_vehicle(page, stack, photos):
    """A policy bought in the browser names the vehicle id typed (kept in this browser only: the chain has a salted
    commitment) and, before any claim, what each damage level pays under the terms' cost schedule less the
    deductible; a claim on it names the policy and the vehicle."""
    product_id = create_product_directly(stack)
    claimant_screen(page, stack)
    product = page.locator(f'li.product[data-product="{product_id}"]')
    product.locator('input[name="insured"]').fill("WP0ZZZ99ZTS392124")
    declare_class(product)
    owned = page.locator("li.policy").count()
    transaction(page, "Buy policy", product.locator('button[type="submit"]').click)
    expect(page.locator("li.policy")).to_have_count(owned + 1, timeout=PROMPT_MS)
    policy_id = max(int(p.get_attribute("data-policy")) for p in page.locator("li.policy").all())
    card = page.locator(f'li.policy[data-policy="{policy_id}"]')
    expect(card.locator(".insured")).to_have_text("Insures vehicle WP0ZZZ99ZTS392124.")
    on_chain = (
        stack.system.manager.contract.events.PolicyPurchased()
        .get_logs(from_block=0, argument_filters={"policyId": policy_id})[0]
        .args.insuredObject
    )
    assert b"WP0ZZZ99ZTS392124" not in on_chain and on_chain != keccak(b"WP0ZZZ99ZTS392124")
    kept = page.evaluate("() => localStorage.getItem('claims-oracle.vehicles')")
    assert "WP0ZZZ99ZTS392124" in kept and "0x" + on_chain.hex() in kept

    terms = page.request.get(f"{stack.url}explanations/0x{stack.terms_hash.hex()}").json()
    minimum = int(terms["deductible"]["minimum"]) if terms["deductible"]["applies"] else 0
    deductible = max(stack.system.manager.product(product_id)["deductible"], minimum)
    cover = stack.system.manager.policy(policy_id)["remainingCoverage"]
    card.locator("details.pays summary").click()
    table = card.locator("details.pays table")
    expect(table.locator("thead th")).to_have_text(["Vehicle", "minor damage", "moderate damage", "severe damage"])
    costs = terms["costSchedule"]["sedan"]  # the policy's own class only: it never pays another class's repairs
    pays = [eth_text(min(max(int(costs[level]) - deductible, 0), cover)) for level in ("minor", "moderate", "severe")]
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr", has_text="sedan").locator("td")).to_have_text(pays)
    expect(card.locator(".vehicle-class")).to_have_text(
        "Vehicle class: sedan, declared when buying; every claim's repair is priced for it."
    )

    _, claim_id = decided_claim(stack, photos["minor"], "", ETH // 2, policy_id=policy_id)
    expect(claim_card(page, claim_id).locator(".claim-policy")).to_have_text(
        f"On policy {policy_id}, vehicle WP0ZZZ99ZTS392124.", timeout=PROMPT_MS
    )
    assert page.problems == []


def test_place_from_a_city_search_or_the_devices_location__only_the_area_goes_on_chain(page, stack, photos):
    """The claim form finds a town in the gateway's offline gazetteer, by its English or its local name, or takes the
    device's position; either fills the place, the claim carries only its 0.1-degree area on-chain, and the exact
    point stays in the sealed evidence."""
    form = open_claim_form(page, stack, "PLACE-VIN")
    form.locator('input[name="place-search"]').fill("des mo")
    found = form.locator(".place-results button.place")
    expect(found.first).to_have_text("Des Moines, Iowa, United States", timeout=PROMPT_MS)
    found.first.click()
    expect(form.locator('input[name="lat"]')).to_have_value("41.600540")
    expect(form.locator('input[name="lon"]')).to_have_value("-93.609110")
    expect(form.locator(".place-chosen")).to_contain_text("Place: Des Moines, Iowa, United States")
    expect(form.locator(".place-chosen")).to_contain_text("the chain records only its 0.1° area (41.6, -93.6)")
    form.locator('input[name="place-search"]').fill("qqxxzz")
    expect(form.locator(".place-results li")).to_contain_text("No town of 5,000 people or more by that name")
    # a town's local or other names find it too, shown beside the gazetteer's own (it held English names only)
    choose_place(form, "Мюнхен", "Munich, Germany (Мюнхен)")
    form.locator('input[name="place-search"]').fill("Kyivskyi")  # two towns that read the same: where each lies
    expect(form.locator(".place-results button.place")).to_have_text(
        ["Kyivskyi, Ukraine, 48.0° N, 37.8° E", "Kyivskyi, Ukraine, 49.6° N, 34.5° E"], timeout=PROMPT_MS
    )
    form.locator('input[name="place-search"]').fill("")
    expect(form.locator('input[name="lat"]')).to_have_value("48.137430")

    page.context.grant_permissions(["geolocation"], origin=stack.url.rstrip("/"))
    page.context.set_geolocation({"latitude": 47.376_887, "longitude": 8.541_694, "accuracy": 30})
    form.locator("button.use-location").click()
    expect(form.locator(".place-chosen")).to_contain_text("Your current position (to about 30 m)")
    expect(form.locator('input[name="lat"]')).to_have_value("47.376887")

    form.locator('input[name="photos"]').set_input_files([str(p) for p in photos["minor"]])
    form.locator('input[name="amount"]').fill("0,5")
    transaction(page, "Submit claim", form.locator('button[type="submit"]').click)
    claim_id = newest_claim_id(stack, stack.roles.second_claimant)
    submitted = (
        stack.system.manager.contract.events.ClaimSubmitted()
        .get_logs(from_block=0, argument_filters={"claimId": claim_id})[0]
        .args
    )
    assert (submitted.latitudeE6, submitted.longitudeE6) == (47_400_000, 8_500_000)
    manifest = json.loads(load_manifest(submitted.evidenceRoot, stack.cas))
    assert "47.376887" not in json.dumps(manifest) and "47376887" not in json.dumps(manifest)  # sealed, not plain
    assert page.problems == []


def test_place_starts_empty__a_claim_without_a_place_is_refused_beside_the_place_field(page, stack, photos):
    """The claim form suggests no place (it once started at Des Moines for everyone): sending it without one says,
    inside the place field, how to choose one and moves the focus to the search; nothing is uploaded or sent."""
    form = open_claim_form(page, stack, "NO-PLACE-VIN")
    expect(form.locator('input[name="lat"]')).to_have_value("")
    expect(form.locator('input[name="lon"]')).to_have_value("")
    expect(form.locator(".place-chosen")).to_contain_text("No place chosen yet")
    search = form.locator('input[name="place-search"]')
    assert "Des Moines" not in form.inner_text() + search.get_attribute("placeholder")
    form.locator('input[name="photos"]').set_input_files([str(p) for p in photos["minor"]])
    form.locator('input[name="amount"]').fill("0,5")
    submitted = stack.system.manager.contract.events.ClaimSubmitted()
    count = len(submitted.get_logs(from_block=0))
    form.locator('button[type="submit"]').click()
    error = form.locator("fieldset.place .error")
    expect(error).to_contain_text("Choose where it happened: search for the town or city, use your location")
    expect(form.locator('input[name="place-search"]')).to_be_focused()
    expect(form.locator("#claim-error")).to_have_text("")
    form.locator('input[name="lat"]').fill("47.4")
    form.locator('button[type="submit"]').click()
    expect(error).to_have_text("Longitude must be a number from -180 to 180.")
    expect(form.locator('input[name="lon"]')).to_be_focused()
    choose_place(form)
    expect(error).to_have_text("")
    assert len(submitted.get_logs(from_block=0)) == count  # nothing was sent
    assert page.problems == []


def test_insurer_edits_the_cost_schedule_as_a_table__gateway_validates__form_resets__products_told_apart(page, stack):
    """The cost schedule is a table of ETH amounts (decimal comma too); the gateway's validation shows beside the
    form and nothing is created; once a product is on sale the form is back to its defaults, and the product list
    shows its cover, premium, perils, policies, open claims, reserves and loss ratio."""
    manager = stack.system.manager
    open_app(page, stack)
    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    form = page.locator("form.product-form")
    rows = form.locator(".cost-schedule tr.schedule-row")
    expect(rows).to_have_count(5, timeout=TIMEOUT_MS)
    sedan = form.locator(".cost-schedule tr.schedule-row", has=page.locator('input[name="class"][value="sedan"]'))
    expect(sedan.locator('input[name="minor"]')).to_have_value("0.2")
    sedan.locator('input[name="minor"]').fill("0,3")
    form.locator(".cost-schedule tr.schedule-row").last.locator("button.remove-class").click()  # luxury
    form.locator("button.add-class").click()
    van = rows.last
    expect(van.locator('input[name="class"]')).to_be_focused()
    for name, value in (("class", "van"), ("minor", "0.3"), ("moderate", "1.2"), ("severe", "0.1"), ("factor", "1,5")):
        van.locator(f'input[name="{name}"]').fill(value)
    count = manager.contract.functions.productCount().call()
    form.locator("button[type=submit]").click()
    expect(page.locator("#product-error")).to_contain_text("costs must not fall with severity", timeout=TIMEOUT_MS)
    assert manager.contract.functions.productCount().call() == count  # refused before anything was sent

    van.locator('input[name="severe"]').fill("5")
    transaction(page, "Create product", form.locator("button[type=submit]").click)
    product_id = count + 1
    confirmed_next(page, f"Unpause product {product_id}")
    terms_hash = "0x" + bytes(manager.product(product_id)["termsHash"]).hex()
    schedule = page.request.get(f"{stack.url}explanations/{terms_hash}").json()["costSchedule"]
    assert schedule["van"] == {"minor": str(3 * ETH // 10), "moderate": str(12 * ETH // 10), "severe": str(5 * ETH)}
    assert schedule["sedan"]["minor"] == str(3 * ETH // 10) and "luxury" not in schedule
    # each row's premium factor went on-chain in schedule order: the van, the fifth class, costs 1.5 x the base
    assert [manager.call("premiumOf", product_id, k) for k in range(len(schedule))] == [
        ETH // 10 * factor // 10_000 for factor in (8_000, 10_000, 12_500, 12_000, 15_000)
    ]
    expect(rows).to_have_count(5)  # back to the defaults
    expect(sedan.locator('input[name="minor"]')).to_have_value("0.2")
    expect(form.locator('input[name="capital"]')).to_have_value("100.0")

    buy_policy(manager, stack.roles.second_claimant, product_id, keccak(b"TOLD-APART-VIN"))
    row = page.locator(f'#products-table tr[data-product="{product_id}"]')
    expect(row.locator("th")).to_contain_text("cover 10 ETH, base premium 0.1 ETH; collision, hail", timeout=PROMPT_MS)
    expect(row.locator("th")).to_contain_text("0 open claim(s)")
    expect(row.locator("td").nth(0)).to_have_text("1", timeout=PROMPT_MS)  # policies
    expect(row.locator(".loss-ratio")).to_have_text("0.0%")
    locked = eth_text(manager.product(product_id)["locked"])
    expect(product_row_cell(page, product_id, "Locked for policies")).to_have_text(locked)
    expect(product_row_cell(page, product_id, "Reserved for open claims")).to_have_text("0 ETH")  # no claims yet
    refused = "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert page.problems == [f"{refused} ({stack.url}api/terms)"]  # the gateway's refusal of the costs, only that


PHONE = {"width": 390, "height": 800}


def at_top(locator) -> None:
    """Scroll the page so the element starts at the top of the window (for a screenshot of what a phone shows)."""
    locator.evaluate("el => el.scrollIntoView({ block: 'start' })")


def fits(page, state: str) -> None:
    """Fail naming the state if the page scrolls sideways (scrollWidth beyond the window's width)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{state}: the page is {overflow} px wider than a {PHONE['width']} px screen"


def test_no_sideways_scroll_at_390_px_in_every_state_of_each_role_screen_with_forms_open(
    page, stack, photos, disputed_claim, ruled_claim
):
    """At 390 px nothing scrolls sideways: the claimant's claims in the window, disputed and paid with their
    timeline, explanation, evidence form and dispute confirmation open, a policy's payouts and claim form with a
    place search; the insurer's form with its schedule and JSON open and a claim on its product with everything open;
    the arbitrator's card with a vote's confirmation and the photo viewer. Saves the narrow screenshots."""
    in_window = once(stack, "window", lambda: decided_claim(stack, photos["whole"], "WINDOW-VIN", 2 * ETH)[1])
    page.set_viewport_size(PHONE)
    claimant_screen(page, stack)
    for claim_id in (in_window, disputed_claim["claim"], ruled_claim):
        card = claim_card(page, claim_id)
        expect(card).to_be_visible(timeout=TIMEOUT_MS)
        card.locator("details.timeline summary").click()
        expect(card.locator(".timeline-steps li").first).to_be_visible(timeout=TIMEOUT_MS)
        card.locator("button.explain").click()
        expect(card.locator(".explanation .verified")).to_be_visible(timeout=TIMEOUT_MS)
        if card.locator("details.evidence-form").count():
            card.locator("details.evidence-form summary").click()
        if card.locator("button.dispute").count():
            card.locator("button.dispute").click()
            expect(card.locator(".confirm")).to_be_visible()
        fits(page, f"claimant, claim {claim_id} ({card.get_attribute('data-status')}) with everything open")
    policy = page.locator("li.policy").last
    policy.locator("details.pays summary").click()
    policy.locator("button.new-claim").click()
    form = policy.locator("form.claim-form")
    form.locator('input[name="photos"]').set_input_files([str(p) for p in photos["minor"]])
    form.locator('input[name="place-search"]').fill("san")
    expect(form.locator(".place-results button.place").first).to_be_visible(timeout=PROMPT_MS)
    fits(page, "claimant, a policy's payouts and its claim form with photos and places found")
    at_top(form)
    screenshot(page, "claimant-narrow", full_page=False)

    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    product_form = page.locator("form.product-form")
    expect(product_form.locator(".cost-schedule tr.schedule-row").first).to_be_visible(timeout=TIMEOUT_MS)
    product_form.locator("details.terms-json summary").click()
    page.locator("#products-table tbody tr").first.locator("details summary").click()
    fits(page, "insurer, product form with its cost schedule and terms JSON open, a product's rules open")
    insured = page.locator(f'#insurer-claims li[data-claim="{in_window}"]')  # a claim on the insurer's product
    insured.locator("details.timeline summary").click()
    expect(insured.locator(".timeline-steps li").first).to_be_visible(timeout=TIMEOUT_MS)
    insured.locator("button.explain").click()
    expect(insured.locator(".explanation .verified")).to_be_visible(timeout=TIMEOUT_MS)
    insured.locator("details.evidence-form summary").click()
    insured.locator("button.dispute").click()
    expect(insured.locator(".confirm")).to_be_visible()
    fits(page, "insurer, a claim on its product with its timeline, explanation, evidence form and dispute confirmation")
    at_top(product_form.locator(".cost-schedule"))
    screenshot(page, "insurer-narrow", full_page=False)

    dispute = arbitrator_screen(page, stack, "1", disputed_claim["claim"])
    expect(dispute.locator(".explanation")).to_be_visible(timeout=TIMEOUT_MS)
    dispute.locator("button.rule-3").click()
    expect(dispute.locator(".confirm")).to_be_visible()
    fits(page, "arbitrator, a dispute with its explanation and a vote's confirmation")
    at_top(dispute.locator(".claimant-history"))
    screenshot(page, "arbitrator-narrow", full_page=False)
    dispute.locator(".confirm button.cancel").click()
    expect(dispute.locator(".finding img[data-opened=true]").first).to_be_visible(timeout=TIMEOUT_MS)
    dispute.locator("button.view-photo").first.click()
    page.locator("dialog.viewer button.zoom-in").click()
    page.locator("dialog.viewer button.toggle-heat").click()
    fits(page, "arbitrator, the photo viewer zoomed in with its heat map")
    assert page.problems == []


def test_insurer_main_task_with_the_keyboard_alone__create_and_fund_a_product(page, stack):
    """Tab to the initial capital, type it, Tab to the button and press Enter: the product is created, funded and
    put on sale."""
    manager = stack.system.manager
    open_app(page, stack)
    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    form = "form.product-form"
    expect(page.locator(f'{form} input[name="capital"]')).to_be_visible(timeout=TIMEOUT_MS)
    page.locator("body").focus()
    tab_to(page, f'{form} input[name="capital"]', limit=1000)
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("3,5")
    tab_to(page, f"{form} button[type=submit]")
    count = manager.contract.functions.productCount().call()
    transaction(page, "Create product", lambda: page.keyboard.press("Enter"))
    confirmed_next(page, f"Unpause product {count + 1}")
    product = manager.product(count + 1)
    assert product["capital"] == 35 * ETH // 10 and product["paused"] is False
    assert page.problems == []


def test_arbitrator_main_task_with_the_keyboard_alone__choose_a_ruling_confirm_and_vote(page, stack, disputed_claim):
    """Tab to a ruling and press Enter: the confirmation takes the focus, and Enter votes."""
    claim_id, dispute_id = disputed_claim["claim"], disputed_claim["dispute"]
    dispute = arbitrator_screen(page, stack, "3", claim_id)
    card = f'#disputes li[data-claim="{claim_id}"]'
    expect(dispute.locator("button.rule-2")).to_be_enabled(timeout=TIMEOUT_MS)
    page.locator("body").focus()
    tab_to(page, f"{card} button.rule-2", limit=1000)
    page.keyboard.press("Enter")
    expect(dispute.locator(".confirm button.confirm-vote")).to_be_focused()
    transaction(page, "Rule on claim", lambda: page.keyboard.press("Enter"))
    panel = stack.system.arbitrator.functions
    assert panel.hasVoted(dispute_id, stack.roles.panel[2]).call() is True
    assert panel.votes(dispute_id, 2).call() == 1
    assert page.problems == []


def test_claim_the_committee_left_undecided__escalated_after_the_oracle_timeout_with_a_confirmation(
    page, stack, photos
):
    """A product whose committee never answers: the claim says by when it may go to the panel; past the oracle
    timeout it offers to, says the fee (no bond), who decides and by when, then escalates. Next to last in this module:
    it moves the chain's clock a day on."""
    manager, holder = stack.system.manager, stack.roles.second_claimant
    config = product_defaults(stack.roles, stack.system.arbitrator.address, stack.model_hash, stack.terms_hash)
    config.update(committee=[stack.roles.deployer], threshold=1)  # no node of the stack is on this committee
    product_id = create_product(manager, stack.roles.insurer, config, 20 * ETH)
    policy_id = buy_policy(manager, holder, product_id, keccak(b"SILENT-VIN"))
    evidence = store_evidence(stack.cas, [(p.name, p.read_bytes()) for p in photos["minor"]])
    lat_e6, lon_e6 = public_area(PLACE_E6)
    start, collision = manager.policy(policy_id)["start"], peril_index(Peril.COLLISION)
    claim_id = submit_claim(
        manager, holder, policy_id, evidence.root, evidence.uri, start, collision, lat_e6, lon_e6, 2 * ETH
    )
    claimant_screen(page, stack)
    card = claim_card(page, claim_id)
    timeout_at = manager.claim(claim_id)["timestamp"] + config["oracleTimeout"]
    shown = page.evaluate("async ([t]) => (await import('/app/ui.js')).when(t)", [timeout_at])
    expect(card.locator(".next-step")).to_contain_text(f"If it has not decided by {shown}, you can take the claim")
    expect(card.locator("button.escalate")).to_have_count(0)

    stack.w3.provider.make_request("evm_increaseTime", [config["oracleTimeout"] + 1])
    stack.w3.provider.make_request("evm_mine", [])
    card.locator("button.escalate").click(timeout=TIMEOUT_MS)
    fee = stack.system.desk.functions.disputeCost(claim_id).call() - config["disputeBond"]
    confirm = card.locator(".confirm")
    expect(confirm).to_contain_text(f"sends {eth_text(fee)} from your account: the arbitration fee")
    expect(confirm).to_contain_text("if it does not rule, the claim pays what you claimed less the deductible, 1.9 ETH")
    transaction(page, f"Escalate claim {claim_id}", confirm.locator("button.cost-confirm").click)
    expect(card).to_have_attribute("data-status", "disputed", timeout=PROMPT_MS)
    expect(card.locator(".next-step")).to_contain_text("If it has not ruled by then, you receive 1.9 ETH.")
    assert manager.claim(claim_id)["escalated"] is True
    assert page.problems == []


def product_row_cell(page, product_id: int, header: str):
    """The cell under `header` in a product's row of the insurer's product table."""
    headers = page.locator("#products-table thead th").all_inner_texts()
    return page.locator(f'#products-table tr[data-product="{product_id}"] td').nth(headers.index(header) - 1)


def test_insurer_sees_the_claims_on_its_products__reserves_held_for_them__and_acts_where_the_contracts_allow(
    page, stack, photos
):
    """The insurer's screen lists the claims on its products with their state, amount, decision, deadlines and next
    step, their explanation and the photos the insurer may open; it disputes a decision it thinks pays too much
    (with a confirmation); each product shows the capital reserved for its open claims apart from the cover locked
    for its policies and the free capital; past the oracle and dispute timeouts it closes a claim nobody decided
    and a dispute nobody ruled. It moves the chain's clock 31 days on."""
    manager, holder, deductible = stack.system.manager, stack.roles.second_claimant, ETH // 10
    config = product_defaults(stack.roles, stack.system.arbitrator.address, stack.model_hash, stack.terms_hash)
    config.update(instantLimit=0)  # every decision waits out its dispute window
    windowed = create_product(manager, stack.roles.insurer, config, 20 * ETH)
    policy_id = buy_policy(manager, holder, windowed, insured_object_of(stack, holder, "INSURER-VIEW-VIN"))
    _, decided = decided_claim(stack, photos["unused minor"], "", ETH // 2, policy_id=policy_id)
    payout = manager.claim(decided)["payout"]
    assert manager.claim(decided)["status"] == ClaimStatus.DECIDED and payout == ETH // 10
    config.update(committee=[stack.roles.deployer], threshold=1)  # no node of the stack is on this committee
    silent = create_product(manager, stack.roles.insurer, config, 20 * ETH)
    silent_policy = buy_policy(manager, holder, silent, keccak(b"INSURER-SILENT-VIN"))
    evidence = store_evidence(
        stack.cas, [(p.name, p.read_bytes()) for p in photos["minor"]],
        sealed_for=evidence_readers(stack, holder), place_e6=PLACE_E6,
    )  # fmt: skip
    start, collision = manager.policy(silent_policy)["start"], peril_index(Peril.COLLISION)
    waiting = submit_claim(
        manager, holder, silent_policy, evidence.root, evidence.uri, start, collision, *public_area(PLACE_E6), 2 * ETH
    )

    open_app(page, stack)
    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    claims = page.locator("#insurer-claims")
    card = claims.locator(f'li[data-claim="{decided}"]')
    expect(card).to_have_attribute("data-status", "decided, window open", timeout=TIMEOUT_MS)
    expect(card.locator(".claim-policy")).to_have_text(
        f"Product {windowed}, policy {policy_id}, claimant {holder[:10]}...."
    )
    expect(card).to_contain_text(f"Claimed {eth_text(ETH // 2)} for collision")
    expect(card.locator(".next-step")).to_contain_text(f"If nobody disputes it, the claim pays {eth_text(payout)} on ")
    # reserved for the open claim: the most it may still pay, a ruling for the claimant (0.5 less the deductible)
    reserve = ETH // 2 - deductible
    expect(product_row_cell(page, windowed, "Reserved for open claims")).to_have_text(eth_text(reserve))
    locked = manager.product(windowed)["locked"]
    expect(product_row_cell(page, windowed, "Locked for policies")).to_have_text(eth_text(locked - reserve))
    free = manager.product(windowed)["capital"] - locked
    expect(product_row_cell(page, windowed, "Free")).to_have_text(eth_text(free))
    card.locator("button.explain").click()
    expect(card.locator(".explanation .verified")).to_be_visible(timeout=TIMEOUT_MS)
    expect(card.locator('.finding img[data-opened="true"]')).to_have_count(4, timeout=TIMEOUT_MS)  # the insurer's key

    waiting_card = claims.locator(f'li[data-claim="{waiting}"]')
    expect(waiting_card).to_have_attribute("data-status", "submitted")
    timeout_at = manager.claim(waiting)["timestamp"] + config["oracleTimeout"]
    shown = page.evaluate("async ([t]) => (await import('/app/ui.js')).when(t)", [timeout_at])
    expect(waiting_card.locator(".next-step")).to_contain_text(
        f"If it has not decided by {shown}, you or the claimant can take it to the arbitration panel"
    )
    expect(product_row_cell(page, silent, "Reserved for open claims")).to_have_text(eth_text(2 * ETH - deductible))
    waiting_card.locator("button.show-photos").click()  # no decision yet: the photos alone
    expect(waiting_card.locator('.evidence-photos img[data-opened="true"]')).to_have_count(2, timeout=TIMEOUT_MS)
    expect(waiting_card.locator("button.close-stale")).to_have_count(0)
    shows_no_jargon(page, "insurer")

    card.locator("button.dispute").click()  # money: a confirmation first
    confirm = card.locator(".confirm")
    expect(confirm).to_contain_text(f"a bond of {eth_text(config['disputeBond'])}, returned if the panel rules for you")
    transaction(page, f"Dispute claim {decided}", confirm.locator("button.cost-confirm").click)
    expect(card).to_have_attribute("data-status", "disputed", timeout=PROMPT_MS)
    expect(card.locator(".next-step")).to_contain_text("Next: the arbitration panel decides, by ")
    assert manager.claim(decided)["status"] == ClaimStatus.DISPUTED
    expect(product_row_cell(page, windowed, "Reserved for open claims")).to_have_text(eth_text(reserve))

    # a month on: nobody decided the silent product's claim, and the panel never ruled on the dispute
    stack.w3.provider.make_request("evm_increaseTime", [config["oracleTimeout"] + 31 * DAY])
    stack.w3.provider.make_request("evm_mine", [])
    transaction(page, f"Close claim {waiting}", waiting_card.locator("button.close-stale").click)
    expect(waiting_card).to_have_attribute("data-status", "resolved", timeout=PROMPT_MS)
    expect(waiting_card.locator(".next-step")).to_have_text("Closed: the claim pays nothing, and nothing more happens.")
    expect(product_row_cell(page, silent, "Reserved for open claims")).to_have_text("0 ETH")
    transaction(page, f"Close the unruled dispute of claim {decided}", card.locator("button.close-dispute").click)
    expect(card).to_have_attribute("data-status", "resolved", timeout=PROMPT_MS)
    assert manager.claim(decided)["payout"] == payout  # no ruling: the oracle's decision stands
    expect(card.locator(".next-step")).to_contain_text(f"Final: the claim pays {eth_text(payout)}, which stays")
    reserved = product_row_cell(page, windowed, "Reserved for open claims")
    expect(reserved).to_have_text(eth_text(payout))  # until the claimant withdraws it
    expect(page.locator("#insurer-credits")).to_contain_text("returned bonds and fees to withdraw")
    transaction(page, "Withdraw credit", page.locator("#insurer-credits button.withdraw-credit").click)
    assert page.problems == []


def referred_claim(stack, photos, vehicle: str, for_panel: bool = True) -> tuple[int, int]:
    """A claim the committee refers to the insurer's review (its vehicle class is not in the cost schedule, so no
    repair estimate applies), on a new policy of a new product whose insurer is its own adjuster; (product, claim)."""
    policy_id, claim_id = decided_claim(stack, photos, vehicle, 2 * ETH, unpriced_class=True, for_panel=for_panel)
    assert stack.system.manager.claim(claim_id)["status"] == ClaimStatus.REVIEW
    return stack.system.manager.policy(policy_id)["productId"], claim_id


def shown_time(page, seconds: int) -> str:
    """A chain time as the dApp writes it (ui.js when), in the page's time zone."""
    return page.evaluate("async ([t]) => (await import('/app/ui.js')).when(t)", [seconds])


def test_review__a_referred_claim_reaches_the_insurers_queue__the_adjuster_proposes__the_claimant_sees_the_window(
    page, stack, photos
):
    """A referred claim waits in the insurer's review queue with its deadline in words, the reasons, the explanation
    and the photos the insurer's key opens, a proposal above the claim less the deductible is refused in its field as
    it is typed, the proposal's result shows in the card, which stays in the queue with its window, and the claimant
    sees the proposal and the window's end (from the claim's record, as the committee's decision event has none) and
    the review in its timeline, disputes, and after a ruling for it reads that its bond and fee came back as credit."""
    manager, desk = stack.system.manager, stack.system.desk.functions
    product_id, claim_id = referred_claim(stack, photos["minor"], "REVIEW-VIN")
    review_ends = manager.claim(claim_id)["timestamp"] + desk.reviewTerms(product_id).call()[1]
    open_app(page, stack)
    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    card = page.locator(f'#review-queue li[data-claim="{claim_id}"]')
    expect(card).to_have_attribute("data-status", "referred, in the insurer's review", timeout=TIMEOUT_MS)
    expect(page.locator(f'#insurer-claims li[data-claim="{claim_id}"]')).to_have_count(0)  # once, in the queue
    expect(card.locator(".next-step")).to_contain_text(
        f"you, as the product's adjuster, must decide by {shown_time(page, review_ends)}: propose an amount"
    )
    expect(card.locator(".summary")).to_contain_text("The oracle's decision: sent to a person for review (")
    expect(card.locator(".review-why")).to_contain_text("Why a person must decide: vehicle class 'class #5' is not in")
    card.locator("button.explain").click()
    expect(card.locator(".explanation .verified")).to_be_visible(timeout=TIMEOUT_MS)
    expect(card.locator(".explanation .rules")).to_contain_text("Needs a person")
    expect(card.locator('.finding img[data-opened="true"]')).to_have_count(4, timeout=TIMEOUT_MS)  # the insurer's key
    shows_no_jargon(page, "insurer")

    proposal = card.locator('input[name="proposal"]')
    proposal.fill("5")  # more than the claim less the deductible: said in the field as it is typed
    expect(card.locator(".proposal .field-error")).to_have_text(
        "At most 1.9 ETH: what was claimed, 2 ETH, less the deductible of 0.1 ETH."
    )
    expect(proposal).to_have_attribute("aria-invalid", "true")
    card.locator("button.propose").click()
    expect(proposal).to_be_focused()
    assert manager.claim(claim_id)["status"] == ClaimStatus.REVIEW  # nothing was sent
    proposal.fill("1,2")
    expect(card.locator(".proposal .field-error")).to_be_hidden()
    expect(proposal).not_to_have_attribute("aria-invalid", "true")
    transaction(page, f"Propose a payout of 1.2 ETH for claim {claim_id}", card.locator("button.propose").click)
    expect(card.locator(".tx-near")).to_contain_text("confirmed")  # beside the button, in the queue
    record = manager.claim(claim_id)
    assert record["status"] == ClaimStatus.DECIDED and record["payout"] == 12 * ETH // 10
    proposed = stack.system.desk.events.ReviewProposed().get_logs(from_block=0, argument_filters={"claimId": claim_id})
    window_ends = shown_time(page, proposed[0].args.windowEnds)
    expect(card).to_have_attribute("data-status", "decided, window open", timeout=PROMPT_MS)  # still in the queue
    expect(card.locator(".next-step")).to_contain_text(
        f"The product's adjuster proposed 1.2 ETH: if nobody disputes it, the claim pays that on {window_ends}"
    )
    expect(card.locator('input[name="proposal"]')).to_have_count(0)

    claimant_screen(page, stack)
    mine = claim_card(page, claim_id)
    expect(mine).to_have_attribute("data-status", "decided, window open", timeout=TIMEOUT_MS)
    expect(mine.locator(".next-step")).to_contain_text(
        f"The insurer's adjuster proposed 1.2 ETH. If you do nothing, you receive 1.2 ETH on {window_ends}, when the "
        "dispute window closes"
    )
    expect(mine.locator(".summary")).to_contain_text(f"Dispute window open until {window_ends}.")
    mine.locator("details.timeline summary").click()
    expect(mine.locator(".timeline-steps li[data-event=ReviewProposed]")).to_contain_text(
        f"proposed 1.2 ETH; the dispute window is open until {window_ends}", timeout=TIMEOUT_MS
    )
    expect(mine.locator(".timeline-steps li[data-event=ClaimDecided]")).to_contain_text(
        "sent the claim to the insurer's adjuster for review"
    )
    shows_no_jargon(page, "claimant")

    mine.locator("button.dispute").click()
    transaction(page, f"Dispute claim {claim_id}", mine.locator(".confirm button.cost-confirm").click)
    disputed = stack.system.desk.events.ClaimDisputed().get_logs(from_block=0, argument_filters={"claimId": claim_id})
    bond, fee = disputed[0].args.bond, disputed[0].args.arbitrationFee
    dispute_id = desk.disputeOf(claim_id).call()[1]
    credit = desk.credits(stack.roles.second_claimant).call()
    for member in stack.roles.panel[:2]:
        transact(stack.w3, stack.system.arbitrator.functions.vote(dispute_id, 2), member)
    assert desk.credits(stack.roles.second_claimant).call() == credit + bond + fee  # loser pays: everything back
    expect(mine).to_have_attribute("data-status", "resolved", timeout=TIMEOUT_MS)
    expect(mine.locator(".refund")).to_contain_text(
        f"Refunded: your bond of {eth_text(bond)} and your arbitration fee of {eth_text(fee)}, paid back by the "
        f"insurer, {eth_text(bond + fee)} in all, as credit at the dispute desk"
    )
    expect(mine.locator(".timeline-steps li[data-event=Refund]")).to_contain_text(
        f"{eth_text(bond + fee)} to you (a bond of {eth_text(bond)} and the arbitration fee of {eth_text(fee)}, paid "
        "back by the insurer)",
        timeout=TIMEOUT_MS,
    )
    expect(page.locator("#credits")).to_contain_text("returned bonds and fees to withdraw")
    shows_no_jargon(page, "claimant")
    assert page.problems == []


def test_review__a_product_names_another_account_its_adjuster__that_account_reviews_and_the_insurer_watches(
    page, stack, photos
):
    """A product whose adjuster is another account: that account's insurer screen queues the claim and lets it propose
    a payout with the keyboard alone, while the insurer's own queue names the adjuster and offers it neither a proposal
    nor a referral."""
    manager, holder, adjuster = stack.system.manager, stack.roles.second_claimant, stack.roles.claimant
    product_id, unpriced = unpriced_class_product(stack, adjuster=adjuster)
    policy_id = buy_policy(manager, holder, product_id, insured_object_of(stack, holder, "ADJUSTED-VIN"), unpriced)
    _, claim_id = decided_claim(stack, photos["minor"], "", 2 * ETH, policy_id=policy_id)
    assert manager.claim(claim_id)["status"] == ClaimStatus.REVIEW
    open_app(page, stack)
    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    card = page.locator(f'#review-queue li[data-claim="{claim_id}"]')
    expect(card.locator(".next-step")).to_contain_text(
        f"the product's adjuster ({adjuster[:10]}...) must decide by", timeout=TIMEOUT_MS
    )
    expect(card.locator('input[name="proposal"]')).to_have_count(0)
    expect(card.locator("button.refer")).to_have_count(0)

    choose_account(page, "claimant")  # the adjuster, who insures nothing itself
    page.goto(stack.url + "#/insurer")
    card = page.locator(f'#review-queue li[data-claim="{claim_id}"]')
    mine = "you, as the product's adjuster, must decide by"
    expect(card.locator(".next-step")).to_contain_text(mine, timeout=TIMEOUT_MS)
    expect(card.locator(".claim-policy")).to_contain_text(f"Product {product_id}, policy {policy_id}")
    queued = f'#review-queue li[data-claim="{claim_id}"]'
    page.locator("body").focus()  # the adjuster's task with the keyboard alone: Tab to the amount, type, Enter
    tab_to(page, f'{queued} input[name="proposal"]')
    page.keyboard.type("0,5")
    tab_to(page, f"{queued} button.propose")
    transaction(page, f"Propose a payout of 0.5 ETH for claim {claim_id}", lambda: page.keyboard.press("Enter"))
    record = manager.claim(claim_id)
    assert record["status"] == ClaimStatus.DECIDED and record["payout"] == ETH // 2
    expect(card.locator(".next-step")).to_contain_text("The product's adjuster proposed 0.5 ETH", timeout=PROMPT_MS)
    shows_no_jargon(page, "adjuster")
    assert page.problems == []


def test_review__deadline_passes_unanswered__anyone_sends_the_claim_to_the_panel_at_the_insurers_cost(
    page, stack, photos
):
    """Before the review deadline the claimant reads who must decide by when and what happens if nobody does, with no
    way to send the claim on, and at 390 px nothing scrolls sideways with the claimant's and the insurer's review cards
    open (explanation, timeline, proposal error, the referral's confirmation); past the deadline (the chain's clock
    moved 7 days on) the claimant sends it to the panel after a confirmation saying the insurer pays, the reserve pays
    the fee, and the panel's queue shows it with what each ruling pays."""
    manager, desk = stack.system.manager, stack.system.desk.functions
    product_id, claim_id = referred_claim(stack, photos["minor"], "LATE-REVIEW-VIN")
    review_ends = manager.claim(claim_id)["timestamp"] + desk.reviewTerms(product_id).call()[1]
    page.set_viewport_size(PHONE)
    claimant_screen(page, stack)
    card = claim_card(page, claim_id)
    expect(card).to_have_attribute("data-status", "referred, in the insurer's review", timeout=TIMEOUT_MS)
    deadline = shown_time(page, review_ends)
    expect(card.locator(".next-step")).to_contain_text(
        f"the insurer's adjuster must decide by {deadline}: propose an amount (which you may then dispute) or send the "
        "claim to the arbitration panel at the insurer's cost. If it does not, anyone, you too, can send your claim to "
        "the arbitration panel at the insurer's cost; the arbitration panel then decides; if it does not rule, you "
        "receive 1.9 ETH."
    )
    expect(card.locator("button.refer")).to_have_count(0)  # the adjuster's turn until the deadline
    card.locator("details.timeline summary").click()
    expect(card.locator(".timeline-steps li[data-event=ClaimDecided]")).to_be_visible(timeout=TIMEOUT_MS)
    card.locator("button.explain").click()
    expect(card.locator(".explanation .verified")).to_be_visible(timeout=TIMEOUT_MS)
    fits(page, "claimant, a claim in review with its timeline and explanation open")
    at_top(card)
    screenshot(page, "claimant-review-narrow", full_page=False)
    shows_no_jargon(page, "claimant")

    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    queued = page.locator(f'#review-queue li[data-claim="{claim_id}"]')
    expect(queued).to_be_visible(timeout=TIMEOUT_MS)
    queued.locator('input[name="proposal"]').fill("99")
    expect(queued.locator(".proposal .field-error")).to_contain_text("At most 1.9 ETH")
    queued.locator("button.refer").click()
    expect(queued.locator(".confirm")).to_contain_text("The insurer pays the arbitration cost: the panel's fee of ")
    queued.locator("button.explain").click()
    expect(queued.locator(".explanation .verified")).to_be_visible(timeout=TIMEOUT_MS)
    fits(page, "insurer, a claim in its review queue with a proposal error, the referral's confirmation, explanation")
    queued.locator(".confirm button.cancel").click()  # the adjuster lets the deadline pass
    at_top(queued)
    screenshot(page, "insurer-review-narrow", full_page=False)

    stack.w3.provider.make_request("evm_increaseTime", [review_ends - manager.claim(claim_id)["timestamp"] + 1])
    stack.w3.provider.make_request("evm_mine", [])
    choose_account(page, "claimant 2")
    page.goto(stack.url + "#/claimant")
    expect(card.locator(".next-step")).to_contain_text(
        f"The insurer's adjuster did not decide by {deadline}: anyone, you too, can now send your claim to the "
        "arbitration panel at the insurer's cost",
        timeout=TIMEOUT_MS,
    )
    fee = desk.disputeCost(claim_id).call() - manager.product(product_id)["disputeBond"]
    reserve = desk.arbitrationReserve(product_id).call()
    card.locator("button.refer").click()
    confirm = card.locator(".confirm")
    expect(confirm).to_contain_text(
        f"The insurer pays the arbitration cost: the panel's fee of {eth_text(fee)} comes out of the insurer's "
        f"arbitration reserve (it holds {eth_text(reserve)}), whatever the panel rules. No bond is due, and you pay "
        "only the transaction's gas."
    )
    fits(page, "claimant, the referral's confirmation")
    transaction(page, f"Send claim {claim_id} to the arbitration panel", confirm.locator("button.cost-confirm").click)
    expect(card.locator(".tx-near")).to_contain_text("confirmed")
    expect(card).to_have_attribute("data-status", "disputed", timeout=PROMPT_MS)
    expect(card.locator(".next-step")).to_contain_text("If it has not ruled by then, you receive 1.9 ETH.")
    assert desk.arbitrationReserve(product_id).call() == reserve - fee  # the insurer paid the whole fee
    assert desk.disputeOf(claim_id).call()[0] == stack.roles.second_claimant
    card.locator("details.timeline summary").click()
    expect(card.locator(".timeline-steps li[data-event=ClaimReferred]")).to_contain_text(
        "Sent to the arbitration panel from the insurer's review by you, at the insurer's cost: the arbitration fee "
        f"of {eth_text(fee)} came out of its arbitration reserve.",
        timeout=TIMEOUT_MS,
    )
    shows_no_jargon(page, "claimant")

    dispute = arbitrator_screen(page, stack, "1", claim_id)
    expect(dispute.locator("h3")).to_contain_text("sent from the insurer's review")
    expect(dispute).to_contain_text("Nobody assessed an amount: it came here from the insurer's review")
    expect(dispute.locator("button.rule-2")).to_contain_text("pays 1.9 ETH")
    expect(dispute.locator("button.rule-1")).to_contain_text("pays 0 ETH")
    fits(page, "arbitrator, a claim sent from the insurer's review")
    assert page.problems == []


def panel_grants(stack, claim_id: int) -> list[dict]:
    """The grants of the key-grants evidence documents published on a claim, read from the chain and the store."""
    logs = stack.system.desk.events.Evidence().get_logs(from_block=0, argument_filters={"_evidenceGroupID": claim_id})
    docs = [json.loads(stack.cas.get(log.args._evidence.removeprefix("ipfs://"))) for log in logs]
    return [grant for doc in docs if doc.get("type") == "claims-oracle/key-grants" for grant in doc["grants"]]


def panelist_opens_the_photos(page, stack, claim_id: int):
    """A panelist's arbitrator screen opens every photo of the claim with the key shared with it (no other step)."""
    dispute = arbitrator_screen(page, stack, "1", claim_id)
    expect(dispute.locator(".evidence-grants")).to_contain_text("the claim's key, wrapped for", timeout=TIMEOUT_MS)
    photos = dispute.locator(".evidence-photos img")
    expect(photos.first).to_have_attribute("data-opened", "true", timeout=TIMEOUT_MS)
    expect(dispute.locator('.evidence-photos img[data-opened="false"]')).to_have_count(0)
    return dispute


def test_arbitration__the_adjuster_sends_a_referred_claim_to_the_panel__a_panelist_opens_the_photos_with_no_other_step(
    page, stack, photos
):
    """The adjuster's Send to the arbitration panel also wraps the claim's key for the panel (a second transaction,
    after the referral), the card then says the panel can open the photos, a panelist's screen opens them, and the
    grants are encrypted to the panelists only: a non-panelist's key opens none of them."""
    manager, keys = stack.system.manager, stack.system.keys.address
    _, claim_id = referred_claim(stack, photos["minor"], "PANEL-KEY-VIN", for_panel=False)
    assert panel_grants(stack, claim_id) == []
    open_app(page, stack)
    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    card = page.locator(f'#review-queue li[data-claim="{claim_id}"]')
    expect(card).to_have_attribute("data-status", "referred, in the insurer's review", timeout=TIMEOUT_MS)
    card.locator("button.refer").click()
    confirm = card.locator(".confirm button.cost-confirm")
    transaction(page, f"Send claim {claim_id} to the arbitration panel", confirm.click)
    confirmed_next(page, f"Share claim {claim_id} with the arbitration panel")
    assert manager.claim(claim_id)["status"] == ClaimStatus.DISPUTED
    expect(card.locator(".panel-access")).to_have_attribute("data-access", "shared", timeout=TIMEOUT_MS)
    expect(card.locator(".panel-access")).to_contain_text("The arbitration panel can open the photos")

    grants = panel_grants(stack, claim_id)
    assert sorted(g["to"] for g in grants) == sorted(m.lower() for m in stack.roles.panel)
    manifest = json.loads(load_manifest(manager.claim(claim_id)["evidenceRoot"], stack.cas))
    commitment = manifest["sealed"]["keyCommitment"]
    sealed = {"grants": grants, "keyCommitment": commitment}
    panelist = person_reader(stack.w3, keys, stack.chain.accounts.index(stack.roles.panel[0]))
    assert len(panelist.content_key(sealed)) == 32
    outsider = person_reader(stack.w3, keys, stack.chain.accounts.index(stack.roles.claimant))  # on no panel
    for grant in grants:
        with pytest.raises(SealError):
            unwrap_key(grant, outsider.identity, commitment)

    logs = stack.system.desk.events.Evidence().get_logs(from_block=0, argument_filters={"_evidenceGroupID": claim_id})
    gas = stack.w3.eth.get_transaction_receipt(logs[-1].transactionHash).gasUsed
    assert gas < 60_000, f"publishing the panel's grants cost {gas} gas"  # docs/privacy.md: about 41,000
    panelist_opens_the_photos(page, stack, claim_id)
    assert page.problems == []


NO_KEY_CARD = """async ([now]) => {
  const { claimCard } = await import("/app/claimant.js");
  const eth = 10n ** 18n;
  const product = { oracleTimeout: 86400n, deductible: 0n, disputeBond: 0n, disputeWindow: 86400n, insurer: "0x0",
    arbitrator: "0x00000000000000000000000000000000000000c1" };
  const record = { status: 3n, decision: 3n, payout: 0n, escalated: false, timestamp: now - 3600,
    claimedAmount: eth, policyId: 1n };
  const submitted = { claimedAmount: eth, peril: 0n, incidentTime: now - 7200,
    evidenceRoot: "0x" + "00".repeat(32) };
  const c = { id: 9999n, record, product, submitted, now, ruleBy: now + 86400, can: {}, story: null, decided: null,
    access: { sealed: true, readers: [], missing: [] } };
  const card = claimCard(c);
  card.update(c); // a card is drawn when the screen hands it the claim
  const share = card.el.querySelectorAll("button.share-key").length;
  return { line: card.el.querySelector(".panel-access")?.textContent, share };
}"""


def test_arbitration__an_arbitrator_without_keys_is_named_on_the_card_with_the_way_to_disclose(page, stack):
    """A disputed claim before an arbitrator that publishes no evidence key (a court such as Kleros) says it cannot open
    the sealed photos and points to Add evidence, with no share button; such an arbitrator has no readers."""
    claimant_screen(page, stack)
    now = stack.w3.eth.get_block("latest")["timestamp"]
    shown = page.evaluate(NO_KEY_CARD, [now])
    assert shown["share"] == 0
    assert shown["line"].startswith("The claim's arbitrator publishes no evidence key (a court such as Kleros)")
    assert "use Add evidence for the arbitrator below; whatever is added there is public" in shown["line"]
    readers = page.evaluate(
        """async ([kleros, panel]) => {
          const { arbitratorReaders } = await import("/app/keys.js");
          return [(await arbitratorReaders(kleros)).length, (await arbitratorReaders(panel)).length];
        }""",
        ["0x00000000000000000000000000000000000000c1", stack.system.arbitrator.address],  # no key; the panel
    )
    assert readers == [0, len(stack.roles.panel)]
    assert page.problems == []


def test_arbitration__a_claimants_dispute_shares_the_photos_key_with_the_panel_automatically(page, stack, photos):
    """A claimant who disputes a decision in the dApp wraps the photos' key for the panel in the same flow: the
    dispute, then the grants as evidence; its card says the panel can open the photos and a panelist sees them."""
    _, claim_id = decided_claim(stack, photos["whole"], "AUTO-SHARE-VIN", 2 * ETH, for_panel=False)
    claimant_screen(page, stack)
    card = claim_card(page, claim_id)
    expect(card).to_have_attribute("data-status", "decided, window open", timeout=TIMEOUT_MS)
    card.locator("button.dispute").click()
    transaction(page, f"Dispute claim {claim_id}", card.locator(".confirm button.cost-confirm").click)
    confirmed_next(page, f"Share claim {claim_id} with the arbitration panel")
    expect(card.locator(".panel-access")).to_have_attribute("data-access", "shared", timeout=TIMEOUT_MS)
    assert {g["to"] for g in panel_grants(stack, claim_id)} == {m.lower() for m in stack.roles.panel}
    panelist_opens_the_photos(page, stack, claim_id)
    assert page.problems == []


def test_arbitration__a_claimant_disputes_with_a_counter_offer__refused_out_of_bounds_first__ruling_2_pays_it(
    page, stack, photos
):
    """The claimant's dispute confirmation takes an optional counter-offer: one above what was claimed less the
    deductible is refused in its field as it is typed (and nothing is sent), a valid one says what each ruling then
    pays and goes out as disputeWithOffer, still sharing the photos' key; the card, its timeline and the arbitrator's
    card show the offer and what ruling for the claimant pays; once the panel rules so, the claim pays the offer."""
    _, claim_id = decided_claim(stack, photos["whole"], "COUNTER-OFFER-VIN", 2 * ETH, for_panel=False)
    claimant_screen(page, stack)
    card = claim_card(page, claim_id)
    expect(card).to_have_attribute("data-status", "decided, window open", timeout=TIMEOUT_MS)
    card.locator("button.dispute").click()
    offer = card.locator('.confirm input[name="counter-offer"]')
    expect(card.locator(".counter-offer-field")).to_contain_text(
        "more than the decided payout of 0 ETH and at most what you claimed less the deductible, 1.9 ETH"
    )
    offer.fill("2.5")
    expect(card.locator(".counter-offer-field .field-error")).to_have_text(
        "Your counter-offer may be at most what you claimed less the deductible, 1.9 ETH."
    )
    expect(offer).to_have_attribute("aria-invalid", "true")
    card.locator(".confirm button.cost-confirm").click()
    expect(offer).to_be_focused()
    assert stack.system.manager.claim(claim_id)["status"] == ClaimStatus.DECIDED  # nothing was sent
    offer.fill("1,2")
    expect(card.locator(".counter-offer-field .field-error")).to_have_text("")
    expect(offer).not_to_have_attribute("aria-invalid", "true")
    expect(card.locator(".counter-offer-pays")).to_contain_text(
        "If the panel rules for you, the claim pays 1.2 ETH (your counter-offer); if it rules for the decided amount, "
        "0 ETH; if it rules for nothing, 0 ETH; if it does not rule, 0 ETH."
    )
    transaction(
        page,
        f"Dispute claim {claim_id} with a counter-offer of 1.2 ETH",
        card.locator(".confirm button.cost-confirm").click,
    )
    confirmed_next(page, f"Share claim {claim_id} with the arbitration panel")
    expect(card.locator(".panel-access")).to_have_attribute("data-access", "shared", timeout=TIMEOUT_MS)
    desk = stack.system.desk
    assert desk.functions.counterOffer(claim_id).call() == 12 * ETH // 10
    expect(card.locator(".summary")).to_contain_text(
        "The claimant's counter-offer: 1.2 ETH, what a ruling for the claimant pays."
    )
    card.locator("details.timeline summary").click()
    expect(card.locator(".timeline-steps li[data-event=ClaimDisputed]")).to_contain_text(
        "with a counter-offer of 1.2 ETH (what a ruling for the claimant pays)", timeout=TIMEOUT_MS
    )
    shows_no_jargon(page, "claimant")

    dispute = arbitrator_screen(page, stack, "1", claim_id)
    expect(dispute.locator(".counter-offer")).to_contain_text(
        "The claimant's counter-offer: 1.2 ETH. A ruling for the claimant pays 1.2 ETH"
    )
    expect(dispute.locator("button.rule-2")).to_contain_text("pays 1.2 ETH")
    expect(dispute.locator("button.rule-1")).to_contain_text("pays 0 ETH")
    dispute_id = desk.functions.disputeOf(claim_id).call()[1]
    for member in stack.roles.panel[:2]:
        transact(stack.w3, stack.system.arbitrator.functions.vote(dispute_id, 2), member)
    claim = stack.system.manager.claim(claim_id)
    assert claim["status"] == ClaimStatus.RESOLVED and claim["payout"] == 12 * ETH // 10
    claimant_screen(page, stack)
    expect(claim_card(page, claim_id).locator(".summary")).to_contain_text("Final payout 1.2 ETH", timeout=TIMEOUT_MS)
    assert page.problems == []


def test_arbitration__someone_without_the_key_refers_after_the_deadline__the_insurers_queue_shares_it_in_one_click(
    page, stack, photos
):
    """A referral after the review deadline by an account holding no key (here a panelist) leaves the panel unable to
    open the photos: the claimant's card says so, the insurer's queue lists the claim with that line and one click
    shares the key, and a panelist then opens the photos."""
    manager, desk = stack.system.manager, stack.system.desk.functions
    product_id, claim_id = referred_claim(stack, photos["minor"], "NO-KEY-REFER-VIN", for_panel=False)
    review_ends = manager.claim(claim_id)["timestamp"] + desk.reviewTerms(product_id).call()[1]
    stack.w3.provider.make_request("evm_increaseTime", [review_ends - manager.claim(claim_id)["timestamp"] + 1])
    stack.w3.provider.make_request("evm_mine", [])
    transact(stack.w3, desk.referToArbitrator(claim_id), stack.roles.panel[2])  # anyone, after the deadline
    assert manager.claim(claim_id)["status"] == ClaimStatus.DISPUTED and panel_grants(stack, claim_id) == []

    claimant_screen(page, stack)
    mine = claim_card(page, claim_id)
    access = mine.locator(".panel-access")
    expect(access).to_have_attribute("data-access", "missing", timeout=TIMEOUT_MS)
    expect(access).to_contain_text("The arbitration panel cannot open the photos yet: 3 of its 3 ")
    expect(mine.locator("button.share-key")).to_be_visible()

    choose_account(page, "insurer")
    page.goto(stack.url + "#/insurer")
    card = page.locator(f'#review-queue li[data-claim="{claim_id}"]')  # waiting for the insurer: the panel is blind
    expect(card.locator(".panel-access")).to_have_attribute("data-access", "missing", timeout=TIMEOUT_MS)
    transaction(page, f"Share claim {claim_id} with the arbitration panel", card.locator("button.share-key").click)
    shared = page.locator(f'#insurer-claims li[data-claim="{claim_id}"]')  # out of the queue once the panel can read
    expect(shared.locator(".panel-access")).to_have_attribute("data-access", "shared", timeout=TIMEOUT_MS)
    expect(page.locator(f'#review-queue li[data-claim="{claim_id}"]')).to_have_count(0)
    assert {g["to"] for g in panel_grants(stack, claim_id)} == {m.lower() for m in stack.roles.panel}
    panelist_opens_the_photos(page, stack, claim_id)
    assert page.problems == []
