"""Bounds of what the store and headquarters accept, defined once (docs/hq.md, "Limits").

The edge refuses input beyond them at the door (tablets, tills over HTTP and MQTT, staff
acknowledgements); headquarters checks every event against them again and answers a
per-event ``invalid`` naming the field, never a 500, for anything still out of bounds. HQ's
column widths are these numbers.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

INT32_MAX = 2**31 - 1
EVENT_TYPE_MAX = 64
STORE_ID_MAX = 64
MEMBER_ID_MAX = 40
GTIN_MAX = 14
SALE_ID_MAX = 100
TILL_ID_MAX = 100
STAFF_ID_MAX = 100
OUTCOME_MAX = 30
CURRENCY_LEN = 3

MAX_QUANTITY = 10_000
"""Units on one sale line."""
MAX_LINE_AMOUNT = 10_000_000.0
"""Amount of one sale line, in the sale's currency (ten million)."""
MAX_SALE_TOTAL = 100_000_000.0
"""Total of one sale (a hundred million): far above any till, far below any overflow."""
MAX_VISITORS = 100_000
"""People one camera counts in one minute."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> str:
    found = _CONTROL.search(value)
    if found:
        raise ValueError(f"control character {found.group()!r} not allowed")
    return value


Text = Annotated[
    str,
    AfterValidator(_printable),
    # The same rule in the OpenAPI and JSON Schemas, for clients and fuzzers.
    Field(json_schema_extra={"pattern": "^[^\\x00-\\x1f\\x7f]*$"}),
]
"""A string without NUL or other control characters."""


def bounded_text(max_length: int, *, min_length: int = 0) -> Any:
    """A :data:`Text` field type of at most ``max_length`` characters."""
    return Annotated[Text, Field(min_length=min_length, max_length=max_length)]


def nul_path(value: Any, path: str = "") -> str | None:
    """The JSON path of the first string (key or value) holding a NUL character, or None.
    PostgreSQL stores no NUL in text or JSON: HQ refuses such an event by name."""
    if isinstance(value, str):
        return (path or "(the value)") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and "\x00" in key:
                return here
            found = nul_path(item, here)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def finite_amount(value: Any, maximum: float) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and abs(number) <= maximum
