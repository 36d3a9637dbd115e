"""POS sales: what a till may send, and the book that makes a repeated sale id idempotent.

A till sends a sale over HTTP (``POST /api/v1/sales``) or MQTT (``o2o/{store}/pos/sales``),
both as :class:`SaleSubmission` JSON. It is checked completely before anything is recorded
(422 / counted and logged on MQTT), then handed to the owner loop, where
:meth:`edge.fusion.engine.FusionEngine.on_sale` consults the :class:`SaleBook`:

- a sale id not seen before is recorded (``recorded``): a ``sale`` event for headquarters,
  its EPCs no longer raise ``exit_unsold``, open try-ons of its items become ``purchased``;
- the same sale id with the same body again (a till retrying after a timeout) changes nothing
  and answers what the first one did (``duplicate``);
- the same sale id with a different body is refused (``conflict``), nothing recorded.

Sale ids are remembered for ``fusion.sale_memory_s`` (a week by default).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from pydantic import ValidationError, model_validator

from edge.events.fusion import SalePayload
from edge.rfid.epc import gtin_of

TOTAL_TOLERANCE = 0.01
"""Rounding a till may do between its lines and its total, in the sale currency."""


def validation_problems(error: ValidationError) -> list[str]:
    """One line per problem, ``lines -> 0 -> epc: what is wrong``, for 422 bodies and logs."""
    problems = []
    for item in error.errors():
        where = " -> ".join(str(part) for part in item["loc"]) or "body"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append(f"{where}: {message}")
    return problems


class SaleSubmission(SalePayload):
    """A sale as a till must send it: :class:`SalePayload` plus the checks that only make
    sense at the door (the stored ``sale`` event stays lenient for older data)."""

    @model_validator(mode="after")
    def _consistent(self) -> SaleSubmission:
        epcs: set[str] = set()
        for number, line in enumerate(self.lines):
            if line.epc is None:
                continue
            where = f"lines -> {number}"
            if line.quantity != 1:
                raise ValueError(f"{where}: a line with an epc sells one item, not {line.quantity}")
            derived = gtin_of(line.epc)
            if derived is not None and line.gtin != derived:
                raise ValueError(
                    f"{where}: gtin {line.gtin} does not match epc {line.epc} (GTIN {derived})"
                )
            if line.epc in epcs:
                raise ValueError(f"{where}: epc {line.epc} is sold twice in this sale")
            epcs.add(line.epc)
        lines_total = sum(line.amount for line in self.lines)
        if abs(lines_total - self.total) > TOTAL_TOLERANCE:
            raise ValueError(
                f"total {self.total} is not the sum of the line amounts ({lines_total:.2f})"
            )
        return self

    def to_payload(self) -> SalePayload:
        return SalePayload.model_validate(self.model_dump())


class SaleStatus(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class SaleResult:
    sale_id: str
    status: SaleStatus
    message: str
    recorded_ms: int
    """When the sale was first recorded."""
    purchased_tryons: int = 0
    """Try-ons that this sale turned into purchases."""
    epcs_sold: tuple[str, ...] = ()
    """Items that may now leave through the exit (EPC lines, and GTIN lines matched to
    tried-on items or to items at a till)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    payload: SalePayload
    result: SaleResult


class SaleBook:
    def __init__(self, memory_s: float) -> None:
        self._memory_ms = round(memory_s * 1000)
        self._sales: dict[str, _Entry] = {}

    def earlier(self, payload: SalePayload) -> SaleResult | None:
        """The answer to a sale id seen before (duplicate or conflict), else None."""
        entry = self._sales.get(payload.sale_id)
        if entry is None:
            return None
        if entry.payload == payload:
            return replace(
                entry.result,
                status=SaleStatus.DUPLICATE,
                message=f"sale {payload.sale_id} was already recorded; nothing changed",
            )
        return SaleResult(
            sale_id=payload.sale_id,
            status=SaleStatus.CONFLICT,
            message=(
                f"sale {payload.sale_id} was already recorded with a different body; "
                "a correction needs a new sale id (or a return)"
            ),
            recorded_ms=entry.result.recorded_ms,
        )

    def record(self, payload: SalePayload, result: SaleResult) -> None:
        self._sales[payload.sale_id] = _Entry(payload, result)

    def tick(self, now_ms: int) -> None:
        """Forget sale ids older than the memory."""
        old = [k for k, e in self._sales.items() if now_ms - e.result.recorded_ms > self._memory_ms]
        for sale_id in old:
            del self._sales[sale_id]

    def __len__(self) -> int:
        return len(self._sales)
