// The staff pick list of reservations made online: each item with where its tags are now (from
// RFID zones), a "Picked" tap per place, and the state RFID confirms (read in the hold zone).
// A tap alone never makes a reservation ready (docs/fusion.md, "Reservations").
"use strict";

window.O2OPicks = (() => {
  const { t, el, api } = O2O;

  function label(item) {
    const p = item.product;
    if (!p) return `GTIN ${item.gtin}`;
    const extra = [p.colour, p.size].filter(Boolean).join(", ");
    return extra ? `${p.name} (${extra})` : p.name;
  }

  function zoneName(zones, id) {
    const found = zones.find((z) => z.id === id);
    return found ? found.name : id;
  }

  // Tags of the item's product by zone, in the order the edge lists them (nearest news first).
  function places(item) {
    const byZone = new Map();
    for (const where of item.where) {
      if (!byZone.has(where.zone)) byZone.set(where.zone, []);
      byZone.get(where.zone).push(where.epc);
    }
    return byZone;
  }

  function itemRow(reservation, item, zones, onChange) {
    const holdName = zoneName(zones, reservation.hold_zone);
    let state;
    if (item.unavailable) {
      state = el("p", { class: "pick-state", "data-testid": "pick-state", "data-state": "unavailable" }, t("pickReported"));
    } else if (item.bought) {
      state = el("p", { class: "pick-state done", "data-testid": "pick-state", "data-state": "bought" }, t("pickBought"));
    } else if (item.in_hold_zone) {
      state = el("p", { class: "pick-state done", "data-testid": "pick-state", "data-state": "held" },
        t("pickHeld", { zone: holdName }));
    } else if (item.picked_epc) {
      state = el("p", { class: "pick-state", "data-testid": "pick-state", "data-state": "picked" },
        t("pickBring", { zone: holdName }));
    } else {
      const found = places(item);
      // "Not in the store": staff looked and found none (RFID may list a tag that is not there).
      const none = el("button", { type: "button", "data-testid": "unavailable" }, t("pickUnavailable"));
      none.addEventListener("click", () => report(reservation, item, none, onChange));
      state = found.size
        ? el("div", { class: "pick-places", role: "group", "data-testid": "pick-places" },
          ...Array.from(found, ([zone, epcs]) => {
            const button = el("button", { type: "button", "data-testid": "pick", "data-zone": zone },
              t("pickFrom", { zone: zoneName(zones, zone), count: epcs.length }));
            button.addEventListener("click", () => pick(reservation, item, epcs[0], button, onChange));
            return button;
          }), none)
        : el("div", { class: "pick-places" },
          el("p", { class: "pick-state warning", "data-testid": "pick-state", "data-state": "missing" }, t("pickMissing")),
          none);
    }
    const picture = item.product && item.product.image
      ? el("img", { src: item.product.image, alt: "", class: "pick-image", loading: "lazy" }) : "";
    return el("li", { class: "pick-item", "data-testid": "pick-item", "data-gtin": item.gtin },
      picture,
      el("div", { class: "pick-body" }, el("p", { class: "pick-name" }, label(item)), state));
  }

  async function pick(reservation, item, epc, button, onChange) {
    button.disabled = true;
    try {
      await api(`/api/v1/reservations/${encodeURIComponent(reservation.id)}/items/${item.index}/picked`,
        { method: "POST", body: { epc } });
    } catch (error) {
      button.disabled = false;
    }
    onChange();
  }

  async function report(reservation, item, button, onChange) {
    button.disabled = true;
    try {
      await api(`/api/v1/reservations/${encodeURIComponent(reservation.id)}/items/${item.index}/unavailable`,
        { method: "POST" });
    } catch (error) {
      button.disabled = false;
    }
    onChange();
  }

  function card(reservation, zones, onChange) {
    const until = O2O.timeText(new Date(reservation.window_end).toISOString());
    return el("article", {
      class: "card reservation", "data-testid": "reservation", "data-reservation-id": reservation.id,
      "data-status": reservation.status,
    },
      el("div", { class: "body" },
        el("p", { class: "meta" }, t("reservationMeta", { member: reservation.member_id, until })),
        el("p", { class: "text", "data-testid": "reservation-status" }, t("reservation_" + reservation.status)),
        el("ul", { class: "pick-list" }, ...reservation.items.map((item) => itemRow(reservation, item, zones, onChange)))));
  }

  // `board`: GET /api/v1/reservations; `zones`: GET /api/v1/zones.
  function render(container, board, zones, onChange) {
    const open = board.reservations || [];
    const back = board.to_return || [];
    container.hidden = open.length === 0 && back.length === 0;
    const parts = [el("h2", {}, t("reservationsTitle"))];
    parts.push(...open.map((r) => card(r, zones, onChange)));
    if (back.length) {
      parts.push(el("article", { class: "card", "data-testid": "to-return" },
        el("div", { class: "body" },
          el("p", { class: "text" }, t("toReturn")),
          el("ul", {}, ...back.map((b) => el("li", { "data-epc": b.epc },
            t("toReturnItem", { epc: b.epc.slice(-6), reservation: b.reservation_id })))))));
    }
    container.replaceChildren(...parts);
  }

  return { render };
})();
