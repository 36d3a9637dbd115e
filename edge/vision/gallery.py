"""The member gallery: several embeddings per consented member, matched in one BLAS call, kept
encrypted at rest.

**Matching.** All embeddings live in one float32 matrix of shape ``(D + 1, capacity)``, one
column per embedding, plus an int32 array naming each column's member. The extra row holds
``-|g|^2 / 2`` for Euclidean galleries (0 for cosine), so that a single matrix-vector product
with ``[q, 1]`` gives ``s = g.q - |g|^2 / 2`` for every column, and the nearest embedding is the
largest ``s`` (``|g - q|^2 = |q|^2 - 2 s``). Columns are the contiguous axis because OpenBLAS
streams that layout about 1.5x faster than rows of 128 (measured: 26 ms against 42 ms for one
million embeddings on one core). The best member is the best column's owner; the margin is
how much further the best column of any *other* member is, so that two look-alike members
come back as unknown rather than as a coin toss.

**Large galleries** (``coarse_min_rows``, 200,000 embeddings, and more) are first scored
against an int8 copy (per-dimension scale, uint8 codes offset by 128 so that onnxruntime's
fast ``MatMulInteger`` kernel applies, a quarter of the bytes), then only the shortlist is
scored exactly in float32. The shortlist is not a guess: every quantisation error of a coarse
score is bounded by ``e = 127 * sum|r| + sum(step_d * |q_d|) / 2`` (``r`` the query's rounding
residue, ``step_d`` the gallery's), so taking every column within ``2e`` of the best coarse
score of the second member provably contains the best column and the best other member's best
column: the result equals the exact path's.

**Memory.** One float32 copy, plus the int8 copy of large galleries: the matrix grows by half
when full (like a list) and an erased member's columns are filled with the last columns and
the freed tail is zeroed (in both copies), so no embedding of an erased member stays in
memory. 1,000,000 members of 128-d take 516 MB, plus 128 MB of int8 codes.

**At rest.** Encrypted, in ``edge.vision.gallery_file``.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.config.vision import VisionConfig
from edge.vision.backends.base import Metric
from edge.vision.gallery_file import (
    FORMAT_VERSION,
    ROWS_PER_CHUNK,
    GalleryFile,
    GalleryFileError,
    load_key,
)

_MATCH_BATCH = 8
COARSE_MIN_ROWS = 200_000
_CODE_ZERO = 128  # codes are uint8 = int8 + 128 (the fast kernel wants uint8 x int8)
# Query codes stay within +-63: x86 CPUs without VNNI multiply uint8 x int8 pairs with
# VPMADDUBSW, whose int16 sum saturates above 32767 (255 * 127 * 2 would; 255 * 63 * 2 does
# not). The bound below accounts for the coarser query step.
_QUERY_LEVELS = 63
# Relative and absolute slack on the error bound for float32 rounding (coarse and exact scores).
_BOUND_SLACK = (1.001, 1e-5)


@dataclass(frozen=True, slots=True)
class Match:
    member_id: str | None
    """The best member, or None when it is too far or too close to another member."""
    distance: float
    """Distance to the best member's nearest embedding (inf for an empty gallery)."""
    margin: float
    """``best_other_distance - distance`` (inf when no other member exists)."""
    best_other_distance: float
    best_member_id: str | None
    """The nearest member even when it is not accepted (for evaluation; never logged)."""


