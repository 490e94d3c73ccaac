/*! Kaizenify Consent banner. Embed: <script src="/static/kaizen/banner.js" data-site-key="KEY"></script> */
(function (w, d) {
  "use strict";
  var me = d.currentScript;
  if (!me || w.KaizenConsent) return;
  var ds = me.dataset;
  var SITE = ds.siteKey || "";
  var API = (ds.api || new URL(me.src, location.href).origin).replace(/\/+$/, "");
  var BASE = API + "/api/v1/sites/" + encodeURIComponent(SITE);
  var NONCE = ds.nonce || me.nonce || "";
  var CK = "kz_consent";
  var LS_CFG = "kz_cfg:" + SITE;
  var LS_Q = "kz_queue:" + SITE;
  var DAY = 86400;
  // Used only until the site's own mapping (config.consent_mode) has been seen once.
  var CM_FALLBACK = {
    ad_storage: "advertising", ad_user_data: "advertising", ad_personalization: "advertising",
    analytics_storage: "analytics", functionality_storage: "functional",
    personalization_storage: "functional", security_storage: "necessary"
  };
  var gpc = navigator.globalPrivacyControl === true;
  var cached = load(LS_CFG);
  var cfg = validConfig(cached) ? cached : null;
  // A cached config may be another jurisdiction's (a trip, a VPN): until this page's own
  // arrives, no default grants anything; only the visitor's own choices count.
  var confirmed = false;
  var stored = readCookie();
  var applied = {};
  var pushed = "";
  var listeners = [];
  var isReady = false;
  var resolveReady;
  var ui = {};
  var activating = Promise.resolve();

  function load(key) {
    try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; }
  }
  function save(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }
  function now() { return Math.floor(Date.now() / 1000); }
  function randomId() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return btoa(String.fromCharCode.apply(null, b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function isObject(v) { return !!v && typeof v === "object" && !Array.isArray(v); }
  function validConfig(c) {
    return isObject(c) && Array.isArray(c.purposes) && Array.isArray(c.gpc_purposes) &&
      isObject(c.cookie) && isObject(c.texts) && isObject(c.appearance) && typeof c.config_version === "string";
  }
  // A record we cannot read is no record: the visitor is asked again.
  function readCookie() {
    var m = d.cookie.match(/(?:^|;\s*)kz_consent=([^;]*)/);
    try { var v = m && JSON.parse(decodeURIComponent(m[1])); } catch (e) { return null; }
    return isObject(v) && isObject(v.c) && typeof v.t === "number" && typeof v.id === "string" ? v : null;
  }
  // The delivery queue, keeping only entries that can be sent.
  function queue() {
    var q = load(LS_Q);
    return Array.isArray(q) ? q.filter(function (x) { return isObject(x) && typeof x.event_id === "string"; }) : [];
  }

  function purposes() { return cfg ? cfg.purposes : []; }
  function purpose(key) { return purposes().filter(function (p) { return p.key === key; })[0]; }
  function gpcLocked(key) {
    var p = purpose(key);
    return gpc && !!p && p.mode === "opt_out" && cfg.gpc_purposes.indexOf(key) >= 0;
  }
  function expired(p) {
    return !!(stored && p.validity_days && stored.c[p.key] && now() - stored.t > p.validity_days * DAY);
  }
  // The decision in force per purpose: the record's choice, else the jurisdiction's default.
  function effective(rec) {
    var r = rec === undefined ? stored : rec, out = {}, c = (r && !staleNotice(r) && r.c) || {};
    if (!cfg) { for (var k in c) out[k] = !!c[k]; return out; }
    purposes().forEach(function (p) {
      out[p.key] = p.mode === "always_on" ? true
        : gpcLocked(p.key) ? false
        : p.key in c ? !!c[p.key] && !expired(p)
        : p.mode === "opt_out" && confirmed;
    });
    return out;
  }
  // Choices made under a notice that now asks for fresh consent no longer count.
  function staleNotice(rec) {
    var n = cfg && cfg.notice;
    return !!(n && n.requires_fresh_consent && rec.n !== n.version);
  }
  function optedOutHere() {
    return !!stored && purposes().some(function (p) { return p.mode === "opt_out" && stored.c[p.key] === 0; });
  }
  function lifetimeDays() {
    var c = cfg ? cfg.cookie : { lifetime_days: 180, opt_out_reprompt_days: 365 };
    return optedOutHere() ? Math.max(c.lifetime_days, c.opt_out_reprompt_days) : c.lifetime_days;
  }
  function needsPrompt() {
    if (!stored || !stored.d) return true;
    if (now() - stored.t > lifetimeDays() * DAY) return true;
    if (staleNotice(stored)) return true;
    return purposes().some(function (p) {
      return p.mode === "opt_in" && (!(p.key in stored.c) || expired(p));
    });
  }
  // This host and its parent domains, as cookie attributes ("" is the host alone).
  function domains() {
    var host = location.hostname.split("."), out = [""];
    for (var i = 0; i < host.length - 1; i++) out.push("; Domain=." + host.slice(i).join("."));
    return out;
  }
  // One copy only (an older one on another domain would be read first), on the site's cookie
  // domain, or on this host when the browser refuses that domain here.
  function writeCookie() {
    var v = JSON.stringify(stored), dm = cfg && cfg.cookie.domain;
    domains().forEach(function (x) { d.cookie = CK + "=; Path=/; Max-Age=0" + x; });
    [dm ? "; Domain=" + dm : "", ""].some(function (x) {
      d.cookie = CK + "=" + encodeURIComponent(v) + "; Path=/; Max-Age=" + lifetimeDays() * DAY +
        "; SameSite=Lax" + x + (location.protocol === "https:" ? "; Secure" : "");
      return JSON.stringify(readCookie()) === v;
    });
  }

  // Google Consent Mode v2: entries must be `arguments` objects, as gtag() pushes them.
  w.dataLayer = w.dataLayer || [];
  function gtag() { w.dataLayer.push(arguments); }
  // In the US an opt-out of sale/sharing or targeted ads also denies its ad signal.
  function consentMode(choices) {
    var map = (cfg && cfg.consent_mode) || CM_FALLBACK, also = (cfg && cfg.consent_mode_opt_outs) || {}, out = {};
    for (var s in map) {
      var no = also[s];
      out[s] = choices[map[s]] && !(Array.isArray(no) && no.some(function (k) { return choices[k] === false; })) ? "granted" : "denied";
    }
    return out;
  }
  function pushConsentMode() {
    var cm = consentMode(effective()), key = JSON.stringify(cm);
    if (key !== pushed) { pushed = key; gtag("consent", "update", cm); }
  }
  var defaults = consentMode(effective(null));
  pushed = JSON.stringify(defaults);
  defaults.wait_for_update = 500;
  gtag("consent", "default", defaults);
  if (stored) { pushed = ""; pushConsentMode(); }  // re-issued from the stored choice on every load

  // Blocked elements run in document order; an external script finishes before the next starts.
  function allowedFor(el) {
    var state = effective();
    var keys = el.getAttribute("data-consent").split(/[\s,]+/).filter(Boolean);
    return keys.length > 0 && keys.every(function (k) { return state[k]; });
  }
  function activateOne(el) {
    var src = el.getAttribute("data-src");
    if (el.tagName !== "SCRIPT") { el.removeAttribute("data-src"); el.src = src; return null; }
    src = src || el.getAttribute("src");
    var s = d.createElement("script");
    [].forEach.call(el.attributes, function (a) {
      if (!/^(type|src|nonce|data-consent|data-src|data-type)$/.test(a.name)) s.setAttribute(a.name, a.value);
    });
    s.type = el.getAttribute("data-type") || "text/javascript";
    s.nonce = el.nonce || NONCE;
    if (!src) { s.text = el.text; el.parentNode.replaceChild(s, el); return null; }
    return new Promise(function (done) {
      // Listeners, not s.onload: the element's own onload/onerror attributes keep working.
      s.addEventListener("load", done);
      s.addEventListener("error", done);
      s.src = src;
      el.parentNode.replaceChild(s, el);
    });
  }
  function activate() {
    activating = activating.then(function () {
      var found = d.querySelectorAll("script[type='text/plain'][data-consent],iframe[data-consent][data-src],img[data-consent][data-src]");
      return [].reduce.call(found, function (chain, el) {
        return chain.then(function () { return el.isConnected && allowedFor(el) ? activateOne(el) : null; });
      }, Promise.resolve());
    });
  }
  // Withdrawal: expire the purpose's cookies from the inventory on this host and its parents.
  function deleteCookies(key) {
    var p = purpose(key);
    if (!p) return;
    var names = d.cookie.split(/;\s*/).map(function (c) { return c.split("=")[0]; });
    p.cookies.forEach(function (def) {
      var re = new RegExp("^" + def.name.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*") + "$");
      names.forEach(function (n) {
        if (n === CK || !re.test(n)) return;
        domains().concat(def.domain ? ["; Domain=" + def.domain] : []).forEach(function (dm) {
          d.cookie = n + "=; Path=/; Max-Age=0" + dm;
        });
      });
    });
  }
  function detail() { return { choices: effective(), gpc: gpc, config: cfg }; }
  function emit(name) {
    d.dispatchEvent(new CustomEvent("kaizen:consent-" + name, { detail: detail() }));
  }
  // Withdrawal: a frame that runs for a purpose no longer allowed is unloaded (scripts cannot be).
  function unloadFrames() {
    [].forEach.call(d.querySelectorAll("iframe[data-consent]:not([data-src])"), function (f) {
      if (allowedFor(f)) return;
      f.setAttribute("data-src", f.getAttribute("src") || "");
      f.src = "about:blank";
    });
  }
  function apply(announce) {
    var state = effective(), changed = false, withdrawn = false;
    for (var k in state) {
      if (state[k] !== applied[k]) changed = true;
      if (applied[k] && !state[k]) { deleteCookies(k); withdrawn = true; }
    }
    applied = state;
    if (withdrawn) unloadFrames();
    activate();
    pushConsentMode();
    if (!isReady) {
      isReady = true;
      emit("ready");
      resolveReady(detail());
    } else if (changed || announce) {
      emit("change");
      listeners.forEach(function (cb) { try { cb(state, detail()); } catch (e) { setTimeout(function () { throw e; }); } });
    }
  }

  // Delivery: queued in localStorage first, so a choice survives being offline or a closed tab.
  var flushing = false, retryTimer;
  function send(choices) {
    var q = queue();
    q.push({
      visitor_id: stored.id, choices: choices, notice_version: stored.n || null, gpc: gpc,
      event_id: randomId(), occurred_at: new Date().toISOString()
    });
    save(LS_Q, q.slice(-50));
    flush();
  }
  function flush() {
    var q = queue();
    if (flushing || !q.length) return;
    flushing = true;
    var item = q[0];
    fetch(BASE + "/consents", {
      method: "POST", keepalive: true, credentials: "omit",
      headers: { "Content-Type": "text/plain" }, body: JSON.stringify(item)
    }).then(function (r) {
      // 4xx other than 408/429 will never succeed: drop it rather than retry forever.
      if (r.status >= 500 || r.status === 429 || r.status === 408) throw r.status;
    }).then(function () {
      save(LS_Q, queue().filter(function (x) { return x.event_id !== item.event_id; }));
      flushing = false;
      flush();
    }, function () {
      flushing = false;
      clearTimeout(retryTimer);
      retryTimer = setTimeout(flush, 30000);
    });
  }
  w.addEventListener("online", flush);

  function decide(choices) {
    var c = {}, sent = {};
    purposes().forEach(function (p) {
      if (p.mode === "always_on") return;
      var v = !gpcLocked(p.key) && !!choices[p.key];
      c[p.key] = v ? 1 : 0;
      sent[p.key] = v;
    });
    stored = {
      id: (stored && stored.id) || randomId(), c: c, n: cfg.notice ? cfg.notice.version : null,
      t: now(), g: gpc ? 1 : 0, cv: cfg.config_version, d: 1
    };
    writeCookie();
    send(sent);
    hideBanner();
    if (ui.prefs && ui.prefs.open) ui.prefs.close();
    showFab();
    apply(true);
  }
  // GPC where it means an opt-out: record it once per browser, without waiting for a click.
  function applyGpc() {
    var keys = cfg.gpc_purposes.filter(gpcLocked), c = (stored && stored.c) || {};
    if (!keys.length || (stored && stored.g && keys.every(function (k) { return c[k] === 0; }))) return;
    var sent = {};
    keys.forEach(function (k) { c[k] = 0; sent[k] = false; });
    stored = {
      id: (stored && stored.id) || randomId(), c: c,
      n: stored ? stored.n : cfg.notice ? cfg.notice.version : null,
      t: stored ? stored.t : now(), g: 1, cv: cfg.config_version, d: stored ? stored.d : 0
    };
    writeCookie();
    send(sent);
  }
  function allChoices(value) {
    var c = {};
    purposes().forEach(function (p) { c[p.key] = value; });
    return c;
  }

  // ---- user interface ----
  function h(tag, attrs, kids) {
    var e = d.createElement(tag);
    for (var a in attrs || {}) {
      if (a === "text") e.textContent = attrs[a];
      else if (attrs[a] !== false && attrs[a] != null) e.setAttribute(a, attrs[a] === true ? "" : attrs[a]);
    }
    (kids || []).forEach(function (k) { if (k) e.appendChild(k); });
    return e;
  }
  function styled(e) {
    var a = cfg.appearance;
    e.style.setProperty("--kz-bg", a.background_color);
    e.style.setProperty("--kz-fg", a.text_color);
    e.style.setProperty("--kz-ac", a.accent_color);
    e.setAttribute("dir", cfg.rtl ? "rtl" : "ltr");
    e.setAttribute("lang", cfg.language);
    e.addEventListener("click", onClick);
    return e;
  }
  function buttons(withSave) {
    var t = cfg.texts;
    return h("div", { "class": "kz-btns" }, [
      h("button", { type: "button", "data-kz": "reject", text: t.reject_all }),
      h("button", { type: "button", "data-kz": "accept", text: t.accept_all }),
      h("button", { type: "button", "data-kz": withSave ? "save" : "prefs", text: withSave ? t.save_choices : t.preferences })
    ]);
  }
  function gpcNote() {
    return cfg.gpc_purposes.some(gpcLocked) ? h("p", { "class": "kz-gpc", role: "status", text: cfg.texts.gpc_honored }) : null;
  }
  function policyLink() {
    return cfg.privacy_policy_url ? h("a", { href: cfg.privacy_policy_url, text: cfg.texts.privacy_policy }) : null;
  }
  function buildBanner() {
    var t = cfg.texts;
    ui.banner = styled(h("div", {
      "class": "kz kz-banner kz-" + cfg.appearance.position, role: "dialog", "aria-modal": "false",
      "aria-labelledby": "kz-title", "aria-describedby": "kz-desc", hidden: true
    }, [
      h("h2", { id: "kz-title", text: t.title }),
      h("p", { id: "kz-desc", text: t.description + " " }, [policyLink()]),
      gpcNote(),
      buttons(false)
    ]));
    d.body.appendChild(ui.banner);
  }
  function cookieTable(p) {
    var t = cfg.texts, rows = p.cookies.map(function (c) {
      return h("tr", {}, [h("td", { text: c.name }), h("td", { text: c.domain || location.hostname }),
        h("td", { text: c.lifetime }), h("td", { text: c.provider })]);
    });
    var vendors = p.vendors.map(function (v) {
      return h("li", {}, [
        v.privacy_policy_url ? h("a", { href: v.privacy_policy_url, text: v.name }) : h("span", { text: v.name }),
        h("span", { text: v.description ? " \u2014 " + v.description : "" })
      ]);
    });
    if (!rows.length && !vendors.length) return null;
    return h("details", {}, [
      h("summary", { text: t.cookies + " (" + (rows.length + vendors.length) + ")" }),
      rows.length ? h("table", {}, [
        h("thead", {}, [h("tr", {}, [t.cookie_name, t.cookie_domain, t.cookie_lifetime, t.cookie_provider].map(function (x) {
          return h("th", { scope: "col", text: x });
        }))]),
        h("tbody", {}, rows)
      ]) : null,
      vendors.length ? h("ul", {}, vendors) : null
    ]);
  }
  function buildPrefs() {
    var t = cfg.texts;
    var items = purposes().map(function (p) {
      var id = "kz-p-" + p.key, fixed = p.mode === "always_on", locked = gpcLocked(p.key);
      return h("li", {}, [
        h("div", { "class": "kz-row" }, [
          h("label", { "for": id, text: p.name }),
          fixed ? h("span", { "class": "kz-on", text: t.always_on }) : null,
          h("input", {
            type: "checkbox", role: "switch", id: id, "data-p": p.key, "aria-describedby": id + "-d",
            checked: fixed,
            disabled: fixed || locked
          })
        ]),
        h("p", { id: id + "-d", text: p.description }),
        cookieTable(p)
      ]);
    });
    ui.prefs = styled(h("dialog", { "class": "kz kz-prefs", "aria-labelledby": "kz-ptitle" }, [
      h("div", { "class": "kz-head" }, [
        h("h2", { id: "kz-ptitle", text: t.preferences_title }),
        h("button", { type: "button", "class": "kz-x", "data-kz": "close", "aria-label": t.close, text: "\u00d7" })
      ]),
      gpcNote(),
      h("ul", { "class": "kz-list" }, items),
      h("p", { "class": "kz-links" }, [
        policyLink(),
        ui.center = cfg.preference_center_url ? h("a", { target: "_blank", rel: "noopener", text: cfg.texts.preference_center }) : null
      ]),
      buttons(true)
    ]));
    ui.prefs.addEventListener("close", function () {
      announceDisplay();
      var back = ui.banner && !ui.banner.hidden ? ui.banner.querySelector("[data-kz=prefs]") : ui.returnTo;
      if (back && back.isConnected) back.focus();
    });
    d.body.appendChild(ui.prefs);
  }
  // Checkboxes show the choice in force (never pre-ticked before a decision, except defaults
  // that apply by law where the jurisdiction is opt-out).
  function syncToggles() {
    var state = effective(), decided = !!(stored && stored.d);
    [].forEach.call(ui.prefs.querySelectorAll("input[data-p]"), function (i) {
      var p = purpose(i.getAttribute("data-p"));
      if (p.mode !== "always_on") i.checked = !gpcLocked(p.key) && (decided || p.mode === "opt_out") && !!state[p.key];
    });
  }
  function onClick(e) {
    var b = e.target.closest("[data-kz]");
    if (!b) return;
    var action = b.getAttribute("data-kz");
    if (action === "accept") decide(allChoices(true));
    else if (action === "reject") decide(allChoices(false));
    else if (action === "prefs") openPrefs();
    else if (action === "close") ui.prefs.close();
    else if (action === "save") {
      var c = {};
      [].forEach.call(ui.prefs.querySelectorAll("input[data-p]"), function (i) { c[i.getAttribute("data-p")] = i.checked; });
      decide(c);
    }
  }
  function fitPage() {
    var bar = ui.banner && !ui.banner.hidden && cfg.appearance.position === "bottom";
    d.documentElement.style.setProperty("--kz-pad", bar ? ui.banner.offsetHeight + "px" : "0px");
    d.documentElement.classList.toggle("kz-padded", !!bar);
  }
  // "visible" while the banner or the preferences dialog is on screen (GPP's cmpDisplayStatus).
  function announceDisplay() {
    var shown = (ui.banner && !ui.banner.hidden) || (ui.prefs && ui.prefs.open) ? "visible" : "hidden";
    if (shown === w.KaizenConsent.displayStatus) return;
    w.KaizenConsent.displayStatus = shown;
    d.dispatchEvent(new CustomEvent("kaizen:consent-display", { detail: { status: shown } }));
  }
  function covers(k, r) { return r.top >= k.top && r.bottom <= k.bottom && r.left >= k.left && r.right <= k.right; }
  // WCAG 2.4.11: a focused element the banner would hide entirely is scrolled clear of it
  // (the bottom bar pads the page instead, see fitPage); the floating button steps aside.
  function keepFocusVisible(e) {
    var b = ui.banner, f = ui.fab, t = e.target;
    if (!t.getBoundingClientRect) return;
    var r = t.getBoundingClientRect();
    if (f) f.style.visibility = !f.hidden && f !== t && covers(f.getBoundingClientRect(), r) ? "hidden" : "";
    if (!b || b.hidden || b.contains(t)) return;
    var k = b.getBoundingClientRect();
    if (!covers(k, r)) return;
    var above = r.bottom - k.top + 8, below = r.top - k.bottom - 8;
    w.scrollBy(0, k.top >= r.height + 16 ? above : below);
  }
  d.addEventListener("focusin", keepFocusVisible);
  function showBanner() {
    if (!ui.banner) buildBanner();
    if (!ui.banner.hidden) return;
    ui.returnTo = d.activeElement;
    ui.banner.hidden = false;
    if (ui.fab) ui.fab.hidden = true;
    fitPage();
    ui.banner.querySelector("button").focus();
    announceDisplay();
  }
  function hideBanner() {
    if (!ui.banner || ui.banner.hidden) return;
    ui.banner.hidden = true;
    fitPage();
    var back = ui.returnTo;
    if (back && back.isConnected && back !== d.body) back.focus();
    announceDisplay();
  }
  function openPrefs() {
    if (!ui.prefs) buildPrefs();
    if (ui.prefs.open) return;
    if (!ui.banner || ui.banner.hidden) ui.returnTo = d.activeElement;
    syncToggles();
    if (ui.center) {
      // The preference center lives on the platform's host: it learns the browser from the link.
      ui.center.href = cfg.preference_center_url + "?" + (stored ? "visitor=" + encodeURIComponent(stored.id) + "&" : "") +
        "lang=" + encodeURIComponent(cfg.language);
    }
    ui.prefs.showModal();
    announceDisplay();
  }
  function showFab() {
    if (!cfg.appearance.show_floating_button) return;
    if (!ui.fab) {
      ui.fab = styled(h("button", { type: "button", "class": "kz kz-fab", "data-kz": "prefs", "aria-label": cfg.texts.reopen, title: cfg.texts.reopen }));
      ui.fab.appendChild(h("span", { "aria-hidden": "true", text: "\u2699" }));
      d.body.appendChild(ui.fab);
    }
    ui.fab.hidden = false;
  }
  // Requested at once, in parallel with the config; the banner waits for it (no unstyled flash).
  function addStylesheet() {
    var l = h("link", { rel: "stylesheet", href: ds.css || me.src.replace(/\.js(\?.*)?$/, ".css"), "data-kz": "" });
    if (NONCE) l.nonce = NONCE;
    var loaded = new Promise(function (done) { l.onload = l.onerror = done; });
    (d.head || d.documentElement).appendChild(l);
    return loaded;
  }
  var cssLoaded = addStylesheet();
  function whenDom(fn) {
    if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", fn); else fn();
  }

  // Blocked elements inserted later (single-page apps) are handled as they arrive.
  function watch() {
    if (ui.watching || !w.MutationObserver) return;
    ui.watching = new MutationObserver(function (records) {
      if (records.some(function (r) {
        return [].some.call(r.addedNodes, function (n) {
          return n.nodeType === 1 && (n.hasAttribute("data-consent") || !!n.querySelector("[data-consent]"));
        });
      })) activate();
    });
    ui.watching.observe(d.documentElement, { childList: true, subtree: true });
  }

  function start() {
    applyGpc();
    whenDom(function () {
      apply(false);
      watch();
      w.KaizenConsent.config = cfg;
      cssLoaded.then(function () { if (needsPrompt()) showBanner(); else showFab(); });
    });
    flush();
  }
  function fetchConfig() {
    var lang = ds.lang || d.documentElement.lang || navigator.language || "en";
    return fetch(BASE + "/config?lang=" + encodeURIComponent(lang), { credentials: "omit" })
      .then(function (r) { if (!r.ok) throw r.status; return r.json(); })
      .then(function (c) { if (!validConfig(c)) throw new Error("config"); return c; });
  }

  // The choice may have changed elsewhere since this page last looked (another tab, a page
  // restored from the back/forward cache): the cookie is the record.
  function resync() {
    var r = readCookie();
    if (!isReady || JSON.stringify(r) === JSON.stringify(stored)) return;
    stored = r;
    if (needsPrompt()) showBanner(); else { hideBanner(); showFab(); }
    apply(false);
  }
  w.addEventListener("pageshow", resync);
  w.addEventListener("storage", resync);
  d.addEventListener("visibilitychange", resync);

  w.KaizenConsent = {
    config: cfg,
    displayStatus: "hidden",
    ready: new Promise(function (r) { resolveReady = r; }),
    get: function (key) { return !!effective()[key]; },
    getAll: function () { return effective(); },
    set: function (choices) {
      return w.KaizenConsent.ready.then(function () {
        var c = effective();
        for (var k in choices) c[k] = !!choices[k];
        decide(c);
        return effective();
      });
    },
    show: function () { return w.KaizenConsent.ready.then(function () { whenDom(openPrefs); }); },
    onChange: function (cb) {
      listeners.push(cb);
      return function () { listeners = listeners.filter(function (x) { return x !== cb; }); };
    }
  };

  var hadCached = !!cfg;
  if (hadCached) start();
  // The config changed since it was cached: redraw and re-check with the fresh one.
  function redraw() {
    [ui.banner, ui.prefs, ui.fab].forEach(function (e) { if (e) e.remove(); });
    var wasOpen = ui.banner && !ui.banner.hidden;
    ui = { watching: ui.watching };
    applyGpc();
    apply(false);
    cssLoaded.then(function () {
      if (wasOpen || needsPrompt()) showBanner(); else showFab();
      announceDisplay();  // after the redraw: a banner that stays on screen reports nothing
    });
  }
  function onFresh(fresh) {
    save(LS_CFG, fresh);
    var changed = !hadCached || fresh.config_version !== cfg.config_version;
    cfg = fresh;
    confirmed = true;
    w.KaizenConsent.config = cfg;
    if (!hadCached) return start();
    whenDom(function () {
      if (!changed) apply(false);  // the jurisdiction's defaults now hold
      // A visitor in the preferences dialog finishes first.
      else if (ui.prefs && ui.prefs.open) ui.prefs.addEventListener("close", redraw, { once: true });
      else redraw();
    });
  }
  // Offline, an error page or a broken answer: try again when back online or in 30 s.
  var attempts = 0;
  function getConfig() {
    fetchConfig().then(onFresh, function () {
      if (++attempts > 5) return;
      var timer;
      function again() { w.removeEventListener("online", again); clearTimeout(timer); getConfig(); }
      w.addEventListener("online", again);
      timer = setTimeout(again, 30000);
    });
  }
  getConfig();
})(window, document);
