// @ts-check
// state.js — the app's single state object, its persistence (the signed-in person in
// localStorage, shared by this browser's tabs until they sign out; each tab's rooms in sessionStorage), the
// render scheduler (regions marked dirty, redrawn together in a microtask), and small
// helpers over rooms and messages that several modules share.

const SESSION_KEY = 'babelroom.session';
const PREFS_KEY = 'babelroom.prefs';
// The person signed in on this browser: {token, name, lang, sid, expiresAt}. Every tab, a reload and
// a closed and reopened browser find it, until they sign out (README: the stolen-tab risk).
const IDENTITY_KEY = 'babelroom.identity';
const TRANSLATION_WAIT = 10_000; // drop the "translating…" state after this long

export const state = {
  session: null, // {token, name, lang} while signed in
  me: null, // ready.user {id, name, role}
  lang: 'en', // reading language (ready.lang once connected)
  serverLangs: [], // ready.translates: what the server can translate into
  routes: null, // ready.routes: {target: [sources]} (null from servers that do not send it)
  minConfidence: null, // ready.min_confidence: a translation less sure is shown after its original
  rooms: new Map(), // lobby: id -> {id, title, forum, state, members, slow_mode}
  joined: new Map(), // id -> RoomView (see newRoomView)
  current: null, // room on screen; null = lobby/home
  showOriginals: false,
  conn: 'offline', // offline | connecting | connected | reconnecting
  pendingRoom: null, // a room picked before signing in
  names: new Map(), // user id -> last known display name
  openMenu: null, // user id whose moderation menu is open
  menuReason: '', // the reason typed into that menu
  drawer: null, // 'rooms' | 'members' on narrow screens
  hostRoom: null, // room chosen in the host panel
  lobbyError: '',
  needAccessCode: false,
  access: 'open', // GET /api/access: open | code | invited (the lobby asks for a personal code only)
  alerts: 0, // notifications while hidden that no room's unread count holds (contact requests: notify.js)
  peopleOpen: false, // the People directory is on screen (view-people.js)
  people: { // matchmaking (view-people.js)
    results: [], next: null, loading: false, error: '', searched: false,
    query: { q: '', lang: '', country: '' },
    composing: null, // user id whose contact form is open
    conversations: new Map(), // id -> {id, title, members, unread}
    incoming: new Map(), // request id -> request frame
    outgoing: new Map(),
    blocked: new Set(),
  },
};

/** What the app keeps about a room the user is in (or was thrown out of). */
export function newRoomView(id) {
  return {
    id,
    info: { id, title: id, forum: '', state: 'open', slow_mode: 0 },
    status: 'joining', // joining | joined | left | error
    reason: null, // left reason or error code
    retryAfter: null, // an error's retry_after (seconds), when it passes by itself
    you: { role: null },
    mutedUntil: 0, // 0 = not muted, Infinity = until unmuted, else ms epoch
    mutedHint: '', // the server's "muted" error text when the end is unknown
    members: new Map(), // id -> {id, name, lang, role}
    mutedUsers: new Map(), // id -> until (as mutedUntil), from moderation frames
    banned: new Map(), // id -> name, seen banned here in this session
    appointed: new Set(), // ids this host made moderators here (their role changes when they rejoin)
    namesakes: new Map(), // name -> Map(id -> user) for names two or more people share here
    namesakeKey: '',
    items: [], // messages and system lines, oldest first
    byId: new Map(), // message id -> item
    outbox: [], // sends not yet confirmed: {cid, text, inflight, id?}
    lastId: null, // newest message id seen, for `since`
    replayAfter: null, // a `since` replay goes on after this id (`joined.more`): the next page, or the rejoin's `since`
    replayMark: null, // the item the next replay page goes after (live messages may follow it)
    replayRun: null, // the replay asking for pages now (handlers.js followReplay): a newer join replaces it
    joinSince: null,
    resetOnJoin: false,
    hasOlder: false,
    /** @type {string|null} a message to bring into view once loaded (a reply's quote was clicked) */
    revealId: null,
    seekPages: 0, // older pages loaded while looking for revealId
    unread: 0,
    nextSendAt: 0, // slow mode: when this delegate may send again
    notice: '', // last composer-level message (rate limit, errors)
    elements: new Map(), // render cache: item key -> <li>
    sysCount: 0,
  };
}

// persistence ---------------------------------------------------------------------

