"""Face tracks and member decisions for one camera: a pure state machine on timestamped input.

Input per frame: its capture time and the recogniser's answer for every face in it
(:class:`FaceMatch`: box, detector score, best member or None, distance, margin — never an
embedding). Output: frozen observations that a converter turns into events.

Rules (thresholds in :class:`edge.config.cameras.FaceTrackingConfig`):

- **Tracks.** A face continues the track whose last box overlaps it most (IoU >= ``min_iou``);
  failing that, the track whose box centre is nearest, within ``max_centroid_shift`` face
  widths (fast motion at low frame rates). Pairs are taken greedily, best first, with ties
  broken by track age, so the result does not depend on anything but the input. A face
  recognised as a member never continues a track decided as another member. A track not
  seen for ``expire_after_ms`` has ended; the same person seen again starts a new track.
  Limitation: a stranger who steps into the place another undecided person left less than
  ``expire_after_ms`` ago continues that track (one visitor counted, not two).
- **Member decision.** Each frame of a track in which the face was embedded votes: for the
  recognised member if its distance is at most ``max_distance``, otherwise for nobody. Once one
  member has ``min_votes`` votes and at least ``min_vote_fraction`` of the track's embedded
  frames, the track *is* that member, for good: exactly one :class:`MemberSeenObservation` is
  produced, at that frame (``last_seen_ms`` is the decision time, ``confidence`` the agreeing
  share of embedded frames, ``distance`` their mean distance). Nothing more is produced for a
  member track: not per frame, not when it ends — the fusion stage keeps presence from it.
- **Visitors.** Every track (member or not) seen in a minute, with at least
  ``min_frames_to_count`` frames in total, is one visitor of that minute: "how many people per
  zone per minute", as seen by this camera. When the minute closes — once input time (a frame
  or :meth:`FaceTracker.tick`) passes its end by ``expire_after_ms``, so late frames still
  count — one :class:`ZoneVisitorsObservation` gives ``visitors`` and how many of them were
  ``members`` by then. Minutes without anyone produce nothing (absent means zero). A frame
  older than an already closed minute counts in the first open minute.
- **Privacy.** A track that matches nobody exists only in memory, only while it lasts (and
  until its minutes are counted). Track keys are internal and never appear in an observation.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from edge.config.cameras import FaceTrackingConfig
from edge.events.base import EventFactory, ms_to_datetime
from edge.events.vision import MemberSeen, MemberSeenPayload, ZoneVisitors, ZoneVisitorsPayload

Box = tuple[int, int, int, int]
"""(top, right, bottom, left) in pixels, face_recognition's order."""

MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class FaceMatch:
    """What the recognition worker returns for one face: no embedding, no pixels."""

    box: Box
    det_score: float
    member_id: str | None
    """Best gallery member within the gallery's threshold and margin; None for nobody."""
    distance: float | None
    """Distance to the best member; None when the face was not embedded (quality gate)."""
    margin: float | None
    """How much further the second-best member is (near ties come back as nobody)."""
    rejected: str | None = None
    """Quality gate that refused the face (size, blur, score), if any."""


@dataclass(frozen=True, slots=True)
class MemberSeenObservation:
    member_id: str
    camera_id: str
    zone: str
    confidence: float
    """Share of the track's embedded frames that named this member when it was decided."""
    distance: float
    """Mean face distance of the agreeing frames."""
    votes: int
    first_seen_ms: int
    last_seen_ms: int
    """The decision frame's capture time."""

    def to_event(self, factory: EventFactory) -> MemberSeen:
        """``member.seen`` at decision time."""
        return factory.make(
            MemberSeen,
            ts_ms=self.last_seen_ms,
            source=f"camera:{self.camera_id}",
            payload=MemberSeenPayload(
                member_id=self.member_id,
                camera_id=self.camera_id,
                zone=self.zone,
                confidence=self.confidence,
                distance=self.distance,
                votes=self.votes,
                first_seen=ms_to_datetime(self.first_seen_ms),
                last_seen=ms_to_datetime(self.last_seen_ms),
            ),
        )


