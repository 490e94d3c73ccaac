/*
 * Kaizenify Consent: the IAB GPP CMP API (__gpp) with the US National section (usnat), and the
 * legacy US Privacy API (__uspapi). Vanilla JS, no dependencies.
 *
 * Load it after the inline stub (docs/gpp.md) and next to banner.js. It reads the visitor's
 * choices from the banner's `kaizen:consent-ready` / `kaizen:consent-change` events and encodes
 * exactly the bits consents/gpp/ encodes on the server.
 */
(function () {
  "use strict";

  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  var USNAT_ID = 7;
  var USNAT_PREFIX = "usnat";
  var NOTICE_FIELDS = [
    "SharingNotice", "SaleOptOutNotice", "SharingOptOutNotice",
    "TargetedAdvertisingOptOutNotice", "SensitiveDataProcessingOptOutNotice",
    "SensitiveDataLimitUseNotice"
  ];
  var OPT_OUT_FIELDS = ["SaleOptOut", "SharingOptOut", "TargetedAdvertisingOptOut"];
  var CORE_FIELDS = ["Version"].concat(NOTICE_FIELDS, OPT_OUT_FIELDS, [
    "SensitiveDataProcessing", "KnownChildSensitiveDataConsents", "PersonalDataConsents",
    "MspaCoveredTransaction", "MspaOptOutOptionMode", "MspaServiceProviderMode"
  ]);

  // ---- codec: the same bits as consents/gpp/ ----------------------------------------------

  function intBits(value, width) {
    var bits = value.toString(2);
    while (bits.length < width) { bits = "0" + bits; }
    return bits;
  }

  function fibonacciBits(value) {
    var weights = [1, 2];
    while (weights[weights.length - 1] + weights[weights.length - 2] <= value) {
      weights.push(weights[weights.length - 1] + weights[weights.length - 2]);
    }
    weights = weights.filter(function (w) { return w <= value; });
    var bits = [];
    var remaining = value;
    for (var i = weights.length - 1; i >= 0; i--) {
      if (weights[i] <= remaining) { bits[i] = "1"; remaining -= weights[i]; } else { bits[i] = "0"; }
    }
    return bits.join("") + "1";
  }

  function fibonacciRangeBits(ids) {
    var sorted = ids.slice().sort(function (a, b) { return a - b; });
    var runs = [];
    sorted.forEach(function (id) {
      var last = runs[runs.length - 1];
      if (last && last[last.length - 1] === id) { return; }
      if (last && last[last.length - 1] + 1 === id) { last.push(id); } else { runs.push([id]); }
    });
    var bits = intBits(runs.length, 12);
    var previous = 0;
    runs.forEach(function (run) {
      var start = run[0], end = run[run.length - 1];
      if (start === end) {
        bits += "0" + fibonacciBits(start - previous);
      } else {
        bits += "1" + fibonacciBits(start - previous) + fibonacciBits(end - start);
      }
      previous = end;
    });
    return bits;
  }

  function toBase64url(bits) {
    while (bits.length % 8) { bits += "0"; }
    while (bits.length % 6) { bits += "0"; }
    var text = "";
    for (var i = 0; i < bits.length; i += 6) { text += ALPHABET.charAt(parseInt(bits.substr(i, 6), 2)); }
    return text;
  }

  function encodeUsnat(section) {
    var bits = intBits(section.Version, 6);
    CORE_FIELDS.slice(1).forEach(function (name) {
      var values = Array.isArray(section[name]) ? section[name] : [section[name]];
      values.forEach(function (value) { bits += intBits(value, 2); });
    });
    var encoded = toBase64url(bits);
    if (section.Gpc === true || section.Gpc === false) {
      encoded += "." + toBase64url("01" + (section.Gpc ? "1" : "0"));
    }
    return encoded;
  }

  function gppString(section) {
    var header = intBits(3, 6) + intBits(1, 6) + fibonacciRangeBits([USNAT_ID]);
    return toBase64url(header) + "~" + encodeUsnat(section);
  }

  function repeat(value, count) {
    var list = [];
    for (var i = 0; i < count; i++) { list.push(value); }
    return list;
  }

  function has(choices, key) {
    return Object.prototype.hasOwnProperty.call(choices, key) && typeof choices[key] === "boolean";
  }

  function noticeValue(present, noticeGiven) {
    if (!present) { return 0; }
    return noticeGiven ? 1 : 2;
  }

  function optOutValue(present, allowed, noticeGiven, gpc) {
    if (!present) { return 0; }
    if (!allowed || gpc) { return 1; }
    return noticeGiven ? 2 : 0;
  }

  /* choices: purpose key -> boolean; options: {noticeGiven, gpc (true|false|null), mspa}. */
  function usnatFromChoices(choices, options) {
    var noticeGiven = !!options.noticeGiven;
    var gpc = options.gpc === true || options.gpc === false ? options.gpc : null;
    var mspa = options.mspa || {};
    var sale = has(choices, "sale_share");
    var targeted = has(choices, "targeted_advertising");
    var sensitive = has(choices, "sensitive_data_limit");
    var covered = !!mspa.mspa_covered_transaction;
    var sensitiveValue = !sensitive ? 0 : (choices.sensitive_data_limit ? 2 : 1);
    return {
      Version: 2,
      SharingNotice: noticeGiven ? 1 : 2,
      SaleOptOutNotice: noticeValue(sale, noticeGiven),
      SharingOptOutNotice: noticeValue(sale, noticeGiven),
      TargetedAdvertisingOptOutNotice: noticeValue(targeted, noticeGiven),
      SensitiveDataProcessingOptOutNotice: noticeValue(sensitive, noticeGiven),
      SensitiveDataLimitUseNotice: noticeValue(sensitive, noticeGiven),
      SaleOptOut: optOutValue(sale, choices.sale_share, noticeGiven, gpc === true),
      SharingOptOut: optOutValue(sale, choices.sale_share, noticeGiven, gpc === true),
      TargetedAdvertisingOptOut: optOutValue(
        targeted, choices.targeted_advertising, noticeGiven, gpc === true
      ),
      SensitiveDataProcessing: repeat(sensitiveValue, 16),
      KnownChildSensitiveDataConsents: repeat(0, 3),
      PersonalDataConsents: 0,
      MspaCoveredTransaction: covered ? 1 : 2,
      MspaOptOutOptionMode: covered ? (mspa.mspa_opt_out_option_mode ? 1 : 2) : 0,
      MspaServiceProviderMode: covered ? (mspa.mspa_service_provider_mode ? 1 : 2) : 0,
      Gpc: gpc
    };
  }

  function usPrivacyFromChoices(choices, options) {
    function flag(value) { return value === null ? "-" : (value ? "Y" : "N"); }
    var mspa = options.mspa || {};
    var optedOut = has(choices, "sale_share") ? (!choices.sale_share || options.gpc === true) : null;
    return "1" + flag(!!options.noticeGiven) + flag(optedOut) + flag(!!mspa.mspa_covered_transaction);
  }

  function subsections(section) {
    var core = {};
    CORE_FIELDS.forEach(function (name) {
      core[name] = Array.isArray(section[name]) ? section[name].slice() : section[name];
    });
    var parts = [core];
    if (section.Gpc === true || section.Gpc === false) { parts.push({ SubsectionType: 1, Gpc: section.Gpc }); }
    return parts;
  }

  var codec = {
    intBits: intBits,
    fibonacciBits: fibonacciBits,
    fibonacciRangeBits: fibonacciRangeBits,
    toBase64url: toBase64url,
    encodeUsnat: encodeUsnat,
    gppString: gppString,
    usnatFromChoices: usnatFromChoices,
    usPrivacyFromChoices: usPrivacyFromChoices,
    subsections: subsections
  };

  if (typeof module === "object" && module.exports) { module.exports = codec; }
  if (typeof window === "undefined") { return; }

  // ---- the __gpp API ---------------------------------------------------------------------

  var win = window;
  var previousGpp = win.__gpp;
  var previousUspapi = win.__uspapi;
  var state = {
    cmpStatus: "loading",
    cmpDisplayStatus: "hidden",
    signalStatus: "not ready",
    gppString: "",
    sectionList: [],
    applicableSections: [0],  // not known yet
    section: null,
    usPrivacy: null,
    usPrivacyEnabled: false,
    known: false
  };
  var listeners = {};
  var lastListenerId = 0;
  var uspQueue = [];

  function pingData() {
    return {
      gppVersion: "1.1",
      cmpStatus: state.cmpStatus,
      cmpDisplayStatus: state.cmpDisplayStatus,
      signalStatus: state.signalStatus,
      supportedAPIs: ["7:usnat"],
      cmpId: 0,
      sectionList: state.sectionList.slice(),
      applicableSections: state.applicableSections.slice(),
      gppString: state.gppString,
      parsedSections: state.section ? { usnat: subsections(state.section) } : {}
    };
  }

  // A caller's callback that throws must not stop the others, nor gpp.js itself.
  function safely(run) {
    try { run(); } catch (error) { /* the caller's bug */ }
  }

  function fire(eventName, data) {
    Object.keys(listeners).forEach(function (id) {
      safely(function () {
        listeners[id]({ eventName: eventName, listenerId: Number(id), data: data, pingData: pingData() }, true);
      });
    });
  }

  function hasUsnat() {
    return state.sectionList.indexOf(USNAT_ID) !== -1;
  }

  function gpp(command, callback, parameter) {
    if (typeof callback !== "function") { return; }
    var ready = state.signalStatus === "ready";
    switch (command) {
      case "ping":
        callback(pingData(), true);
        return;
      case "addEventListener":
        lastListenerId += 1;
        listeners[lastListenerId] = callback;
        callback({ eventName: "listenerRegistered", listenerId: lastListenerId, data: true, pingData: pingData() }, true);
        return;
      case "removeEventListener":
        var removed = Object.prototype.hasOwnProperty.call(listeners, parameter);
        delete listeners[parameter];
        callback({ eventName: "listenerRemoved", listenerId: parameter, data: removed, pingData: pingData() }, removed);
        return;
      case "hasSection":
        callback(ready ? parameter === USNAT_PREFIX && hasUsnat() : null, true);
        return;
      case "getSection":
        callback(ready && parameter === USNAT_PREFIX && hasUsnat() ? subsections(state.section) : null, true);
        return;
      case "getField":
        callback(ready ? fieldValue(parameter) : null, true);
        return;
      default:
        callback(null, false);
    }
  }

  function fieldValue(path) {
    var dot = typeof path === "string" ? path.indexOf(".") : -1;
    if (dot < 0 || path.slice(0, dot) !== USNAT_PREFIX || !hasUsnat()) { return null; }
    var name = path.slice(dot + 1);
    if (name === "Gpc" || name === "SubsectionType") {
      var parts = subsections(state.section);
      return parts.length > 1 ? parts[1][name] : null;
    }
    if (CORE_FIELDS.indexOf(name) === -1) { return null; }
    var value = state.section[name];
    return Array.isArray(value) ? value.slice() : value;
  }

  function update(detail) {
    var config = detail.config || {};
    var gppConfig = config.gpp || {};
    var gpc = detail.gpc === true || (detail.gpc == null && navigator.globalPrivacyControl === true);
    var choices = detail.choices || {};
    var options = { noticeGiven: !!config.notice, gpc: gpc, mspa: gppConfig };
    var us = config.jurisdiction_group === "us";
    var nextString = us ? gppString(usnatFromChoices(choices, options)) : "";
    var nextUsp = us ? usPrivacyFromChoices(choices, options) : "1---";
    if (state.known && nextString === state.gppString && nextUsp === state.usPrivacy &&
        !!gppConfig.us_privacy_enabled === state.usPrivacyEnabled) {
      return;  // nothing changed: no events
    }
    state.signalStatus = "not ready";
    fire("signalStatus", "not ready");
    if (us) {
      state.section = usnatFromChoices(choices, options);
      state.gppString = gppString(state.section);
      state.sectionList = [USNAT_ID];
      state.applicableSections = [USNAT_ID];
      state.usPrivacy = usPrivacyFromChoices(choices, options);
    } else {
      state.section = null;
      state.gppString = "";
      state.sectionList = [];
      state.applicableSections = [-1];
      state.usPrivacy = "1---";
    }
    state.usPrivacyEnabled = !!gppConfig.us_privacy_enabled;
    state.known = true;
    fire("sectionChange", USNAT_PREFIX);
    state.signalStatus = "ready";
    fire("signalStatus", "ready");
    syncUsPrivacy();
  }

  // ---- the __uspapi API ------------------------------------------------------------------

  function uspapi(command, version, callback) {
    if (typeof callback !== "function") { return; }
    if (command !== "getUSPData" || Number(version) !== 1) { callback(null, false); return; }
    if (!state.known) { uspQueue.push(callback); return; }
    if (!state.usPrivacyEnabled) { callback(null, false); return; }
    callback({ version: 1, uspString: state.usPrivacy }, true);
  }

  function syncUsPrivacy() {
    var queued = uspQueue;
    uspQueue = [];
    queued.forEach(function (callback) { safely(function () { uspapi("getUSPData", 1, callback); }); });
    var cookie = "usprivacy=" + (state.usPrivacyEnabled ? state.usPrivacy : "") + "; path=/; SameSite=Lax";
    if (state.usPrivacyEnabled) {
      document.cookie = cookie + "; max-age=31536000";
    } else if (document.cookie.indexOf("usprivacy=") !== -1) {
      document.cookie = cookie + "; max-age=0";
    }
  }

  // ---- iframes: __gppLocator / __uspapiLocator and postMessage -----------------------------

  function addLocator(name) {
    if (win.frames[name]) { return; }
    if (!document.body) {
      document.addEventListener("DOMContentLoaded", function () { addLocator(name); });
      return;
    }
    var frame = document.createElement("iframe");
    frame.style.display = "none";
    frame.name = name;
    frame.title = name;
    frame.setAttribute("aria-hidden", "true");
    document.body.appendChild(frame);
  }

  function onMessage(event) {
    var data = event.data;
    var isString = typeof data === "string";
    if (isString) { try { data = JSON.parse(data); } catch (error) { return; } }
    if (!data || typeof data !== "object" || !event.source) { return; }
    function reply(key, payload) {
      var message = {};
      message[key] = payload;
      event.source.postMessage(isString ? JSON.stringify(message) : message, "*");
    }
    if (data.__gppCall) {
      var call = data.__gppCall;
      win.__gpp(call.command, function (returnValue, success) {
        reply("__gppReturn", { returnValue: returnValue, success: success, callId: call.callId });
      }, call.parameter, call.version);
    } else if (data.__uspapiCall) {
      var uspCall = data.__uspapiCall;
      win.__uspapi(uspCall.command, uspCall.version, function (returnValue, success) {
        reply("__uspapiReturn", { returnValue: returnValue, success: success, callId: uspCall.callId });
      });
    }
  }

  // ---- start: replace the stubs, answer their queues, follow the banner --------------------

  var gppQueue = previousGpp && Array.isArray(previousGpp.queue) ? previousGpp.queue : [];
  var uspStubQueue = previousUspapi && Array.isArray(previousUspapi.queue) ? previousUspapi.queue : [];
  // A stub (ours or the IAB example) already answers postMessage calls through window.__gpp.
  var stubHandlesMessages = typeof previousGpp === "function";
  win.__gpp = gpp;
  win.__uspapi = uspapi;
  win.KaizenGpp = codec;
  if (!stubHandlesMessages) { win.addEventListener("message", onMessage, false); }
  addLocator("__gppLocator");
  addLocator("__uspapiLocator");

  // Listeners the stub registered (ours, or the IAB example stub's) keep their ids.
  if (previousGpp) {
    lastListenerId = Number(previousGpp.lastId) || 0;
    (Array.isArray(previousGpp.events) ? previousGpp.events : []).forEach(function (entry) {
      if (entry && typeof entry.callback === "function") {
        listeners[entry.id] = entry.callback;
        lastListenerId = Math.max(lastListenerId, Number(entry.id) || 0);
      }
    });
  }

  // Loaded after the banner: answer the queued calls with what is on screen already.
  var shown = win.KaizenConsent && win.KaizenConsent.displayStatus;
  if (shown === "visible" || shown === "hidden") { state.cmpDisplayStatus = shown; }
  state.cmpStatus = "loaded";
  gppQueue.forEach(function (call) { safely(function () { gpp(call[0], call[1], call[2], call[3]); }); });
  uspStubQueue.forEach(function (call) { safely(function () { uspapi(call[0], call[1], call[2]); }); });
  fire("cmpStatus", "loaded");

  function onConsent(event) { update(event.detail || {}); }
  document.addEventListener("kaizen:consent-ready", onConsent);
  document.addEventListener("kaizen:consent-change", onConsent);
  function display(status) {
    if (status !== "visible" && status !== "hidden") { return; }
    if (status === state.cmpDisplayStatus) { return; }
    state.cmpDisplayStatus = status;
    fire("cmpDisplayStatus", status);
  }
  document.addEventListener("kaizen:consent-display", function (event) {
    display((event.detail || {}).status);
  });
  // The banner may have loaded first and already announced its choices.
  var banner = win.KaizenConsent;
  function fromBanner() {
    if (banner.config && typeof banner.getAll === "function") {
      update({ choices: banner.getAll(), gpc: null, config: banner.config });
    }
  }
  if (banner) { display(banner.displayStatus); }
  if (banner && banner.ready && typeof banner.ready.then === "function") {
    banner.ready.then(fromBanner);
  } else if (banner) {
    fromBanner();
  }
})();
