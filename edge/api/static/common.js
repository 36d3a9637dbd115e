// Shared by the tablet, staff and dashboard pages: the device token, API calls, the language
// switch, pairing, and a WebSocket that reconnects by itself. No framework, no build step.
"use strict";

const O2O = (() => {
  const TOKEN_KEY = "o2o.token";
  const LANG_KEY = "o2o.lang";
  const table = window.O2O_I18N;
  let lang = localStorage.getItem(LANG_KEY) || (navigator.language || "en").slice(0, 2);
  if (!table.languages[lang]) lang = "en";

  class ApiError extends Error {
    constructor(status, detail) {
      super(typeof detail === "string" ? detail : JSON.stringify(detail));
      this.status = status;
      this.detail = detail;
    }
  }

  // --- language ---------------------------------------------------------------------------
  function t(key, vars) {
    const entry = table.strings[key];
    let text = entry ? entry[lang] || entry.en : key;
    for (const [name, value] of Object.entries(vars || {})) {
      text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  }

  const languageListeners = [];
  function applyLanguage() {
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
    }
    for (const listener of languageListeners) listener(lang);
  }

  function setLanguage(next) {
    if (!table.languages[next]) return;
    lang = next;
    localStorage.setItem(LANG_KEY, lang);
    applyLanguage();
  }

  function languageSwitch(container, onChange) {
    if (onChange) languageListeners.push(onChange);
    for (const [code, name] of Object.entries(table.languages)) {
      const button = el("button", { class: "lang", type: "button", "data-lang": code }, name);
      button.addEventListener("click", () => setLanguage(code));
      container.append(button);
    }
    applyLanguage();
  }

  // --- DOM ----------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function timeText(iso) {
    if (!iso) return t("never");
    return new Date(iso).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  // --- token and API ------------------------------------------------------------------------
  function takeTokenFromUrl() {
    const params = new URLSearchParams(location.hash.slice(1));
    const token = params.get("token");
    if (token) {
      localStorage.setItem(TOKEN_KEY, token);
      history.replaceState(null, "", location.pathname + location.search);
    }
  }

  const token = () => localStorage.getItem(TOKEN_KEY);
  const forget = () => localStorage.removeItem(TOKEN_KEY);

  let onUnauthorized = () => {};

  async function api(path, options) {
    const opts = Object.assign({ method: "GET" }, options || {});
    const headers = { Accept: "application/json" };
    if (token()) headers.Authorization = "Bearer " + token();
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method: opts.method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      cache: "no-store",
    });
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (response.status === 401) {
      forget();
      onUnauthorized(body && body.detail);
    }
    if (!response.ok) throw new ApiError(response.status, body ? body.detail : response.statusText);
    return body;
  }

  // --- pairing ----------------------------------------------------------------------------
  function pairingForm(container, message, onPaired) {
    container.replaceChildren();
    const input = el("input", {
      id: "pair-code", "data-testid": "pair-code", autocomplete: "off", autocapitalize: "characters",
      inputmode: "text", maxlength: "20", placeholder: "ABCD-EFGH",
    });
    const error = el("p", { class: "error", "data-testid": "pair-error", role: "alert" });
    const form = el("form", { class: "pair card", "data-testid": "pair-form" },
      el("h2", { "data-i18n": "pairTitle" }, t("pairTitle")),
      message ? el("p", { class: "warning", "data-testid": "signed-out" }, message) : null,
      el("p", { "data-i18n": "pairHelp" }, t("pairHelp")),
      el("label", { for: "pair-code", "data-i18n": "pairCode" }, t("pairCode")),
      input,
      el("button", { class: "primary", type: "submit", "data-i18n": "pairButton" }, t("pairButton")),
      error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const paired = await api("/api/v1/devices/pair", { method: "POST", body: { code: input.value } });
        localStorage.setItem(TOKEN_KEY, paired.token);
        onPaired(paired.device);
      } catch (failure) {
        error.textContent = t("pairFailed", { reason: failure.message });
      }
    });
    container.append(form);
    input.focus();
  }

  // --- live events ----------------------------------------------------------------------------
  // Reconnects with capped, jittered exponential backoff; a connection silent for longer
  // than STALE_MS (the server pings every 10 s) is treated as dead. onOpen runs on every
  // (re)connection: the page re-fetches its state there, so nothing missed while away is lost.
  const STALE_MS = 30000;
  function live({ zone, onEvent, onOpen, onStatus, onRejected }) {
    let socket = null;
    let attempt = 0;
    let lastMessage = 0;
    let stopped = false;
    let retryTimer = null;

    function status(state) {
      if (onStatus) onStatus(state);
    }

    function connect() {
      if (stopped || !token()) return;
      status(attempt === 0 ? "connecting" : "reconnecting");
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const query = new URLSearchParams({ token: token() });
      if (zone) query.set("zone", zone);
      socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws?${query}`);
      socket.onmessage = (message) => {
        lastMessage = Date.now();
        let data;
        try {
          data = JSON.parse(message.data);
        } catch (error) {
          return;
        }
        if (data.type === "hello") {
          attempt = 0;
          status("live");
          if (onOpen) onOpen();
        } else if (data.type !== "ping" && onEvent) {
          onEvent(data);
        }
      };
      socket.onclose = (event) => {
        socket = null;
        if (event.code === 4401 || event.code === 4403) {
          stopped = true;
          if (event.code === 4401) forget();
          status("rejected");
          if (onRejected) onRejected(event.code);
          return;
        }
        if (stopped) return;
        status("reconnecting");
        const delay = Math.min(15000, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
        attempt += 1;
        retryTimer = setTimeout(connect, delay);
      };
    }

    setInterval(() => {
      if (socket && socket.readyState === WebSocket.OPEN && Date.now() - lastMessage > STALE_MS) {
        socket.close();
      }
    }, 5000);
    window.addEventListener("online", () => {
      if (!socket && !stopped) {
        clearTimeout(retryTimer);
        attempt = 0;
        connect();
      }
    });
    connect();
    return {
      stop() {
        stopped = true;
        clearTimeout(retryTimer);
        if (socket) socket.close();
      },
    };
  }

  function connectionPill(node) {
    return (state) => {
      node.dataset.state = state;
      const key = { live: "live", offline: "offline", unpaired: "notPaired" }[state] || "reconnecting";
      node.textContent = t(key);
    };
  }

  // Calls fn `ms` after the first of a burst of calls, then again for calls after that:
  // a stream of events causes at most one re-fetch per `ms` and the last one is never lost.
  function debounce(fn, ms) {
    let timer = null;
    return () => {
      if (timer !== null) return;
      timer = setTimeout(() => {
        timer = null;
        fn();
      }, ms);
    };
  }

  // The life of a page: its content and live updates while paired, the pairing form otherwise.
  // `refresh` re-fetches the page's data; `prepare` (optional) runs once before it on each
  // start; `live` adds options for live() (zone, onEvent, onRejected taking the close code).
  function page({ refresh, prepare = null, live: liveOptions = {} }) {
    const main = document.getElementById("main");
    const content = Array.from(main.children);
    const pill = connectionPill(document.getElementById("connection"));
    let events = null;
    let healthTimer = null;
    const self = {
      pill,
      get live() { return events !== null; },
      showMessage(text) {
        main.replaceChildren(el("p", { class: "warning big", "data-testid": "message" }, text));
      },
      showPairing(message) {
        if (events) events.stop();
        events = null;
        // Not paired is not offline: the edge answers, this device only lacks a token. Which
        // one it is, the edge's health answer says (checked until the device is paired).
        const probe = () => fetch("/healthz", { cache: "no-store" })
          .then(() => pill("unpaired"), () => pill("offline"));
        pill("unpaired");
        probe();
        clearInterval(healthTimer);
        healthTimer = setInterval(probe, 3000);
        pairingForm(main, message, () => self.start());
      },
      async start() {
        clearInterval(healthTimer);
        main.replaceChildren(...content);
        applyLanguage();
        if (prepare) await prepare();
        refresh();
        events = live({
          onOpen: refresh,
          onStatus: pill,
          onRejected: () => self.showPairing(t("signedOut")),
          ...liveOptions,
        });
      },
    };
    onUnauthorized = () => self.showPairing(t("signedOut"));
    return self;
  }

  takeTokenFromUrl();

  return {
    t, el, api, ApiError, token, forget, live, debounce, timeText, languageSwitch, applyLanguage,
    pairingForm, connectionPill, page,
    get lang() { return lang; },
  };
})();
