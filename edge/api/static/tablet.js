// The fitting-room tablet: items in the room, the member's greeting, recommendations with the
// sizes in stock and where, and "another size or colour" requests with their acknowledgement.
"use strict";

(() => {
  const { t, el, api } = O2O;
  const zone = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
  let room = null;
  let openPicker = null; // epc of the item whose size/colour picker is open
  let picked = {}; // {size, colour} chosen in the open picker
  let failure = null; // {epc, message} of the last failed request

  function price(value) {
    if (value === null || value === undefined) return "";
    return new Intl.NumberFormat(O2O.lang, { style: "currency", currency: "EUR" }).format(value);
  }

  function requestFor(item) {
    return room.requests.find((r) => r.gtin === item.gtin) || null;
  }

  function requestStatus(request) {
    const text = request.acknowledged_by
      ? t("onItsWay", { staff: request.acknowledged_by })
      : t("requested");
    return el("p", {
      class: "request " + (request.acknowledged_by ? "acknowledged" : "open"),
      "data-testid": "request-status",
      "data-state": request.state,
    }, text);
  }

  function chips(kind, values) {
    return el("div", { class: "chips", role: "group", "aria-label": t(kind) },
      values.map((value) => {
        const button = el("button", {
          type: "button", class: "chip", "data-testid": `${kind}-option`, "data-value": value,
          "aria-pressed": String(picked[kind] === value),
        }, value);
        button.addEventListener("click", () => {
          picked[kind] = picked[kind] === value ? undefined : value;
          render();
        });
        return button;
      }));
  }

  function picker(item) {
    const sizes = item.sizes.filter((s) => s !== item.size);
    const colours = item.colours.filter((c) => c !== item.colour);
    const ask = el("button", { type: "button", class: "primary", "data-testid": "ask-staff" }, t("askStaff"));
    ask.addEventListener("click", () => sendRequest(item));
    const cancel = el("button", { type: "button", class: "secondary" }, t("cancel"));
    cancel.addEventListener("click", () => { openPicker = null; picked = {}; render(); });
    return el("div", { class: "picker", "data-testid": "picker" },
      sizes.length ? [el("h4", {}, t("size")), chips("size", sizes)] : null,
      colours.length ? [el("h4", {}, t("colour")), chips("colour", colours)] : null,
      el("div", { class: "actions" }, ask, cancel));
  }

  async function sendRequest(item) {
    if (!picked.size && !picked.colour) {
      failure = { epc: item.epc, message: t("pickOne") };
      render();
      return;
    }
    const body = { gtin: item.gtin };
    if (picked.size) body.size = picked.size;
    if (picked.colour) body.colour = picked.colour;
    try {
      const request = await api(`/api/v1/rooms/${encodeURIComponent(zone)}/size-requests`, { method: "POST", body });
      room.requests = [request, ...room.requests.filter((r) => r.alert_id !== request.alert_id)];
      openPicker = null;
      picked = {};
      failure = null;
    } catch (error) {
      failure = { epc: item.epc, message: t("requestFailed", { reason: error.message }) };
    }
    render();
  }

  function itemCard(item) {
    const request = requestFor(item);
    const details = [item.colour, item.size && `${t("size")} ${item.size}`].filter(Boolean).join(" · ");
    const another = el("button", { type: "button", class: "primary", "data-testid": "another-size" }, t("anotherSize"));
    another.addEventListener("click", () => {
      openPicker = openPicker === item.epc ? null : item.epc;
      picked = {};
      failure = null;
      render();
    });
    return el("article", { class: "card item", "data-testid": "room-item", "data-gtin": item.gtin },
      el("img", { src: item.image, alt: item.name, width: 120, height: 132 }),
      el("div", { class: "body" },
        el("h3", {}, item.name),
        el("p", { class: "details" }, details),
        el("p", { class: "price" }, price(item.price)),
        item.gtin && (item.sizes.length > 1 || item.colours.length > 1) ? another : null,
        openPicker === item.epc ? picker(item) : null,
        failure && failure.epc === item.epc ? el("p", { class: "error", role: "alert" }, failure.message) : null,
        request ? requestedVariant(request) : null,
        request ? requestStatus(request) : null));
  }

  function requestedVariant(request) {
    const wanted = [request.colour, request.size && `${t("size")} ${request.size}`].filter(Boolean);
    return el("p", { class: "asked", "data-testid": "request-wanted" }, wanted.join(" · "));
  }

  function stockLine(size) {
    const where = size.places.map((p) => t(p.where === "backroom" ? "backroom" : "floor"));
    return el("li", { "data-testid": "size-in-stock" },
      el("strong", {}, size.size || "—"), " ", Array.from(new Set(where)).join(", "));
  }

  function recommendationCard(rec) {
    return el("article", { class: "card recommendation", "data-testid": "recommendation", "data-gtin": rec.gtin },
      el("img", { src: rec.image, alt: rec.name, width: 90, height: 99 }),
      el("div", { class: "body" },
        el("h3", {}, rec.name),
        el("p", { class: "details" }, [rec.colour, price(rec.price)].filter(Boolean).join(" · ")),
        rec.text ? el("p", { class: "why" }, rec.text) : null,
        el("p", { class: "stock-title" }, t("inStock")),
        el("ul", { class: "stock" }, rec.sizes_in_stock.map(stockLine))));
  }

  function render() {
    if (!room) return;
    document.getElementById("zone-name").textContent = room.zone_name;
    document.title = room.zone_name;
    const greeting = document.getElementById("greeting");
    greeting.textContent = room.member
      ? `${t("hello", { name: room.member.first_name })} · ${t("tier", { tier: room.member.tier })}`
      : t("welcome");
    const items = document.getElementById("items");
    items.replaceChildren(...(room.items.length
      ? room.items.map(itemCard)
      : [el("p", { class: "empty", "data-testid": "room-empty" }, t("roomFree"))]));
    const recs = document.getElementById("recommendations");
    recs.replaceChildren(...(room.recommendations.length
      ? room.recommendations.map(recommendationCard)
      : [el("p", { class: "empty" }, t("noRecommendations"))]));
  }

  async function refresh() {
    try {
      room = await api(`/api/v1/rooms/${encodeURIComponent(zone)}`);
      render();
    } catch (error) {
      if (error.status === 403) page.showMessage(t("wrongZone"));
      else if (error.status !== 401) page.pill("offline");
    }
  }

  const page = O2O.page({
    refresh,
    live: {
      zone,
      onEvent: O2O.debounce(refresh, 120),
      onRejected: (code) => (code === 4403 ? page.showMessage(t("wrongZone")) : page.showPairing(t("signedOut"))),
    },
  });
  O2O.languageSwitch(document.getElementById("languages"), render);
  if (O2O.token()) page.start();
  else page.showPairing(null);
})();
