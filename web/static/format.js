// @ts-check
// format.js — language names, writing direction, times and durations for display,
// all in the interface language (i18n.js) through Intl.  Each language is *offered*
// by its own name and the reader's (Deutsch — German, Deutsch — 德语), sorted the
// reader's way; "translated from German" names it in the interface language.

import { uiLanguage } from './i18n.js';

const RTL_CODES = new Set(['ar', 'he', 'iw', 'fa', 'ur', 'ps', 'yi', 'dv', 'ckb', 'sd', 'ug']);
const FALLBACK_CODES = ['en', 'de', 'fr', 'es', 'it', 'pt', 'nl', 'pl', 'ru', 'uk', 'tr', 'ar', 'he', 'fa', 'hi', 'zh', 'ja', 'ko'];

let known = new Map(); // code -> {code, name, rtl, translatable} from GET /api/languages

/** Remember the server's language list (names in themselves, rtl flags). */
export function setLanguages(list) {
  known = new Map(list.filter((l) => l && l.code).map((l) => [l.code, l]));
}

/** The languages to offer: the server's, or a sensible default while it is unknown. */
export function languageList() {
  if (known.size) return [...known.values()];
  return FALLBACK_CODES.map((code) => ({ code, name: selfName(code), rtl: isRtl(code), translatable: true }));
}

export function isKnownLanguage(code) {
  return known.size ? known.has(code) : FALLBACK_CODES.includes(code);
}

function intlName(locale, code) {
  try {
    const name = new Intl.DisplayNames([locale], { type: 'language' }).of(code);
    return name && name !== code ? name : null;
  } catch {
    return null;
  }
}

function capitalize(text, locale) {
  return text.charAt(0).toLocaleUpperCase(locale) + text.slice(1);
}

/** "Deutsch" for de: the language named in itself. */
export function selfName(code) {
  if (!code) return '';
  const fromServer = known.get(code)?.name;
  if (fromServer) return fromServer;
  const name = intlName(code, code);
  return name ? capitalize(name, code) : code;
}

/** "German" / "alemán" for de: the language named in the interface's language, as in a sentence. */
export function uiName(code) {
  return intlName(uiLanguage(), code) || selfName(code);
}

/** An option label: the name in itself, and in the reader's language when that differs. */
export function languageLabel(code) {
  const own = selfName(code);
  const ui = capitalize(uiName(code), uiLanguage());
  return own.toLocaleLowerCase() === ui.toLocaleLowerCase() ? own : `${own} — ${ui}`;
}

/** Language entries sorted by their name in the interface language. */
export function sortedLanguages(list) {
  const locale = uiLanguage();
  return [...list].sort((a, b) => uiName(a.code).localeCompare(uiName(b.code), locale));
}

export function isRtl(code) {
  if (!code) return false;
  return known.get(code)?.rtl ?? RTL_CODES.has(code.split('-')[0]);
}

/** The reader's likely language: the browser's, when the server offers it. */
export function guessLanguage() {
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const code = String(tag).split('-')[0].toLowerCase();
    if (isKnownLanguage(code)) return code;
  }
  return 'en';
}

let formats = null;

function fmt() {
  const locale = uiLanguage();
  if (formats?.locale !== locale) {
    const unit = (u) => new Intl.NumberFormat(locale, { style: 'unit', unit: u, unitDisplay: 'short', maximumFractionDigits: 1 });
    formats = {
      locale,
      clock: new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' }),
      full: new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' }),
      second: unit('second'),
      minute: unit('minute'),
      hour: unit('hour'),
      day: unit('day'),
    };
  }
  return formats;
}

export const timeOfDay = (ms) => fmt().clock.format(new Date(ms));
export const fullDate = (ms) => fmt().full.format(new Date(ms));

/** 300 -> "5 min", 3600 -> "1 h", 42 -> "42 s", in the interface language. */
export function duration(seconds) {
  const s = Math.max(1, Math.round(seconds));
  const f = fmt();
  if (s < 60) return f.second.format(s);
  if (s < 3600) return f.minute.format(Math.round(s / 60));
  if (s < 86400) return f.hour.format(Math.round(s / 360) / 10);
  return f.day.format(Math.round(s / 8640) / 10);
}

/** A server timestamp in ms (accepting seconds too, defensively). */
export function toMs(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  return value < 1e12 ? value * 1000 : value;
}