@dataclass(frozen=True, slots=True)
class ZoneVisitorsObservation:
    camera_id: str
    zone: str
    minute_start_ms: int
    visitors: int
    """Distinct face tracks seen in the minute (members and anonymous people)."""
    members: int
    """Of those, tracks recognised as a member by the time the minute closed."""

    def to_event(self, factory: EventFactory) -> ZoneVisitors:
        """``zone.visitors`` at the minute's end."""
        return factory.make(
            ZoneVisitors,
            ts_ms=self.minute_start_ms + MINUTE_MS,
            source=f"camera:{self.camera_id}",
            payload=ZoneVisitorsPayload(
                zone=self.zone,
                camera_id=self.camera_id,
                minute_start=ms_to_datetime(self.minute_start_ms),
                visitors=self.visitors,
                members=self.members,
            ),
        )


Observation = MemberSeenObservation | ZoneVisitorsObservation


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (top, right, bottom, left) boxes."""
    top, bottom = max(a[0], b[0]), min(a[2], b[2])
    left, right = max(a[3], b[3]), min(a[1], b[1])
    inter = max(0, bottom - top) * max(0, right - left)
    area_a = max(0, a[2] - a[0]) * max(0, a[1] - a[3])
    area_b = max(0, b[2] - b[0]) * max(0, b[1] - b[3])
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def centroid_shift(a: Box, b: Box) -> float:
    """Distance between the box centres in face widths (the wider of the two boxes)."""
    ay, ax = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2
    by, bx = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    width = max(a[1] - a[3], b[1] - b[3], 1)
    return float(((ay - by) ** 2 + (ax - bx) ** 2) ** 0.5 / width)


def decide_member(
    votes: Counter[str], embedded_frames: int, config: FaceTrackingConfig
) -> str | None:
    """The member a track's votes agree on, or None while they do not (yet)."""
    if not votes or embedded_frames == 0:
        return None
    # Most votes first, then the smaller member id: deterministic on ties.
    member_id, count = min(votes.items(), key=lambda item: (-item[1], item[0]))
    if count >= config.min_votes and count / embedded_frames >= config.min_vote_fraction:
        return member_id
    return None


@dataclass(slots=True)
class _Track:
    key: int
    box: Box
    first_seen_ms: int
    last_seen_ms: int
    frames: int = 0
    embedded_frames: int = 0
    votes: Counter[str] = field(default_factory=Counter)
    distances: dict[str, list[float]] = field(default_factory=dict)
    member_id: str | None = None


def _compatible(track: _Track, face: FaceMatch) -> bool:
    """A face recognised as one member never continues the track of another (the next person
    stepping into the place the last one just left)."""
    return track.member_id is None or face.member_id in (None, track.member_id)


def _associate(
    tracks: Sequence[_Track], faces: Sequence[FaceMatch], config: FaceTrackingConfig
) -> dict[int, int]:
    """Face index -> track index: greedy on IoU, then on centre distance for the rest."""
    pairs: dict[int, int] = {}
    used: set[int] = set()
    candidates = [
        (t, track, f, face)
        for t, track in enumerate(tracks)
        for f, face in enumerate(faces)
        if _compatible(track, face)
    ]
    by_overlap = sorted(
        (-overlap, t, f)
        for t, track, f, face in candidates
        if (overlap := iou(track.box, face.box)) >= config.min_iou
    )
    by_centre = sorted(
        (shift, t, f)
        for t, track, f, face in candidates
        if (shift := centroid_shift(track.box, face.box)) <= config.max_centroid_shift
    )
    for _, t, f in itertools.chain(by_overlap, by_centre):
        if f not in pairs and t not in used:
            pairs[f] = t
            used.add(t)
    return pairs


