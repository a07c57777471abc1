/* Lantern console: live lists, countdowns, alerts, the offline report queue, the replay. */
(function () {
  "use strict";
  var csrf = function () { var i = document.querySelector("input[name=csrf]"); return i ? i.value : ""; };

  /* -- countdowns to acknowledgement deadlines ------------------------------------------ */
  function tick() {
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.deadline) - Date.now()) / 1000);
      el.textContent = left <= 0 ? "overdue" : Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    });
  }
  setInterval(tick, 1000); tick();

  /* -- alerts for a new page: vibration, a short tone, a notification where allowed ------- */
  var audio = null;
  function alert(count) {
    if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
    try {
      if (audio) { var o = audio.createOscillator(); o.frequency.value = 880; o.connect(audio.destination); o.start(); o.stop(audio.currentTime + 0.3); }
    } catch (e) { /* no sound: the page still shows it */ }
    if (window.Notification && Notification.permission === "granted") new Notification("Lantern: new page", { body: "Open Lantern to view" });
  }
  var allow = document.getElementById("allow-alerts");
  if (allow) allow.addEventListener("click", function () {
    try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; }
    if (window.Notification && Notification.permission === "default") Notification.requestPermission();
    allow.textContent = "Sound and notifications on";
  });

  /* -- live lists: server-sent events, then the fragment is fetched again --------------------- */
  var live = document.querySelector("[data-live]");
  if (live && window.EventSource) {
    var seen = {}, timer = null;
    var paged = function () { return Array.prototype.map.call(live.querySelectorAll("[data-state=assigned][data-dispatch]"), function (e) { return e.dataset.dispatch; }); };
    paged().forEach(function (id) { seen[id] = true; });
    var refresh = function () {
      timer = null;
      fetch(live.dataset.live, { headers: { "X-Lantern-Live": "1" }, credentials: "same-origin" }).then(function (r) {
        if (r.status === 401) { location.href = "/signin"; return null; }
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html === null || html === undefined) return;
        live.innerHTML = html; tick();
        var fresh = paged().filter(function (id) { return !seen[id]; });
        fresh.forEach(function (id) { seen[id] = true; });
        if (fresh.length) alert(fresh.length);
        live.dispatchEvent(new CustomEvent("lantern:updated"));
      });
    };
    var soon = function () { if (!timer) timer = setTimeout(refresh, 100); };
    var source = new EventSource("/live?since=" + encodeURIComponent(live.dataset.since || ""));
    source.addEventListener("change", soon);
    source.addEventListener("reset", soon);
    source.addEventListener("signout", function () { location.href = "/signin"; });
    source.addEventListener("open", function () { document.body.dataset.live = "open"; });
  }

  /* -- the replay: slider and step buttons fetch the panel ------------------------------------ */
  var replay = document.getElementById("replay");
  function bindReplay() {
    var form = replay && replay.querySelector("[data-replay]");
    if (!form) return;
    var show = function (step) {
      fetch(form.dataset.replay + "?step=" + step, { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) { replay.innerHTML = html; bindReplay(); var s = replay.querySelector("#step"); if (s) s.focus(); });
    };
    form.querySelector("#step").addEventListener("change", function (e) { show(e.target.value); });
    form.querySelectorAll("[data-step]").forEach(function (a) {
      a.addEventListener("click", function (e) { e.preventDefault(); show(a.dataset.step); });
    });
  }
  bindReplay();

  /* -- the report form: screener suggestion, emergency instructions, offline queue ---------------- */
  var form = document.getElementById("report-form");
  if (!form) return;
  var danger = document.getElementById("danger-instructions");
  form.immediate_danger.addEventListener("change", function () { danger.hidden = !form.immediate_danger.value; });
  var answer = function (q) { var c = form.querySelector("input[name=" + q + "]:checked"); return c ? c.value === "yes" : null; };
  var suggestion = document.getElementById("suggestion");
  form.addEventListener("change", function (e) {
    if (!/^q/.test(e.target.name)) return;
    var a = {}; ["q1", "q2", "q3", "q4", "q5", "q6", "q6_past_3_months"].forEach(function (q) { a[q] = answer(q); });
    ["q3", "q4", "q5"].forEach(function (q) { form.querySelector("[data-q=" + q + "]").hidden = a.q2 === false; });
    form.querySelector("[data-q=q6_past_3_months]").hidden = a.q6 !== true;
    var level = (a.q4 || a.q5 || (a.q6 && a.q6_past_3_months)) ? "high" : (a.q3 || a.q6) ? "moderate" : "low";
    suggestion.textContent = "The screener suggests: " + level + ". The screener suggests; you decide.";
    suggestion.dataset.level = level;
  });

  var KEY = "lantern.outbox", outbox = document.getElementById("outbox");
  var load = function () { try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; } };
  var save = function (items) { localStorage.setItem(KEY, JSON.stringify(items)); };
  var say = function (text) { outbox.textContent = text; };
  var body = function () {
    var data = {}, fd = new FormData(form);
    fd.forEach(function (v, k) { if (k === "categories") (data.categories = data.categories || []).push(v); else if (k !== "csrf") data[k] = v; });
    return data;
  };
  function send(item) {
    return fetch("/report", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(item)
    }).then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); });
  }
  // A report leaves the device only when intake has taken it or refused it for what it says.
  // No network, a server error (5xx: intake or NATS not answering) or an unreadable reply
  // keep it here and it is sent again, with the same idempotency key, so it arrives once.
  var SAVED = "Lantern could not take your report just now. It is saved on this device and will be sent again in a few seconds.";
  var retry = null;
  var later = function () { if (!retry) retry = setTimeout(function () { retry = null; flush(); }, 5000); };
  function flush() {
    var items = load();
    if (!items.length) return;
    if (!navigator.onLine) { later(); return; }
    var item = items[0];
    send(item).then(function (res) {
      if (res.status === 401 || res.status === 403) { say("A report is saved on this device. Sign in again to send it."); return; }
      if (res.status >= 500) { say(SAVED); later(); return; }
      save(load().filter(function (i) { return i.idempotency_key !== item.idempotency_key; }));
      if (res.status < 300) say("Your saved report was sent (incident " + res.body.incident_id + ").");
      else say("Your saved report was refused: " + (res.body.error || res.status) + ". Please report again.");
      flush();
    }).catch(function () { say("A report is saved on this device and will be sent when the connection returns."); later(); });
  }
  window.addEventListener("online", flush);
  flush();

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var item = body();
    var keep = function () {
      if (!load().some(function (i) { return i.idempotency_key === item.idempotency_key; })) save(load().concat([item]));
      later();
    };
    var queue = function () {
      keep();
      say("No connection: your report is saved on this device and will be sent when the connection returns.");
    };
    if (!navigator.onLine) { queue(); return; }
    send(item).then(function (res) {
      if (res.status >= 500) { keep(); say(SAVED); return; }
      if (res.status < 300) {
        location.href = "/report/done?incident=" + encodeURIComponent(res.body.incident_id) + (res.body.duplicate ? "&duplicate=1" : "") + (res.body.emergency_instruction ? "&danger=1" : "");
      } else {
        form.querySelectorAll(".error.js").forEach(function (n) { n.remove(); });
        var name = (res.body.field || "").split(/[.[]/)[0];
        var target = form.querySelector("[name=" + (name || "none") + "]");
        var p = document.createElement("p"); p.className = "error js"; p.setAttribute("role", "alert");
        p.textContent = res.body.error || "The report was refused.";
        if (target) { (target.closest("fieldset,.field") || form).appendChild(p); target.setAttribute("aria-invalid", "true"); target.focus(); }
        else form.insertBefore(p, form.firstChild);
      }
    }).catch(queue);
  });
})();
