/**
 * The console's only stylesheet and script, served as static routes (the CSP allows 'self' only:
 * no inline styles or scripts anywhere). Plain CSS and ES2017 JavaScript, no build step.
 */

export const CONSOLE_CSS = `
:root {
  --bg: #f6f7f9; --panel: #fff; --text: #1c2330; --muted: #5b6576; --line: #dde1e7;
  --accent: #2450c9; --accent-text: #fff; --ok: #17703a; --ok-bg: #e4f4ea;
  --bad: #a4161a; --bad-bg: #fdeaea; --warn-bg: #fff6db; --warn: #7a5200; --radius: 8px;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--text); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid #7aa2ff; outline-offset: 2px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
/* Long paths, URLs and JSON in running text break rather than push the page sideways. */
p code, li code, h3 code, nav.panel a { overflow-wrap: anywhere; }
label.check { font-weight: 400; display: flex; gap: 8px; align-items: flex-start; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 24px 0 8px; }
p { margin: 0 0 12px; }
.topbar { display: flex; align-items: center; gap: 16px; padding: 10px 20px; background: #111827; color: #fff; flex-wrap: wrap; }
.topbar a { color: #fff; text-decoration: none; }
.brand { font-weight: 700; letter-spacing: .2px; }
.brand small { font-weight: 400; opacity: .7; margin-left: 6px; }
.topbar .spacer { flex: 1; }
.topbar form { margin: 0; }
.topbar .link-button { color: #fff; }
.topbar .topnav { display: flex; gap: 14px; font-size: 14px; }
.topbar .who { opacity: .9; }
.topbar a.button.secondary { color: var(--accent); }
main { max-width: 1400px; margin: 0 auto; padding: 20px; }
.crumbs { color: var(--muted); font-size: 13px; margin-bottom: 6px; }
.crumbs a { color: var(--muted); }
.page-head { display: flex; align-items: flex-end; justify-content: space-between; gap: 12px; flex-wrap: wrap; margin-bottom: 12px; }
/* Tabs wrap onto a second line rather than scroll out of sight on a phone. */
.tabs { display: flex; flex-wrap: wrap; gap: 0 4px; border-bottom: 1px solid var(--line); margin: 8px 0 20px; }
.tabs a { padding: 8px 12px; text-decoration: none; color: var(--muted); border-bottom: 3px solid transparent; white-space: nowrap; }
.tabs a[aria-current="page"] { color: var(--text); border-bottom-color: var(--accent); font-weight: 600; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 16px 20px; margin-bottom: 16px; }
.panel > h2:first-child { margin-top: 0; }
.muted { color: var(--muted); }
.small { font-size: 13px; }
.button, button { display: inline-flex; align-items: center; justify-content: center; gap: 6px; font: inherit; font-weight: 600; padding: 8px 14px; min-height: 40px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-text); cursor: pointer; text-decoration: none; }
.button.secondary, button.secondary { background: #fff; color: var(--accent); }
.button.danger, button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
.button.small, button.small { padding: 4px 10px; min-height: 32px; font-size: 13px; }
.link-button { background: none; border: none; color: var(--accent); padding: 0; min-height: 0; font-weight: 400; text-decoration: underline; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
form.inline { display: inline; }
label { display: block; font-weight: 600; margin-bottom: 4px; }
.hint { display: block; font-weight: 400; color: var(--muted); font-size: 13px; }
input[type=text], input[type=password], input[type=url], input[type=search], select { font: inherit; padding: 8px 10px; border: 1px solid #b9c0cc; border-radius: 6px; width: 100%; max-width: 420px; background: #fff; color: var(--text); min-height: 40px; }
input[aria-invalid=true] { border-color: var(--bad); }
textarea { font: 13px/1.4 ui-monospace, monospace; padding: 8px 10px; border: 1px solid #b9c0cc; border-radius: 6px; width: 100%; max-width: 640px; background: #fff; color: var(--text); }
textarea[aria-invalid=true] { border-color: var(--bad); }
.field { margin-bottom: 14px; }
.field-error { color: var(--bad); font-size: 13px; margin-top: 4px; }
.field-error::before { content: "⚠ "; }
.form-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 0 16px; align-items: start; }
.filters { display: flex; gap: 12px; flex-wrap: wrap; align-items: flex-end; margin-bottom: 12px; }
.filters .field { margin: 0; }
.filters select, .filters input { width: auto; min-width: 160px; }
.table-wrap { overflow-x: auto; background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 9px 12px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .4px; color: var(--muted); background: #fafbfc; white-space: nowrap; }
tr:last-child td { border-bottom: none; }
td.nowrap { white-space: nowrap; }
.table-wrap table { font-size: 14px; }
td.detail { min-width: 200px; max-width: 420px; overflow-wrap: break-word; }
td.target { overflow-wrap: break-word; min-width: 160px; }
details { margin-top: 12px; }
summary { cursor: pointer; }
.no-margin { margin: 0; }
.filters input[type=search] { min-width: 260px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; border: 1px solid var(--line); background: #f0f2f5; color: var(--text); white-space: nowrap; }
.badge.origin { background: #eef2ff; border-color: #c7d2fe; color: #1e3a8a; cursor: help; }
.badge.active, .badge.success, .badge.on { background: var(--ok-bg); border-color: #a7d8b8; color: var(--ok); }
.badge.inactive, .badge.off { background: #eef0f3; color: #454c59; }
.badge.failure { background: var(--bad-bg); border-color: #f2b8b9; color: var(--bad); }
tr.failure td { background: var(--bad-bg); }
tr.failure td:first-child { box-shadow: inset 4px 0 0 var(--bad); }
.avatar { width: 32px; height: 32px; border-radius: 50%; object-fit: cover; display: inline-flex; align-items: center; justify-content: center; background: #dbe3f7; color: #1e3a8a; font-size: 12px; font-weight: 700; flex: none; }
.avatar.large { width: 64px; height: 64px; font-size: 22px; }
.who { display: flex; align-items: center; gap: 10px; }
.who strong { display: block; }
.empty { text-align: center; padding: 32px 16px; background: var(--panel); border: 1px dashed #b9c0cc; border-radius: var(--radius); }
.empty h2 { margin-top: 0; }
.notice { padding: 10px 14px; border-radius: 6px; margin-bottom: 16px; border: 1px solid; }
.notice.error { background: var(--bad-bg); border-color: #f2b8b9; color: var(--bad); }
.notice.ok { background: var(--ok-bg); border-color: #a7d8b8; color: var(--ok); }
.notice.warn { background: var(--warn-bg); border-color: #f1d48a; color: var(--warn); }
dl.props { display: grid; grid-template-columns: minmax(120px, 200px) 1fr; gap: 6px 16px; margin: 0; }
dl.props dt { color: var(--muted); }
dl.props dd { margin: 0; overflow-wrap: anywhere; }
pre.json { background: #0f172a; color: #e2e8f0; padding: 12px 14px; border-radius: 6px; overflow-x: auto; max-height: 420px; }
.copy-row { display: flex; gap: 8px; align-items: stretch; flex-wrap: wrap; margin-bottom: 12px; }
.copy-row code { flex: 1 1 260px; padding: 9px 10px; background: #f0f2f5; border: 1px solid var(--line); border-radius: 6px; overflow-wrap: anywhere; user-select: all; }
.switch-row { display: flex; align-items: center; gap: 14px; flex-wrap: wrap; }
.switch { display: inline-flex; align-items: center; gap: 10px; background: #fff; color: var(--text); border: 1px solid #b9c0cc; padding: 6px 12px 6px 6px; }
.switch .track { width: 40px; height: 22px; border-radius: 999px; background: #b9c0cc; position: relative; flex: none; }
.switch .track::after { content: ""; position: absolute; top: 3px; left: 3px; width: 16px; height: 16px; border-radius: 50%; background: #fff; transition: left .15s; }
.switch[aria-checked=true] .track { background: var(--ok); }
.switch[aria-checked=true] .track::after { left: 21px; }
ol.checklist { padding-left: 22px; margin: 0; }
ol.checklist li { margin-bottom: 6px; }
.pager { display: flex; gap: 8px; align-items: center; justify-content: space-between; margin-top: 12px; flex-wrap: wrap; }
dialog { border: none; border-radius: 10px; padding: 0; max-width: min(640px, calc(100vw - 24px)); width: 100%; box-shadow: 0 20px 60px rgba(0,0,0,.35); color: var(--text); }
dialog::backdrop { background: rgba(15, 23, 42, .55); }
dialog .dialog-body { padding: 20px 22px; }
dialog h2 { margin-top: 0; }
.status-line { min-height: 1.5em; font-size: 13px; color: var(--ok); }
.signin { max-width: 420px; margin: 8vh auto; }
.tenant-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px; margin-bottom: 24px; }
.tenant-cards .panel { margin: 0; }
.tenant-cards h2 { margin: 0 0 4px; font-size: 16px; }
@media (max-width: 640px) {
  main { padding: 12px; }
  th, td { padding: 8px; }
  .hide-sm { display: none; }
  dl.props { grid-template-columns: 1fr; }
  dl.props dd { margin-bottom: 6px; }
}
`;

