// @ts-check
// actions.js — what the views can ask for (`actions`: user intents become frames on the link or
// HTTP calls), and the session: signing in and out, renewing the token, following another tab.

import { api } from './api.js';
import { setLanguages, guessLanguage, isKnownLanguage } from './format.js';
import { t, errorText, useLanguage } from './i18n.js';
import { state, newRoomView, saveSession, forgetIdentity, invalidate, currentRoom, touch, nameOf } from './state.js';
import { mentionsIn } from './compose.js';
import { HISTORY_PAGE, link, sendJoin, transmit, loadOpened, forgetRoom, randomId } from './outbox.js';
import { focusHostPanel } from './view-host.js';
import { redrawAllMessages, focusComposer, focusModButton } from './view-room.js';
import { renderLanguageOptions, fillLobby, toast, closeDrawer, focusLobby } from './view-shell.js';

// sessions ------------------------------------------------------------------------

export function beginSession(session) {
  state.session = session;
  state.lang = session.lang || state.lang;
  state.lobbyError = '';
  state.needAccessCode = false;
  saveSession();
  link.start();
  invalidate();
}

/** Back to the lobby; keep the name and language to make starting again easy. */
export function endSession(message = '', { forget = true } = {}) {
  link.stop();
  if (forget && !state.session?.pasted) forgetIdentity();
  const prefs = { name: state.session?.pasted ? '' : state.session?.name, lang: state.lang };
  Object.assign(state, { session: null, me: null, current: null, openMenu: null, drawer: null, lobbyError: message });
  state.joined.clear();
  saveSession();
  fillLobby(prefs);
  invalidate();
  focusLobby();
}

export async function refreshRooms() {
  try {
    const rooms = await api.rooms(state.serverLangs.includes(state.lang) ? state.lang : '');
    state.rooms = new Map(rooms.filter((r) => r?.id).map((r) => [r.id, r]));
    for (const room of state.joined.values()) {
      const info = state.rooms.get(room.id);
      if (info) {
        const { members, ...rest } = info;
        room.info = { ...room.info, ...rest };
      }
    }
    invalidate('rooms', 'room', 'host', 'shell');
  } catch {
    /* the lobby keeps what it had; the next refresh tries again */
  }
}

export async function loadLanguages() {
  try {
    setLanguages(await api.languages());
  } catch {
    /* fall back to a built-in list named through Intl */
  }
  if (!state.session?.lang && !isKnownLanguage(state.lang)) state.lang = guessLanguage();
  if (!state.session) await useLanguage(state.lang);
  renderLanguageOptions();
}

/** `#token=…` in the address: sign in with it, then take it out of the address bar. */
export function tokenFromHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token');
  if (token) history.replaceState(null, '', location.pathname + location.search);
  return token;
}

/** `#code=…` (a personal sign-in link): a fragment, so the code never reaches a server's log. */
export function codeFromHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const code = params.get('code');
  if (code) history.replaceState(null, '', location.pathname + location.search);
  return code;
}

/** What the app keeps of POST /api/session's answer: the sign-in (sid) and when its token expires. */
export function signedIn(answer, name, lang) {
  const ttl = Number(answer.expires_in) * 1000;
  return { token: answer.token, name: answer.user?.name || name, lang: answer.lang || lang, sid: answer.session || '',
    expiresAt: Date.now() + ttl, ttl };
}

let renewing = false;

/** Renew the token once half its life is gone, so a delegate who keeps the page stays signed in. */
export async function renewIfDue() {
  const session = state.session;
  if (!session?.sid || !session.ttl || renewing || session.expiresAt - Date.now() > session.ttl / 2) return;
  renewing = true;
  try {
    const answer = await api.renewSession(session.token);
    if (state.session === session) {
      Object.assign(session, signedIn(answer, session.name, session.lang), { name: session.name, lang: session.lang });
      saveSession();
    }
  } catch (err) {
    if (err.status === 401 && state.session === session) endSession(t('session.signedOut'));
  } finally {
    renewing = false;
  }
}

