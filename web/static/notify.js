// @ts-check
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
const TRANSLATION_GRACE = 4_000; // a message waits this long for its translation into the reader's language

let actions;
const told = new Set(); // "room message" already notified (a mention in a conversation is both)
const counted = new Set(); // "room message" already counted in the tab's title
const waiting = new Map(); // "room message" -> {timer, title, roomId}: waiting for its translation

/** Joins the app like every view (app.js register): returns its actions and the frames it listens to. */
export function initNotify({ actions: appActions }) {
  actions = appActions;
  $('notify-enable').addEventListener('click', () => actions.enableNotifications());
  $('notify-mute').addEventListener('click', () => {
    if (state.current) actions.muteNotifications(state.current, !isMutedRoom(state.current));
  });
  document.addEventListener('visibilitychange', onVisibility);

  onRender('notify', render);
  return {
    actions: notifyActions,
    frames: { mention: onMention, message: onMessage, translation: onTranslation, request: onRequest,
      unread: onUnread, ready: () => invalidate('notify') },
  };
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

/** The room's title as the reader sees it in the list: in their language where the organisers' is translated. */
function roomTitle(roomId) {
  const info = state.joined.get(roomId)?.info || state.rooms.get(roomId);
  const tr = info?.tr && info.tr.lang === state.lang ? info.tr.title : '';
  return tr || info?.title || roomId;
}

/** A message's text as the reader reads it: its translation when it came, else the original. */
function shownText(item) {
  if (!item || item.deleted) return '';
  const text = item.tr && item.tr.lang === state.lang && !state.showOriginals ? item.tr.text : item.text;
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

function onMention(f) {
  if (!hidden() || isMutedRoom(f.room)) return;
  const title = () => t('msg.mentioned', { name: f.by?.name || t('who.someone'), room: roomTitle(f.room) });
  const key = keyOf(f.room, f.id);
  const entry = waiting.get(key);
  if (entry) entry.title = title; // a conversation's message that mentions: one notification, the mention's
  else tell(f.room, f.id, title);
  if (!state.joined.get(f.room)) bump(key); // no room here counts it
}

/** A private message in a conversation this tab has not joined (the server tells every member's
 * connections): its `message` never comes here, so this is its notification and its title count. */
function onUnread(f) {
  if (!f.id || state.joined.has(f.room) || f.by?.id === state.me?.id || !hidden() || isMutedRoom(f.room)) return;
  tell(f.room, f.id, () => t('notify.private', { name: f.by?.name || t('who.someone') }));
  bump(keyOf(f.room, f.id));
}

function onMessage(f) {
  const room = state.joined.get(f.room);
  if (!room || room.info.kind !== 'private' || f.user?.id === state.me?.id || !hidden() || isMutedRoom(f.room)) return;
  tell(f.room, f.id, () => t('notify.private', { name: f.user?.name || t('who.someone') }));
}

/** Notify once per message: at once when its text is in the reader's language already, else when its
 * translation comes (or after TRANSLATION_GRACE, with the original). */
function tell(roomId, id, title) {
  const key = keyOf(roomId, id);
  if (told.has(key) || waiting.has(key)) return;
  const item = state.joined.get(roomId)?.byId.get(id);
  if (item?.translating) {
    waiting.set(key, { title, roomId, timer: setTimeout(() => settle(key), TRANSLATION_GRACE) });
    return;
  }
  told.add(key);
  show(title(), shownText(item), roomId);
}

function onTranslation(f) {
  if (waiting.has(keyOf(f.room, f.id))) settle(keyOf(f.room, f.id));
}

function settle(key) {
  const entry = waiting.get(key);
  if (!entry) return;
  clearTimeout(entry.timer);
  waiting.delete(key);
  told.add(key);
  const [roomId, id] = [entry.roomId, key.slice(entry.roomId.length + 1)];
  show(entry.title(), shownText(state.joined.get(roomId)?.byId.get(id)), roomId);
}

function onRequest(f) {
  if (f.state !== 'pending' || f.to !== state.me?.id || !hidden()) return;
  const name = f.from?.name || t('who.someone');
  show(f.group ? t('people.invitesTo', { name, title: f.group.title || '' }) : t('people.requestFrom', { name }),
    f.text || '', null);
  bump();
}

/** Count it in the tab's title (view-shell.js adds state.alerts to the rooms' unread counts), once
 * per message (a mention in a conversation not joined here comes as `mention` and as `unread`). */
function bump(key = null) {
  if (key && counted.has(key)) return;
  if (key) counted.add(key);
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
