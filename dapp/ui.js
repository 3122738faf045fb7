// Small DOM and formatting helpers shared by every screen (no framework: plain elements, text never as HTML).

/** Create an element: h("p", {class: "x", onclick}, "text", child, ...). Strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A labelled form field; the label is tied to the input for screen readers. */
export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const hintEl = hint ? h("small", { id: `${id}-hint`, class: "hint" }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hintEl);
}

/** Show `message` right under the input it is about, inside its labelled field, and mark the input invalid (read
 * out with it); an empty message clears both. */
export function fieldError(input, message) {
  const holder = input.closest(".field") ?? input.parentElement;
  let el = holder.querySelector(":scope > .field-error");
  if (!el && !message) return;
  if (!el) {
    el = h("p", { class: "error field-error", role: "alert", id: `${input.id || input.name}-error` });
    holder.append(el);
    input.setAttribute("aria-describedby", `${input.getAttribute("aria-describedby") ?? ""} ${el.id}`.trim());
  }
  el.textContent = message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

/** Replace an element's children. */
export function mount(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

const WEI = 10n ** 18n;

/** Wei to an ETH string with up to 4 decimals. */
export function eth(wei) {
  const value = BigInt(wei ?? 0);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = abs / WEI;
  const frac = ((abs % WEI) * 10000n) / WEI;
  const text = frac === 0n ? `${whole}` : `${whole}.${frac.toString().padStart(4, "0").replace(/0+$/, "")}`;
  return `${negative ? "-" : ""}${text} ETH`;
}

/** A chain timestamp in the reader's own time zone, named (the chain counts in UTC seconds; on the demo chain its
 * clock is not the wall clock's, so the date can be far from today's). */
export function when(seconds) {
  if (!seconds) return "-";
  return new Date(Number(seconds) * 1000).toLocaleString(undefined,
    { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
}

/** The first n characters of a long hex string or value, marked as shortened. */
export function short(hex, n = 10) {
  if (hex === null || hex === undefined || hex === "") return "-";
  const text = String(hex);
  return text.length > n ? `${text.slice(0, n)}...` : text;
}

/** Basis points as a percentage. */
export function pct(bps) {
  return `${(Number(bps) / 100).toFixed(1)}%`;
}

/** A message in the page's live region (read out by screen readers). */
export function notice(text, kind = "info") {
  const area = document.getElementById("notices");
  const el = h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text,
    h("button", { class: "close", "aria-label": "dismiss", onclick: () => el.remove() }, "x"));
  area.prepend(el);
  if (kind !== "error") setTimeout(() => el.remove(), 15000);
  return el;
}

let txCount = 0;

let pressed = null; // the button last pressed (by click, tap or keyboard): a transaction it starts reports beside it
document.addEventListener("click", (event) => { pressed = event.target.closest?.("button") ?? pressed; }, true);
document.addEventListener("submit", (event) => { pressed = event.submitter ?? pressed; }, true);

const nearLines = new WeakMap(); // the element a transaction was started from -> its status line beside it

/** A copy of a transaction's status line right after `anchor` (the button that started it), replacing the last one
 * there, so the result shows where the person is looking, on a phone too. */
function nearLine(anchor, label) {
  nearLines.get(anchor)?.remove();
  const el = h("p", { class: "tx tx-near pending", role: "status", "data-label": label }, h("strong", {}, label + ": "), h("span", {}, ""));
  anchor.after(el);
  nearLines.set(anchor, el);
  return el;
}

/** A transaction's status line: pending, then confirmed or failed with a reason (numbered, newest first), and the
 * same beside `anchor` (by default the button last pressed, which started it). */
export function txStatus(label, anchor = null) {
  const area = document.getElementById("transactions");
  const text = h("span", { class: "tx-text" }, "");
  txCount += 1;
  area.setAttribute("data-count", String(txCount));
  const el = h("div", { class: "tx pending", role: "status", "data-label": label, "data-seq": String(txCount) },
    h("strong", {}, label + ": "), text);
  area.prepend(el);
  while (area.children.length > 6) area.lastChild.remove();
  const beside = anchor ?? pressed;
  const near = beside?.isConnected ? nearLine(beside, label) : null;
  const set = (kind, message) => {
    el.className = `tx ${kind}`;
    el.setAttribute("data-state", kind);
    el.setAttribute("role", kind === "failed" ? "alert" : "status");
    text.textContent = message;
    if (near) {
      near.className = `tx tx-near ${kind}`;
      near.setAttribute("data-state", kind);
      near.setAttribute("role", kind === "failed" ? "alert" : "status");
      near.lastChild.textContent = message;
      if (kind !== "pending") near.scrollIntoView?.({ block: "nearest" });
    }
  };
  return {
    pending: (m) => set("pending", `pending - ${m}`),
    confirmed: (m) => set("confirmed", `confirmed - ${m}`),
    failed: (m) => set("failed", `failed - ${m}`),
  };
}

/** Parse a decimal ETH amount typed by a person (a decimal point or comma) into wei, or throw a sentence saying
 * what is wrong. */
export function parseEth(text, what) {
  const typed = String(text ?? "").trim();
  const value = typed.replace(/^(\d+),(\d{1,18})$/, "$1.$2"); // 0,5 as many keyboards and locales write it
  if (!/^\d+(\.\d{1,18})?$/.test(value)) throw new Error(`${what}: "${typed}" is not an amount in ETH (e.g. 0.5 or 0,5)`);
  const [whole, frac = ""] = value.split(".");
  return BigInt(whole) * WEI + BigInt((frac + "0".repeat(18)).slice(0, 18));
}

/** A step indicator for a claim's progress. */
export function progress(steps, current, failedAt = -1) {
  return h("ol", { class: "progress", "aria-label": "claim progress" },
    steps.map((step, i) => h("li", {
      class: i < current ? "done" : i === current ? (i === failedAt ? "failed" : "current") : "todo",
      "aria-current": i === current ? "step" : null,
    }, step)));
}

/** A value as stable text for comparing what a part of the screen shows (bigints included). */
export function signature(value) {
  return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v));
}

const shownKeys = new WeakMap();

/** Replace `el`'s children with `build()` only if `key` differs from the last one shown there: no flicker, no churn. */
export function mountIfChanged(el, key, build) {
  if (shownKeys.get(el) === key) return el;
  shownKeys.set(el, key);
  return mount(el, build());
}

const keptItems = new WeakMap();

/**
 * Bring `parent`'s children in line with `items` without rebuilding what is still there: one component per item,
 * kept across calls by `id(item)`. `create(item)` makes a component `{ el, update(item) }` once; `update` runs when
 * the item's `key` (by default its whole value) changed. Kept elements are not moved unless the order changed, so a
 * form inside one keeps its typed text and its focus while the rest of the list follows the chain. `empty()` makes
 * the element shown when there are no items.
 */
export function reconcile(parent, items, { id, key = signature, create, empty = null }) {
  const before = keptItems.get(parent) || { components: new Map(), empty: null };
  const components = new Map();
  const wanted = items.map((item) => {
    const name = String(id(item));
    const sig = key(item);
    const entry = before.components.get(name) || { component: create(item), sig: null };
    if (entry.sig !== sig) {
      entry.component.update(item);
      entry.sig = sig;
    }
    components.set(name, entry);
    return entry.component.el;
  });
  const emptyEl = items.length || !empty ? before.empty : before.empty || empty();
  keptItems.set(parent, { components, empty: emptyEl });
  if (!wanted.length && emptyEl) wanted.push(emptyEl);
  let cursor = parent.firstChild;
  for (const el of wanted) {
    if (el === cursor) cursor = cursor.nextSibling;
    else parent.insertBefore(el, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
  return parent;
}
