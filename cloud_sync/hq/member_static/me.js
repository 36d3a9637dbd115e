// The members' page: log in with a one-time code, see points and consents, change them,
// add a selfie, download everything, erase the membership. Talks to /api/v1/me only.
"use strict";

(() => {
  const STRINGS = {
    title: { en: "My membership", es: "Mi membresía", zh: "我的会员" },
    login: { en: "Log in", es: "Entrar", zh: "登录" },
    channel: { en: "Send the code to my", es: "Enviar el código a mi", zh: "验证码发送到我的" },
    phone: { en: "phone", es: "teléfono", zh: "手机" },
    email: { en: "e-mail", es: "correo", zh: "邮箱" },
    value: { en: "Phone number or e-mail", es: "Teléfono o correo", zh: "手机号或邮箱" },
    sendCode: { en: "Send me a code", es: "Enviarme un código", zh: "发送验证码" },
    code: { en: "The 6-digit code we sent", es: "El código de 6 cifras", zh: "6 位验证码" },
    logIn: { en: "Log in", es: "Entrar", zh: "登录" },
    codeSent: { en: "If this is a member's, a code is on its way.", es: "Si es de un miembro, el código está en camino.", zh: "如果是会员，验证码已发送。" },
    hello: { en: "Hello, {name}", es: "Hola, {name}", zh: "{name}，您好" },
    points: { en: "points", es: "puntos", zh: "积分" },
    homeStore: { en: "Home store", es: "Tienda habitual", zh: "常去门店" },
    none: { en: "none", es: "ninguna", zh: "无" },
    consents: { en: "What I allow", es: "Lo que permito", zh: "我的授权" },
    face_recognition: { en: "Face recognition in stores", es: "Reconocimiento facial en tiendas", zh: "门店人脸识别" },
    marketing: { en: "Offers and news", es: "Ofertas y novedades", zh: "优惠与资讯" },
    given: { en: "Allowed since {at}", es: "Permitido desde {at}", zh: "自 {at} 起已允许" },
    withdrawn: { en: "Not allowed since {at}", es: "No permitido desde {at}", zh: "自 {at} 起未允许" },
    never: { en: "Never asked", es: "Nunca preguntado", zh: "未设置" },
    give: { en: "Allow", es: "Permitir", zh: "允许" },
    withdraw: { en: "Withdraw", es: "Retirar", zh: "撤回" },
    withdrawalNote: { en: "Your face data was deleted at headquarters. Each store confirms when its copy is gone:", es: "Sus datos faciales se borraron en la central. Cada tienda confirma cuando borra su copia:", zh: "您的人脸数据已在总部删除。各门店删除副本后会确认：" },
    confirmed: { en: "confirmed {at}", es: "confirmado {at}", zh: "已确认 {at}" },
    pending: { en: "waiting for its next sync", es: "pendiente de su próxima sincronización", zh: "等待下次同步" },
    selfie: { en: "Face recognition photo", es: "Foto para reconocimiento facial", zh: "人脸识别照片" },
    selfieNote: { en: "A clear photo of your face, looking at the camera, in good light. The photo is not kept: only numbers computed from it.", es: "Una foto clara de su cara, mirando a la cámara, con buena luz. La foto no se guarda: solo números calculados a partir de ella.", zh: "请在光线充足处正对镜头拍摄清晰的面部照片。照片不会保存，仅保存由其计算出的数字。" },
    photos: { en: "Photos enrolled", es: "Fotos registradas", zh: "已登记照片" },
    selfieAdded: { en: "Photo added: you will be recognised in stores.", es: "Foto añadida: le reconoceremos en las tiendas.", zh: "照片已添加：门店将能识别您。" },
    selfieNeedsConsent: { en: "Allow face recognition first.", es: "Primero permita el reconocimiento facial.", zh: "请先允许人脸识别。" },
    myData: { en: "My data", es: "Mis datos", zh: "我的数据" },
    download: { en: "Download all my data (JSON)", es: "Descargar todos mis datos (JSON)", zh: "下载我的全部数据（JSON）" },
    erase: { en: "Erase my membership", es: "Borrar mi membresía", zh: "注销我的会员" },
    eraseConfirm: { en: "Erase your membership? Your face data goes at once, your personal data after the retention period. This cannot be undone.", es: "¿Borrar su membresía? Sus datos faciales se borran ya; los personales, tras el plazo de conservación. No se puede deshacer.", zh: "确定注销会员？人脸数据立即删除，个人数据在保留期满后删除。此操作无法撤销。" },
    erased: { en: "Your membership is erased. Stores remove your face data at their next sync.", es: "Su membresía está borrada. Las tiendas eliminan sus datos faciales en su próxima sincronización.", zh: "您的会员已注销。各门店将在下次同步时删除您的人脸数据。" },
    reservations: { en: "My reservations", es: "Mis reservas", zh: "我的预约" },
    status_requested: { en: "being prepared", es: "en preparación", zh: "准备中" },
    status_ready: { en: "ready in the fitting room", es: "lista en el probador", zh: "已在试衣间备好" },
    status_arrived: { en: "you checked in", es: "ha llegado", zh: "已到店" },
    status_closed: { en: "done", es: "terminada", zh: "已完成" },
    status_cancelled: { en: "cancelled", es: "cancelada", zh: "已取消" },
    showCode: { en: "Show this code at the fitting room's tablet: {code}", es: "Muestre este código en la tableta del probador: {code}", zh: "请在试衣间平板出示此码：{code}" },
    until: { en: "{store}, until {at}", es: "{store}, hasta {at}", zh: "{store}，截至 {at}" },
    logOut: { en: "Log out", es: "Salir", zh: "退出" },
    loggedOut: { en: "You are logged out.", es: "Ha salido.", zh: "您已退出。" },
  };
  let lang = localStorage.getItem("o2o.lang") || (navigator.language || "en").slice(0, 2);
  if (!["en", "es", "zh"].includes(lang)) lang = "en";
  let me = null;
  let csrf = "";

  const $ = (id) => document.getElementById(id);
  function t(key, vars) {
    let text = (STRINGS[key] || {})[lang] || (STRINGS[key] || {}).en || key;
    for (const [k, v] of Object.entries(vars || {})) text = text.split(`{${k}}`).join(String(v));
    return text;
  }
  const when = (iso) => new Date(iso).toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });

  function say(text) {
    $("message").textContent = text;
    $("message").hidden = !text;
  }

  async function call(method, path, body, raw) {
    const headers = {};
    if (csrf && method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (body !== undefined && !raw) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const detail = data && data.detail;
      const error = new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
    if (me) render();
  }

  function consentRow(scope, state) {
    const li = document.createElement("li");
    li.dataset.testid = "consent";
    li.dataset.scope = scope;
    li.dataset.given = String(Boolean(state && state.given));
    const label = document.createElement("div");
    const name = document.createElement("strong");
    name.textContent = t(scope);
    const status = document.createElement("div");
    status.className = "state";
    status.textContent = !state ? t("never") : t(state.given ? "given" : "withdrawn", { at: when(state.at) });
    label.append(name, status);
    const button = document.createElement("button");
    button.type = "button";
    const give = !(state && state.given);
    button.className = give ? "" : "secondary";
    button.textContent = t(give ? "give" : "withdraw");
    button.dataset.testid = `consent-${scope}`;
    button.addEventListener("click", async () => {
      try {
        me = { ...(await call("PUT", `/api/v1/me/consents/${scope}`, { given: give })), csrf_token: csrf };
        render();
      } catch (error) { say(error.message); }
    });
    li.append(label, button);
    return li;
  }

  function render() {
    $("login").hidden = true;
    $("account").hidden = false;
    $("hello").textContent = t("hello", { name: me.name || me.member_id });
    $("points").textContent = String(me.points);
    $("tier").textContent = me.tier;
    $("home").textContent = me.home_store ? me.home_store.name : t("none");
    $("consents").replaceChildren(...Object.entries(me.consents).map(([s, c]) => consentRow(s, c)));
    $("face-photos").textContent = String(me.face_photos);
    $("reservations-card").hidden = !me.reservations.length;
    $("reservations").replaceChildren(...me.reservations.map((r) => {
      const li = document.createElement("li");
      li.dataset.testid = "reservation";
      li.dataset.status = r.status;
      const head = document.createElement("div");
      head.textContent = `${t("until", { store: r.store, at: when(r.window_end) })} · ${t("status_" + r.status)}`;
      li.append(head);
      if (r.checkin_code) {
        const img = document.createElement("img");
        img.src = r.qr;
        img.alt = r.checkin_code;
        img.width = 160;
        img.height = 160;
        img.dataset.testid = "checkin-qr";
        const code = document.createElement("div");
        code.textContent = t("showCode", { code: r.checkin_code });
        li.append(img, code);
      }
      return li;
    }));
    const withdrawal = me.face_withdrawal;
    $("withdrawal").hidden = !withdrawal;
    if (withdrawal) {
      $("stores").replaceChildren(...withdrawal.stores.map((s) => {
        const li = document.createElement("li");
        li.dataset.testid = "store-confirmation";
        li.dataset.confirmed = String(Boolean(s.confirmed_at));
        li.textContent = `${s.name}: ${s.confirmed_at ? t("confirmed", { at: when(s.confirmed_at) }) : t("pending")}`;
        return li;
      }));
    }
  }

  async function load() {
    try {
      me = await call("GET", "/api/v1/me");
      csrf = me.csrf_token;
      render();
    } catch (error) {
      if (error.status !== 401) say(error.message);
      $("account").hidden = true;
      $("login").hidden = false;
    }
  }

  $("code-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await call("POST", "/api/v1/me/code", { channel: $("channel").value, value: $("value").value.trim() });
      say(t("codeSent"));
      $("login-form").hidden = false;
      $("code").focus();
    } catch (error) { say(error.message); }
  });

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await call("POST", "/api/v1/me/login", { channel: $("channel").value, value: $("value").value.trim(), code: $("code").value.trim() });
      say("");
      await load();
    } catch (error) { say(error.message); }
  });

  $("selfie").addEventListener("change", async () => {
    const file = $("selfie").files[0];
    if (!file) return;
    if (!(me.consents.face_recognition && me.consents.face_recognition.given)) { say(t("selfieNeedsConsent")); return; }
    try {
      me = { ...(await call("POST", "/api/v1/me/photos", await file.arrayBuffer(), true)), csrf_token: csrf };
      render();
      say(t("selfieAdded"));
    } catch (error) { say(error.message); }
    $("selfie").value = "";
  });

  $("erase").addEventListener("click", async () => {
    if (!window.confirm(t("eraseConfirm"))) return;
    try {
      await call("POST", "/api/v1/me/erase");
      me = null; csrf = "";
      $("account").hidden = true;
      say(t("erased"));
    } catch (error) { say(error.message); }
  });

  $("logout").addEventListener("click", async () => {
    try { await call("POST", "/api/v1/me/logout"); } catch (error) { /* the cookie goes anyway */ }
    me = null; csrf = "";
    $("account").hidden = true;
    $("login").hidden = false;
    say(t("loggedOut"));
  });

  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => { lang = button.dataset.lang; localStorage.setItem("o2o.lang", lang); applyLanguage(); });
  }
  applyLanguage();
  load();
})();
