// @ts-check
// dom.js — tiny DOM helpers shared by the views.
// Nothing here ever parses HTML: text goes in as text nodes, attributes through
// setAttribute, so user-supplied strings can never become markup.

/**
 * The element of index.html with this id.  Typed `any`: the caller knows its kind (input, dialog,
 * form, select) from the markup, which the checker cannot read.
 * @param {string} id
 * @returns {any}
 */
export const $ = (id) => document.getElementById(id);

/**
 * Build an element.  h('li', {class: 'msg', testid: 'message', on: {click: fn}}, 'text', child)
 * props: class (string or array, falsy entries dropped), testid (data-testid),
 * data ({key: value} into dataset), on ({event: handler}), text (textContent);
 * anything else is an attribute (false/null/undefined skip it, true sets it empty).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'testid') el.dataset.testid = value;
    else if (key === 'data') Object.assign(el.dataset, value);
    else if (key === 'on') for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else if (key === 'text') el.textContent = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  el.append(...clean(children));
  return el;
}

/** Children without holes: nested arrays flattened, null/false/undefined dropped. */
function clean(children) {
  return children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false);
}

/** The key that finds "the same" control again after a region is rebuilt. */
function focusKey(el) {
  return el.dataset?.focusKey || el.dataset?.testid || el.id || null;
}

function findByKey(root, key) {
  for (const el of root.querySelectorAll('[data-focus-key], [data-testid], [id]')) {
    if (focusKey(el) === key) return el;
  }
  return null;
}

/** Replace a region's children, keeping keyboard focus on the control that had it. */
export function setChildren(parent, ...children) {
  const active = document.activeElement;
  const key = active && active !== parent && parent.contains(active) ? focusKey(active) : null;
  parent.replaceChildren(...clean(children));
  if (key) findByKey(parent, key)?.focus({ preventScroll: true });
}

/** A span only screen readers announce. */
export const srOnly = (text) => h('span', { class: 'visually-hidden' }, text);

/** Focus without scrolling, only on devices with a real pointer (no surprise phone keyboards). */
export function softFocus(el) {
  if (el && window.matchMedia('(pointer: fine)').matches) el.focus({ preventScroll: true });
}
