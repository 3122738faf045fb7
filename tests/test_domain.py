"""The domain constants are the contracts' own numbers, and the dApp receives them rather than a copy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from oracle.domain import (
    AREA_GRID_E6,
    DISPUTE_TIMEOUT_S,
    MAX_CLASS_FACTOR_BPS,
    MAX_VEHICLE_CLASSES,
    REPO_ROOT,
    STALE_AFTER_S,
    ClaimStatus,
    Decision,
    Ruling,
    dapp_constants,
    meta_evidence,
)

CLAIMS_MANAGER = REPO_ROOT / "contracts" / "ClaimsManager.vy"


def contract_constants(source: Path = CLAIMS_MANAGER) -> dict[str, int]:
    """Every `NAME: constant(uint...) = N` of a contract (ClaimsManager.vy unless told)."""
    text = source.read_text()
    return {
        m[1]: int(m[2].replace("_", "")) for m in re.finditer(r"^(\w+): constant\(u?int\d+\) = ([0-9_]+)$", text, re.M)
    }


@pytest.mark.parametrize("enum", [Decision, ClaimStatus])
def test_domain__decisions_and_statuses__equal_the_contract_constants(enum):
    constants = contract_constants()
    assert {member.name: int(member) for member in enum} == {member.name: constants[member.name] for member in enum}


def test_domain__area_grid__equals_the_contract_constant():
    assert contract_constants()["AREA_GRID_E6"] == AREA_GRID_E6 == dapp_constants()["areaGridE6"]


def test_domain__vehicle_classes__equal_the_manager_and_governor_constants():
    governor = contract_constants(REPO_ROOT / "contracts" / "ProductGovernor.vy")
    assert contract_constants()["MAX_CLASSES"] == governor["MAX_CLASSES"] == MAX_VEHICLE_CLASSES
    assert dapp_constants()["maxVehicleClasses"] == MAX_VEHICLE_CLASSES
    # the policy word keeps the class in 4 bits, the premium word a 20-bit factor per class above the base premium
    assert MAX_VEHICLE_CLASSES <= 16 and 96 + MAX_VEHICLE_CLASSES * governor["PREMIUM_FACTOR_BITS"] <= 256
    assert 2 ** governor["PREMIUM_FACTOR_BITS"] - 1 == MAX_CLASS_FACTOR_BPS


def test_domain__stale_delay__equals_the_contract_constant():
    text = CLAIMS_MANAGER.read_text()
    days = int(re.search(r"^STALE_AFTER: constant\(uint256\) = (\d+) \* DAY$", text, re.M)[1])
    assert days * contract_constants()["DAY"] == STALE_AFTER_S


def test_domain__dispute_timeout__equals_the_desk_constant():
    text = (REPO_ROOT / "contracts" / "DisputeDesk.vy").read_text()
    days = int(re.search(r"^DISPUTE_TIMEOUT: (?:public\()?constant\(uint256\)\)? = (\d+) \* 86_400$", text, re.M)[1])
    assert days * 86_400 == DISPUTE_TIMEOUT_S == dapp_constants()["disputeTimeoutS"]


def test_domain__rulings__equal_the_desk_constants():
    constants = contract_constants(REPO_ROOT / "contracts" / "DisputeDesk.vy")
    assert {r.name: int(r) for r in Ruling} == {r.name: constants[f"RULING_{r.name}"] for r in Ruling}


def test_domain__review_status__equals_the_desk_constant():
    assert contract_constants(REPO_ROOT / "contracts" / "DisputeDesk.vy")["REVIEW"] == ClaimStatus.REVIEW


def test_meta_evidence__ruling_options__one_title_and_description_per_numbered_ruling():
    options = meta_evidence("Motor own damage", "Claims decided by an oracle committee")["rulingOptions"]
    assert len(options["titles"]) == len(options["descriptions"]) == len(Ruling) - 1  # 0 is "refused to rule"
    assert options["titles"][0].startswith("The assessed amount")


def test_dapp_constants__words_for_every_decision_and_rule_outcome():
    from oracle.assess.engine import INFO, REFER, REJECT

    served = dapp_constants()
    assert set(served["decisionWords"]) == set(served["decisions"])
    assert set(served["ruleOutcomeWords"]) == {INFO, REFER, REJECT}


def test_dapp_constants__no_hand_kept_copy_in_the_dapp():
    served = dapp_constants()
    assert served["decisions"] == {"APPROVE": 1, "PARTIAL": 2, "REJECT": 3, "REFER": 4}
    assert served["perils"][:2] == ["collision", "hail"] and served["classes"][0] == "whole"
    sources = "\n".join(p.read_text() for p in (REPO_ROOT / "dapp").glob("*.js"))
    assert '"APPROVE", "PARTIAL"' not in sources and '["collision", "hail"' not in sources
