"""Shopping history the recommender learns from: fitting-room sessions and purchase baskets.

At headquarters the history comes from synced ``tryon.*`` and ``sale`` events (one basket per
fitting-room session, one per sale). For the demo and the tests, :func:`generate_history`
makes a synthetic but plausible one (seeded) from latent tastes the model never sees:

- categories that go together (a shirt with trousers and a belt, a sweater with chinos, a
  jacket with a shirt, a dress with shoes and a bag), stronger or weaker;
- a hidden "look" per style (a point on a circle: casual, smart, outdoor, ...): styles with
  close looks are combined more often;
- style popularity that drifts with the season (shorts and linen up towards spring, coats
  down), and a few styles launched late (no history before their launch: cold start);
- each shopper has a size per size run (tops, waist, shoes) and mostly takes that size.

A basket is a JSON line ``{"day": "2026-01-31", "kind": "tryon"|"purchase", "gtins": [...]}``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path

from edge.recommend.catalog import Catalog, Product


class BasketKind(StrEnum):
    TRYON = "tryon"
    PURCHASE = "purchase"


@dataclass(frozen=True, slots=True)
class Basket:
    day: date
    kind: BasketKind
    gtins: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps(
            {"day": self.day.isoformat(), "kind": self.kind.value, "gtins": list(self.gtins)}
        )

    @classmethod
    def from_json(cls, line: str) -> Basket:
        data = json.loads(line)
        return cls(date.fromisoformat(data["day"]), BasketKind(data["kind"]), tuple(data["gtins"]))


def write_history(baskets: Iterable[Basket], path: Path) -> None:
    path.write_text("".join(basket.to_json() + "\n" for basket in baskets), encoding="utf-8")


def read_history(path: Path) -> list[Basket]:
    baskets = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            baskets.append(Basket.from_json(line))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a basket ({error!r})") from None
    return baskets


# Latent category affinities (symmetric, 0..1): what shoppers take into a room together.
CATEGORY_AFFINITY: dict[tuple[str, str], float] = {
    ("shirt", "trousers"): 1.0,
    ("shirt", "chinos"): 0.9,
    ("shirt", "belt"): 0.7,
    ("shirt", "jacket"): 0.9,
    ("shirt", "sweater"): 0.5,
    ("shirt", "shoes"): 0.4,
    ("sweater", "chinos"): 1.0,
    ("sweater", "jeans"): 0.7,
    ("sweater", "scarf"): 0.6,
    ("sweater", "shirt"): 0.5,
    ("sweater", "coat"): 0.4,
    ("sweater", "skirt"): 0.6,
    ("cardigan", "tee"): 0.8,
    ("cardigan", "chinos"): 0.6,
    ("cardigan", "dress"): 0.6,
    ("tee", "jeans"): 1.0,
    ("tee", "shorts"): 0.8,
    ("tee", "jacket"): 0.6,
    ("tee", "shoes"): 0.4,
    ("polo", "chinos"): 0.8,
    ("polo", "shorts"): 0.9,
    ("polo", "belt"): 0.4,
    ("jeans", "belt"): 0.6,
    ("jeans", "shoes"): 0.5,
    ("chinos", "belt"): 0.7,
    ("chinos", "shoes"): 0.5,
    ("trousers", "belt"): 0.8,
    ("trousers", "shoes"): 0.7,
    ("trousers", "jacket"): 0.6,
    ("jacket", "scarf"): 0.3,
    ("coat", "scarf"): 0.9,
    ("coat", "hat"): 0.6,
    ("coat", "trousers"): 0.4,
    ("shoes", "socks"): 0.7,
    ("dress", "shoes"): 0.8,
    ("dress", "bag"): 0.7,
    ("dress", "belt"): 0.4,
    ("dress", "coat"): 0.3,
    ("skirt", "blouse"): 1.0,
    ("skirt", "bag"): 0.4,
    ("skirt", "shoes"): 0.5,
    ("blouse", "trousers"): 0.4,
    ("blouse", "bag"): 0.4,
}
_UNRELATED = 0.02
_SEASONAL: dict[str, float] = {"shorts": 1.0, "polo": 0.7, "coat": -0.8, "hat": -0.6}
"""Popularity slope over the history (+ rises towards spring, - falls)."""
_LATE_LAUNCH_SHARE = 0.1
"""Share of styles launched in the last sixth of the range: no earlier history."""


def category_affinity(a: str, b: str) -> float:
    return CATEGORY_AFFINITY.get((a, b)) or CATEGORY_AFFINITY.get((b, a)) or _UNRELATED


@dataclass(frozen=True, slots=True)
class _Style:
    name: str
    category: str
    popularity: float
    look: float
    """Angle on the circle of looks."""
    launch_day: int
    run: tuple[str, ...]
    """Sizes offered, in catalog order."""
    colours: tuple[str, ...]
    colour_weights: tuple[float, ...]
    by_colour_size: dict[tuple[str, str], Product]


def _styles(catalog: Catalog, rng: random.Random, days: int) -> list[_Style]:
    styles = []
    for name in catalog.styles:
        variants = catalog.variants(name)
        colours = tuple(sorted({p.colour for p in variants}))
        late = rng.random() < _LATE_LAUNCH_SHARE
        styles.append(
            _Style(
                name=name,
                category=variants[0].category,
                popularity=rng.lognormvariate(0.0, 0.7),
                look=rng.uniform(0, 2 * math.pi),
                launch_day=int(days * rng.uniform(5 / 6, 1.0)) if late else 0,
                run=tuple(dict.fromkeys(p.size for p in variants)),
                colours=colours,
                colour_weights=tuple(rng.gammavariate(2.0, 1.0) for _ in colours),
                by_colour_size={(p.colour, p.size): p for p in variants},
            )
        )
    return styles


def _clamp(index: int, run: tuple[str, ...]) -> int:
    return min(len(run) - 1, max(0, index))


class _Generator:
    def __init__(self, catalog: Catalog, rng: random.Random, days: int) -> None:
        self.rng = rng
        self.days = days
        self.styles = _styles(catalog, rng, days)
        self.runs = sorted({style.run for style in self.styles})
        self.affinity = [
            [
                0.0
                if a is b
                else category_affinity(a.category, b.category)
                * math.exp(1.5 * math.cos(a.look - b.look))
                for b in self.styles
            ]
            for a in self.styles
        ]

    def popularity(self, day: int) -> list[float]:
        phase = day / max(1, self.days - 1) - 0.5
        return [
            0.0
            if style.launch_day > day
            else style.popularity * math.exp(_SEASONAL.get(style.category, 0.0) * phase * 2.0)
            for style in self.styles
        ]

    def shopper_sizes(self) -> dict[tuple[str, ...], int]:
        """Index into each size run; the runs correlate through one latent build."""
        build = self.rng.gauss(0.0, 1.0)
        sizes = {}
        for run in self.runs:
            centre = (len(run) - 1) / 2 + build * len(run) / 4
            sizes[run] = _clamp(round(centre + self.rng.gauss(0.0, 0.4)), run)
        return sizes

    def variant(self, style: _Style, sizes: dict[tuple[str, ...], int]) -> Product:
        colour = self.rng.choices(style.colours, weights=style.colour_weights)[0]
        index = sizes[style.run]
        if self.rng.random() < 0.15:  # the next size up or down
            index = _clamp(index + self.rng.choice((-1, 1)), style.run)
        return style.by_colour_size[(colour, style.run[index])]

    def session(self, popularity: list[float]) -> list[Product]:
        everyone = range(len(self.styles))
        anchor = self.rng.choices(everyone, weights=popularity)[0]
        sizes = self.shopper_sizes()
        chosen = [anchor]
        for _ in range(min(3, 1 + self._poisson(0.9))):
            source = self.affinity[self.rng.choice(chosen)]
            weights = [0.0 if j in chosen else source[j] * popularity[j] for j in everyone]
            if sum(weights) <= 0:
                break
            chosen.append(self.rng.choices(everyone, weights=weights)[0])
        items = [self.variant(self.styles[i], sizes) for i in chosen]
        if self.rng.random() < 0.2:  # a second colour or size of the first item
            items.append(self.variant(self.styles[anchor], sizes))
        return list({p.gtin: p for p in items}.values())

    def _poisson(self, mean: float) -> int:
        # Knuth's method: fine for the small means used here.
        limit, count, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            count += 1
            product *= self.rng.random()
        return count


def generate_history(
    catalog: Catalog,
    *,
    start: date,
    end: date,
    sessions_per_day: int = 40,
    seed: int = 0,
) -> list[Basket]:
    """Try-on sessions and purchases from ``start`` to ``end`` (inclusive), seeded."""
    rng = random.Random(seed)
    days = (end - start).days + 1
    generator = _Generator(catalog, rng, days)
    baskets = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        popularity = generator.popularity(offset)
        for _ in range(round(sessions_per_day * rng.uniform(0.7, 1.3))):
            items = generator.session(popularity)
            baskets.append(Basket(day, BasketKind.TRYON, tuple(p.gtin for p in items)))
            bought = tuple(p.gtin for p in items if rng.random() < 0.45)
            if bought:
                baskets.append(Basket(day, BasketKind.PURCHASE, bought))
    return baskets


def split_by_day(baskets: Sequence[Basket], cutoff: date) -> tuple[list[Basket], list[Basket]]:
    """Training baskets (before ``cutoff``) and held-out ones (from it on)."""
    return [b for b in baskets if b.day < cutoff], [b for b in baskets if b.day >= cutoff]
