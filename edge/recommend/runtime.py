"""The edge recommender: companions of the items in a fitting room, in stock, in size.

``Recommender.recommend`` runs the ONNX model (one thread) on the in-room items plus the
member's history (lower weight), walks the companions best first, keeps one variant per style
(the member's size when known, the candidate's colour first) that has units on the shop floor
or in the backroom right now, and tops up from the catalog fallback (complementary
categories, then anything in stock) so that the list is never empty while stock exists.

The model's item order must be the catalog's (its ``o2o.gtins`` metadata): a model trained for
another catalog is refused with a clear error, and ``reload`` swaps model and/or catalog
atomically (a refused reload keeps the running pair).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from edge.config.recommend import RecommendConfig
from edge.config.zones import ZoneKind
from edge.events.fusion import Reason, RecommendedItem, StockPlace
from edge.recommend import model_format as fmt
from edge.recommend.catalog import Catalog, Product
from edge.recommend.fallback import complement_source, every_style, fallback_candidates
from edge.recommend.filters import (
    SizeStock,
    StockLookup,
    ZoneStock,
    available_stock,
    excluded_styles,
    pick_variant,
    size_for_style,
    sizes_in_stock,
    variant_order,
)

if TYPE_CHECKING:
    from edge.config.store import StoreConfig

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = REPO_ROOT / "models" / "recommender" / "recommender.onnx"
DEMO_CATALOG = REPO_ROOT / "firmware_configs" / "demo_catalog.json"


class ModelError(ValueError):
    """A model file that cannot be used with this catalog (unreadable, wrong format, or
    trained for other products); the message says which and why."""


class StockSource(Protocol):
    def stock_of(self, gtin: str) -> Mapping[str, int]: ...


@dataclass
class RecommenderStats:
    calls: int = 0
    model_runs: int = 0
    fallback_picks: int = 0
    """Recommendations that came from the catalog fallback rather than the model."""
    unknown_gtins: int = 0
    """In-room or history GTINs not in the catalog (ignored)."""
    reloads: int = 0
    reloads_refused: int = 0


@dataclass(frozen=True, slots=True)
class LoadedModel:
    path: Path
    version: str
    catalog_version: str
    size: int
    """Number of products (the catalog's)."""
    session: Any = field(repr=False)
    """onnxruntime.InferenceSession."""


def load_model(path: Path, catalog: Catalog) -> LoadedModel:
    """Open an ONNX recommender for ``catalog`` on one thread; ModelError if it does not fit."""
    import onnxruntime as ort  # heavy: import on first load

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own unexported exception types
        raise ModelError(f"{path}: cannot load the recommender model: {error}") from None
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get(fmt.META_FORMAT) != fmt.FORMAT:
        raise ModelError(
            f"{path}: not an o2o recommender model (format {meta.get(fmt.META_FORMAT)!r}, "
            f"expected {fmt.FORMAT!r})"
        )
    try:
        gtins = json.loads(meta[fmt.META_GTINS])
    except (KeyError, json.JSONDecodeError):
        raise ModelError(f"{path}: metadata {fmt.META_GTINS} is missing or not JSON") from None
    version = meta.get(fmt.META_MODEL_VERSION, "?")
    catalog_version = meta.get(fmt.META_CATALOG_VERSION, "?")
    mismatch = gtin_mismatch(gtins, catalog.gtins)
    if mismatch:
        raise ModelError(
            f"{path}: model {version} was trained for catalog {catalog_version} "
            f"({len(gtins)} products) and does not match this store's catalog "
            f"{catalog.version} ({len(catalog)} products): {mismatch}. Retrain it for this "
            "catalog (python -m models.recommender.train) or sync both from HQ."
        )
    return LoadedModel(path, version, catalog_version, len(gtins), session)


def gtin_mismatch(model_gtins: Sequence[str], catalog_gtins: Sequence[str]) -> str:
    """Why the model's item order is not the catalog's ("" when it is)."""
    if list(model_gtins) == list(catalog_gtins):
        return ""
    if len(set(model_gtins)) != len(model_gtins):
        return "the model lists a product twice"
    missing = [g for g in catalog_gtins if g not in set(model_gtins)]
    extra = [g for g in model_gtins if g not in set(catalog_gtins)]
    if missing or extra:
        parts = []
        if missing:
            parts.append(
                f"{len(missing)} catalog product(s) unknown to the model (e.g. {missing[0]})"
            )
        if extra:
            parts.append(f"{len(extra)} model product(s) not in the catalog (e.g. {extra[0]})")
        return "; ".join(parts)
    first = next(
        i for i, (a, b) in enumerate(zip(model_gtins, catalog_gtins, strict=True)) if a != b
    )
    return f"same products in another order (first difference at index {first})"


@dataclass(frozen=True, slots=True)
class _State:
    """What one recommend() call uses; replaced as a whole by reload()."""

    catalog: Catalog
    model: LoadedModel | None


@dataclass(frozen=True, slots=True)
class _Candidate:
    product: Product
    score: float
    reason: Reason
    because: Product | None


class Recommender:
    """Thread-safe: ``recommend`` reads one immutable snapshot; ``reload`` replaces it."""

    def __init__(
        self,
        model_path: Path | None,
        catalog: Catalog,
        config: RecommendConfig,
        *,
        zone_kinds: Mapping[str, ZoneKind],
    ) -> None:
        """``model_path`` None runs on the catalog fallback alone. ``zone_kinds`` maps the
        store's zone ids to their kinds (which zones count as stock)."""
        self.config = config
        self.zone_kinds = dict(zone_kinds)
        self.stats = RecommenderStats()
        self._reload_lock = threading.Lock()
        model = load_model(model_path, catalog) if model_path is not None else None
        self._state = _State(catalog, model)
        if model is not None:
            log.info(
                "recommender: model %s (%d products) for catalog %s",
                model.version,
                model.size,
                catalog.version,
            )

    @classmethod
    def from_store_config(
        cls, store: StoreConfig, *, model_path: Path | None, catalog: Catalog
    ) -> Recommender:
        return cls(
            model_path, catalog, store.recommend, zone_kinds={z.id: z.kind for z in store.zones}
        )

    @property
    def catalog(self) -> Catalog:
        return self._state.catalog

    @property
    def model_version(self) -> str | None:
        model = self._state.model
        return model.version if model is not None else None

    def reload(self, model_path: Path | None = None, *, catalog: Catalog | None = None) -> None:
        """Swap in a new model and/or catalog (the sync client's downlink calls this).

        Checked before the swap: on ModelError the running model and catalog stay. A new
        catalog without a new model keeps the current model only if it still matches."""
        with self._reload_lock:
            current = self._state
            new_catalog = catalog if catalog is not None else current.catalog
            model: LoadedModel | None
            try:
                if model_path is not None:
                    model = load_model(model_path, new_catalog)
                elif current.model is not None and catalog is not None:
                    model = load_model(current.model.path, new_catalog)
                else:
                    model = current.model
            except ModelError:
                self.stats.reloads_refused += 1
                raise
            self._state = _State(new_catalog, model)
            self.stats.reloads += 1
        log.info(
            "recommender: now model %s, catalog %s",
            model.version if model else None,
            new_catalog.version,
        )

    # Recommending -------------------------------------------------------------------------
    def recommend(
        self,
        in_room_gtins: Iterable[str],
        *,
        member_history_gtins: Iterable[str] = (),
        member_sizes: str | Sequence[str] = (),
        stock: StockLookup | StockSource,
        limit: int | None = None,
    ) -> list[RecommendedItem]:
        """Up to ``limit`` (config default) companions for a fitting room, best first.

        ``member_history_gtins``: the member's purchases and try-ons, most recent first.
        ``member_sizes``: the sizes they buy, most bought first (``sizes_from_purchases``):
        each recommended style is shown in the first of them it comes in, or not at all if
        that size is not in stock. ``stock``: ``TagTracker``/``StockView`` or its
        ``stock_of``."""
        state = self._state
        catalog = state.catalog
        limit = self.config.limit if limit is None else limit
        # Not isinstance(stock, StockSource): a runtime Protocol check costs ~50 us a call.
        lookup: StockLookup = stock.stock_of if hasattr(stock, "stock_of") else stock
        self.stats.calls += 1
        in_room = self._known(catalog, dict.fromkeys(in_room_gtins))
        room_gtins = {p.gtin for p in in_room}
        history = [
            p
            for p in self._known(catalog, dict.fromkeys(member_history_gtins))
            if p.gtin not in room_gtins
        ][: self.config.history_max_items]
        sizes = (member_sizes,) if isinstance(member_sizes, str) else tuple(member_sizes)
        room_sizes = {p.size for p in in_room}
        kinds = self.config.stock_zone_kinds

        def stock_of(product: Product) -> tuple[ZoneStock, ...]:
            return available_stock(lookup(product.gtin), self.zone_kinds, kinds)

        seen_styles = excluded_styles(in_room)
        picks: list[RecommendedItem] = []
        for candidate in self._candidates(state, in_room, history):
            if len(picks) >= limit:
                break
            product = candidate.product
            if product.style in seen_styles:
                continue
            seen_styles.add(product.style)
            variants = catalog.variants(product.style)
            member_size = size_for_style(variants, sizes)
            ordered = variant_order(
                product, variants, member_size=member_size, preferred_sizes=room_sizes
            )
            picked = pick_variant(ordered, stock_of)
            if picked is None:
                continue
            chosen, _ = picked
            if candidate.reason in (Reason.COMPLEMENTS, Reason.IN_STOCK):
                self.stats.fallback_picks += 1
            picks.append(
                _recommendation(candidate, chosen, sizes_in_stock(chosen, variants, stock_of))
            )
        return picks

    def _known(self, catalog: Catalog, gtins: Iterable[str]) -> list[Product]:
        products = []
        for gtin in gtins:
            product = catalog.get(gtin)
            if product is None:
                self.stats.unknown_gtins += 1
            else:
                products.append(product)
        return products

    def _candidates(
        self, state: _State, in_room: Sequence[Product], history: Sequence[Product]
    ) -> Iterator[_Candidate]:
        """Model companions best first, then the complementary categories, then anything."""
        if state.model is not None and (in_room or history):
            yield from self._model_candidates(state, in_room, history)
        complements = self.config.complements
        for product in fallback_candidates(state.catalog, in_room, complements):
            yield _Candidate(
                product, 0.0, Reason.COMPLEMENTS, complement_source(product, in_room, complements)
            )
        for product in every_style(state.catalog):
            yield _Candidate(product, 0.0, Reason.IN_STOCK, None)

    def _model_candidates(
        self, state: _State, in_room: Sequence[Product], history: Sequence[Product]
    ) -> Iterator[_Candidate]:
        assert state.model is not None
        catalog = state.catalog
        inputs = [*in_room, *history]
        items = np.array([catalog.index_of(p.gtin) for p in inputs], dtype=np.int64)
        weights = np.array(
            [1.0] * len(in_room) + [self.config.history_weight] * len(history), dtype=np.float32
        )
        k = min(self.config.candidates, state.model.size)
        scores, indices, contributions = state.model.session.run(
            [fmt.OUTPUT_SCORES, fmt.OUTPUT_INDICES, fmt.OUTPUT_CONTRIBUTIONS],
            {
                fmt.INPUT_ITEMS: items,
                fmt.INPUT_WEIGHTS: weights,
                fmt.INPUT_K: np.array([k], dtype=np.int64),
            },
        )
        self.stats.model_runs += 1
        drivers = np.argmax(contributions, axis=0)
        for column, (score, index) in enumerate(zip(scores[0], indices[0], strict=True)):
            if score <= 0.0:
                break  # sorted: the model knows nothing more
            driver = int(drivers[column])
            reason = Reason.GOES_WITH if driver < len(in_room) else Reason.MEMBER_HISTORY
            yield _Candidate(catalog.products[int(index)], float(score), reason, inputs[driver])


_TEXT: dict[Reason, Callable[[Product | None], str]] = {
    Reason.GOES_WITH: lambda p: f"Goes with your {p.label}" if p else "Goes with your choice",
    Reason.MEMBER_HISTORY: lambda p: f"Matches your {p.label}" if p else "Picked for you",
    Reason.COMPLEMENTS: lambda p: f"Completes your {p.name}" if p else "You might like",
    Reason.IN_STOCK: lambda p: "In store now",
}


def _recommendation(
    candidate: _Candidate, chosen: Product, sizes: tuple[SizeStock, ...]
) -> RecommendedItem:
    because = candidate.because
    return RecommendedItem(
        gtin=chosen.gtin,
        name=chosen.name,
        category=chosen.category,
        colour=chosen.colour,
        size=chosen.size,
        price=chosen.price,
        image=chosen.image,
        # Rounded: the same scores from another machine's float noise give the same JSON.
        score=round(candidate.score, 6),
        reason=candidate.reason,
        because_gtin=because.gtin if because else None,
        text=_TEXT[candidate.reason](because),
        sizes_in_stock={
            size.size: [
                StockPlace(zone=z.zone, kind=z.kind.value, count=z.count) for z in size.zones
            ]
            for size in sizes
        },
    )


def default_paths(config: RecommendConfig, data_dir: Path) -> tuple[Path, Path]:
    """(model, catalog) to load: as configured (relative to ``data_dir``), else the files the
    sync client downloads from HQ into ``data_dir``, else the demo's shipped ones."""
    downloaded_model = data_dir / "models" / "recommender.onnx"
    downloaded_catalog = data_dir / "catalog.json"
    if config.model_path is not None:
        model = data_dir / config.model_path
    else:
        model = downloaded_model if downloaded_model.is_file() else SHIPPED_MODEL
    if config.catalog_path is not None:
        catalog = data_dir / config.catalog_path
    else:
        catalog = downloaded_catalog if downloaded_catalog.is_file() else DEMO_CATALOG
    return model, catalog