export const CONSOLE_JS = `"use strict";
(function () {
  function byId(id) { return id ? document.getElementById(id) : null; }

  function say(button, text) {
    var target = byId(button.getAttribute("data-status")) || button;
    if (target === button) { var label = button.getAttribute("data-label") || button.textContent; button.setAttribute("data-label", label); button.textContent = text; setTimeout(function () { button.textContent = label; }, 2500); }
    else { target.textContent = text; }
  }

  function copyFrom(button) {
    var source = byId(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent.trim();
    if (!navigator.clipboard || !navigator.clipboard.writeText) { selectText(source); say(button, "Select and copy with Ctrl+C / ⌘C"); return; }
    navigator.clipboard.writeText(text).then(function () { say(button, "Copied to the clipboard"); }, function () { selectText(source); say(button, "Copy failed: select and copy with Ctrl+C / ⌘C"); });
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var copy = target.closest("[data-copy]");
    if (copy) { event.preventDefault(); copyFrom(copy); return; }
    var opener = target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = byId(opener.getAttribute("data-open-dialog"));
      if (dialog && typeof dialog.showModal === "function") { event.preventDefault(); dialog.showModal(); }
      return;
    }
    var replace = target.closest("a[data-replace]");
    if (replace) { event.preventDefault(); window.location.replace(replace.href); return; }
    var closer = target.closest("[data-close-dialog]");
    if (closer) { var d = closer.closest("dialog"); if (d) { event.preventDefault(); d.close(); } }
  });

  // A shown-once dialog (token, secret): rendered open (readable without JavaScript), made modal
  // here. Esc does not close it: the value would be gone for good. It says so and stays; only
  // "Done" leaves (replacing the page, so the value does not linger in history).
  var shown = document.querySelector("dialog[data-auto-open]");
  if (shown && typeof shown.showModal === "function") {
    shown.removeAttribute("open");
    shown.showModal();
    var first = shown.querySelector("[autofocus]");
    if (first) first.focus();
    var warning = byId(shown.getAttribute("data-escape-warning"));
    var leaving = false;
    var warn = function () { if (warning) { warning.hidden = false; warning.textContent = warning.getAttribute("data-text"); } };
    shown.addEventListener("cancel", function (event) { event.preventDefault(); warn(); });
    // Browsers may close a modal on a repeated Esc whatever the page says: open it again.
    shown.addEventListener("close", function () { if (!leaving) { shown.showModal(); warn(); } });
    var doneLink = shown.querySelector("[data-replace]");
    if (doneLink) doneLink.addEventListener("click", function () { leaving = true; });
  }

  // Settings › User Provisioning while the IdP is being set up: the first request received, live
  // (src/guardrails/console.tsx), without reloading the page.
  var poll = document.querySelector("[data-first-request-poll]");
  if (poll && window.fetch) {
    var pollUrl = poll.getAttribute("data-first-request-poll");
    var tick = function () {
      fetch(pollUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) {
          if (body && body.firstRequest) { poll.textContent = body.firstRequest.text; poll.className = "notice ok"; poll.removeAttribute("data-first-request-poll"); return; }
          setTimeout(tick, 2000);
        }, function () { setTimeout(tick, 5000); });
    };
    setTimeout(tick, 2000);
  }

  // While SCIM is off, the setup steps follow the identity provider chosen in the form.
  var providerSelect = byId("f-provider");
  if (providerSelect) {
    providerSelect.addEventListener("change", function () {
      Array.prototype.forEach.call(document.querySelectorAll("[data-steps-for]"), function (steps) {
        steps.hidden = steps.getAttribute("data-steps-for") !== providerSelect.value;
      });
    });
  }

  // An avatar image that fails to load (gone, blocked, not an image) shows the initials instead.
  function toInitials(img) {
    var span = document.createElement("span");
    span.className = img.className;
    span.setAttribute("aria-hidden", "true");
    span.textContent = img.getAttribute("data-initials") || "?";
    img.replaceWith(span);
  }
  document.addEventListener("error", function (event) {
    var img = event.target;
    if (img instanceof HTMLImageElement && img.hasAttribute("data-initials")) toInitials(img);
  }, true);
  Array.prototype.forEach.call(document.querySelectorAll("img[data-initials]"), function (img) {
    if (img.complete && img.naturalWidth === 0) toInitials(img);
  });
})();
`;

/** A short content hash for cache-busting the asset URLs. */
export function assetVersion(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

export const CSS_PATH = `/admin/assets/console.css?v=${assetVersion(CONSOLE_CSS)}`;
export const JS_PATH = `/admin/assets/console.js?v=${assetVersion(CONSOLE_JS)}`;
