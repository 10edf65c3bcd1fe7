// format.js — language names, writing direction, times and durations for display.
// The UI itself is in English; each language is *offered* by its own name (Deutsch,
// Español, العربية), while "translated from German" names it in English.

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

/** "German" for de: the language named in the UI's language. */
export function englishName(code) {
  return intlName('en', code) || selfName(code);
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

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export const timeOfDay = (ms) => clock.format(new Date(ms));
export const fullDate = (ms) => full.format(new Date(ms));

/** 300 -> "5 min", 3600 -> "1 h", 42 -> "42 s". */
export function duration(seconds) {
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 360) / 10} h`.replace('.0 h', ' h');
  return `${Math.round(s / 8640) / 10} days`.replace('.0 days', ' days');
}

/** A server timestamp in ms (accepting seconds too, defensively). */
export function toMs(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  return value < 1e12 ? value * 1000 : value;
}
