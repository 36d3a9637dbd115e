"""The exit gate: ``exit_unsold`` on the confident exit read, while the shopper is in the door.

A pure state machine on timestamped reads (no I/O, no clock of its own); the rules and every
threshold are in docs/fusion.md ("Gate"). In short:

- **Confident:** ``confirm_reads`` reads of one EPC at one exit zone within
  ``confirm_window_s``, each at least ``rssi_floor_dbm`` (a read without RSSI counts only when
  ``missing_rssi_passes``).
- **Not alarmed:** EPCs sold (here, or chain-wide: the sold set HQ sends down), EPCs that came
  in from outside (first read of the store at the entrance or an exit, or a reader-reported
  ``IN``) for ``came_in_memory_s``, and, at an exit described with an inside zone
  (``gate.directions``), EPCs not read inside within ``direction_window_s`` before: read
  outside first, they are coming in; read inside within twice the confirm window at least as
  strongly (mean RSSI) as by the confirming outside reads, they are still inside (lingering
  at the door, cross-read by the outside antenna). A reader-reported ``OUT`` is a way out by itself.
- **One alarm per exit and moment:** items confident at the same exit within ``group_s`` of
  its alarm join it (``gate.alarm`` with the whole list) instead of raising alarms of their
  own. The gate light (``gate.alarm`` on/off, retained on ``gate/{exit}/alarm``) goes off
  ``alarm_on_s`` after the last item or when staff acknowledge the alert; staff then close
  the alarm with an outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from edge.alerts.rules import AlertDraft, AlertRules
from edge.config.gate import GateConfig
from edge.config.store import StoreConfig
from edge.config.zones import ZoneKind
from edge.events.alerts import (
    AlertKind,
    GateAlarm,
    GateAlarmPayload,
    GateAlarmState,
    GateItem,
    GateOutcome,
    Severity,
)
from edge.events.base import EventFactory
from edge.rfid.reads import TagDirection, TagRead

SOURCE = "alerts/gate"

ALARM_MEMORY_MS = 24 * 3600 * 1000
"""An alarm staff never close is forgotten after a day (its light went off long before)."""

ProductOf = Callable[[str], tuple[str, float] | None]
"""GTIN -> (product label: name, colour, size; price) from the catalog, None when the catalog
does not list it."""
GtinOf = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class GateNotice:
    """A change of one exit's alarm; a new alarm (``draft`` set) also raises ``exit_unsold``."""

    exit: str
    state: GateAlarmState
    items: tuple[GateItem, ...]
    reason: str
    ts_ms: int
    alarm_id: str | None
    """None for a new alarm: its id is the id of the ``alert.raised`` made from ``draft``."""
    draft: AlertDraft | None = None
    outcome: GateOutcome | None = None
    staff_id: str | None = None

    def to_event(self, factory: EventFactory, alarm_id: str) -> GateAlarm:
        return factory.make(
            GateAlarm,
            ts_ms=self.ts_ms,
            source=SOURCE,
            payload=GateAlarmPayload(
                alarm_id=alarm_id,
                exit=self.exit,
                state=self.state,
                items=list(self.items),
                total_value=total_value(self.items),
                reason=self.reason,
                outcome=self.outcome,
                staff_id=self.staff_id,
            ),
        )


def _mean_rssi(reads: list[tuple[int, float | None]]) -> float | None:
    values = [rssi for _, rssi in reads if rssi is not None]
    return sum(values) / len(values) if values else None


def total_value(items: tuple[GateItem, ...] | list[GateItem]) -> float:
    return round(sum(item.price or 0.0 for item in items), 2)


def passes_floor(rssi_dbm: float | None, floor_dbm: float | None, missing_passes: bool) -> bool:
    """Whether a read is strong enough to count towards an exit alarm."""
    if floor_dbm is None:
        return True
    if rssi_dbm is None:
        return missing_passes
    return rssi_dbm >= floor_dbm


@dataclass(slots=True)
class _Alarm:
    exit: str
    opened_ms: int
    last_item_ms: int
    items: list[GateItem]
    alarm_id: str | None = None
    on: bool = True


