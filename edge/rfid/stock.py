"""Live stock view: which tags are present in each zone, and how many per GTIN.

The tracker updates it on every change (``edge.rfid.tracker.apply_change``); anything that
sees the same changes, or the ``tag.*`` events made from them, can keep an identical view.
"""

from __future__ import annotations


class StockView:
    """Count per GTIN per zone of present tags, plus the tags in each zone.

    Tags whose EPC carries no GTIN (not an SGTIN) are listed by zone but not counted.
    Queries return fresh, sorted containers: callers may keep or change them.
    """

    __slots__ = ("_counts", "_zone_tags")

    def __init__(self) -> None:
        self._counts: dict[str, dict[str, int]] = {}
        # Insertion-ordered dicts used as sets: O(1) add/remove.
        self._zone_tags: dict[str, dict[str, None]] = {}

    def add(self, epc: str, gtin: str | None, zone: str) -> None:
        self._zone_tags.setdefault(zone, {})[epc] = None
        if gtin is not None:
            per_zone = self._counts.setdefault(gtin, {})
            per_zone[zone] = per_zone.get(zone, 0) + 1

    def remove(self, epc: str, gtin: str | None, zone: str) -> None:
        tags = self._zone_tags[zone]
        del tags[epc]
        if not tags:
            del self._zone_tags[zone]
        if gtin is not None:
            per_zone = self._counts[gtin]
            left = per_zone[zone] - 1
            if left:
                per_zone[zone] = left
            else:
                del per_zone[zone]
                if not per_zone:
                    del self._counts[gtin]

    def stock(self) -> dict[str, dict[str, int]]:
        """``{gtin: {zone: count}}`` of present tags; zones with no tag of a GTIN left out."""
        return {gtin: dict(sorted(self._counts[gtin].items())) for gtin in sorted(self._counts)}

    def stock_of(self, gtin: str) -> dict[str, int]:
        """``{zone: count}`` of present tags of one GTIN (empty when none is present)."""
        return dict(sorted(self._counts.get(gtin, {}).items()))

    def tags_in_zone(self, zone: str) -> list[str]:
        """EPCs of the tags present in ``zone``, sorted."""
        return sorted(self._zone_tags.get(zone, ()))

    def total(self) -> int:
        """Number of present tags (with or without a GTIN)."""
        return sum(len(tags) for tags in self._zone_tags.values())
