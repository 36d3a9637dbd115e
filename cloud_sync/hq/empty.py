"""Why a report is empty: so that "no rows" is never mistaken for "no sales" (the console's
empty states and the reports API's ``why_empty`` say the same)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_sync.hq.models import Activity, SaleLine


def latest_day(session: Session, stores: frozenset[str] | None) -> date | None:
    """The newest UTC day with activity or sales in these stores (None: all)."""
    found = []
    for column, store_col in ((Activity.day, Activity.store_id), (SaleLine.day, SaleLine.store_id)):
        stmt = select(func.max(column))
        if stores is not None:
            stmt = stmt.where(store_col.in_(sorted(stores)))
        day = session.scalar(stmt)
        if day:
            found.append(day)
    return date.fromisoformat(max(found)) if found else None


def no_data(
    session: Session,
    *,
    what: str,
    store_id: str | None,
    day_from: date | None,
    day_to: date | None,
) -> str:
    """One sentence: the window asked for, and where the newest data is."""
    stores = frozenset({store_id}) if store_id else None
    where = f" in store {store_id}" if store_id else ""
    span = f" from {day_from or 'the start'} to {day_to or 'today'}" if day_from or day_to else ""
    latest = latest_day(session, stores)
    if latest is None:
        return f"No {what}{where}: no try-ons, visits or sales have been uploaded yet."
    return f"No {what}{where}{span}. The newest data is from {latest} (UTC)."


def nothing_flagged(most_tries: int, min_tries: int, max_conversion: float) -> str:
    """Tried often, bought rarely found nothing: say which threshold kept products out."""
    if most_tries == 0:
        return "No try-on with an outcome in this window."
    if most_tries < min_tries:
        return (
            f"No product was tried {min_tries} times or more (the most tried: {most_tries}); "
            f"lower min_tries to see products."
        )
    return (
        f"Every product tried {min_tries} times or more converted above "
        f"{max_conversion:.0%}; raise max_conversion to see the weakest."
    )
