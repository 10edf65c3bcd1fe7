// notify.js — telling a person something happened while the tab is in the background (issue 25):
// a mention, a private message or a contact request makes a browser notification (with their
// permission, asked only when they press "Turn on notifications", never on load) and counts in the
// tab's title, in the reader's interface language, the message in their reading language where
// its translation comes soon enough. Each room's notifications can be muted: kept per person in
// this browser's localStorage (the server keeps no such preference), so every tab agrees.

import { $ } from './dom.js';
import { t } from './i18n.js';
import { state, invalidate, currentRoom, onRender } from './state.js';

const MUTED_KEY = 'babelroom.notify.muted'; // {user id: [room ids]}
const TRANSLATION_GRACE = 4_000; // a private message waits this long for its translation

let actions;
const told = new Set(); // "room message" already notified (a mention in a conversation is both)
const waiting = new Map(); // "room message" -> timer: a private message waiting for its translation

export function initNotify({ actions: appActions, handlers }) {
  actions = appActions;
  state.alerts = 0; // notifications while hidden that no room's unread count holds (contact requests)
  Object.assign(actions, notifyActions);
  $('notify-enable').addEventListener('click', () => actions.enableNotifications());
  $('notify-mute').addEventListener('click', () => {
    if (state.current) actions.muteNotifications(state.current, !isMutedRoom(state.current));
  });
  document.addEventListener('visibilitychange', onVisibility);

  const { mention, message, translation, request } = handlers;
  handlers.mention = (f) => { mention?.(f); onMention(f); };
  handlers.message = (f) => { message?.(f); onMessage(f); };
  handlers.translation = (f) => { translation?.(f); onTranslation(f); };
  handlers.request = (f) => { request?.(f); onRequest(f); };
  const ready = handlers.ready;
  handlers.ready = (f) => { ready(f); invalidate('notify'); };
  onRender('notify', render);
}

const hidden = () => document.visibilityState !== 'visible';
const keyOf = (room, id) => `${room} ${id}`;
const supported = () => typeof window.Notification === 'function';

function mutedRooms() {
  try {
    const all = JSON.parse(localStorage.getItem(MUTED_KEY) || '{}');
    return new Set(Array.isArray(all[state.me?.id]) ? all[state.me.id] : []);
  } catch {
    return new Set();
  }
}

export const isMutedRoom = (roomId) => mutedRooms().has(roomId);

const notifyActions = {
  /** Ask for the browser's permission: only from this button (a user gesture), never on load. */
  async enableNotifications() {
    if (!supported()) return;
    try {
      await Notification.requestPermission();
    } catch { /* an old browser's callback form: the state line says what it is */ }
    invalidate('notify');
  },

  muteNotifications(roomId, muted) {
    if (!state.me) return;
    let all = {};
    try {
      all = JSON.parse(localStorage.getItem(MUTED_KEY) || '{}');
    } catch { /* start again */ }
    const rooms = new Set(Array.isArray(all[state.me.id]) ? all[state.me.id] : []);
    (muted ? rooms.add(roomId) : rooms.delete(roomId));
    all[state.me.id] = [...rooms];
    try {
      localStorage.setItem(MUTED_KEY, JSON.stringify(all));
    } catch { /* storage refused: it lasts as long as the page */ }
    invalidate('notify');
  },
};

function onVisibility() {
  if (hidden()) return;
  state.alerts = 0;
  const room = currentRoom();
  if (room) room.unread = 0;
  invalidate('shell', 'rooms', 'people');
}

// what is worth a notification ------------------------------------------------------

function roomTitle(roomId) {
  return state.joined.get(roomId)?.info.title || state.rooms.get(roomId)?.title || roomId;
}

/** A message's text as the reader reads it: its translation when it came, else the original. */
function shownText(item) {
  if (!item || item.deleted) return '';
  const text = item.tr && item.tr.lang === state.lang && !state.showOriginals ? item.tr.text : item.text;
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

function onMention(f) {
  if (!hidden() || isMutedRoom(f.room)) return;
  const key = keyOf(f.room, f.id);
  if (told.has(key)) return;
  told.add(key);
  clearTimeout(waiting.get(key));
  waiting.delete(key);
  const item = state.joined.get(f.room)?.byId.get(f.id);
  show(t('msg.mentioned', { name: f.by?.name || t('who.someone'), room: roomTitle(f.room) }), shownText(item), f.room);
  if (!state.joined.get(f.room)) bump(); // no room here counts it
}

function onMessage(f) {
  const room = state.joined.get(f.room);
  if (!room || room.info.kind !== 'private' || f.user?.id === state.me?.id || !hidden() || isMutedRoom(f.room)) return;
  const key = keyOf(f.room, f.id);
  if (told.has(key) || waiting.has(key)) return;
  const item = room.byId.get(f.id);
  if (item?.translating) waiting.set(key, setTimeout(() => privateMessage(f.room, f.id), TRANSLATION_GRACE));
  else privateMessage(f.room, f.id);
}

function onTranslation(f) {
  const key = keyOf(f.room, f.id);
  if (!waiting.has(key)) return;
  clearTimeout(waiting.get(key));
  privateMessage(f.room, f.id);
}

function privateMessage(roomId, id) {
  const key = keyOf(roomId, id);
  waiting.delete(key);
  if (told.has(key)) return;
  told.add(key);
  const item = state.joined.get(roomId)?.byId.get(id);
  if (!item) return;
  show(t('notify.private', { name: item.user?.name || t('who.someone') }), shownText(item), roomId);
}

function onRequest(f) {
  if (f.state !== 'pending' || f.to !== state.me?.id || !hidden()) return;
  const name = f.from?.name || t('who.someone');
  show(f.group ? t('people.invitesTo', { name, title: f.group.title || '' }) : t('people.requestFrom', { name }),
    f.text || '', null);
  bump();
}

/** Count it in the tab's title (view-shell.js adds state.alerts to the rooms' unread counts). */
function bump() {
  state.alerts += 1;
  invalidate('shell');
}

function show(title, body, roomId) {
  if (!supported() || Notification.permission !== 'granted') return;
  try {
    const note = new Notification(title, { body, lang: document.documentElement.lang, tag: roomId || 'babelroom' });
    note.onclick = () => {
      window.focus();
      if (roomId) actions.openRoom(roomId);
      note.close();
    };
  } catch { /* a browser that shows notifications only from a service worker: the title counts still */ }
}

// drawing -------------------------------------------------------------------------

/** The sidebar's "Turn on notifications" and what the permission is; the room's Mute toggle. */
function render() {
  const can = supported() && !!state.session;
  const permission = can ? Notification.permission : 'default';
  $('notify-enable').hidden = !can || permission !== 'default';
  $('notify-state').textContent = !can ? ''
    : permission === 'granted' ? t('notify.on') : permission === 'denied' ? t('notify.blocked') : '';
  const room = currentRoom();
  const muted = room ? isMutedRoom(room.id) : false;
  $('notify-mute').hidden = !room || !can || permission !== 'granted';
  $('notify-mute').setAttribute('aria-pressed', String(muted));
}
