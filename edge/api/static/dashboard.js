// The store dashboard: zones (occupancy, stock), readers and cameras (health), recent events,
// and visitors / try-ons per hour drawn as an inline SVG bar chart.
"use strict";

(() => {
  const { t, el, api } = O2O;
  const SVG = "http://www.w3.org/2000/svg";
  let board = null;

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function chart(hours) {
    const width = 560, height = 200, left = 30, bottom = 24, top = 22;
    const max = Math.max(1, ...hours.flatMap((h) => [h.visitors, h.tryons]));
    const slot = (width - left) / Math.max(1, hours.length);
    const bar = Math.max(3, slot / 2 - 3);
    const scale = (v) => ((height - bottom - top) * v) / max;
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": t("perHour"), class: "chart" });
    root.append(svg("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" }));
    root.append(svg("text", { x: 0, y: top + 4, class: "tick" }, String(max)));
    hours.forEach((h, i) => {
      const x = left + i * slot + 2;
      for (const [k, value, dx] of [["visitors", h.visitors, 0], ["tryons", h.tryons, bar + 1]]) {
        const barHeight = scale(value);
        const rect = svg("rect", { x: x + dx, y: height - bottom - barHeight, width: bar, height: barHeight, class: k });
        rect.append(svg("title", {}, `${t(k)}: ${value}`));
        root.append(rect);
      }
      const label = new Date(h.hour).toLocaleTimeString(O2O.lang, { hour: "2-digit", minute: "2-digit" });
      if (i % 2 === 0) root.append(svg("text", { x: x, y: height - 6, class: "tick" }, label));
    });
    const legend = svg("g", { class: "legend" });
    legend.append(svg("rect", { x: left, y: 4, width: 12, height: 12, class: "visitors" }));
    legend.append(svg("text", { x: left + 16, y: 14, class: "tick" }, t("visitors")));
    legend.append(svg("rect", { x: left + 110, y: 4, width: 12, height: 12, class: "tryons" }));
    legend.append(svg("text", { x: left + 126, y: 14, class: "tick" }, t("tryons")));
    root.append(legend);
    return root;
  }

  function syncText(sync) {
    if (!sync || !sync.enabled) return t("syncOff");
    const last = sync.last_success ? O2O.timeText(sync.last_success) : t("never");
    const text = t("syncState", { backlog: sync.backlog_events, last });
    return sync.last_error ? `${text} · ${sync.last_error}` : text;
  }

  function render() {
    if (!board) return;
    document.getElementById("store").textContent = board.name;
    document.getElementById("open-alerts").textContent = t("openAlerts", { count: board.open_alerts });
    document.getElementById("zones").replaceChildren(...board.zones.map((z) =>
      el("tr", { "data-testid": "zone-row", "data-zone": z.id },
        el("td", {}, z.name),
        el("td", {}, z.occupied === null ? "—" : t(z.occupied ? "occupied" : "free")),
        el("td", { class: "num" }, z.tags),
        el("td", { class: "num" }, z.products))));
    document.getElementById("components").replaceChildren(...board.components.map((c) =>
      el("tr", { "data-testid": "component-row", "data-component": c.id },
        el("td", {}, c.id, el("small", {}, ` ${c.kind}${c.zone ? " · " + c.zone : ""}`)),
        el("td", {}, el("span", { class: "state state-" + c.state }, t("state_" + c.state))),
        el("td", {}, c.last_data ? O2O.timeText(c.last_data) : t("never")),
        el("td", { class: "num" }, c.errors),
        el("td", { class: "num" }, c.frame_drops === null ? "—" : c.frame_drops))));
    document.getElementById("sync").textContent = syncText(board.sync);
    document.getElementById("chart").replaceChildren(chart(board.hours));
    document.getElementById("events").replaceChildren(...board.recent_events.slice(0, 25).map((e) =>
      el("li", { "data-testid": "event" },
        el("time", {}, O2O.timeText(e.ts)), " ", el("strong", {}, e.type), " ", e.summary)));
  }

  async function refresh() {
    try {
      board = await api("/api/v1/dashboard");
      render();
    } catch (error) {
      if (error.status === 403) page.showMessage(error.message);
      else if (error.status !== 401) page.pill("offline");
    }
  }

  const page = O2O.page({ refresh, live: { onEvent: O2O.debounce(refresh, 1000) } });
  setInterval(() => { if (page.live) refresh(); }, 10000);
  O2O.languageSwitch(document.getElementById("languages"), render);
  if (O2O.token()) page.start();
  else page.showPairing(null);
})();
