"""Uploads the outbox to headquarters: batched, gzip, signed, retried, in order.

Delivery is at-least-once with the event id as idempotency key; HQ de-duplicates, so every
event is stored exactly once. One batch is in flight at a time and batches leave in outbox
``seq`` order, so batch n+1 of a source is never sent before batch n is acknowledged.

HQ answers per event: ``stored``/``duplicate`` are delivered; ``conflict``/``invalid`` are
refused for good and go to the dead-letter table (never retried). Transport errors, 5xx, 429,
503 and 401 leave the batch pending and are retried after a capped exponential backoff with
jitter, or after ``Retry-After`` when HQ gives one. A 413 or a 422 (the whole body unusable)
halves the batch until the offending event is alone, and that one goes to dead letters.

Decisions (:func:`batch_ready`, :func:`judge_response`, :func:`backoff_s`) are pure functions
of their inputs and the injected clock; the only real sleep is the thread's wait.
"""

from __future__ import annotations

import gzip
import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from cloud_sync.client.http import HqClient
from cloud_sync.client.outbox import Outbox, OutboxRow
from edge.clock import Clock, SystemClock
from edge.config.sync import SyncConfig

log = logging.getLogger(__name__)

DELIVERED_STATUSES = frozenset({"stored", "duplicate"})
REJECTED_STATUSES = frozenset({"conflict", "invalid"})
IDLE_POLL_S = 1.0
PRUNE_EVERY_S = 3600.0
POISON_STRIKES = 2
"""500s in a row on one batch before it is halved (and, once alone, dead-lettered)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one batch after HQ's answer (or the lack of one)."""

    delivered: tuple[str, ...] = ()
    duplicates: int = 0
    rejected: tuple[tuple[str, str], ...] = ()  # (event_id, reason)
    retry: bool = False
    retry_after_s: float | None = None  # HQ's Retry-After, when it gave one
    split: bool = False  # 413/422: the body as a whole was refused; halve the batch
    server_error: bool = False  # 500: HQ failed on this batch (maybe on one event in it)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DrainProgress:
    sent_events: int
    remaining_events: int
    rate_events_per_s: float


@dataclass(slots=True)
class UploaderState:
    delivered_events: int = 0
    duplicate_events: int = 0
    rejected_events: int = 0
    batches_sent: int = 0
    failed_attempts: int = 0
    last_success_ms: int | None = None
    last_error: str | None = None
    last_error_ms: int | None = None
    next_attempt_ms: int = 0
    consecutive_failures: int = 0
    batch_limit: int = 0  # 0: the configured max_batch_events
    server_errors: int = 0  # 500s in a row on the current batch
    isolating_since_ms: int | None = None  # halving batches to find an event HQ fails on


def batch_ready(n_events: int, n_bytes: int, oldest_age_s: float, *, config: SyncConfig) -> float:
    """Seconds to wait before sending a batch of this size and age (0: send now).

    A batch is full at ``max_batch_events``, or at half of ``max_batch_bytes`` (the outbox cuts
    batches before they exceed it, so a cut batch is at least about half full)."""
    if n_events >= config.max_batch_events or n_bytes * 2 >= config.max_batch_bytes:
        return 0.0
    return max(0.0, min(config.max_batch_age_s, config.max_batch_age_s - oldest_age_s))


def backoff_s(failures: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Capped exponential backoff with "equal jitter": between half and all of
    ``min(cap, base * 2**(failures-1))``, so that 500 stores retrying never stay in step."""
    ceiling = min(cap_s, base_s * (1 << max(0, min(failures - 1, 30))))
    return ceiling / 2 + rng.random() * ceiling / 2


def parse_retry_after(value: str | None, now_ms: int) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now_ms / 1000)


def judge_response(
    status: int,
    headers: Mapping[str, str],
    body: Any,
    batch_ids: Sequence[str],
    *,
    now_ms: int,
) -> Verdict:
    """Turn HQ's answer to one batch into a :class:`Verdict` (pure)."""
    if status == 200:
        return _judge_results(body, batch_ids)
    detail = _detail(body)
    error = f"HTTP {status}" + (f": {detail}" if detail else "")
    if status in (413, 422):
        if len(batch_ids) > 1:
            return Verdict(split=True, error=error)
        return Verdict(rejected=((batch_ids[0], f"refused by HQ ({error})"),), error=error)
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(headers.get("retry-after"), now_ms)
    return Verdict(retry=True, retry_after_s=retry_after, server_error=status == 500, error=error)


def _detail(body: Any) -> str:
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:300]
    return ""


