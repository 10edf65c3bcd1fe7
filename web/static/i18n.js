// @ts-check
// i18n.js — the interface's words in the reader's language.
// Each language has a message catalogue, i18n/<code>.json: a flat object of
// "area.name" keys whose values are strings with {placeholders}, or plural objects
// {"one": …, "other": …} picked with Intl.PluralRules by the `count` parameter.
// A key the catalogue lacks falls back to English (tests/test_i18n.py keeps every
// catalogue complete).  Static text in index.html carries data-i18n="key" (text)
// or data-i18n-attr="attribute:key,…" and is rewritten by translatePage().

/** The languages with a catalogue in i18n/ (tests/test_i18n.py checks the two agree). */
export const UI_LANGUAGES = ['en', 'ar', 'de', 'es', 'fr', 'ja', 'pl', 'pt', 'ru', 'zh'];

const RTL = new Set(['ar', 'he', 'fa', 'ur', 'yi', 'ps', 'dv', 'ug', 'ckb', 'sd']);
const BASE = new URL('./i18n/', import.meta.url);

let current = 'en';
let translatedOnce = false; // the page's static text has been rewritten at least once
let strings = {};
let english = {};
const loaded = new Map(); // code -> catalogue (or a promise of it)
const listeners = new Set();

async function catalogue(code) {
  if (!loaded.has(code)) {
    loaded.set(code, fetch(new URL(`${code}.json`, BASE), { cache: 'no-cache' })
      .then((r) => (r.ok ? r.json() : {}))
      .catch(() => ({})));
  }
  return loaded.get(code);
}

const primary = (tag) => String(tag || '').replace('_', '-').split('-')[0].toLowerCase();

/** The interface language for a reading language: itself when it has a catalogue, else the browser's, else English. */
export function uiLanguageFor(readingLang) {
  for (const tag of [readingLang, ...(navigator.languages || [navigator.language])]) {
    const code = primary(tag);
    if (UI_LANGUAGES.includes(code)) return code;
  }
  return 'en';
}

/** The interface's language code (a BCP 47 tag Intl accepts). */
export const uiLanguage = () => current;

export const isRtlLanguage = (code) => RTL.has(primary(code));

/** Switch the interface to `code` (a reading language; see uiLanguageFor) and redraw the static text. */
export async function useLanguage(readingLang) {
  const code = uiLanguageFor(readingLang);
  const [en, cat] = await Promise.all([catalogue('en'), catalogue(code)]);
  english = en;
  strings = cat;
  const changed = code !== current || !translatedOnce;
  current = code;
  document.documentElement.lang = code;
  document.documentElement.dir = isRtlLanguage(code) ? 'rtl' : 'ltr';
  translatePage();
  if (changed) listeners.forEach((fn) => fn(code));
  translatedOnce = true;
  return code;
}

/** Call `fn(code)` whenever the interface language changes. */
export function onLanguageChange(fn) {
  listeners.add(fn);
}

let pluralRules = null;
let numberFormat = null;
let rulesFor = null;

function plural(count) {
  if (rulesFor !== current) {
    pluralRules = new Intl.PluralRules(current);
    numberFormat = new Intl.NumberFormat(current);
    rulesFor = current;
  }
  return pluralRules.select(count);
}

function pick(entry, params) {
  if (entry === undefined || entry === null) return undefined;
  if (typeof entry === 'string') return entry;
  const count = Number(params.count ?? 0);
  return entry[plural(count)] ?? entry.other;
}

/** True when English has this key (for codes the server may send that we do not know). */
export const hasKey = (key) => Object.prototype.hasOwnProperty.call(english, key);

/**
 * The text for `key` in the interface language, with {placeholders} filled from params.
 * A number parameter is written the reader's way (1 234,5); `count` also picks the plural form.
 */
export function t(key, params = {}) {
  let text = pick(strings[key], params);
  if (text === undefined) text = pick(english[key], params);
  if (text === undefined) return key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in params)) return whole;
    const value = params[name];
    if (typeof value === 'number') {
      plural(0);
      return numberFormat.format(value);
    }
    return String(value);
  });
}

/** Rewrite every data-i18n / data-i18n-attr element under root in the interface language. */
export function translatePage(root = /** @type {ParentNode} */ (document)) {
  for (const el of /** @type {NodeListOf<HTMLElement>} */ (root.querySelectorAll('[data-i18n]'))) el.textContent = t(el.dataset.i18n);
  for (const el of /** @type {NodeListOf<HTMLElement>} */ (root.querySelectorAll('[data-i18n-attr]'))) {
    for (const pair of el.dataset.i18nAttr.split(',')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

/** In `seconds`, the reader's way: "in 23 hours", "dans 5 minutes" (Intl.RelativeTimeFormat). */
export function inTime(seconds) {
  const s = Math.max(1, Math.ceil(Number(seconds)));
  const minutes = Math.round(s / 60);
  const hours = Math.round(s / 3600);
  /** @type {[number, Intl.RelativeTimeFormatUnit]} */
  const [value, unit] = s < 90 ? [s, 'second'] : minutes < 60 ? [minutes, 'minute']
    : hours < 36 ? [hours, 'hour'] : [Math.round(s / 86400), 'day'];
  return new Intl.RelativeTimeFormat(current, { numeric: 'always' }).format(value, unit);
}

/**
 * A server refusal for people, from its stable code only: "error.<code>" in the interface
 * language ("error.<code>.after" with the time, when the refusal passes by itself and says when:
 * `retry_after`), else a generic line. The server's own message is English for developers and
 * is never shown. `error` is an error object ({code, retryAfter}) or a code.
 */
export function errorText(error) {
  const code = typeof error === 'object' && error !== null ? error.code : error;
  const after = typeof error === 'object' && error !== null ? Number(error.retryAfter) : NaN;
  if (code && after > 0 && hasKey(`error.${code}.after`)) return t(`error.${code}.after`, { when: inTime(after) });
  if (code && hasKey(`error.${code}`)) return t(`error.${code}`);
  return t('error.generic');
}
