// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("htmx:configRequest", function (event) {
  var token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (token) { event.detail.headers["X-CSRFToken"] = token.value; }
});

// Uploads over the platform's limit are refused before they are read (a 413 page, and what was typed
// is gone): say so while the form is still here. The server still checks.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var maxMb = Number(document.body.getAttribute("data-max-mb"));
  if (!maxMb || !form.querySelector || form.enctype !== "multipart/form-data") { return; }
  var total = 0;
  form.querySelectorAll("input[type=file]").forEach(function (input) {
    Array.prototype.forEach.call(input.files || [], function (file) { total += file.size; });
  });
  var notice = form.querySelector(".size-error");
  if (total <= maxMb * 1024 * 1024) {
    if (notice) { notice.remove(); }
    return;
  }
  event.preventDefault();
  if (!notice) {
    notice = document.createElement("p");
    notice.className = "error size-error";
    notice.setAttribute("role", "alert");
    var button = form.querySelector("[type=submit]");
    var before = button ? button.closest("p") || button : null;
    if (before) { before.parentNode.insertBefore(notice, before); } else { form.appendChild(notice); }
  }
  notice.textContent = document.body.getAttribute("data-too-big");
});

// ---- The installable app (core/sw.js): the service worker, forms kept offline, drafts. ----------
(function () {
  "use strict";
  var DRAFT = "shequ-draft:";

  function status() { return document.querySelector(".outbox-status"); }

  function say(key, link, linkKey) {
    var box = status();
    if (!box) { return; }
    box.textContent = box.getAttribute("data-" + key) + " ";
    if (link) {
      var a = document.createElement("a");
      a.href = link;
      a.textContent = box.getAttribute("data-" + linkKey);
      box.appendChild(a);
    }
    box.hidden = false;
  }

  // The outbox the service worker keeps (same database, read here to give refused items back).
  function outbox(mode, work) {
    return new Promise(function (resolve) {
      if (!window.indexedDB) { resolve([]); return; }
      var open = indexedDB.open("shequ", 1);
      open.onupgradeneeded = function () { open.result.createObjectStore("outbox", {keyPath: "id", autoIncrement: true}); };
      open.onerror = function () { resolve([]); };
      open.onsuccess = function () {
        var db = open.result;
        var tx = db.transaction("outbox", mode);
        var all = tx.objectStore("outbox").getAll();
        all.onsuccess = function () { work(all.result || [], tx.objectStore("outbox")); };
        tx.oncomplete = function () { db.close(); resolve(all.result || []); };
        tx.onerror = function () { db.close(); resolve([]); };
      };
    });
  }

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.type !== "file" && el.type !== "hidden" && el.type !== "submit" && el.type !== "button";
    });
  }

  function put(form, name, value) {
    fields(form).forEach(function (el) {
      if (el.name !== name) { return; }
      if (el.type === "radio" || el.type === "checkbox") { el.checked = el.value === value; } else { el.value = value; }
      el.dispatchEvent(new Event("change", {bubbles: true}));
    });
  }

  // A form marked data-draft keeps what is typed on this phone until it is sent.
  function drafts(form) {
    var key = DRAFT + location.pathname;
    var bound = form.querySelector(".errorlist, [aria-invalid=true]");
    // A page drawn from the app's copy repeats the key of the form it was copied from: a new key,
    // or two reports written offline would be taken for one. (A refused form keeps its key.)
    var clientKey = form.querySelector("input[name=client_key]");
    if (clientKey && !bound && window.crypto && crypto.randomUUID) { clientKey.value = crypto.randomUUID(); }
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
    var empty = fields(form).every(function (el) { return el.type === "radio" || el.type === "checkbox" || el.tagName === "SELECT" || !el.value; });
    if (saved && !bound && empty) {
      Object.keys(saved).forEach(function (name) { put(form, name, saved[name]); });
      say("restored");
    }
    var timer = null;
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var data = {};
        fields(form).forEach(function (el) {
          if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
          data[el.name] = el.value;
        });
        try { localStorage.setItem(key, JSON.stringify(data)); } catch (e) { /* private mode: no draft */ }
      }, 400);
    });
    form.addEventListener("submit", function () { localStorage.removeItem(key); });
    // A report kept offline that the server refused comes back into its form, photos too.
    outbox("readwrite", function (items, store) {
      items.forEach(function (item) {
        if (!item.refused || item.path !== location.pathname) { return; }
        var files = {};
        item.fields.forEach(function (pair) {
          if (typeof pair[1] === "string") { put(form, pair[0], pair[1]); return; }
          (files[pair[0]] = files[pair[0]] || []).push(pair[1]);
        });
        Object.keys(files).forEach(function (name) {
          var input = form.querySelector("input[type=file][name='" + name + "']");
          if (!input || !window.DataTransfer) { return; }
          var transfer = new DataTransfer();
          files[name].forEach(function (file) { if (file && file.size) { transfer.items.add(file); } });
          input.files = transfer.files;
          input.dispatchEvent(new Event("change", {bubbles: true}));
        });
        store.delete(item.id);
        say("restored");
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-draft]").forEach(drafts);
    var page = document.querySelector(".offline-page");
    if (page && /[?&]kept=1/.test(location.search)) {
      page.querySelector(".offline-kept").hidden = false;
      page.querySelector(".offline-plain").hidden = true;
    }
  });

  // Signing out on a shared phone leaves nothing behind: pages, drafts, unsent reports (after asking).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-signout") || form.dataset.confirmed) { return; }
    event.preventDefault();
    outbox("readonly", function () {}).then(function (items) {
      var box = status();
      if (items.some(function (i) { return !i.refused; }) && box && !window.confirm(box.getAttribute("data-confirm-signout"))) { return; }
      Object.keys(localStorage).forEach(function (k) { if (k.indexOf(DRAFT) === 0) { localStorage.removeItem(k); } });
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage({type: "signout"});
      }
      form.dataset.confirmed = "1";
      form.submit();
    });
  });

  var worker = document.body.getAttribute("data-sw");
  if (!worker || !("serviceWorker" in navigator)) { return; }
  navigator.serviceWorker.register(worker, {scope: "/"}).catch(function () { /* plain pages still work */ });
  function flush() {
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active) { registration.active.postMessage({type: "flush"}); }
    });
  }
  navigator.serviceWorker.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.type === "sent") {
      say("sent", data.url, "view");
      var waiting = document.querySelector(".offline-page");  // its "kept on this phone" is over
      if (waiting) { waiting.hidden = true; }
    }
    if (data.type === "refused") { say("refused", data.path, "open"); }
    if (data.type === "signin") { say("signin"); }
  });
  window.addEventListener("online", flush);
  if (navigator.onLine) { flush(); }
})();

// --- Error summary (issue 9) ---
// A refused form opens with focus on its error summary (core/admin/_form_errors.html), so a screen
// reader reads what went wrong and one Tab reaches the first link; a link moves focus to its field
// (a fragment link alone would only scroll) and shows the field with its label.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
});
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("[data-error-summary] a[href^='#']");
  if (!link) { return; }
  var field = document.getElementById(link.getAttribute("href").slice(1));
  if (!field) { return; }
  event.preventDefault();
  var closed = field.closest("details:not([open])");
  if (closed) { closed.open = true; }
  var label = document.querySelector("label[for='" + field.id + "']") || field.closest("fieldset") || field;
  label.scrollIntoView();
  field.focus({preventScroll: true});
});
