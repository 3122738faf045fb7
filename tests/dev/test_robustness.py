"""The pre-registered robustness suite: a fixed generator, claims of one class, and the registered threshold rule."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from PIL import Image

from oracle.assess import DEFAULT_TERMS_PATH, Decision
from oracle.dev.robustness import (
    CLAIM_SIZES,
    MAX_REFER,
    MAX_WRONGFUL_REJECT,
    VARIANTS,
    claim_rates,
    generate,
    registered_threshold,
    run_suite,
    suite_claims,
    suite_samples,
)
from oracle.sources.terms import parse_terms
from oracle.vision import DamageModel
from oracle.vision.data import list_samples
from oracle.vision.runtime import DEFAULT_MODEL_PATH


def test_test_split__is_disjoint_from_training_and_selection_and_has_every_class(shared_data):
    samples = list_samples(shared_data)
    by_split = {split: {s.path for s in samples if s.split == split} for split in ("train", "val", "test")}
    assert not by_split["test"] & (by_split["train"] | by_split["val"])
    assert {s.label for s in samples if s.split == "test"} == {"whole", "minor", "moderate", "severe"}
    # vds2500's own val folder stays the selection set: no photo of it moves to the test split
    assert all("/val/" not in path for path in by_split["test"])


def test_generate__same_photo_same_bytes_every_run_and_the_sizes_each_variant_promises(shared_data):
    samples = suite_samples(shared_data, per_class=1)
    for variant in VARIANTS:
        photos = list(generate(shared_data, variant, samples))
        again = next(generate(shared_data, variant, samples[1:2]))
        assert again.data == photos[1].data, variant  # each photo's own seed: the same bytes in any batch
        sizes = [Image.open(io.BytesIO(p.data)).size for p in photos]
        if variant == "phone_1280":
            assert all(max(size) == 1280 for size in sizes)
        if variant == "small_in_scene_1280":
            assert set(sizes) <= {(1280, 960), (960, 1280)}
        if variant == "wide_scene_2000":
            assert set(sizes) == {(2000, 1500)}


def test_suite_claims__every_photo_once_in_claims_of_one_class_and_registered_sizes(shared_data):
    photos = list(generate(shared_data, "as_is", suite_samples(shared_data, per_class=7)))
    claims = suite_claims(photos, "as_is")
    assert sorted(i for claim in claims for i in claim) == list(range(len(photos)))
    assert all(len({photos[i].label for i in claim}) == 1 for claim in claims)
    assert all(len(claim) in CLAIM_SIZES for claim in claims)
    assert Counter(len(c) for c in claims)[3] >= 4  # 7 photos per class: sizes 1, 2, 3, 1 in each class
    assert suite_claims(photos, "as_is") == claims


def test_claim_rates__count_wrongful_reject_and_approve_by_the_claims_truth():
    truths = [True, True, True, False, False]
    decisions = [Decision.REJECT, Decision.REFER, Decision.APPROVE, Decision.PARTIAL, Decision.REJECT]
    rates = claim_rates(truths, decisions)
    assert rates["wrongful_reject"] == pytest.approx(1 / 3)
    assert rates["wrongful_approve"] == pytest.approx(1 / 2)
    assert rates["refer"] == pytest.approx(1 / 5)
    assert rates["damaged_paid"] == pytest.approx(1 / 3)


def test_registered_threshold__largest_within_both_limits_else_protects_the_claimant_first():
    ok = {"wrongful_reject": MAX_WRONGFUL_REJECT, "refer": MAX_REFER}
    too_many_rejects = {"wrongful_reject": MAX_WRONGFUL_REJECT + 0.01, "refer": 0.1}
    too_many_refers = {"wrongful_reject": 0.0, "refer": MAX_REFER + 0.01}
    assert registered_threshold({"200": ok, "500": ok, "1000": too_many_rejects}) == 500
    assert registered_threshold({"200": too_many_refers, "500": too_many_refers, "2000": too_many_rejects}) == 500
    assert registered_threshold({"500": too_many_rejects, "2000": too_many_rejects}) == 500


def test_run_suite__shipped_model_on_a_small_slice__claims_and_photos_add_up(shared_data):
    if not DEFAULT_MODEL_PATH.is_file():
        pytest.skip("no exported model")
    terms = parse_terms(DEFAULT_TERMS_PATH.read_bytes())
    doc = run_suite(shared_data, DamageModel.load(), terms, per_class=2, variants=("as_is", "small_in_scene_1280"))
    assert doc["class_mix"] == {"whole": 2, "minor": 2, "moderate": 2, "severe": 2}
    assert doc["overall"]["photos"] == 16
    claims = doc["overall"]["claims"]
    # per class, 2 photos make a claim of 1 and a claim of 2: 4 claims per variant, 2 variants
    assert claims["claims"] == 8 * 2 and claims["undamaged_claims"] == 2 * 2
    grid = doc["no_damage_threshold_grid"]
    # a higher no-damage threshold can only turn more claims into REJECT
    rejects = [grid[k]["wrongful_reject"] for k in sorted(grid, key=int)]
    assert rejects == sorted(rejects)
