// Staff alerts: open alerts newest first, acknowledged with one tap, filtered by kind and zone.
"use strict";

(() => {
  const { t, el, api } = O2O;
  const KINDS = ["size_request", "member_arrived", "exit_unsold", "shelf_empty", "reader_offline", "camera_offline"];
  const kindSelect = document.getElementById("kind");
  const zoneSelect = document.getElementById("zone");
  let alerts = [];
  let zones = [];

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

  function alertCard(alert) {
    const acknowledged = alert.state === "acknowledged";
    const action = acknowledged
      ? el("p", { class: "acked", "data-testid": "acknowledged-by" }, t("acknowledgedBy", { staff: alert.acknowledged_by || "?" }))
      : el("button", { type: "button", class: "primary", "data-testid": "acknowledge" }, t("acknowledge"));
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
      alerts = await api(`/api/v1/alerts?${query}`);
      render();
    } catch (error) {
      if (error.status === 403) page.showMessage(error.message);
      else if (error.status !== 401) page.pill("offline");
    }
  }

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
    live: { onEvent: (event) => { if (event.type.startsWith("alert.")) refreshSoon(); } },
  });
  kindSelect.addEventListener("change", refresh);
  zoneSelect.addEventListener("change", refresh);
  O2O.languageSwitch(document.getElementById("languages"), () => { fillFilters(); render(); });
  if (O2O.token()) page.start();
  else page.showPairing(null);
})();
