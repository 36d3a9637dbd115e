"""Sale validation at the door, idempotent sale ids, conflicts, memory."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from edge.fusion.sales import SaleStatus, SaleSubmission, validation_problems
from tests.fusion.fusion_store import MIN, SWEATER_NAVY_M, T0, Store, epc, gtin, kinds

SWEATER = epc(SWEATER_NAVY_M, 1)


def sale(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sale_id": "s-1",
        "till_id": "till-1",
        "total": 89.0,
        "lines": [{"epc": SWEATER.lower(), "amount": 89.0}],
    }
    body.update(changes)
    return body


def test_valid_sale_is_normalised() -> None:
    parsed = SaleSubmission.model_validate(
        sale(
            total=139.0,
            lines=[
                {"epc": SWEATER.lower(), "amount": 89.0},
                {"gtin": "12345670", "quantity": 2, "amount": 50.0},
            ],
        )
    ).to_payload()
    assert parsed.lines[0].epc == SWEATER
    assert parsed.lines[0].gtin == gtin(SWEATER_NAVY_M)  # derived from the EPC
    assert parsed.lines[1].gtin == "00000012345670"  # GTIN-8 padded to GTIN-14


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (sale(lines=[]), "lines: List should have at least 1 item"),
        (sale(lines=[{"amount": 1.0}], total=1.0), "a sale line needs an epc or a gtin"),
        (sale(lines=[{"epc": "XYZ", "amount": 89.0}]), "lines -> 0 -> epc: String should match"),
        (
            sale(lines=[{"epc": SWEATER, "quantity": 2, "amount": 89.0}]),
            "lines -> 0: a line with an epc sells one item, not 2",
        ),
        (
            sale(lines=[{"epc": SWEATER, "gtin": "04012345678901", "amount": 89.0}]),
            f"does not match epc {SWEATER}",
        ),
        (
            sale(total=178.0, lines=[{"epc": SWEATER, "amount": 89.0}] * 2),
            f"lines -> 1: epc {SWEATER} is sold twice in this sale",
        ),
        (sale(total=90.0), "total 90.0 is not the sum of the line amounts (89.00)"),
        (sale(lines=[{"epc": SWEATER, "amount": -1.0}], total=0), "greater than or equal to 0"),
        (sale(currency="euro"), "currency: String should match pattern"),
        (sale(sale_id=""), "sale_id: String should have at least 1 character"),
        (sale(discount=5), "discount: unknown field"),
    ],
    ids=[
        "no-lines",
        "line-without-item",
        "bad-epc",
        "epc-quantity",
        "gtin-mismatch",
        "epc-twice",
        "total",
        "negative",
        "currency",
        "empty-id",
        "unknown-field",
    ],
)
def test_invalid_sales_say_what_is_wrong(body: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SaleSubmission.model_validate(body)
    assert any(problem in line for line in validation_problems(caught.value)), validation_problems(
        caught.value
    )


def test_repeated_sale_id_is_idempotent_and_a_different_body_conflicts() -> None:
    store = Store()
    payload = SaleSubmission.model_validate(sale()).to_payload()
    first, events = store.sale(payload, T0)
    assert first.status is SaleStatus.RECORDED and kinds(events) == ["sale"]
    assert first.epcs_sold == (SWEATER,)

    again, events = store.sale(payload, T0 + MIN)
    assert kinds(events) == []
    assert again.status is SaleStatus.DUPLICATE
    assert (again.recorded_ms, again.epcs_sold) == (first.recorded_ms, first.epcs_sold)

    other = SaleSubmission.model_validate(
        sale(total=80.0, lines=[{"epc": SWEATER, "amount": 80.0}])
    )
    conflict, events = store.sale(other.to_payload(), T0 + 2 * MIN)
    assert kinds(events) == []
    assert conflict.status is SaleStatus.CONFLICT
    assert "already recorded with a different body" in conflict.message
    assert store.engine.stats.sales_recorded == 1
    assert store.engine.stats.sales_duplicate == 1
    assert store.engine.stats.sales_conflict == 1


def test_sale_ids_are_forgotten_after_the_memory() -> None:
    store = Store()
    payload = SaleSubmission.model_validate(sale()).to_payload()
    store.sale(payload, T0)
    store.tick(T0 + 8 * 24 * 60 * MIN)
    assert len(store.engine.sales) == 0


def test_a_return_marks_nothing_sold() -> None:
    store = Store()
    store.put(SWEATER, "shelf-a", T0)
    result, events = store.sale(sale(sale_id="r-1", returned=True), T0 + MIN)
    assert kinds(events) == ["sale"] and result.epcs_sold == ()
    assert kinds(store.depart(SWEATER, T0 + 2 * MIN, via_exit=True)) == ["alert.raised:exit_unsold"]
