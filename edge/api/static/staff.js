// Staff alerts: open alerts newest first, acknowledged with one tap, filtered by kind and zone.
"use strict";

(() => {
  const { t, el, api } = O2O;
  const KINDS = ["size_request", "member_arrived", "exit_unsold", "shelf_empty", "left_in_room", "reader_offline", "camera_offline"];
  const kindSelect = document.getElementById("kind");
  const zoneSelect = document.getElementById("zone");
  let alerts = [];
  let zones = [];
  let gateAlarms = new Map(); // alarm id (= its exit_unsold alert id) -> open gate alarm
  const OUTCOMES = ["recovered", "false_alarm", "lost"];

  function money(value) {
    return new Intl.NumberFormat(O2O.lang, { style: "currency", currency: "EUR" }).format(value);
  }

  function fillFilters() {
    const kind = kindSelect.value;
    const zone = zoneSelect.value;
    kindSelect.replaceChildren(el("option", { value: "" }, t("allKinds")),
      ...KINDS.map((k) => el("option", { value: k }, t("kind_" + k))));
    zoneSelect.replaceChildren(el("option", { value: "" }, t("allZones")),
      ...zones.map((z) => el("option", { value: z.id }, z.name)));
    kindSelect.value = kind;
    zoneSelect.value = zone;
  }

  // An exit alarm: its items with prices, "Checking" (the acknowledgement, which turns the gate
  // light off), then the outcome that closes it.
  function gateParts(alert, gate) {
    const items = el("ul", { class: "gate-items", "data-testid": "gate-items" },
      ...gate.items.map((item) => el("li", { "data-testid": "gate-item", "data-epc": item.epc },
        item.name || item.epc, item.price != null ? ` · ${money(item.price)}` : "")));
    const total = el("p", { class: "gate-total", "data-testid": "gate-total" },
      t("gateTotal", { total: money(gate.total_value) }));
    let action;
    if (alert.state !== "acknowledged") {
      action = el("button", { type: "button", class: "primary", "data-testid": "gate-checking" }, t("gateChecking"));
      action.addEventListener("click", () => acknowledge(alert, action));
    } else {
      action = el("div", { class: "gate-outcomes", role: "group", "aria-label": t("gateOutcomeAsk") },
        ...OUTCOMES.map((outcome) => {
          const button = el("button", { type: "button", "data-testid": `gate-outcome-${outcome}` }, t("outcome_" + outcome));
          button.addEventListener("click", () => closeAlarm(alert, outcome, button));
          return button;
        }));
    }
    return { details: [items, total], action };
  }

  async function closeAlarm(alert, outcome, button) {
    button.disabled = true;
    try {
      await api(`/api/v1/gate/alarms/${encodeURIComponent(alert.alert_id)}/outcome`,
        { method: "POST", body: { outcome } });
      gateAlarms.delete(alert.alert_id);
      render();
    } catch (error) {
      button.disabled = false;
    }
  }

  // The tap says what staff will do: "On my way" to a shopper, "Checking" at the exit.
  function ackLabel(kind) {
    const key = "ack_" + kind;
    return t(key) === key ? t("acknowledge") : t(key);
  }

  function alertCard(alert) {
    const gate = alert.kind === "exit_unsold" ? gateAlarms.get(alert.alert_id) : undefined;
    if (gate) return gateCard(alert, gate);
    const acknowledged = alert.state === "acknowledged";
    const action = acknowledged
      ? el("p", { class: "acked", "data-testid": "acknowledged-by" }, t("acknowledgedBy", { staff: alert.acknowledged_by || "?" }))
      : el("button", { type: "button", class: "primary", "data-testid": "acknowledge" }, ackLabel(alert.kind));
    if (!acknowledged) action.addEventListener("click", () => acknowledge(alert, action));
    return el("article", {
      class: `card alert severity-${alert.severity} ${acknowledged ? "is-acked" : ""}`,
      "data-testid": "alert", "data-kind": alert.kind, "data-alert-id": alert.alert_id,
    },
      el("div", { class: "body" },
        el("p", { class: "meta" }, t("kind_" + alert.kind), " · ", alert.zone_name || "—", " · ", O2O.timeText(alert.created)),
        el("p", { class: "text" }, alert.text)),
      action);
  }

  function gateCard(alert, gate) {
    const { details, action } = gateParts(alert, gate);
    return el("article", {
      class: `card alert gate-alarm severity-${alert.severity}`,
      "data-testid": "alert", "data-kind": alert.kind, "data-alert-id": alert.alert_id,
      "data-gate-state": gate.state,
    },
      el("div", { class: "body" },
        el("p", { class: "meta" }, t("kind_" + alert.kind), " · ", alert.zone_name || "—", " · ", O2O.timeText(alert.created)),
        el("p", { class: "text" }, alert.text),
        ...details),
      action);
  }

  async function acknowledge(alert, button) {
    button.disabled = true;
    try {
      const updated = await api(`/api/v1/alerts/${encodeURIComponent(alert.alert_id)}/ack`, { method: "POST" });
      alerts = alerts.map((a) => (a.alert_id === updated.alert_id ? updated : a));
      render();
    } catch (error) {
      button.disabled = false;
    }
  }

  function render() {
    const list = document.getElementById("alerts");
    list.replaceChildren(...(alerts.length
      ? alerts.map(alertCard)
      : [el("p", { class: "empty", "data-testid": "no-alerts" }, t("noAlerts"))]));
  }

  async function refresh() {
    const query = new URLSearchParams();
    if (kindSelect.value) query.set("kind", kindSelect.value);
    if (zoneSelect.value) query.set("zone", zoneSelect.value);
    try {
      const [open, gates] = await Promise.all([api(`/api/v1/alerts?${query}`), api("/api/v1/gate/alarms")]);
      alerts = open;
      gateAlarms = new Map(gates.map((gate) => [gate.alarm_id, gate]));
      render();
      refreshPicks();
    } catch (error) {
      if (error.status === 403) page.showMessage(error.message);
      else if (error.status !== 401) page.pill("offline");
    }
  }

  // Reservations to prepare: refreshed on their events and when tags move (a picked tag read
  // in the hold zone is what makes a reservation ready).
  async function refreshPicks() {
    try {
      const board = await api("/api/v1/reservations");
      O2OPicks.render(document.getElementById("picks"), board, zones, refreshPicks);
    } catch (error) {
      if (error.status !== 401 && error.status !== 403) page.pill("offline");
    }
  }
  const refreshPicksSoon = O2O.debounce(refreshPicks, 1000);

  async function loadZones() {
    try {
      zones = await api("/api/v1/zones");
    } catch (error) {
      zones = [];
    }
    fillFilters();
  }

  const refreshSoon = O2O.debounce(refresh, 120);
  const page = O2O.page({
    refresh,
    prepare: loadZones,
    live: {
      onEvent: (event) => {
        if (event.type.startsWith("alert.") || event.type === "gate.alarm") refreshSoon();
        if (event.type.startsWith("reservation.") || event.type.startsWith("tag.")) refreshPicksSoon();
      },
    },
  });
  kindSelect.addEventListener("change", refresh);
  zoneSelect.addEventListener("change", refresh);
  O2O.languageSwitch(document.getElementById("languages"), () => { fillFilters(); render(); refreshPicks(); });
  if (O2O.token()) page.start();
  else page.showPairing(null);
})();