export async function signInWithCode(code, lang) {
  const button = /** @type {HTMLButtonElement} */ (document.getElementById('start'));
  button.disabled = true;
  try {
    const answer = await api.signInWithCode(code, lang);
    state.me = null;
    beginSession(signedIn(answer, '', lang));
  } catch (err) {
    state.lobbyError = err.status === 401 ? t('lobby.badSigninCode') : errorText(err);
    invalidate('shell');
  } finally {
    button.disabled = false;
  }
}

export async function loadAccess() {
  try {
    state.access = await api.access();
  } catch { /* the lobby asks for a name; the server still says no when it must */ }
  invalidate('shell');
}

// what the views can ask for ------------------------------------------------------

export const actions = {
  async start({ name, lang, token, accessCode, signinCode, profile = {} }) {
    state.lobbyError = '';
    if (token) {
      beginSession({ token, lang, name: '', pasted: true });
      return;
    }
    if (signinCode || state.access === 'invited') {
      if (!signinCode) {
        state.lobbyError = t('error.invited_only');
        invalidate('shell');
        return;
      }
      await signInWithCode(signinCode, lang);
      return;
    }
    if (!name || name.length > 40) {
      state.lobbyError = t('lobby.nameNeeded');
      invalidate('shell');
      return;
    }
    const button = /** @type {HTMLButtonElement} */ (document.getElementById('start'));
    button.disabled = true;
    try {
      const session = await api.createSession(name, lang, accessCode, profile);
      state.me = null;
      beginSession(signedIn(session, name, lang));
    } catch (err) {
      if (err.code === 'invited_only') state.access = 'invited';
      state.lobbyError = err.status === 401 ? t('lobby.needCode') : errorText(err);
      if (err.status === 401) state.needAccessCode = true;
      invalidate('shell');
    } finally {
      button.disabled = false;
    }
  },

  signOut() {
    for (const room of state.joined.values()) if (room.status === 'joined') link.send({ type: 'leave', room: room.id });
    const token = state.session?.sid ? state.session.token : null;
    endSession();
    if (token) api.signOut(token).catch(() => { /* the token expires by itself */ });
  },

  /** This tab's sign-in ended from the account view (here, or everywhere). */
  signedOutHere() {
    endSession(t('session.signedOut'));
  },

  /** Click on a room in the list: show it, joining it first if need be. */
  openRoom(id) {
    if (!state.session) {
      state.pendingRoom = id;
      invalidate('shell');
      focusLobby();
      return;
    }
    let room = state.joined.get(id);
    if (room && (room.status === 'left' || room.status === 'error')) {
      actions.rejoin(id); // picked again from the list after being removed: try to enter
    } else if (!room) {
      room = newRoomView(id);
      const info = state.rooms.get(id);
      if (info) {
        const { members, ...rest } = info;
        room.info = { ...room.info, ...rest };
      }
      state.joined.set(id, room);
      if (link.ready) sendJoin(room);
    }
    actions.select(id);
  },

  select(id) {
    state.peopleOpen = false;
    const previous = currentRoom();
    if (previous && previous.id !== id) previous.readMark = null; // its new messages were seen
    state.current = id;
    state.openMenu = null;
    const room = currentRoom();
    if (room) room.unread = 0;
    if (room?.lazy) Object.assign(room, { lazy: false, wantHistory: true });
    if (room) loadOpened(room);
    closeDrawer();
    saveSession();
    invalidate();
    if (room) queueMicrotask(focusComposer);
  },

  rejoin(id) {
    const room = state.joined.get(id);
    if (!room) return;
    Object.assign(room, { status: 'joining', reason: null, retryAfter: null, resetOnJoin: true });
    if (link.ready) sendJoin(room);
    invalidate();
  },

  leave(id) {
    const room = state.joined.get(id);
    if (!room) return;
    if (room.status === 'joined' || room.status === 'joining') {
      link.request({ type: 'leave', room: id }, { timeout: 10_000 }).catch(() => {});
    }
    forgetRoom(id);
  },

  /** Queue a message for the current room; true when it was accepted for sending. */
  send(text) {
    const room = currentRoom();
    if (!room || room.status === 'left' || room.status === 'error') return false;
    if (text.length > 2000) {
      room.notice = t('room.tooLong', { max: 2000, count: text.length });
      invalidate('room');
      return false;
    }
    room.notice = '';
    const entry = { cid: randomId(), text, inflight: false, replyTo: room.replyTo || null, mentions: mentionsIn(room, text) };
    room.replyTo = null;
    room.outbox.push(entry);
    transmit(room, entry);
    invalidate('messages', 'room');
    return true;
  },

  /**
   * Bring a quoted message into view (a click on a reply's quote): at once when it is loaded, else
   * after the older pages that hold it (at most SEEK_PAGES of them; a message gone since stays unshown).
   */
  showOriginal(roomId, messageId) {
    const room = state.joined.get(roomId);
    if (!room) return;
    room.revealId = messageId;
    room.seekPages = 0;
    if (room.byId.has(messageId) || !room.hasOlder) invalidate('messages');
    else actions.loadOlder(roomId);
  },

  loadOlder(id) {
    const room = state.joined.get(id);
    const oldest = room?.items.find((item) => item.kind === 'msg');
    if (!room || !oldest || room.loadingOlder) return;
    room.loadingOlder = link.send({ type: 'history', room: id, before: oldest.id, limit: HISTORY_PAGE });
  },

  setShowOriginals(on) {
    state.showOriginals = on;
    for (const room of state.joined.values()) room.items.forEach((item) => { item.showOriginal = null; });
    redrawAllMessages();
    saveSession();
    invalidate('messages', 'room');
  },

  toggleOriginal(roomId, messageId, original) {
    const item = state.joined.get(roomId)?.byId.get(messageId);
    if (!item) return;
    item.showOriginal = original;
    touch(item);
    invalidate('messages');
  },

  changeLanguage(lang) {
    if (!state.session || lang === state.lang) return;
    state.lang = lang;
    state.session.lang = lang;
    useLanguage(lang);
    for (const room of state.joined.values()) room.resetOnJoin = true;
    saveSession();
    link.restart(); // a fresh `ready` in the new language, then fresh history with its translations
    invalidate();
  },

  reconnectNow: () => link.retryNow(),

  // moderation
  toggleMenu(id) {
    state.openMenu = state.openMenu === id ? null : id;
    state.menuReason = '';
    invalidate('members');
  },

  closeMenu(id) {
    state.openMenu = null;
    invalidate('members');
    queueMicrotask(() => focusModButton(id));
  },

  moderate(roomId, action, user, extra = {}) {
    link.request({ type: action, room: roomId, user, ...extra }, { timeout: 15_000 })
      .then(() => {
        state.openMenu = null;
        state.menuReason = '';
        invalidate('members');
        queueMicrotask(() => focusModButton(user));
      })
      .catch((err) => toast(errorText(err), 'error'));
  },

  /** Correct the detected language of one's own message (the server re-translates it). */
  relang(roomId, id, lang) {
    link.request({ type: 'relang', room: roomId, id, lang }, { timeout: 15_000 })
      .catch((err) => toast(errorText(err), 'error'));
  },

  /** Add one's reaction to a message, or take it back (the server toggles). */
  react(roomId, id, emoji) {
    link.request({ type: 'react', room: roomId, id, emoji }, { timeout: 15_000 })
      .catch((err) => toast(errorText(err), 'error'));
  },

  /**
   * Be in a conversation without opening it (joined with no history): its messages count as unread,
   * its typing and notifications reach this tab, and nothing is marked read until it is opened.
   */
  watchRoom(id, info = {}, unread = 0) {
    if (state.joined.has(id) || !state.session) return;
    const room = newRoomView(id);
    room.lazy = true;
    room.unread = unread; // the server's count (GET /api/conversations) until `joined` says otherwise
    room.info = { ...room.info, ...info };
    state.joined.set(id, room);
    if (link.ready) sendJoin(room);
  },

  /** Change one's own message (the server re-translates it for every reader). */
  editMessage(roomId, id, text) {
    link.request({ type: 'edit', room: roomId, id, text }, { timeout: 15_000 })
      .catch((err) => toast(errorText(err), 'error'));
  },

  /** Who reacted to a message, per emoji: {emoji: [{id, name}]}. */
  whoReacted(roomId, id) {
    const match = (f) => f.type === 'reactors' && f.room === roomId && f.id === id;
    return link.request({ type: 'reactors', room: roomId, id }, { match, timeout: 15_000 }).then((f) => f.reactors || {});
  },

  /** Tell a conversation's other members this one is typing (compose.js keeps it to one per 3 s). */
  typing(roomId) {
    link.send({ type: 'typing', room: roomId });
  },

  /** The next message sent in the room answers this one (null: none). */
  replyTo(roomId, id) {
    const room = state.joined.get(roomId);
    if (!room) return;
    room.replyTo = id;
    invalidate('room');
  },

  deleteMessage(roomId, id) {
    link.request({ type: 'delete', room: roomId, id }, { timeout: 15_000 })
      .catch((err) => toast(errorText(err), 'error'));
  },

  // host (HTTP)
  async openNewRoom(fields) {
    await api.openRoom(state.session.token, fields);
    await refreshRooms();
  },

  async updateRoom(id, changes) {
    await api.updateRoom(state.session.token, id, changes);
    await refreshRooms();
  },

  setModerator(roomId, user, appoint) {
    const token = state.session.token;
    return appoint ? api.addModerator(token, roomId, user) : api.removeModerator(token, roomId, user);
  },

  transcript: (roomId, lang, format) => api.transcript(state.session.token, roomId, lang, format),
  glossary: () => api.glossary(state.session.token),
  setGlossary: (terms) => api.setGlossary(state.session.token, terms),

  appointModerator(roomId, user, appoint) {
    actions.setModerator(roomId, user, appoint)
      .then(() => {
        const room = state.joined.get(roomId);
        if (room) room.appointed[appoint ? 'add' : 'delete'](user);
        toast(appoint ? t('mod.appointedToast', { name: nameOf(user) }) : t('mod.unappointedToast', { name: nameOf(user) }));
        if (room && !appoint) { // the presence update follows; the menu offers Appoint again at once
          const member = room.members.get(user);
          if (member?.role === 'moderator') room.members.set(user, { ...member, role: 'delegate' });
        }
        state.openMenu = null;
        invalidate('members');
      })
      .catch((err) => toast(errorText(err), 'error'));
  },

  manage(id) {
    state.hostRoom = id;
    actions.select(null);
    invalidate('host');
    queueMicrotask(() => queueMicrotask(focusHostPanel));
  },
};

