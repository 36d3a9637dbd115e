// The fitting-room tablet: items in the room, the member's greeting, recommendations with
// every size and where it is, "another size or colour" and "bring me this" requests with
// their acknowledgement. It offers only what can happen: each option says where it is (on
// the floor, in the stock room, in this room, at a named nearby store, not in this store), and
// a request the store cannot fetch gets the edge's immediate answer, never "on its way".
"use strict";

(() => {
  const { t, el, api } = O2O;
  const zone = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
  let room = null;
  let openPicker = null; // epc of the item whose size/colour picker is open
  let picked = {}; // {size, colour} chosen in the open picker
  let answer = null; // {key, message} of the last refused or failed request (key: epc or gtin)
  const recSize = {}; // recommendation gtin -> the size the shopper chose on its card

  // Where a variant is -> its words; only these two can be brought by staff.
  const WHERE = {
    floor: "where_floor",
    backroom: "where_backroom",
    in_room: "where_in_room",
    nearby_store: "where_nearby_store", // named by whereWords when the edge says which store
    not_in_store: "where_not_in_store",
    no_variant: "where_no_variant",
  };
  const FETCHABLE = new Set(["floor", "backroom"]);
  // The edge's refusals (409 details, stable texts) -> the shopper's words.
  const ANSWERS = {
    "Not in this store": "answer_not_in_store",
    "Already in your room": "answer_in_room",
    "No such size or colour": "answer_no_variant",
    "Already requested a moment ago": "answer_repeat",
  };

  // The catalog's words in the page's language, else its own.
  function loc(product, field) {
    const words = product && product.i18n && product.i18n[O2O.lang];
    return (words && words[field]) || (product ? product[field] : "") || "";
  }

  function colourName(variants, colour) {
    const variant = variants.find((v) => v.colour === colour);
    return variant ? loc(variant, "colour") : colour;
  }

  function label(product) {
    const details = [loc(product, "colour"), product.size].filter(Boolean).join(", ");
    return details ? `${loc(product, "name")} (${details})` : loc(product, "name");
  }

  function price(value) {
    if (value === null || value === undefined) return "";
    return new Intl.NumberFormat(O2O.lang, { style: "currency", currency: "EUR" }).format(value);
  }

  function requestFor(gtin) {
    return room.requests.find((r) => r.gtin === gtin) || null;
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

  function answerLine(key) {
    if (!answer || answer.key !== key) return null;
    return el("p", { class: "answer", role: "alert", "data-testid": "request-answer" }, answer.message);
  }

  function km(distance) {
    return new Intl.NumberFormat(O2O.lang, { maximumFractionDigits: 1 }).format(distance);
  }

  // Where a variant (or null: no such variant) is, in words: the nearest store that has it
  // when this store has none (stock only, from headquarters).
  function whereWords(variant) {
    const where = variant ? variant.availability : "no_variant";
    const nearest = where === "nearby_store" && variant.nearby && variant.nearby[0];
    return nearest
      ? t("where_nearby_named", { store: nearest.name, km: km(nearest.distance_km) })
      : t(WHERE[where]);
  }

  // A size or colour button that says where that variant is.
  function optionChip(kind, value, text, variant, pressed, onPick) {
    const where = variant ? variant.availability : "no_variant";
    const button = el("button", {
      type: "button",
      class: "chip" + (FETCHABLE.has(where) ? "" : " unavailable") + (where === "nearby_store" ? " elsewhere" : ""),
      "data-testid": `${kind}-option`,
      "data-value": value,
      "data-availability": where,
      "aria-pressed": String(pressed),
    }, el("span", { class: "chip-value" }, text), el("span", { class: "chip-where" }, whereWords(variant)));
    button.addEventListener("click", onPick);
    return button;
  }

  function variantOf(item, size, colour) {
    return item.variants.find((v) => v.size === size && v.colour === colour) || null;
  }

  function picker(item) {
    const size = picked.size || item.size;
    const colour = picked.colour || item.colour;
    const toggle = (kind, value) => () => {
      picked[kind] = picked[kind] === value ? undefined : value;
      answer = null;
      render();
    };
    const sizes = item.sizes.filter((s) => s !== item.size).map((s) =>
      optionChip("size", s, s, variantOf(item, s, colour), picked.size === s, toggle("size", s)));
    const colours = item.colours.filter((c) => c !== item.colour).map((c) =>
      optionChip("colour", c, colourName(item.variants, c), variantOf(item, size, c), picked.colour === c, toggle("colour", c)));
    const ask = el("button", { type: "button", class: "primary", "data-testid": "ask-staff" }, t("askStaff"));
    ask.addEventListener("click", () => sendPicked(item));
    const cancel = el("button", { type: "button", class: "secondary" }, t("cancel"));
    cancel.addEventListener("click", () => { openPicker = null; picked = {}; answer = null; render(); });
    return el("div", { class: "picker", "data-testid": "picker" },
      sizes.length ? [el("h4", {}, t("size")), el("div", { class: "chips", role: "group", "aria-label": t("size") }, sizes)] : null,
      colours.length ? [el("h4", {}, t("colour")), el("div", { class: "chips", role: "group", "aria-label": t("colour") }, colours)] : null,
      el("div", { class: "actions" }, ask, cancel));
  }

  async function sendPicked(item) {
    if (!picked.size && !picked.colour) {
      answer = { key: item.epc, message: t("pickOne") };
      render();
      return;
    }
    const body = { gtin: item.gtin };
    if (picked.size) body.size = picked.size;
    if (picked.colour) body.colour = picked.colour;
    const wanted = variantOf(item, picked.size || item.size, picked.colour || item.colour);
    // A variant carries the catalog's words for itself (name and colour in every language).
    const words = label(wanted ? Object.assign({}, item, wanted) : item);
    if (await send(body, item.epc, words, wanted)) {
      openPicker = null;
      picked = {};
    }
    render();
  }

  // POST the request; the edge answers at once: 201 the request, 409 why staff cannot bring it
  // (and, for a variant this store lacks, which nearby store has it).
  async function send(body, key, words, variant) {
    try {
      const request = await api(`/api/v1/rooms/${encodeURIComponent(zone)}/size-requests`, { method: "POST", body });
      room.requests = [request, ...room.requests.filter((r) => r.alert_id !== request.alert_id)];
      answer = null;
      return true;
    } catch (error) {
      const known = error.status === 409 && ANSWERS[error.detail];
      const nearest = known === "answer_not_in_store" && variant && variant.nearby && variant.nearby[0];
      let message = known ? t(known, { item: words }) : t("requestFailed", { reason: error.message });
      if (nearest) {
        message = t("answer_nearby_store", { item: words, store: nearest.name, km: km(nearest.distance_km) });
      }
      answer = { key, message };
      if (known) refresh(); // the stock changed since the page last heard: show it as it is
      return false;
    }
  }

  function itemCard(item) {
    const request = requestFor(item.gtin);
    const details = [loc(item, "colour"), item.size && `${t("size")} ${item.size}`].filter(Boolean).join(" · ");
    const another = el("button", { type: "button", class: "primary", "data-testid": "another-size" }, t("anotherSize"));
    another.addEventListener("click", () => {
      openPicker = openPicker === item.epc ? null : item.epc;
      picked = {};
      answer = null;
      render();
    });
    return el("article", { class: "card item", "data-testid": "room-item", "data-gtin": item.gtin },
      el("img", { src: item.image, alt: loc(item, "name"), width: 120, height: 132 }),
      el("div", { class: "body" },
        el("h3", { "data-testid": "item-name" }, loc(item, "name")),
        el("p", { class: "details", "data-testid": "item-details" }, details),
        el("p", { class: "price" }, price(item.price)),
        item.gtin && (item.sizes.length > 1 || item.colours.length > 1) ? another : null,
        request ? requestedVariant(request, item.variants) : null,
        request ? requestStatus(request) : null),
      // Full card width: the options and the edge's answer below the picture.
      openPicker === item.epc ? picker(item) : null,
      answerLine(item.epc));
  }

  function requestedVariant(request, variants) {
    const wanted = [request.colour && colourName(variants, request.colour), request.size && `${t("size")} ${request.size}`].filter(Boolean);
    return el("p", { class: "asked", "data-testid": "request-wanted" }, wanted.join(" · "));
  }

  function reasonText(rec) {
    const because = rec.because;
    switch (rec.reason) {
      case "goes_with": return because ? t("reason_goes_with", { item: label(because) }) : t("reason_goes_with_any");
      case "member_history": return because ? t("reason_member_history", { item: label(because) }) : t("reason_picked");
      case "complements": return because ? t("reason_complements", { name: loc(because, "name") }) : t("reason_might_like");
      case "in_stock": return t("reason_in_stock");
      default: return rec.text;
    }
  }

  // The size to bring: the shopper's choice on this card, else their size, else one to hand.
  function chosenSize(rec) {
    const sizes = rec.variants.map((v) => v.size);
    if (recSize[rec.gtin] !== undefined && sizes.includes(recSize[rec.gtin])) return recSize[rec.gtin];
    if (rec.shopper_size && sizes.includes(rec.shopper_size)) return rec.shopper_size;
    const fetchable = rec.variants.find((v) => FETCHABLE.has(v.availability));
    return fetchable ? fetchable.size : rec.size;
  }

  function recommendationCard(rec) {
    const request = requestFor(rec.gtin);
    const oneSize = rec.variants.length > 0 && rec.variants.every((v) => !v.size);
    const size = chosenSize(rec);
    const chosen = rec.variants.find((v) => v.size === size) || null;
    const where = chosen ? chosen.availability : "no_variant";
    let sizes;
    if (oneSize) {
      sizes = el("p", { class: "one-size", "data-testid": "one-size", "data-availability": where },
        t("oneSize"), " · ", whereWords(chosen));
    } else {
      sizes = el("div", { class: "chips", role: "group", "aria-label": t("size") },
        rec.variants.map((v) => {
          const chip = optionChip("rec-size", v.size, v.size, v, v.size === size, () => {
            recSize[rec.gtin] = v.size;
            answer = null;
            render();
          });
          if (v.size === rec.shopper_size) {
            chip.classList.add("yours");
            chip.prepend(el("span", { class: "chip-yours" }, t("yourSize")));
          }
          return chip;
        }));
    }
    const bring = el("button", {
      type: "button", class: "primary", "data-testid": "bring-me-this", "data-size": size || "",
    }, oneSize || !size ? t("bringMeThis") : t("bringMeThisIn", { size }));
    bring.addEventListener("click", async () => {
      const body = { gtin: rec.gtin };
      if (size) body.size = size;
      else body.colour = rec.colour;
      const words = label(Object.assign({}, rec, { size: size || "" }));
      await send(body, rec.gtin, words, chosen);
      render();
    });
    return el("article", { class: "card recommendation", "data-testid": "recommendation", "data-gtin": rec.gtin },
      el("img", { src: rec.image, alt: loc(rec, "name"), width: 90, height: 99 }),
      el("div", { class: "body" },
        el("h3", { "data-testid": "recommendation-name" }, loc(rec, "name")),
        el("p", { class: "details" }, [loc(rec, "colour"), price(rec.price)].filter(Boolean).join(" · ")),
        el("p", { class: "why", "data-testid": "recommendation-why" }, reasonText(rec)),
        rec.about ? el("p", { class: "about", "data-testid": "recommendation-about" }, loc({ text: rec.about, i18n: rec.i18n }, "text")) : null,
        sizes,
        request ? requestStatus(request) : bring,
        answerLine(rec.gtin)));
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
