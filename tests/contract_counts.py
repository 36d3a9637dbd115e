"""Contract runs of the two HTTP APIs, and how many generated requests and messages the
contract and fuzz tests tried, printed at the end of the suite (issue 11: the suite states
what it tried)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

TRIED: Counter[str] = Counter()


def count(what: str, n: int = 1) -> None:
    TRIED[what] += n


def run_contract(schema: Any, what: str, examples: int, headers: dict[str, str]) -> list[str]:
    """Every operation of a Schemathesis schema, ``examples`` generated requests each (valid
    and invalid), with every check Schemathesis has; the failures, one line per operation."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            count(what)
            case.call_and_validate(headers=headers)

        try:
            check()
        except (Exception, BaseExceptionGroup) as error:  # every operation is tried
            text = " | ".join(line.strip() for line in str(error).splitlines() if line.strip())
            failures.append(f"{operation.label}: {text[:600]}")
    return failures