/**
 * Another tab changed who is signed in on this browser: signed out there, signed out here at once; a
 * token renewed there is used here too; signed in there while this tab shows the lobby, this tab
 * follows. A tab opened with a pasted token (#token=) keeps to it.
 */
export function identityChanged(identity) {
  const session = state.session;
  if (session?.pasted) return;
  if (!identity) {
    if (session?.sid) endSession(t('session.signedOut'));
    return;
  }
  if (session?.sid === identity.sid) {
    if (identity.expiresAt > session.expiresAt) {
      Object.assign(session, { token: identity.token, expiresAt: identity.expiresAt });
    }
    return;
  }
  if (session) endSession('', { forget: false }); // another person on this browser now: this tab follows
  restore(identity);
  beginSession(state.session);
}

export function restore(saved) {
  state.session = { token: saved.token, name: saved.name || '', lang: saved.lang || '', pasted: !!saved.pasted,
    sid: saved.sid || '', expiresAt: saved.expiresAt || 0, ttl: saved.ttl || 0 };
  state.lang = saved.lang || state.lang;
  state.showOriginals = !!saved.showOriginals;
  for (const id of saved.rooms || []) state.joined.set(id, newRoomView(id));
  state.current = saved.current && state.joined.has(saved.current) ? saved.current : null;
}