@dataclass(slots=True)
class _Exit:
    reads: dict[str, list[tuple[int, float | None]]] = field(default_factory=dict)
    """EPC -> (time, RSSI) of its recent reads above the floor (at most confirm_reads)."""
    alarm: _Alarm | None = None
    """The latest alarm at this exit (on, or off and not yet closed)."""


class GateRules:
    def __init__(
        self,
        config: GateConfig,
        *,
        zone_kinds: Mapping[str, ZoneKind],
        zone_names: Mapping[str, str],
        ports: Mapping[str, Mapping[int, str]],
        rules: AlertRules,
        gtin_of: GtinOf,
        product_of: ProductOf,
    ) -> None:
        self.config = config
        self._zone_kinds = dict(zone_kinds)
        self._zone_names = dict(zone_names)
        self._ports = {reader: dict(zones) for reader, zones in ports.items()}
        self._rules = rules
        self._gtin_of = gtin_of
        self._product_of = product_of
        self._inside_of = {d.exit: d.inside for d in config.directions}
        self._inside_zones = set(self._inside_of.values())
        self._window_ms = round(config.confirm_window_s * 1000)
        self._group_ms = round(config.group_s * 1000)
        self._on_ms = round(config.alarm_on_s * 1000)
        self._direction_ms = round(config.direction_window_s * 1000)
        self._came_in_ms = round(config.came_in_memory_s * 1000)
        self._exits = {zone: _Exit() for zone, kind in zone_kinds.items() if kind is ZoneKind.EXIT}
        self._last_seen: dict[str, int] = {}
        """EPC -> its last read anywhere: an EPC not in here is read for the first time."""
        self._came_in: dict[str, int] = {}
        self._inside_ms: dict[str, int] = {}
        self._inside_reads: dict[str, list[tuple[int, float | None]]] = {}
        """EPC -> its reads on an inside antenna within the compare window."""
        self._compare_ms = 2 * self._window_ms
        self._alarms: dict[str, _Alarm] = {}
        """Alarm id -> alarm, until staff close it (or ALARM_MEMORY_MS)."""
        self.stats = {
            "confident": 0,
            "alarmed": 0,
            "sold": 0,
            "came_in": 0,
            "inbound": 0,
            "still_inside": 0,
        }

    @classmethod
    def from_store_config(
        cls, config: StoreConfig, rules: AlertRules, gtin_of: GtinOf, product_of: ProductOf
    ) -> GateRules:
        ports: dict[str, dict[int, str]] = {}
        for reader in config.readers:
            ports[reader.id] = reader.port_zones()
        return cls(
            config.gate,
            zone_kinds={zone.id: zone.kind for zone in config.zones},
            zone_names={zone.id: zone.name or zone.id for zone in config.zones},
            ports=ports,
            rules=rules,
            gtin_of=gtin_of,
            product_of=product_of,
        )

    # -- reads -----------------------------------------------------------------------------

    def on_read(self, read: TagRead) -> list[GateNotice]:
        """Every read (keep it cheap): at most one notice, for the read that makes it confident."""
        if not self.config.enabled:
            return []
        zones = self._ports.get(read.reader_id)
        zone = zones.get(read.antenna) if zones is not None else None
        if zone is None:
            return []
        epc, ts_ms = read.epc, read.ts_ms
        kind = self._zone_kinds.get(zone)
        first = epc not in self._last_seen
        self._last_seen[epc] = ts_ms
        if read.direction is TagDirection.IN or (
            first and (kind is ZoneKind.ENTRANCE or kind is ZoneKind.EXIT)
        ):
            # Brought in from outside: bought elsewhere, or here on an earlier day.
            self._came_in[epc] = ts_ms
            self.stats["came_in"] += 1
            return []
        if kind is not ZoneKind.EXIT:
            if zone in self._inside_zones:
                self._inside_ms[epc] = ts_ms
                recent = self._inside_reads.get(epc)
                if recent is None:
                    recent = self._inside_reads[epc] = []
                recent.append((ts_ms, read.rssi_dbm))
                while ts_ms - recent[0][0] > self._compare_ms:
                    del recent[0]
            return []
        config = self.config
        if not passes_floor(read.rssi_dbm, config.rssi_floor_dbm, config.missing_rssi_passes):
            return []
        gate = self._exits[zone]
        times = gate.reads.get(epc)
        if times is None:
            times = gate.reads[epc] = []
        times.append((ts_ms, read.rssi_dbm))
        # Keep only reads inside the window, and no more than needed to decide.
        while times and (
            ts_ms - times[0][0] > self._window_ms or len(times) > config.confirm_reads
        ):
            del times[0]
        if len(times) < config.confirm_reads:
            return []
        del gate.reads[epc]
        return self._confident(zone, gate, read, _mean_rssi(times))

    def _confident(
        self, zone: str, gate: _Exit, read: TagRead, exit_rssi: float | None
    ) -> list[GateNotice]:
        epc, ts_ms = read.epc, read.ts_ms
        self.stats["confident"] += 1
        if self._rules.is_sold(epc):
            self.stats["sold"] += 1
            return []
        came_in = self._came_in.get(epc)
        if came_in is not None and ts_ms - came_in <= self._came_in_ms:
            return []
        inside = self._inside_of.get(zone)
        if inside is not None and read.direction is not TagDirection.OUT:
            inside_ms = self._inside_ms.get(epc)
            if inside_ms is None or ts_ms - inside_ms > self._direction_ms:
                # Outside before inside: it is coming in with its owner.
                self._came_in[epc] = ts_ms
                self.stats["inbound"] += 1
                return []
            if self._still_inside(epc, ts_ms, exit_rssi):
                self.stats["still_inside"] += 1
                return []
        alarm = gate.alarm
        if alarm is not None and alarm.on and any(item.epc == epc for item in alarm.items):
            return []
        if not self._rules.may_raise(AlertKind.EXIT_UNSOLD, epc, ts_ms):
            return []
        self.stats["alarmed"] += 1
        item = self._item(epc)
        if alarm is not None and alarm.on and ts_ms - alarm.opened_ms <= self._group_ms:
            alarm.items.append(item)
            alarm.last_item_ms = ts_ms
            return [self._notice(alarm, GateAlarmState.ON, "item_added", ts_ms)]
        alarm = gate.alarm = _Alarm(zone, ts_ms, ts_ms, [item])
        notice = self._notice(alarm, GateAlarmState.ON, "opened", ts_ms)
        return [
            GateNotice(
                exit=notice.exit,
                state=notice.state,
                items=notice.items,
                reason=notice.reason,
                ts_ms=ts_ms,
                alarm_id=None,
                draft=self._draft(zone, item, read),
            )
        ]

    def on_return(self, epc: str) -> None:
        """The item was returned at a till: it is the store's again, not one that came in."""
        self._came_in.pop(epc.upper(), None)

    def opened(self, exit_zone: str, alarm_id: str) -> None:
        """The owner made the new alarm's ``alert.raised``: its id names the alarm."""
        alarm = self._exits[exit_zone].alarm
        if alarm is not None and alarm.alarm_id is None:
            alarm.alarm_id = alarm_id
            self._alarms[alarm_id] = alarm

    # -- staff and time --------------------------------------------------------------------

    def on_ack(self, alarm_id: str, staff_id: str, ts_ms: int) -> list[GateNotice]:
        """Staff acknowledged the alert ("Checking"): the light goes off."""
        alarm = self._alarms.get(alarm_id)
        if alarm is None or not alarm.on:
            return []
        alarm.on = False
        return [self._notice(alarm, GateAlarmState.OFF, "acknowledged", ts_ms, staff_id=staff_id)]

    def close(
        self, alarm_id: str, outcome: GateOutcome, staff_id: str, ts_ms: int
    ) -> list[GateNotice]:
        """Staff close the alarm with its outcome; an unknown or closed alarm gives nothing."""
        alarm = self._alarms.pop(alarm_id, None)
        if alarm is None:
            return []
        alarm.on = False
        gate = self._exits[alarm.exit]
        if gate.alarm is alarm:
            gate.alarm = None
        return [
            self._notice(
                alarm, GateAlarmState.OFF, "closed", ts_ms, staff_id=staff_id, outcome=outcome
            )
        ]

    def is_open(self, alarm_id: str) -> bool:
        return alarm_id in self._alarms

    def alarms(self) -> list[GateAlarmPayload]:
        """Alarms staff have not closed yet, oldest first (light on or already off)."""
        return [
            GateAlarmPayload(
                alarm_id=alarm_id,
                exit=alarm.exit,
                state=GateAlarmState.ON if alarm.on else GateAlarmState.OFF,
                items=list(alarm.items),
                total_value=total_value(alarm.items),
                reason="open",
            )
            for alarm_id, alarm in self._alarms.items()
        ]

    def tick(self, now_ms: int) -> list[GateNotice]:
        notices: list[GateNotice] = []
        for gate in self._exits.values():
            alarm = gate.alarm
            if alarm is not None and alarm.on and now_ms - alarm.last_item_ms >= self._on_ms:
                alarm.on = False
                notices.append(self._notice(alarm, GateAlarmState.OFF, "timeout", now_ms))
            stale = [
                epc for epc, times in gate.reads.items() if now_ms - times[-1][0] > self._window_ms
            ]
            for epc in stale:
                del gate.reads[epc]
        for alarm_id in [
            a for a, alarm in self._alarms.items() if now_ms - alarm.opened_ms > ALARM_MEMORY_MS
        ]:
            del self._alarms[alarm_id]
        self._forget(now_ms)
        return notices

    def _forget(self, now_ms: int) -> None:
        keep_ms = self._came_in_ms
        for memory in (self._came_in, self._last_seen):
            for epc in [e for e, t in memory.items() if now_ms - t > keep_ms]:
                del memory[epc]
        for epc in [e for e, t in self._inside_ms.items() if now_ms - t > self._direction_ms]:
            del self._inside_ms[epc]
            self._inside_reads.pop(epc, None)

    # -- helpers ---------------------------------------------------------------------------

    def _still_inside(self, epc: str, ts_ms: int, exit_rssi: float | None) -> bool:
        """Read inside within the compare window (2 x confirm_window_s) at least as strongly,
        on average, as by the confirming outside reads: the tag is nearer the inside antenna
        (someone lingering at the door, cross-read by the outside antenna), not across."""
        recent = [
            rssi
            for read_ms, rssi in self._inside_reads.get(epc, ())
            if ts_ms - read_ms <= self._compare_ms and rssi is not None
        ]
        if not recent or exit_rssi is None:
            return False  # no strengths to compare: the outside reads decide
        return sum(recent) / len(recent) >= exit_rssi

    def _item(self, epc: str) -> GateItem:
        gtin = self._gtin_of(epc)
        product = self._product_of(gtin) if gtin is not None else None
        if product is None:
            return GateItem(epc=epc, gtin=gtin)
        return GateItem(epc=epc, gtin=gtin, name=product[0], price=product[1])

    def _notice(
        self,
        alarm: _Alarm,
        state: GateAlarmState,
        reason: str,
        ts_ms: int,
        *,
        staff_id: str | None = None,
        outcome: GateOutcome | None = None,
    ) -> GateNotice:
        return GateNotice(
            exit=alarm.exit,
            state=state,
            items=tuple(alarm.items),
            reason=reason,
            ts_ms=ts_ms,
            alarm_id=alarm.alarm_id,
            outcome=outcome,
            staff_id=staff_id,
        )

    def _draft(self, zone: str, item: GateItem, read: TagRead) -> AlertDraft:
        # What staff look for in the shopper's bag first; the tag last.
        what = item.name or "An item not in the catalog"
        tag = f"EPC {item.epc}" + (f", GTIN {item.gtin}" if item.gtin and not item.name else "")
        price = f" · {item.price:.2f}" if item.price is not None else ""
        return AlertDraft(
            kind=AlertKind.EXIT_UNSOLD,
            severity=Severity.CRITICAL,
            zone=zone,
            subject=item.epc,
            text=(f"{what}{price} left through {self._zone_names.get(zone, zone)} unsold ({tag})"),
            ts_ms=read.ts_ms,
            cause={
                "exit": zone,
                "items": [item.model_dump(mode="json")],
                "total_value": total_value([item]),
                "read": {
                    "reader_id": read.reader_id,
                    "antenna": read.antenna,
                    "rssi_dbm": read.rssi_dbm,
                    "direction": read.direction.value if read.direction else None,
                },
            },
        )