def _judge_results(body: Any, batch_ids: Sequence[str]) -> Verdict:
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        return Verdict(retry=True, error="HQ answered 200 without a results list")
    by_id = {str(item.get("event_id")): item for item in results if isinstance(item, dict)}
    delivered: list[str] = []
    rejected: list[tuple[str, str]] = []
    duplicates = 0
    unknown = 0
    for event_id in batch_ids:
        item = by_id.get(event_id)
        status = item.get("status") if item else None
        if status in DELIVERED_STATUSES:
            delivered.append(event_id)
            duplicates += status == "duplicate"
        elif item is not None and status in REJECTED_STATUSES:
            rejected.append((event_id, f"{status}: {item.get('detail') or ''}".strip()))
        else:
            unknown += 1
    error = (
        f"HQ gave no usable result for {unknown} of {len(batch_ids)} events" if unknown else None
    )
    return Verdict(
        delivered=tuple(delivered),
        duplicates=duplicates,
        rejected=tuple(rejected),
        retry=unknown > 0,
        error=error,
    )


def encode_batch(rows: Sequence[OutboxRow]) -> bytes:
    """``{"events": [...]}`` gzip-compressed; the stored JSON is sent as is."""
    raw = b'{"events":[' + b",".join(row.body.encode() for row in rows) + b"]}"
    return gzip.compress(raw, compresslevel=5)