export function saveSession() {
  if (!state.session) {
    sessionStorage.removeItem(SESSION_KEY);
    return;
  }
  const rooms = [...state.joined.values()]
    .filter((r) => (r.status === 'joined' || r.status === 'joining') && !r.lazy) // a watched conversation is watched again
    .map((r) => r.id);
  const data = { ...state.session, rooms, current: state.current, showOriginals: state.showOriginals };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(data));
  sessionStorage.setItem(PREFS_KEY, JSON.stringify({ name: state.session.name, lang: state.session.lang }));
  const { token, name, lang, sid, expiresAt, ttl } = state.session;
  if (sid && !state.session.pasted) {
    try {
      localStorage.setItem(IDENTITY_KEY, JSON.stringify({ token, name, lang, sid, expiresAt, ttl }));
    } catch { /* storage full or refused: this tab still works */ }
  }
}

/** Signed out (or the server refused the sign-in): no tab of this browser starts with it again. */
export function forgetIdentity() {
  try {
    localStorage.removeItem(IDENTITY_KEY);
  } catch { /* nothing kept */ }
}

/**
 * Call `changed(identity)` when another tab of this browser changes the signed-in person: `null` when
 * it signed out (or the browser's storage was cleared), else the identity it keeps now (a renewed
 * token, or a new sign-in). The `storage` event reaches every other tab of this origin at once,
 * without the server: a tab that is offline signs out with the others all the same.
 */
export function onIdentityChange(changed) {
  window.addEventListener('storage', (event) => {
    if (event.storageArea !== localStorage || (event.key !== IDENTITY_KEY && event.key !== null)) return;
    let identity = null;
    try {
      identity = JSON.parse(event.key === null ? 'null' : event.newValue || 'null');
    } catch { /* unreadable: as if signed out */ }
    changed(identity?.token && identity.sid ? identity : null);
  });
}

/** The person this tab continues as: this tab's rooms, with the browser's newest token for its sign-in. */
export function loadSession() {
  const tab = readJson(SESSION_KEY);
  let identity = null;
  try {
    identity = JSON.parse(localStorage.getItem(IDENTITY_KEY) || 'null');
  } catch { /* none */ }
  if (identity && !(identity.expiresAt > Date.now() && identity.token)) {
    forgetIdentity(); // expired: the lobby again
    identity = null;
  }
  if (tab?.pasted) return tab;
  if (!identity) return tab?.sid ? null : tab; // signed out in another tab
  if (tab && tab.sid === identity.sid) return { ...tab, token: identity.token, expiresAt: identity.expiresAt };
  return { ...identity };
}

/** Name and language last used, to prefill the lobby after signing out. */
export function loadPrefs() {
  return readJson(PREFS_KEY) || {};
}

function readJson(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) || 'null');
  } catch {
    return null;
  }
}

// rendering -----------------------------------------------------------------------

const REGIONS = ['shell', 'rooms', 'room', 'messages', 'members', 'host', 'people', 'meetings', 'inbox', 'notify'];
const renderers = new Map();
const dirty = new Set();
let scheduled = false;

export function onRender(region, fn) {
  renderers.set(region, fn);
}

/** Mark regions for redrawing (none = all); they are drawn once, after this task. */
export function invalidate(...regions) {
  for (const region of regions.length ? regions : REGIONS) dirty.add(region);
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(flush);
}

function flush() {
  scheduled = false;
  const regions = REGIONS.filter((r) => dirty.has(r));
  dirty.clear();
  for (const region of regions) renderers.get(region)?.();
}

// queries -------------------------------------------------------------------------

export const currentRoom = () => (state.current ? state.joined.get(state.current) || null : null);

export function view() {
  if (!state.session) return 'lobby';
  return currentRoom() ? 'room' : 'home';
}

export const isHost = () => state.me?.role === 'host';

/** The user's role in a room: the room's answer, else the token's. */
export const roleIn = (room) => room?.you?.role || state.me?.role || 'delegate';

export const canModerate = (room) => ['host', 'moderator'].includes(roleIn(room));

export const isMuted = (room) => room.mutedUntil > Date.now();

/** Does the room's state let this reader's role write? The server says which roles it lets write
 * (`writers` in `joined.room` and `room` frames: rooms/policy.py); until it has said, no. */
export const roleMayWrite = (room) => (room.info.writers ?? []).includes(roleIn(room));

export function canWrite(room) {
  if (room.status !== 'joined' && room.status !== 'joining') return false;
  return roleMayWrite(room) && !isMuted(room);
}

/** Seconds this delegate still has to wait in slow mode (0 = may send). */
export const slowWait = (room) => Math.max(0, Math.ceil((room.nextSendAt - Date.now()) / 1000));

export function remember(user) {
  if (user && typeof user === 'object' && user.id && user.name) state.names.set(user.id, user.name);
}

export const userId = (user) => (user && typeof user === 'object' ? user.id : user);

export function nameOf(user) {
  if (user && typeof user === 'object' && user.name) return user.name;
  const id = userId(user);
  return state.names.get(id) || String(id ?? 'someone');
}

