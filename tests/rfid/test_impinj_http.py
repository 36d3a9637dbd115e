"""The Impinj R700 HTTP stream driver against a local server playing recorded NDJSON.

The stream's content is the vendor corpus (tests/rfid/vendor_corpus/impinj, built from
Impinj's documents): lines end with CR-LF, keep-alives are bare CR-LF, as Impinj documents
for ``GET /api/v1/data/stream``. The server (tests/rfid/ndjson_server.py) cuts connections,
leaves a line half-written, hangs, refuses credentials, exactly where a test says.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.clock import VirtualClock
from edge.config.readers import ImpinjHttpReader
from edge.rfid.impinj_http import ImpinjHttpDriver, LineSplitter
from edge.rfid.reads import NO_ANTENNA, ReaderSignal, ReaderState, ReaderStatus, TagRead
from tests.rfid.corpus import expected_reads, load_cases
from tests.rfid.ndjson_server import NdjsonServer, Session

CORPUS = Path(__file__).parent / "vendor_corpus" / "impinj"
NOW_MS = 1709647400000
PASSWORD_ENV = "O2O_TEST_R700_PASSWORD"
EPC = "3074257BF7194E4000001A85"
TIMEOUT_S = 10.0
KEEPALIVE = b"\r\n"


def lines_of(name: str) -> list[bytes]:
    """The corpus file's events, each ended by CR-LF as on the wire."""
    text = (CORPUS / name).read_bytes()
    return [line + b"\r\n" for line in text.splitlines() if line.strip()]


class Collected:
    def __init__(self) -> None:
        self.reads: list[TagRead] = []
        self.statuses: list[ReaderStatus] = []


@pytest.fixture
def reader_config(monkeypatch: pytest.MonkeyPatch) -> Callable[..., ImpinjHttpReader]:
    monkeypatch.setenv(PASSWORD_ENV, "impinj")

    def make(url: str, **overrides: Any) -> ImpinjHttpReader:
        fields: dict[str, Any] = {
            "id": "door-r700",
            "kind": "impinj_http",
            "url": url,
            "username": "root",
            "password": f"${{{PASSWORD_ENV}}}",
            "antennas": {1: "exit", 2: "entrance"},
            "default_zone": "exit",
            # The corpus keeps the reader's own times: no drift correction against the test clock.
            "max_clock_drift_s": 1e9,
            "reconnect_max_s": 0.5,
        }
        fields.update(overrides)
        return ImpinjHttpReader.model_validate(fields)

    return make


@pytest.fixture
def run_driver() -> Iterator[Callable[[ImpinjHttpReader], tuple[ImpinjHttpDriver, Collected]]]:
    drivers: list[ImpinjHttpDriver] = []

    def run(config: ImpinjHttpReader) -> tuple[ImpinjHttpDriver, Collected]:
        got = Collected()
        driver = ImpinjHttpDriver(
            config, VirtualClock(NOW_MS), got.reads.append, got.statuses.append
        )
        drivers.append(driver)
        driver.start()
        return driver, got

    yield run
    for driver in drivers:
        driver.stop()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def links(statuses: list[ReaderStatus]) -> list[bool]:
    return [s.connected for s in statuses if s.signal is ReaderSignal.LINK]


# -- lines -------------------------------------------------------------------------------


def test_line_splitter_gives_the_same_lines_whatever_the_chunking() -> None:
    stream = b"".join(lines_of("status_and_health_events.ndjson")[:3]) + KEEPALIVE + b'{"a":1}\n'
    expected = [line.rstrip(b"\r\n") for line in lines_of("status_and_health_events.ndjson")[:3]]
    expected += [b"", b'{"a":1}']
    for cut in range(len(stream) + 1):
        splitter = LineSplitter()
        got = splitter.feed(stream[:cut]) + splitter.feed(stream[cut:])
        assert got == expected, cut
        assert splitter.cut() == b""
    splitter = LineSplitter()
    assert [line for byte in stream for line in splitter.feed(bytes([byte]))] == expected


def test_line_splitter_drops_overlong_lines_and_keeps_the_rest() -> None:
    splitter = LineSplitter(max_line_bytes=10)
    assert splitter.feed(b"short\r\n" + b"x" * 25) == [b"short"]
    assert splitter.feed(b"y" * 30 + b"\nok\n") == [b"ok"]
    assert splitter.feed(b"0123456789AB\nlast") == []
    assert splitter.too_long == 2
    assert splitter.cut() == b"last"


# -- the stream ----------------------------------------------------------------------------