class Uploader:
    """Drains the outbox to HQ from its own thread (``start``/``stop``) or, for a one-off
    backlog drain, in the caller's thread (:meth:`drain`)."""

    def __init__(
        self,
        outbox: Outbox,
        client: HqClient,
        store_id: str,
        config: SyncConfig,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        on_progress: Callable[[DrainProgress], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.store_id = store_id
        self.config = config
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._on_progress = on_progress
        self.state = UploaderState()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress_sent = 0
        self._progress_since_ms: int | None = None
        self._progress_logged = False
        self._pruned_ms: int | None = None

    # -- thread shell ---------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="o2o-uploader", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def notify(self) -> None:
        """New events are in the outbox: look now instead of at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._prune_now_and_then()
                wait_s = self.step()
            except Exception:  # keep the uploader alive; the error shows in the status
                log.exception("uploader: unexpected error")
                wait_s = self._failed("unexpected error (see log)")
            if wait_s > 0:
                self._wake.wait(wait_s)
                self._wake.clear()

    def _prune_now_and_then(self) -> None:
        now_ms = self._clock.now_ms()
        if self._pruned_ms is None or now_ms - self._pruned_ms >= PRUNE_EVERY_S * 1000:
            self._pruned_ms = now_ms
            removed = self.outbox.prune()
            if removed:
                log.info("uploader: pruned %d delivered events past retention", removed)

    def drain(self, *, deadline_ms: int | None = None) -> bool:
        """Send until the outbox is empty (partial batches at once). Returns True when it is,
        False at ``deadline_ms`` or on :meth:`stop`."""
        while not self._stop.is_set():
            if deadline_ms is not None and self._clock.now_ms() >= deadline_ms:
                return False
            wait_s = self.step(flush=True)
            if wait_s < 0:
                return True
            if wait_s > 0:
                self._stop.wait(wait_s)
        return False

    # -- one step -------------------------------------------------------------------------

    def step(self, *, flush: bool = False) -> float:
        """Send at most one batch. Returns the seconds to wait before the next step (0: go on
        at once; -1: the outbox is empty)."""
        now_ms = self._clock.now_ms()
        if now_ms < self.state.next_attempt_ms:
            return (self.state.next_attempt_ms - now_ms) / 1000
        limit = self.state.batch_limit or self.config.max_batch_events
        rows = self.outbox.next_batch(limit, self.config.max_batch_bytes)
        if not rows:
            self._progress_done()
            return -1.0 if flush else IDLE_POLL_S
        if not flush and not self.state.batch_limit:
            wait_s = batch_ready(
                len(rows),
                sum(len(row.body) for row in rows),
                (now_ms - rows[0].ts_ms) / 1000,
                config=self.config,
            )
            if wait_s > 0:
                return wait_s
        return self._send(rows)

    def _send(self, rows: Sequence[OutboxRow]) -> float:
        ids = [row.event_id for row in rows]
        body = encode_batch(rows)
        try:
            response = self.client.post_events(self.store_id, body)
        except httpx.HTTPError as error:
            return self._failed(f"{type(error).__name__}: {error or 'transport error'}")
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        verdict = judge_response(
            response.status_code, response.headers, payload, ids, now_ms=self._clock.now_ms()
        )
        return self._apply(verdict, ids)

    def _apply(self, verdict: Verdict, ids: Sequence[str]) -> float:
        batch_size = len(ids)
        if verdict.delivered:
            self.outbox.mark_delivered(verdict.delivered)
        for event_id, reason in verdict.rejected:
            self.outbox.mark_rejected(event_id, reason)
        state = self.state
        state.delivered_events += len(verdict.delivered)
        state.duplicate_events += verdict.duplicates
        state.rejected_events += len(verdict.rejected)
        if verdict.split:
            state.batch_limit = max(1, batch_size // 2)
            log.warning("uploader: %s; retrying in batches of %d", verdict.error, state.batch_limit)
            self._note_error(verdict.error)
            return 0.0
        if verdict.server_error:
            return self._server_error(verdict.error or "HTTP 500", ids)
        state.server_errors = 0
        if verdict.retry:
            return self._failed(verdict.error or "retry", verdict.retry_after_s)
        state.batches_sent += 1
        state.consecutive_failures = 0
        state.last_success_ms = self._clock.now_ms()
        if state.batch_limit and state.isolating_since_ms is None:
            # Grow back after isolating a refused event (while hunting an event HQ fails on,
            # the size stays until it is found).
            doubled = state.batch_limit * 2
            state.batch_limit = 0 if doubled >= self.config.max_batch_events else doubled
        self._progress(len(verdict.delivered) + len(verdict.rejected))
        return 0.0

    def _server_error(self, error: str, ids: Sequence[str]) -> float:
        """HQ answered 500. One event it cannot take must not stall the store: after
        POISON_STRIKES failures in a row the batch is halved, until the event is alone; alone,
        it goes to the dead letters, but only if other events got through meanwhile (an HQ
        failing on everything is an outage, and then nothing is dead-lettered)."""
        state = self.state
        state.server_errors += 1
        progressing = (
            state.isolating_since_ms is not None
            and state.last_success_ms is not None
            and state.last_success_ms >= state.isolating_since_ms
        )
        if progressing:
            # Others get through: this is the hunt for one event, not an outage; short waits.
            state.consecutive_failures = 0
        if state.server_errors >= POISON_STRIKES:
            now_ms = self._clock.now_ms()
            if len(ids) > 1:
                state.server_errors = 0
                state.batch_limit = max(1, len(ids) // 2)
                if state.isolating_since_ms is None:
                    state.isolating_since_ms = now_ms
                log.warning(
                    "uploader: %s again; retrying in batches of %d", error, state.batch_limit
                )
            elif progressing:
                state.server_errors = 0
                state.consecutive_failures = 0
                reason = f"HQ failed on this event alone {POISON_STRIKES} times ({error})"
                self.outbox.mark_rejected(ids[0], reason)
                state.isolating_since_ms = None  # found: batches grow back from here
                state.rejected_events += 1
                log.error("uploader: event %s moved to dead letters: %s", ids[0], reason)
                self._note_error(reason)
                return 0.0
        return self._failed(error)

    def _note_error(self, error: str | None) -> None:
        self.state.last_error = error
        self.state.last_error_ms = self._clock.now_ms()

    def _failed(self, error: str, retry_after_s: float | None = None) -> float:
        state = self.state
        state.failed_attempts += 1
        state.consecutive_failures += 1
        self._note_error(error)
        wait_s = self._retry_wait_s(retry_after_s)
        state.next_attempt_ms = self._clock.now_ms() + int(wait_s * 1000)
        log.warning(
            "uploader: attempt failed (%s); retry %d in %.1f s",
            error,
            state.consecutive_failures,
            wait_s,
        )
        return wait_s

    def _retry_wait_s(self, retry_after_s: float | None) -> float:
        if retry_after_s is not None:
            # Honour HQ's Retry-After, plus up to 10 % so that stores do not come back in step.
            honoured = min(retry_after_s, self.config.retry_after_max_s)
            return honoured * (1 + 0.1 * self._rng.random())
        return backoff_s(
            max(1, self.state.consecutive_failures),
            base_s=self.config.retry_base_s,
            cap_s=self.config.retry_max_s,
            rng=self._rng,
        )

    # -- progress -------------------------------------------------------------------------

    def _progress(self, sent: int) -> None:
        now_ms = self._clock.now_ms()
        if self._progress_since_ms is None:
            self._progress_since_ms = now_ms
            self._progress_sent = 0
        self._progress_sent += sent
        elapsed_s = (now_ms - self._progress_since_ms) / 1000
        if elapsed_s < self.config.progress_log_s:
            return
        remaining = self.outbox.backlog().pending
        self._report(remaining, elapsed_s)
        self._progress_since_ms = now_ms
        self._progress_sent = 0
        self._progress_logged = True

    def _progress_done(self) -> None:
        """The outbox is empty: close a drain that was long enough to have been reported."""
        if self._progress_since_ms is not None and self._progress_logged:
            self._report(0, (self._clock.now_ms() - self._progress_since_ms) / 1000)
        self._progress_since_ms = None
        self._progress_logged = False

    def _report(self, remaining: int, elapsed_s: float) -> None:
        rate = self._progress_sent / elapsed_s if elapsed_s > 0 else 0.0
        progress = DrainProgress(
            sent_events=self.state.delivered_events + self.state.rejected_events,
            remaining_events=remaining,
            rate_events_per_s=rate,
        )
        log.info(
            "uploader: sent %d events in total, %d remaining, %.0f events/s%s",
            progress.sent_events,
            remaining,
            rate,
            f", about {remaining / rate:.0f} s to go" if rate > 0 and remaining else "",
        )
        if self._on_progress is not None:
            self._on_progress(progress)