class Gallery:
    """Embeddings of consented members and the nearest-member search over all of them.

    Thread-safe (the HTTP API enrols while the matcher runs). With a :class:`GalleryFile`,
    every change is written through before the call returns.
    """

    def __init__(
        self,
        *,
        embedding_size: int,
        metric: Metric,
        threshold: float,
        min_margin: float,
        backend: str = "",
        file: GalleryFile | None = None,
    ) -> None:
        self.embedding_size = embedding_size
        self.metric: Metric = metric
        self.threshold = threshold
        self.min_margin = min_margin
        self.backend = backend
        self._file = file
        self._lock = threading.RLock()
        self._matrix = np.zeros((embedding_size + 1, 0), dtype=np.float32)
        self._owner = np.zeros(0, dtype=np.int32)
        self._rows = 0
        self._names: list[str | None] = []
        self._slots: dict[str, int] = {}
        self.coarse_min_rows = COARSE_MIN_ROWS
        """From this many embeddings on, matches go through the int8 coarse pass."""
        # The int8 copy, row-major (capacity, D) so that its first rows are one contiguous
        # block; None until a large gallery is matched, and again when an added row falls
        # outside the per-dimension scale (rebuilt at the next match).
        self._codes: np.ndarray | None = None
        self._steps = np.ones(embedding_size, dtype=np.float32)
        self._stamp: tuple[int, int, int] | None = None

    @classmethod
    def open(
        cls,
        file: GalleryFile,
        *,
        embedding_size: int,
        metric: Metric,
        threshold: float,
        min_margin: float,
        backend: str,
    ) -> Gallery:
        """The gallery kept in ``file`` (empty if the file does not exist yet)."""
        gallery = cls(
            embedding_size=embedding_size,
            metric=metric,
            threshold=threshold,
            min_margin=min_margin,
            backend=backend,
            file=file,
        )
        gallery._refresh()
        return gallery

    def _refresh(self) -> None:
        """Re-read the file if it changed since this instance last read or wrote it (another
        process enrolled or erased): an erasure made elsewhere holds here at the next match."""
        file = self._file
        if file is None:
            return
        stamp = file.stamp()
        if stamp == self._stamp:
            return
        self._clear()
        self._stamp = stamp
        if stamp is None:
            return
        with file.reading() as (header, owner, blocks):
            made_for = (header.get("backend"), header.get("metric"), header.get("embedding_size"))
            if made_for != (self.backend, self.metric, self.embedding_size):
                raise GalleryFileError(
                    f"{file.path}: made for backend {made_for[0]} ({made_for[1]}, "
                    f"{made_for[2]}-d) but {self.backend} ({self.metric}, "
                    f"{self.embedding_size}-d) is configured; embeddings of different models "
                    "cannot be compared: re-enrol the members"
                )
            names: list[str | None] = list(header["members"])
            self._reserve(len(owner))
            start = 0
            for block in blocks:
                self._write_columns(start, block)
                start += len(block)
        self._owner[: len(owner)] = owner
        self._rows = len(owner)
        self._names = names
        self._slots = {name: slot for slot, name in enumerate(names) if name is not None}
        if self._rows >= self.coarse_min_rows:
            self._build_codes()

    def _clear(self) -> None:
        self._matrix[:, : self._rows] = 0.0
        self._owner[: self._rows] = 0
        self._rows = 0
        self._names, self._slots = [], {}
        self._codes = None

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        """A change to the current file content, written back before the lock is let go."""
        with self._lock:
            if self._file is None:
                yield
                return
            with self._file.locked():
                self._refresh()
                yield
                self._persist()

    # --- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of members."""
        with self._lock:
            self._refresh()
            return len(self._slots)

    @property
    def embedding_count(self) -> int:
        return self._rows

    def members(self) -> list[str]:
        with self._lock:
            self._refresh()
            return sorted(self._slots)

    def count(self, member_id: str) -> int:
        """Embeddings held for a member (0 when unknown)."""
        with self._lock:
            self._refresh()
            slot = self._slots.get(member_id)
            if slot is None:
                return 0
            return int(np.count_nonzero(self._owner[: self._rows] == slot))

    def __contains__(self, member_id: object) -> bool:
        with self._lock:
            self._refresh()
            return member_id in self._slots

    def match(self, embedding: np.ndarray) -> Match:
        return self.match_many(np.asarray(embedding, dtype=np.float32).reshape(1, -1))[0]

    def match_many(self, embeddings: np.ndarray) -> list[Match]:
        queries = self._check(embeddings)
        with self._lock:
            self._refresh()  # one stat(): another process may have erased a member
            if self._rows == 0:
                return [Match(None, math.inf, math.inf, math.inf, None) for _ in queries]
            coarse = self._rows >= self.coarse_min_rows and len(self._slots) > 1
            if coarse and self._codes is None:
                self._build_codes()
            matches: list[Match] = []
            for start in range(0, len(queries), _MATCH_BATCH):
                batch = queries[start : start + _MATCH_BATCH]
                if coarse:
                    matches.extend(self._match_coarse(batch))
                    continue
                scores = self._augment(batch) @ self._matrix[:, : self._rows]
                matches.extend(self._decide(q, s) for q, s in zip(batch, scores, strict=True))
            return matches

    @staticmethod
    def _augment(batch: np.ndarray) -> np.ndarray:
        return np.hstack([batch, np.ones((len(batch), 1), dtype=np.float32)])

    def _match_coarse(self, batch: np.ndarray) -> list[Match]:
        """Exact matches via the int8 copy: coarse scores, a provably sufficient shortlist, then
        the exact scores of the shortlist only (see the module notes)."""
        assert self._codes is not None
        rows = self._rows
        scaled = batch * self._steps
        query_steps = np.maximum(np.abs(scaled).max(axis=1), np.float32(1e-30)) / np.float32(
            _QUERY_LEVELS
        )
        query_codes = np.clip(np.rint(scaled / query_steps[:, None]), -_QUERY_LEVELS, _QUERY_LEVELS)
        residue = scaled.astype(np.float64) - query_codes * query_steps[:, None].astype(np.float64)
        bounds = 127 * np.abs(residue).sum(axis=1) + 0.5 * (
            np.abs(batch.astype(np.float64)) @ self._steps.astype(np.float64)
        )
        bounds = bounds * _BOUND_SLACK[0] + _BOUND_SLACK[1]
        products = _int8_session().run(
            None,
            {
                "codes": self._codes[:rows],
                "query": np.ascontiguousarray(query_codes.T, dtype=np.int8),
            },
        )[0]
        offsets = _CODE_ZERO * query_codes.sum(axis=1)
        owner = self._owner[:rows]
        bias = self._matrix[self.embedding_size, :rows]
        matches = []
        for k, query in enumerate(batch):
            coarse = (products[:, k] - np.int32(offsets[k])).astype(np.float32)
            coarse *= query_steps[k]
            if self.metric == "euclidean":
                coarse += bias
            first = int(np.argmax(coarse))
            # The best coarse score of any member other than the first column's: every column
            # that can be the best, or the best other member's best, scores within 2e of it.
            others = owner != owner[first]
            second = float(np.max(coarse, where=others, initial=-np.inf))
            shortlist = np.flatnonzero(coarse >= second - 2 * bounds[k])
            if len(shortlist) > rows // 16:
                # Degenerate gallery (many near-equal columns): gathering would cost more
                # than the full product.
                scores = self._augment(query[None, :]) @ self._matrix[:, :rows]
                matches.append(self._decide(query, scores[0]))
                continue
            scores = self._augment(query[None, :]) @ self._matrix[:, shortlist]
            matches.append(self._decide(query, scores[0], shortlist))
        return matches

    def _decide(
        self, query: np.ndarray, scores: np.ndarray, columns: np.ndarray | None = None
    ) -> Match:
        """The decision over all columns, or over ``columns`` (which ``scores`` are for)."""
        owner = self._owner[: self._rows] if columns is None else self._owner[columns]
        best = int(np.argmax(scores))
        best_slot = int(owner[best])
        distance = self._distance(query, best if columns is None else int(columns[best]))
        same = owner == best_slot
        if same.all():
            other = math.inf
        else:
            scores[same] = -np.inf
            second = int(np.argmax(scores))
            other = self._distance(query, second if columns is None else int(columns[second]))
        margin = other - distance
        name = self._names[best_slot]
        accepted = distance <= self.threshold and margin >= self.min_margin
        return Match(name if accepted else None, distance, margin, other, name)

    def _distance(self, query: np.ndarray, column: int) -> float:
        """Exact distance to one column (the scores' expansion loses digits near zero)."""
        stored = self._matrix[: self.embedding_size, column]
        if self.metric == "cosine":
            return max(0.0, 1.0 - float(stored @ query))
        return float(np.linalg.norm(stored - query))

    # --- changing ------------------------------------------------------------------------

    def add(self, member_id: str, embeddings: np.ndarray) -> None:
        """Add embeddings to a member (creating it). The caller has checked consent."""
        rows = self._check(embeddings)
        with self._changing():
            self._append(member_id, rows)

    def remove_member(self, member_id: str) -> int:
        """Erase every embedding of the member, in memory and on disk; how many there were."""
        with self._changing():
            return self._remove(member_id)

    def replace_members(self, members: Mapping[str, np.ndarray]) -> None:
        """Afterwards the gallery holds exactly these members and embeddings (HQ's full set)."""
        checked = {member_id: self._check(rows) for member_id, rows in members.items()}
        with self._changing():
            self._clear()
            self._reserve(sum(len(rows) for rows in checked.values()))
            for member_id, rows in checked.items():
                self._append(member_id, rows)

    def extend(self, member_ids: list[str], embeddings: np.ndarray) -> None:
        """Bulk load: row i of ``embeddings`` belongs to ``member_ids[i]`` (no per-call save)."""
        rows = self._check(embeddings)
        if len(member_ids) != len(rows):
            raise ValueError(f"{len(member_ids)} member ids for {len(rows)} embeddings")
        with self._lock:
            self._reserve(self._rows + len(rows))
            slots = np.fromiter(
                (self._slot(member_id) for member_id in member_ids), np.int32, len(member_ids)
            )
            self._write_columns(self._rows, rows)
            self._owner[self._rows : self._rows + len(rows)] = slots
            self._rows += len(rows)

    def save(self) -> None:
        """Write this instance's content as the whole file (after a bulk :meth:`extend`)."""
        with self._lock:
            if self._file is None:
                return
            with self._file.locked():
                self._persist()

    def _check(self, embeddings: np.ndarray) -> np.ndarray:
        rows = np.asarray(embeddings, dtype=np.float32)
        if rows.ndim == 1:
            rows = rows.reshape(1, -1)
        if rows.ndim != 2 or rows.shape[1] != self.embedding_size:
            raise ValueError(
                f"embeddings must have shape (n, {self.embedding_size}), not {rows.shape}"
            )
        if not np.isfinite(rows).all():
            raise ValueError("embeddings contain NaN or infinity")
        if self.metric == "cosine":
            norms = np.linalg.norm(rows, axis=1, keepdims=True)
            rows = rows / np.maximum(norms, 1e-12)
        return rows

    def _slot(self, member_id: str) -> int:
        slot = self._slots.get(member_id)
        if slot is None:
            slot = len(self._names)
            self._names.append(member_id)
            self._slots[member_id] = slot
        return slot

    def _append(self, member_id: str, rows: np.ndarray) -> None:
        if not len(rows):
            return
        self._reserve(self._rows + len(rows))
        self._write_columns(self._rows, rows)
        self._owner[self._rows : self._rows + len(rows)] = self._slot(member_id)
        self._rows += len(rows)

    def _write_columns(self, start: int, rows: np.ndarray) -> None:
        end = start + len(rows)
        self._matrix[: self.embedding_size, start:end] = rows.T
        if self.metric == "euclidean":
            self._matrix[self.embedding_size, start:end] = -0.5 * np.einsum("ij,ij->i", rows, rows)
        if self._codes is not None:
            if (np.abs(rows) > 127 * self._steps).any():
                self._codes = None  # outside the scale: rebuilt at the next match
            else:
                self._codes[start:end] = self._encode(rows)

    def _encode(self, rows: np.ndarray) -> np.ndarray:
        codes = np.clip(np.rint(rows / self._steps), -127, 127) + _CODE_ZERO
        return codes.astype(np.uint8)

    def _build_codes(self) -> None:
        """The int8 copy of the whole gallery (per-dimension scale from its largest value)."""
        self._codes = None  # free the old copy before making the new one
        peak = np.zeros(self.embedding_size, dtype=np.float32)
        for block in self._row_blocks():
            np.maximum(peak, np.abs(block).max(axis=0), out=peak)
        self._steps = np.where(peak > 0, peak / np.float32(127), np.float32(1)).astype(np.float32)
        codes = np.full((self._matrix.shape[1], self.embedding_size), _CODE_ZERO, np.uint8)
        start = 0
        for block in self._row_blocks():
            codes[start : start + len(block)] = self._encode(block)
            start += len(block)
        self._codes = codes

    def reserve(self, needed: int) -> None:
        """Make room for ``needed`` embeddings in total (bulk loads grow once)."""
        with self._lock:
            self._reserve(needed)

    def _reserve(self, needed: int) -> None:
        capacity = self._matrix.shape[1]
        if needed <= capacity:
            return
        grown = max(needed, capacity + capacity // 2 + 16)
        matrix = np.zeros((self.embedding_size + 1, grown), dtype=np.float32)
        matrix[:, : self._rows] = self._matrix[:, : self._rows]
        owner = np.zeros(grown, dtype=np.int32)
        owner[: self._rows] = self._owner[: self._rows]
        self._matrix, self._owner = matrix, owner
        if self._codes is not None:
            codes = np.full((grown, self.embedding_size), _CODE_ZERO, np.uint8)
            codes[: self._rows] = self._codes[: self._rows]
            self._codes = codes

    def _remove(self, member_id: str) -> int:
        slot = self._slots.pop(member_id, None)
        if slot is None:
            return 0
        self._names[slot] = None
        count = self._rows
        holes = np.flatnonzero(self._owner[:count] == slot)
        remaining = count - len(holes)
        # Fill the holes below the new end with the surviving columns above it.
        targets = holes[holes < remaining]
        sources = np.setdiff1d(np.arange(remaining, count), holes, assume_unique=True)
        self._matrix[:, targets] = self._matrix[:, sources]
        self._owner[targets] = self._owner[sources]
        self._matrix[:, remaining:count] = 0.0
        self._owner[remaining:count] = 0
        if self._codes is not None:
            self._codes[targets] = self._codes[sources]
            self._codes[remaining:count] = _CODE_ZERO
        self._rows = remaining
        return len(holes)

    def _persist(self) -> None:
        if self._file is None:
            return
        # Compact member slots so that erased ids are not kept in the file's member list.
        live = sorted(self._slots.items(), key=lambda item: item[1])
        renumber = np.full(max(len(self._names), 1), -1, dtype=np.int32)
        for new_slot, (_, old_slot) in enumerate(live):
            renumber[old_slot] = new_slot
        self._owner[: self._rows] = renumber[self._owner[: self._rows]]
        self._names = [name for name, _ in live]
        self._slots = {name: slot for slot, (name, _) in enumerate(live)}
        header = {
            "version": FORMAT_VERSION,
            "backend": self.backend,
            "metric": self.metric,
            "embedding_size": self.embedding_size,
            "members": self._names,
            "rows": self._rows,
        }
        self._file.save(header, self._owner[: self._rows], self._row_blocks())
        self._stamp = self._file.stamp()

    def _row_blocks(self) -> Iterator[np.ndarray]:
        for start in range(0, self._rows, ROWS_PER_CHUNK):
            end = min(self._rows, start + ROWS_PER_CHUNK)
            yield self._matrix[: self.embedding_size, start:end].T


@functools.cache
def _int8_session() -> Any:
    """One onnxruntime session computing ``codes (n x D, uint8) @ query (D x k, int8)`` in int32
    on one thread (imported here: the CLI must start fast)."""
    import onnxruntime
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["codes", "query"], ["products"])],
        "gallery_coarse",
        [
            helper.make_tensor_value_info("codes", TensorProto.UINT8, ["n", "d"]),
            helper.make_tensor_value_info("query", TensorProto.INT8, ["d", "k"]),
        ],
        [helper.make_tensor_value_info("products", TensorProto.INT32, ["n", "k"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def open_gallery(
    data_dir: Path,
    config: VisionConfig,
    *,
    backend: str,
    embedding_size: int,
    metric: Metric,
    default_threshold: float,
) -> Gallery:
    """The store's gallery as configured: its file under ``data_dir``, its key, its threshold."""
    settings = config.gallery
    path = settings.file if settings.file.is_absolute() else data_dir / settings.file
    key_file = settings.key_file
    if key_file is not None and not key_file.is_absolute():
        key_file = data_dir / key_file
    return Gallery.open(
        GalleryFile(path, load_key(key_file)),
        embedding_size=embedding_size,
        metric=metric,
        threshold=settings.threshold or default_threshold,
        min_margin=settings.min_margin,
        backend=backend,
    )
