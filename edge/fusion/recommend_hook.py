"""The fusion engine's ``recommend(session, member)``, made from the edge recommender.

The member's history and sizes come from their directory profile, which the engine passes
only for members who consented to personalised service.
"""

from __future__ import annotations

from collections.abc import Callable

from edge.events.fusion import RecommendedItem
from edge.fusion.directory import MemberProfile
from edge.fusion.fitting_rooms import RoomSnapshot
from edge.recommend.filters import StockLookup
from edge.recommend.runtime import Recommender


def recommender_hook(
    recommender: Recommender, stock_of: StockLookup
) -> Callable[[RoomSnapshot, MemberProfile | None], list[RecommendedItem]]:
    """``stock_of``: the tag tracker's live stock view."""

    def recommend(session: RoomSnapshot, member: MemberProfile | None) -> list[RecommendedItem]:
        return recommender.recommend(
            session.gtins,
            member_history_gtins=member.history_gtins if member is not None else (),
            member_sizes=member.sizes if member is not None else (),
            stock=stock_of,
        )

    return recommend