/** Recount who shares a name in this room (members and message authors); true when that changed. */
export function updateNamesakes(room) {
  const byName = new Map();
  const add = (user) => {
    if (!user?.id || !user.name) return;
    if (!byName.has(user.name)) byName.set(user.name, new Map());
    const seen = byName.get(user.name);
    seen.set(user.id, { ...seen.get(user.id), ...user });
  };
  room.members.forEach(add);
  room.items.forEach((item) => { if (item.kind === 'msg') add(item.user); });
  room.namesakes = new Map([...byName].filter(([, ids]) => ids.size > 1));
  const key = [...room.namesakes].map(([name, ids]) => `${name}:${[...ids.keys()].join(',')}`).join('|');
  const changed = key !== room.namesakeKey;
  room.namesakeKey = key;
  return changed;
}

/**
 * A user's name as this room shows it: {name, tag, full}.  When two people here share the
 * name, tag tells them apart: their organisation when it is known and differs, else a short id.
 */
export function shownName(room, user) {
  const id = userId(user);
  const name = nameOf(user);
  const same = room?.namesakes.get(name);
  if (!same || same.size < 2 || !same.has(id)) return { name, tag: '', full: name };
  const org = same.get(id).organization || '';
  const shared = org && [...same.values()].some((u) => u.id !== id && u.organization === org);
  const tag = org && !shared ? org : `#${String(id).slice(-4)}`;
  return { name, tag, full: `${name} (${tag})` };
}

/** mutedUntil from a server value: null means "until unmuted". */
export const untilValue = (value) => (value === null || value === undefined ? Infinity : value < 1e12 ? value * 1000 : value);

// messages ------------------------------------------------------------------------

/** The server can translate between the message's language and the reader's. */
export function canTranslate(lang) {
  if (!lang) return false;
  if (state.routes) return (state.routes[state.lang] || []).includes(lang);
  return state.serverLangs.includes(state.lang) && state.serverLangs.includes(lang);
}

/** A translation into the reader's language is on its way: the server says so in `translating`
 * (older servers do not: then guess from the languages it serves). Never for one's own message. */
export function awaitsTranslation(item, translating) {
  if (item.deleted || !item.lang || item.lang === state.lang) return false;
  if (item.tr && item.tr.lang === state.lang) return false;
  if (item.user?.id && item.user.id === state.me?.id) return false;
  if (Array.isArray(translating)) return translating.includes(state.lang);
  return canTranslate(item.lang);
}

function messageItem(message) {
  const item = { kind: 'msg', ...message, showOriginal: null, translating: false, failed: false, v: 0 };
  if (awaitsTranslation(item, message.translating)) {
    item.translating = true;
    setTimeout(() => {
      if (!item.translating) return;
      item.translating = false;
      item.v += 1;
      invalidate('messages');
    }, TRANSLATION_WAIT);
  }
  remember(message.user);
  return item;
}

/** Append a message (live, joined or replayed); false if it was already there. */
export function appendMessage(room, message) {
  if (!message?.id || room.byId.has(message.id)) return false;
  const item = messageItem(message);
  room.byId.set(message.id, item);
  room.items.push(item);
  room.lastId = message.id;
  return true;
}

/** Put a page of older history (oldest first) before what is shown. */
export function prependMessages(room, messages) {
  const older = messages.filter((m) => m?.id && !room.byId.has(m.id)).map(messageItem);
  for (const item of older) room.byId.set(item.id, item);
  room.items.unshift(...older);
  if (!room.lastId && older.length) room.lastId = older[older.length - 1].id;
  return older.length;
}

/** Put replayed messages (oldest first) at index `at` of the room's items, before any message that
 * arrived live meanwhile; those already there are skipped. How many were put. */
export function insertMessages(room, messages, at) {
  const fresh = messages.filter((m) => m?.id && !room.byId.has(m.id)).map(messageItem);
  for (const item of fresh) room.byId.set(item.id, item);
  room.items.splice(at, 0, ...fresh);
  const newer = room.items.slice(at + fresh.length).some((item) => item.kind === 'msg');
  if (fresh.length && !newer) room.lastId = fresh[fresh.length - 1].id;
  return fresh.length;
}

export function resetMessages(room) {
  room.items = [];
  room.byId = new Map();
  room.lastId = null;
  room.replayAfter = null;
  room.replayMark = null;
  room.replayRun = null;
}

/** A line of the room's own (moderation, recovery); `text` is a function, worded when drawn. */
export function addSystemLine(room, text, variant = '') {
  room.sysCount += 1;
  room.items.push({ kind: 'sys', key: `s${room.sysCount}`, text, variant, ts: Date.now(), v: 0 });
}

/** Bump a message's version so its element is redrawn. */
export function touch(item) {
  item.v += 1;
}
