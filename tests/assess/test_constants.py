"""Tests for the decision codes and peril bits shared with the contracts."""

from __future__ import annotations

import pytest

from oracle.assess import Decision, Peril, peril_from_index, peril_index, peril_name


def test_decision__codes__match_contract_constants():
    assert [(d.name, int(d)) for d in Decision] == [("APPROVE", 1), ("PARTIAL", 2), ("REJECT", 3), ("REFER", 4)]


def test_peril__bits__match_documented_mask():
    assert [int(p) for p in (Peril.COLLISION, Peril.HAIL, Peril.FLOOD, Peril.WIND, Peril.THEFT, Peril.FIRE)] == [
        1,
        2,
        4,
        8,
        16,
        32,
    ]


def test_peril_from_index__contract_index__gives_bit_and_back():
    assert peril_from_index(1) is Peril.HAIL
    assert [peril_index(peril_from_index(i)) for i in range(6)] == list(range(6))
    assert peril_name(peril_from_index(3)) == "wind"


@pytest.mark.parametrize("index", [-1, 6, 15, True])
def test_peril_from_index__out_of_range__raises(index):
    with pytest.raises(ValueError, match="peril index"):
        peril_from_index(index)


@pytest.mark.parametrize("bits", [0, 3, 64])
def test_peril_name__not_a_single_known_bit__raises(bits):
    with pytest.raises(ValueError, match=f"peril {bits}"):
        peril_name(bits)