class FaceTracker:
    """Tracks of one camera. Feed frames in capture order; ``tick`` advances time without one."""

    def __init__(self, camera_id: str, zone: str, config: FaceTrackingConfig) -> None:
        self.camera_id = camera_id
        self.zone = zone
        self.config = config
        self._tracks: list[_Track] = []
        self._keys = itertools.count()
        self._last_ts_ms: int | None = None
        self._minutes: dict[int, dict[int, _Track]] = {}
        self._closed_until_ms: int | None = None

    @property
    def active_tracks(self) -> int:
        return len(self._tracks)

    def update(self, ts_ms: int, faces: Sequence[FaceMatch]) -> list[Observation]:
        """One frame's faces at capture time ``ts_ms``; returns what was decided or closed."""
        if self._last_ts_ms is not None and ts_ms < self._last_ts_ms:
            ts_ms = self._last_ts_ms  # a clock step back must not reorder a track's history
        self._last_ts_ms = ts_ms
        observations = self.tick(ts_ms)
        pairs = _associate(self._tracks, faces, self.config)
        touched: list[_Track] = []
        for f, face in enumerate(faces):
            t = pairs.get(f)
            if t is None:
                track = _Track(next(self._keys), face.box, ts_ms, ts_ms)
                self._tracks.append(track)
            else:
                track = self._tracks[t]
                track.box = face.box
                track.last_seen_ms = ts_ms
            self._vote(track, face)
            touched.append(track)
            self._minute_of(ts_ms)[track.key] = track
        for track in sorted(touched, key=lambda tr: tr.key):
            decided = self._decide(track)
            if decided is not None:
                observations.append(decided)
        return observations

    def tick(self, now_ms: int) -> list[Observation]:
        """End tracks unseen for ``expire_after_ms``; close minutes that ended that long ago."""
        expire_ms = self.config.expire_after_ms
        self._tracks = [t for t in self._tracks if now_ms - t.last_seen_ms <= expire_ms]
        return self._close_minutes(lambda minute: minute + MINUTE_MS + expire_ms <= now_ms)

    def finish(self) -> list[Observation]:
        """End every track and close every open minute (end of a replay or of the camera)."""
        self._tracks = []
        return self._close_minutes(lambda minute: True)

    def _minute_of(self, ts_ms: int) -> dict[int, _Track]:
        minute = ts_ms - ts_ms % MINUTE_MS
        if self._closed_until_ms is not None and minute < self._closed_until_ms:
            minute = self._closed_until_ms
        return self._minutes.setdefault(minute, {})

    def _close_minutes(self, due: Callable[[int], bool]) -> list[Observation]:
        observations: list[Observation] = []
        for minute in sorted(m for m in self._minutes if due(m)):
            tracks = self._minutes.pop(minute).values()
            counted = [t for t in tracks if t.frames >= self.config.min_frames_to_count]
            self._closed_until_ms = max(self._closed_until_ms or 0, minute + MINUTE_MS)
            if counted:
                observations.append(
                    ZoneVisitorsObservation(
                        camera_id=self.camera_id,
                        zone=self.zone,
                        minute_start_ms=minute,
                        visitors=len(counted),
                        members=sum(1 for t in counted if t.member_id is not None),
                    )
                )
        return observations

    def _vote(self, track: _Track, face: FaceMatch) -> None:
        track.frames += 1
        if face.distance is None:
            return
        track.embedded_frames += 1
        if face.member_id is not None and face.distance <= self.config.max_distance:
            track.votes[face.member_id] += 1
            track.distances.setdefault(face.member_id, []).append(face.distance)

    def _decide(self, track: _Track) -> MemberSeenObservation | None:
        if track.member_id is not None:
            return None
        member_id = decide_member(track.votes, track.embedded_frames, self.config)
        if member_id is None:
            return None
        track.member_id = member_id
        distances = track.distances[member_id]
        return MemberSeenObservation(
            member_id=member_id,
            camera_id=self.camera_id,
            zone=self.zone,
            confidence=round(len(distances) / track.embedded_frames, 4),
            distance=round(sum(distances) / len(distances), 4),
            votes=len(distances),
            first_seen_ms=track.first_seen_ms,
            last_seen_ms=track.last_seen_ms,
        )