def test_stream_with_keepalives_a_cut_and_a_half_written_line(
    reader_config: Callable[..., ImpinjHttpReader],
    run_driver: Callable[[ImpinjHttpReader], tuple[ImpinjHttpDriver, Collected]],
) -> None:
    """The reader streams, sends keep-alives, the connection is cut in the middle of an event;
    the driver reconnects and the stream goes on. No read is lost beyond the cut event, none
    is invented from its half."""
    default = lines_of("default_event_config.ndjson")[0]
    url_safe = lines_of("base64url_epc.ndjson")
    statuses = lines_of("status_and_health_events.ndjson")
    half = url_safe[1][: len(url_safe[1]) // 2]
    first = Session(
        pieces=[statuses[1], default, KEEPALIVE, url_safe[0][:40], url_safe[0][40:], half],
        ending="cut",
        pause_s=0.02,
    )
    second = Session(pieces=[url_safe[1], KEEPALIVE, statuses[6]], ending="hang", pause_s=0.02)
    with NdjsonServer([first, second], "root", "impinj") as server:
        driver, got = run_driver(reader_config(server.url))
        wait_until(lambda: driver.stats().lines == 5, "five events")
        driver.stop()  # before the server's end cuts the hanging second stream
    stats = driver.stats()
    assert got.reads == [
        TagRead("door-r700", 1, EPC, -56.5, 1709647331483),
        TagRead("door-r700", 2, EPC, -61.25, 1709647333000),
        TagRead("door-r700", 2, "3074257BF7194E4000001A86", -64.0, 1709647333010),
    ]
    assert stats.malformed == {"truncated_line": 1}
    assert (stats.connects, stats.disconnects, stats.keepalives) == (2, 1, 2)
    assert stats.reads == 3 and stats.lines == 5
    assert links(got.statuses) == [True, False, True]
    states = [(s.signal, s.state) for s in got.statuses if s.signal is ReaderSignal.READER]
    assert states == [
        (ReaderSignal.READER, ReaderState.INVENTORYING),
        (ReaderSignal.READER, None),  # the keep-alive: a sign of life
        (ReaderSignal.READER, ReaderState.IDLE),  # inventoryTerminated
    ]
    cut = next(s for s in got.statuses if s.signal is ReaderSignal.LINK and not s.connected)
    assert "RemoteProtocolError" in cut.detail
    assert [request for request, _ in server.requests] == [
        "GET /api/v1/data/stream HTTP/1.1",
        "GET /api/v1/data/stream HTTP/1.1",
    ]


def test_a_whole_event_that_only_lacks_its_line_break_is_delivered(
    reader_config: Callable[..., ImpinjHttpReader],
    run_driver: Callable[[ImpinjHttpReader], tuple[ImpinjHttpDriver, Collected]],
) -> None:
    """A close-delimited body whose last event has no CR-LF: the event is whole, so it counts."""
    last = lines_of("antenna_and_rssi_switched_off.ndjson")[0].rstrip(b"\r\n")
    session = Session(pieces=[lines_of("all_fields_enabled.ndjson")[0], last], framing="close")
    with NdjsonServer([session], "root", "impinj") as server:
        driver, got = run_driver(reader_config(server.url))
        wait_until(lambda: driver.stats().disconnects == 1, "the end of the stream")
    assert got.reads == [
        TagRead("door-r700", 1, "7EDA9038051002710002C0AE", -70.0, 1709647332102),
        TagRead("door-r700", NO_ANTENNA, EPC, None, 1709647334000),
    ]
    assert driver.stats().malformed == {}


def test_every_corpus_file_streams_to_its_expected_reads(
    reader_config: Callable[..., ImpinjHttpReader],
    run_driver: Callable[[ImpinjHttpReader], tuple[ImpinjHttpDriver, Collected]],
) -> None:
    cases = load_cases("impinj")
    pieces = [line for case in cases for line in lines_of(case["file"])]
    expected = [read for case in cases for read in expected_reads(case, "door-r700")]
    with NdjsonServer([Session(pieces=pieces, ending="hang")], "root", "impinj") as server:
        config = reader_config(server.url, antennas={1: "exit", 2: "entrance"})
        driver, got = run_driver(config)
        wait_until(lambda: driver.stats().lines == len(pieces), "every line")
        driver.stop()
    assert got.reads == expected
    stats = driver.stats()
    assert stats.lost_events == 1500 and stats.overflows == 1
    assert sum(stats.malformed.values()) == 5


def test_wrong_credentials_are_reported_and_retried(
    reader_config: Callable[..., ImpinjHttpReader],
    run_driver: Callable[[ImpinjHttpReader], tuple[ImpinjHttpDriver, Collected]],
) -> None:
    with NdjsonServer([], "root", "another-password") as server:
        driver, got = run_driver(reader_config(server.url))
        wait_until(lambda: driver.stats().auth_failures >= 2, "two refused attempts")
    assert not driver.connected
    assert links(got.statuses) == [False]  # changes only
    assert "HTTP 401" in got.statuses[0].detail and "credentials" in got.statuses[0].detail
    assert server.requests[0][1] == "Basic cm9vdDppbXBpbmo="  # root:impinj


def test_server_errors_and_an_unreachable_reader_are_counted(
    reader_config: Callable[..., ImpinjHttpReader],
    run_driver: Callable[[ImpinjHttpReader], tuple[ImpinjHttpDriver, Collected]],
) -> None:
    with NdjsonServer([Session(status=500)], "root", "impinj") as server:
        driver, _ = run_driver(reader_config(server.url))
        wait_until(lambda: driver.stats().http_errors == 1, "the 500")
        wait_until(lambda: driver.stats().connects == 1, "the reconnect")
    port = server.port  # closed now: nothing listens there
    driver, got = run_driver(reader_config(f"http://127.0.0.1:{port}"))
    wait_until(lambda: driver.stats().connect_errors >= 2, "two failed connects")
    assert links(got.statuses) == [False]
    assert "ConnectError" in got.statuses[0].detail


def test_a_stalled_stream_is_dropped_and_reopened(
    reader_config: Callable[..., ImpinjHttpReader],
    run_driver: Callable[[ImpinjHttpReader], tuple[ImpinjHttpDriver, Collected]],
) -> None:
    """No byte, not even a keep-alive, for stall_timeout_s: reconnect (Impinj: after 90 s)."""
    stalled = Session(pieces=lines_of("default_event_config.ndjson"), ending="hang")
    with NdjsonServer([stalled], "root", "impinj") as server:
        driver, got = run_driver(reader_config(server.url, stall_timeout_s=0.3))
        wait_until(lambda: driver.stats().connects >= 2, "the reconnect after the stall")
        driver.stop()
    stats = driver.stats()
    assert stats.stalls >= 1 and stats.reads == 1
    assert links(got.statuses)[:3] == [True, False, True]
    assert "stalled" in next(s for s in got.statuses if not s.connected).detail


def test_stop_ends_a_hanging_stream_at_once(
    reader_config: Callable[..., ImpinjHttpReader],
) -> None:
    with NdjsonServer([Session(ending="hang")], "root", "impinj") as server:
        driver = ImpinjHttpDriver(
            reader_config(server.url), VirtualClock(NOW_MS), lambda r: None, lambda s: None
        )
        driver.start()
        wait_until(lambda: driver.connected, "the stream")
        started = time.monotonic()
        driver.stop()
        assert time.monotonic() - started < 2.0


def test_an_http_stream_reader_in_the_running_edge(
    reader_config: Callable[..., ImpinjHttpReader],
    tmp_path: Path,
    store_id: str,
    mqtt_broker: tuple[str, int],
) -> None:
    """The reader kind as the composition root builds it: reads become tag events in the
    mapped zone, and its counters show on the dashboard and in /metrics."""
    from fastapi.testclient import TestClient

    from edge.app.compose import EdgeOptions
    from edge.config.loader import parse_store_config
    from tests.edge_harness import running_edge
    from tests.fusion.live_edge import Collector

    event = lines_of("all_fields_enabled.ndjson")[0]
    with NdjsonServer([Session([event, event], ending="hang")], "root", "impinj") as server:
        reader = {
            **reader_config(server.url).model_dump(mode="json", exclude_defaults=True),
            "password": f"${{{PASSWORD_ENV}}}",  # the file names the variable, never the secret
        }
        config = parse_store_config(
            {
                "store_id": store_id,
                "data_dir": str(tmp_path / "data"),
                "mqtt": {"host": mqtt_broker[0], "port": mqtt_broker[1]},
                "zones": [{"id": "exit", "kind": "exit"}, {"id": "entrance", "kind": "entrance"}],
                "readers": [reader],
                "tracker": {"arrival_settle_s": 0, "min_reads_for_zone": 1},
                "api": {"admin_token": "http-reader-token-0123"},
            },
            "test",
        )
        collector = Collector()
        options = EdgeOptions(clock=VirtualClock(NOW_MS), sinks=[collector], sync=False)
        with running_edge(config, options) as edge, TestClient(edge.http) as client:
            wait_until(
                lambda: any(e.type == "tag.arrived" for e in collector.snapshot()),
                "a tag placed by the HTTP stream's reads",
            )
            board = client.get(
                "/api/v1/dashboard", headers={"Authorization": "Bearer http-reader-token-0123"}
            ).json()
            metrics = client.get("/metrics").text
    (component,) = [c for c in board["components"] if c["id"] == "door-r700"]
    assert component["counters"]["reads"] == 2 and component["counters"]["connects"] >= 1
    assert 'o2o_reads_total{reader="door-r700"} 2.0' in metrics
