"""Downlink: what the store pulls from headquarters, by version (ETag / If-None-Match).

- catalog  -> ``data_dir/catalog.json``, written atomically;
- gallery  -> a :class:`GallerySink` (the encrypted member gallery of ``edge/vision``); the
  payload is Fernet-encrypted with a key derived from the store's secret, so embeddings stay
  encrypted past any TLS terminator;
- erasures -> ``remove_member`` for each order, the last seq remembered, so a member erased at
  HQ has no embedding left on the edge after the next sync;
- stock    -> HQ's count of stock snapshot requests; when it grows, ``on_stock_request`` (the
  store sends a full snapshot: HQ missed a change, docs/sync.md "Stock at HQ");
- reservations -> the store's open online reservations (``edge.events.reservations``), handed
  to ``on_reservations`` each time they change; in memory only, like nearby_stock;
- sold_epcs -> the EPCs sold chain-wide recently (``edge.alerts.sold_set`` wire form), written
  atomically to ``data_dir/sync/sold_epcs.bin`` (the edge loads it at start) and handed to
  ``on_sold_set``; a damaged set is refused and the one in use stays;
- nearby_stock -> the stock of the chain's stores near this one (``edge.events.stock``), handed
  to ``on_nearby_stock``; kept in memory only (its ETag is not saved: after a restart the
  first poll fetches it whole);
- model    -> downloaded beside ``data_dir/models/recommender.onnx``, checked by size and
  SHA-256, then atomically swapped in and announced (``on_model``); a wrong checksum is
  refused, logged and counted, and the running model stays.

ETags, versions and the erasure seq persist in ``data_dir/sync/downlink.json`` so that a
restart neither re-downloads unchanged data nor misses an erasure.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import httpx
import numpy as np
from cryptography.fernet import Fernet, InvalidToken

from cloud_sync import protocol
from cloud_sync.client.http import HqClient
from edge.alerts.sold_set import SoldSet, SoldSetError
from edge.clock import Clock, SystemClock
from edge.config.sync import SyncConfig
from edge.events.reservations import Reservation
from edge.events.stock import NearbyStock

log = logging.getLogger(__name__)

MODEL_FILE = Path("models") / "recommender.onnx"
CATALOG_FILE = Path("catalog.json")
STATE_FILE = Path("sync") / "downlink.json"
SOLD_SET_FILE = Path("sync") / "sold_epcs.bin"


class GallerySink(Protocol):
    """Where member embeddings go (``edge/vision/gallery.py`` provides it)."""

    def replace_members(self, members: Mapping[str, np.ndarray]) -> None:
        """HQ's full set of consented members: afterwards the gallery holds exactly these
        (member id -> float64 array of shape (n_embeddings, width), 128 wide for dlib)."""
        ...

    def remove_member(self, member_id: str) -> object:
        """Erase every embedding of this member (a no-op when there is none)."""
        ...


class Resource(StrEnum):
    CATALOG = "catalog"
    GALLERY = "gallery"
    MODEL = "model"
    ERASURES = "erasures"
    STOCK = "stock"
    RESERVATIONS = "reservations"
    SOLD_EPCS = "sold_epcs"
    NEARBY_STOCK = "nearby_stock"


IN_MEMORY = frozenset({Resource.RESERVATIONS, Resource.NEARBY_STOCK})
"""Resources the edge keeps only in memory: their ETags are not saved across a restart (a
restarted edge that sent one would get a 304 and hold nothing until HQ's answer changed)."""


class DownlinkError(ValueError):
    """HQ sent something the edge cannot use; the previous data stays in place."""


@dataclass(slots=True)
class DownlinkState:
    etags: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    erasures_seq: int = 0
    stock_requests: int = 0
    unconfirmed: dict[str, int] = field(default_factory=dict)
    """Gallery version / erasure seq applied here and not yet confirmed to HQ."""
    last_poll_ms: dict[str, int] = field(default_factory=dict)
    last_success_ms: int | None = None
    last_error: str | None = None
    last_error_ms: int | None = None
    errors: int = 0
    models_refused: int = 0


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, fsync, rename, fsync the folder: readers
    see the old file or the new one, never half of one, even after a power cut."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def decode_gallery(token: str, secret: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """Decrypt and validate a gallery payload: ``(members, erased member ids)``."""
    try:
        plain = Fernet(protocol.derive_key(secret, "gallery")).decrypt(token.encode())
    except (InvalidToken, ValueError):
        raise DownlinkError("gallery: cannot decrypt the token (wrong store secret?)") from None
    data = json.loads(plain)
    members: dict[str, np.ndarray] = {}
    for entry in data.get("members", []):
        member_id = str(entry["member_id"])
        vectors = np.asarray(entry["embeddings"], dtype=np.float64)
        # The width is the face backend's (128 for dlib); the gallery checks it matches its own.
        if vectors.ndim != 2 or not vectors.size or not np.isfinite(vectors).all():
            raise DownlinkError(
                f"gallery: member {member_id} has unusable embeddings (shape {vectors.shape}); "
                "expected (n, width) finite numbers"
            )
        members[member_id] = vectors
    return members, [str(m) for m in data.get("erased", [])]


class Downlink:
    """Polls HQ for the catalog, gallery, model and erasures; each poll is one call."""

    def __init__(
        self,
        client: HqClient,
        store_id: str,
        data_dir: Path,
        config: SyncConfig,
        *,
        secret: str,
        gallery: GallerySink | None = None,
        on_model: Callable[[Path, str], None] | None = None,
        on_catalog: Callable[[Path, str], None] | None = None,
        on_stock_request: Callable[[], None] | None = None,
        on_reservations: Callable[[list[Reservation]], None] | None = None,
        on_sold_set: Callable[[SoldSet], None] | None = None,
        on_nearby_stock: Callable[[NearbyStock], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._on_sold_set = on_sold_set
        self._on_nearby_stock = on_nearby_stock
        self.client = client
        self.store_id = store_id
        self.data_dir = Path(data_dir)
        self.config = config
        self._secret = secret
        self._gallery = gallery
        self._on_model = on_model
        self._on_catalog = on_catalog
        self._on_stock_request = on_stock_request
        self._on_reservations = on_reservations
        self._clock = clock or SystemClock()
        self.state = self._load_state()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def model_path(self) -> Path:
        return self.data_dir / MODEL_FILE

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / CATALOG_FILE

    # -- state ----------------------------------------------------------------------------

    def _load_state(self) -> DownlinkState:
        path = self.data_dir / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return DownlinkState()
        except (OSError, ValueError) as error:
            log.warning("downlink: ignoring unreadable %s (%s); fetching everything", path, error)
            return DownlinkState()
        return DownlinkState(
            # (filtered here too: files saved before a resource was known to be in memory)
            etags={k: v for k, v in data.get("etags", {}).items() if k not in IN_MEMORY},
            versions=dict(data.get("versions", {})),
            erasures_seq=int(data.get("erasures_seq", 0)),
            stock_requests=int(data.get("stock_requests", 0)),
            unconfirmed={str(k): int(v) for k, v in data.get("unconfirmed", {}).items()},
        )

    def _save_state(self) -> None:
        data = {
            "etags": {k: v for k, v in self.state.etags.items() if k not in IN_MEMORY},
            "versions": self.state.versions,
            "erasures_seq": self.state.erasures_seq,
            "stock_requests": self.state.stock_requests,
            "unconfirmed": self.state.unconfirmed,
        }
        write_atomic(self.data_dir / STATE_FILE, json.dumps(data, indent=1).encode())

    # -- polling --------------------------------------------------------------------------

    def _interval_s(self, resource: Resource) -> float:
        return {
            Resource.CATALOG: self.config.catalog_poll_s,
            Resource.GALLERY: self.config.gallery_poll_s,
            Resource.MODEL: self.config.model_poll_s,
            Resource.ERASURES: self.config.erasures_poll_s,
            Resource.STOCK: self.config.stock_request_poll_s,
            Resource.RESERVATIONS: self.config.reservations_poll_s,
            Resource.SOLD_EPCS: self.config.sold_epcs_poll_s,
            Resource.NEARBY_STOCK: self.config.nearby_stock_poll_s,
        }[resource]

    def sync_all(self) -> dict[Resource, bool]:
        """Poll everything now (erasures first); which resources changed."""
        return {resource: self.poll(resource) for resource in _ORDER}

    def poll_due(self) -> float:
        """Poll what is due; returns seconds until the next poll is due."""
        now_ms = self._clock.now_ms()
        next_s = min(self._interval_s(r) for r in _ORDER)
        for resource in _ORDER:
            last = self.state.last_poll_ms.get(resource)
            due_in_s = (
                0.0 if last is None else (last + self._interval_s(resource) * 1000 - now_ms) / 1000
            )
            if due_in_s <= 0:
                self.poll(resource)
                due_in_s = self._interval_s(resource)
            next_s = min(next_s, due_in_s)
        return max(next_s, 0.1)

    def poll(self, resource: Resource) -> bool:
        """Fetch one resource if it changed and hand it on. Errors are logged and counted,
        and leave the previous data in place. Returns True when something changed."""
        self.state.last_poll_ms[resource] = self._clock.now_ms()
        try:
            changed = _HANDLERS[resource](self)
        except (httpx.HTTPError, DownlinkError, ValueError, KeyError, TypeError) as error:
            # (pydantic's ValidationError is a ValueError: a malformed reservation lands here)
            self._error(f"{resource}: {error}")
            return False
        self.state.last_success_ms = self._clock.now_ms()
        return changed

    def _error(self, message: str) -> None:
        self.state.errors += 1
        self.state.last_error = message
        self.state.last_error_ms = self._clock.now_ms()
        log.error("downlink: %s", message)

    def _get(self, resource: Resource, url: str) -> httpx.Response | None:
        """HQ's 200 answer, or None when it is unchanged (304) or absent (404 for the model,
        before HQ has published one)."""
        response = self.client.get(url, etag=self.state.etags.get(resource))
        if response.status_code == 304 or (
            response.status_code == 404 and resource is Resource.MODEL
        ):
            return None
        if response.status_code != 200:
            raise DownlinkError(f"HTTP {response.status_code}: {response.text[:200]}")
        return response

    def _remember(self, resource: Resource, response_etag: str | None, version: str) -> None:
        if response_etag:
            self.state.etags[resource] = response_etag
        self.state.versions[resource] = version
        self._save_state()

    def _path(self, name: str) -> str:
        return f"/api/v1/stores/{self.store_id}/{name}"

    # -- resources ------------------------------------------------------------------------

    def _poll_catalog(self) -> bool:
        response = self._get(Resource.CATALOG, self._path("catalog"))
        if response is None:
            return False
        data = response.json()
        if not isinstance(data.get("products"), list):
            raise DownlinkError("catalog: no products list")
        version = str(data["version"])
        write_atomic(self.catalog_path, json.dumps(data, ensure_ascii=False).encode())
        self._remember(Resource.CATALOG, response.headers.get("ETag"), version)
        log.info("downlink: catalog version %s, %d products", version, len(data["products"]))
        if self._on_catalog is not None:
            self._on_catalog(self.catalog_path, version)
        return True

    def _confirm(self, resource: Resource, version: int | None = None) -> None:
        """Tell HQ what was applied (the member page shows it); retried at the next poll."""
        if version is not None:
            self.state.unconfirmed[resource] = version
            self._save_state()
        pending = self.state.unconfirmed.get(resource)
        if pending is None:
            return
        body = json.dumps({"resource": str(resource), "version": pending}).encode()
        path = protocol.CONFIRMATIONS_PATH.format(store_id=self.store_id)
        response = self.client.post_json(path, body)
        if response.status_code != 204:
            raise DownlinkError(f"confirming {resource} {pending}: HTTP {response.status_code}")
        if self.state.unconfirmed.get(resource) == pending:
            del self.state.unconfirmed[resource]
            self._save_state()

    def _poll_gallery(self) -> bool:
        if self._gallery is None:
            return False
        self._confirm(Resource.GALLERY)
        response = self._get(Resource.GALLERY, self._path("gallery"))
        if response is None:
            return False
        data = response.json()
        members, erased = decode_gallery(str(data["token"]), self._secret)
        self._gallery.replace_members(members)
        for member_id in erased:
            if member_id not in members:
                self._gallery.remove_member(member_id)
        self._remember(Resource.GALLERY, response.headers.get("ETag"), str(data["version"]))
        log.info("downlink: gallery version %s, %d members", data["version"], len(members))
        self._confirm(Resource.GALLERY, int(data["version"]))
        return True

    def _poll_erasures(self) -> bool:
        if self._gallery is None:
            return False
        self._confirm(Resource.ERASURES)
        url = f"{self._path('erasures')}?since={self.state.erasures_seq}"
        response = self._get(Resource.ERASURES, url)
        if response is None:
            return False
        orders = response.json()["erasures"]
        for order in orders:
            self._gallery.remove_member(str(order["member_id"]))
            log.info("downlink: erased member %s (HQ order %s)", order["member_id"], order["seq"])
        if orders:
            self.state.erasures_seq = max(int(o["seq"]) for o in orders)
            # An ETag is only valid for the `since` it answered; the next poll asks anew.
            self.state.etags.pop(Resource.ERASURES, None)
            self._remember(Resource.ERASURES, None, str(self.state.erasures_seq))
            self._confirm(Resource.ERASURES, self.state.erasures_seq)
        else:
            self._remember(
                Resource.ERASURES, response.headers.get("ETag"), str(self.state.erasures_seq)
            )
        return bool(orders)

    def _poll_stock(self) -> bool:
        if self._on_stock_request is None:
            return False
        response = self._get(Resource.STOCK, self._path("stock/requests"))
        if response is None:
            return False
        requests = int(response.json()["snapshot_requests"])
        wanted = requests > self.state.stock_requests
        if wanted:
            log.info("downlink: HQ asks for a stock snapshot (request %d)", requests)
            self._on_stock_request()
        self.state.stock_requests = requests
        self._remember(Resource.STOCK, response.headers.get("ETag"), str(requests))
        return wanted

    def _poll_reservations(self) -> bool:
        if self._on_reservations is None:
            return False
        response = self._get(Resource.RESERVATIONS, self._path("reservations"))
        if response is None:
            return False
        data = response.json()
        reservations = [Reservation.model_validate(r) for r in data["reservations"]]
        self._on_reservations(reservations)
        self._remember(Resource.RESERVATIONS, response.headers.get("ETag"), str(data["version"]))
        log.info("downlink: %d open reservations", len(reservations))
        return True

    def _poll_sold_epcs(self) -> bool:
        if self._on_sold_set is None:
            return False
        response = self._get(Resource.SOLD_EPCS, self._path("sold-epcs"))
        if response is None:
            return False
        try:
            sold = SoldSet.from_bytes(response.content)
        except SoldSetError as error:
            raise DownlinkError(f"sold EPCs: {error}") from None
        write_atomic(self.data_dir / SOLD_SET_FILE, response.content)
        self._on_sold_set(sold)
        self._remember(Resource.SOLD_EPCS, response.headers.get("ETag"), str(sold.version))
        log.info("downlink: sold set version %d, %d EPCs", sold.version, len(sold))
        return True

    def _poll_nearby_stock(self) -> bool:
        if self._on_nearby_stock is None:
            return False
        response = self._get(Resource.NEARBY_STOCK, self._path("nearby-stock"))
        if response is None:
            return False
        answer = NearbyStock.model_validate_json(response.content)
        self._on_nearby_stock(answer)
        etag = response.headers.get("ETag")
        self._remember(Resource.NEARBY_STOCK, etag, etag or "")
        log.info(
            "downlink: stock of %d nearby stores, %d GTINs", len(answer.stores), len(answer.stock)
        )
        return True

    def _poll_model(self) -> bool:
        response = self._get(Resource.MODEL, self._path("model"))
        if response is None:
            return False
        meta = response.json()
        version, sha256, size = str(meta["version"]), str(meta["sha256"]).lower(), int(meta["size"])
        if self.state.versions.get("model") == version and self.model_path.is_file():
            self._remember(Resource.MODEL, response.headers.get("ETag"), version)
            return False
        tmp = self._download(str(meta["url"]))
        try:
            digest, got_size = _sha256_and_size(tmp)
            if got_size != size or digest != sha256:
                self.state.models_refused += 1
                raise DownlinkError(
                    f"model {version} refused: got {got_size} bytes with SHA-256 {digest}, "
                    f"expected {size} bytes with {sha256}; keeping the current model"
                )
            os.replace(tmp, self.model_path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(self.model_path.parent)
        self._remember(Resource.MODEL, response.headers.get("ETag"), version)
        log.info("downlink: recommender model %s installed (%d bytes)", version, size)
        if self._on_model is not None:
            self._on_model(self.model_path, version)
        return True

    def _download(self, url: str) -> Path:
        self.model_path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".recommender.", dir=self.model_path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                response = self.client.get_stream(url)
                try:
                    if response.status_code != 200:
                        raise DownlinkError(f"model download: HTTP {response.status_code}")
                    for chunk in response.iter_bytes(1 << 20):
                        handle.write(chunk)
                finally:
                    response.close()
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            os.unlink(name)
            raise
        return Path(name)

    # -- thread shell ---------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="o2o-downlink", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait_s = self.poll_due()
            except Exception:  # keep polling; the error shows in the status
                log.exception("downlink: unexpected error")
                self._error("unexpected error (see log)")
                wait_s = 10.0
            self._stop.wait(wait_s)


def _sha256_and_size(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


_ORDER = (
    Resource.ERASURES,
    Resource.GALLERY,
    Resource.CATALOG,
    Resource.MODEL,
    Resource.STOCK,
    Resource.RESERVATIONS,
    Resource.SOLD_EPCS,
    Resource.NEARBY_STOCK,
)
_HANDLERS: dict[Resource, Callable[[Downlink], bool]] = {
    Resource.CATALOG: Downlink._poll_catalog,
    Resource.GALLERY: Downlink._poll_gallery,
    Resource.MODEL: Downlink._poll_model,
    Resource.ERASURES: Downlink._poll_erasures,
    Resource.STOCK: Downlink._poll_stock,
    Resource.RESERVATIONS: Downlink._poll_reservations,
    Resource.SOLD_EPCS: Downlink._poll_sold_epcs,
    Resource.NEARBY_STOCK: Downlink._poll_nearby_stock,
}
