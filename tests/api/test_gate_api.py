"""The exit gate's staff API on a real edge core: open alarms with their items, closing one
with an outcome, and the errors a client can cause (roles, unknown alarm, bad outcome)."""

from __future__ import annotations

from edge.api.devices import DeviceRole
from edge.rfid.reads import TagRead
from tests.api.conftest import Edge, auth

ALARMS = "/api/v1/gate/alarms"


def test_open_alarm_closed_with_an_outcome(edge: Edge) -> None:
    staff = edge.add("maria", DeviceRole.STAFF)
    tablet = edge.add("tablet-1", DeviceRole.TABLET, "fitting-1")
    assert edge.client.get(ALARMS, headers=auth(staff)).json() == []
    tee = edge.place("012001", 3001, "shelf-a")  # a tee on its shelf ...
    for _ in range(2):  # ... then read at the exit (door reader, antenna 2), unpaid
        edge.t_ms += 300
        edge.owner.submit_read(TagRead("door-reader", 2, tee, -50.0, edge.t_ms))
    edge.owner.sync()
    [alarm] = edge.client.get(ALARMS, headers=auth(staff)).json()
    assert alarm["exit"] == "exit" and alarm["state"] == "on"
    [item] = alarm["items"]
    assert item["gtin"] == "00614141120017" and item["name"] and item["price"] > 0
    assert alarm["total_value"] == item["price"]

    assert edge.client.get(ALARMS, headers=auth(tablet)).status_code == 403
    url = f"{ALARMS}/{alarm['alarm_id']}/outcome"
    bad = edge.client.post(url, headers=auth(staff), json={"outcome": "stolen"})
    assert bad.status_code == 422
    missing = edge.client.post(
        f"{ALARMS}/nope/outcome", headers=auth(staff), json={"outcome": "lost"}
    )
    assert missing.status_code == 404 and missing.json() == {"detail": "Alarm not found"}

    closed = edge.client.post(url, headers=auth(staff), json={"outcome": "false_alarm"})
    assert closed.status_code == 204
    assert edge.client.get(ALARMS, headers=auth(staff)).json() == []
    again = edge.client.post(url, headers=auth(staff), json={"outcome": "lost"})
    assert again.status_code == 404
    # Closing acknowledged the exit_unsold alert too.
    [alert] = [
        a
        for a in edge.client.get("/api/v1/alerts", headers=auth(staff)).json()
        if a["alert_id"] == alarm["alarm_id"]
    ]
    assert alert["state"] == "acknowledged" and alert["acknowledged_by"] == "maria"
