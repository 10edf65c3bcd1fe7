// app.js — entry point of the babelroom browser app.
// Boots the page, owns the WebSocket link, turns server frames into state changes
// (one handler per frame type) and user intents into frames or HTTP calls (the
// `actions` object the views call).  Views only read `state`; everything that
// changes it lives here or in state.js.

import { api } from './api.js';
import { Link, CLOSE_REMOVED, CLOSE_UNAUTHORIZED } from './link.js';
import { setLanguages, guessLanguage, isKnownLanguage, duration, timeOfDay } from './format.js';
import { t, errorText, useLanguage, onLanguageChange } from './i18n.js';
import {
  state, newRoomView, saveSession, loadSession, loadPrefs, forgetIdentity, onIdentityChange, invalidate,
  currentRoom, view, appendMessage, prependMessages, insertMessages, resetMessages, addSystemLine, touch, remember, userId, nameOf,
  untilValue, roleIn, isMuted, awaitsTranslation,
} from './state.js';
import { initShell, renderLanguageOptions, fillLobby, toast, closeDrawer, focusLobby } from './view-shell.js';
import { initRoomView, redrawAllMessages, restoreDraft, focusComposer, focusModButton, START } from './view-room.js';
import { initHostPanel, focusHostPanel } from './view-host.js';
import { initPeople } from './view-people.js';
import { initInbox } from './view-inbox.js';
import { initMeetings } from './view-meetings.js';
import { initConfirm } from './confirm.js';
import { initAccount } from './view-account.js';
import { mentionsIn, someoneTyping, stoppedTyping } from './compose.js';
import { initReactors, forgetReactors } from './reactors.js';
import { initNotify } from './notify.js';

const HISTORY_PAGE = 50;
const ROOMS_REFRESH = 30_000;
const RETRY_LATER = 2_000;

const link = new Link({
  url: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`,
  auth: () => {
    const frame = { type: 'auth', token: state.session.token };
    if (state.session.lang) frame.lang = state.session.lang;
    return frame;
  },
  onFrame: (frame) => handlers[frame.type]?.(frame), // unknown types are ignored
  onStatus: (status) => { state.conn = status; invalidate('shell'); },
  onClose,
});

// server frames -------------------------------------------------------------------

const handlers = {
  ready(f) {
    const first = !state.me;
    state.me = f.user;
    remember(f.user);
    state.lang = f.lang || state.session.lang || state.lang;
    useLanguage(state.lang);
    state.serverLangs = Array.isArray(f.translates) ? f.translates : [];
    state.routes = f.routes && typeof f.routes === 'object' ? f.routes : null;
    state.minConfidence = typeof f.min_confidence === 'number' ? f.min_confidence : null;
    Object.assign(state.session, { name: f.user?.name, lang: state.lang });
    state.lobbyError = '';
    for (const room of state.joined.values()) {
      if (room.status === 'joined' || room.status === 'joining') sendJoin(room);
    }
    if (state.pendingRoom) {
      const id = state.pendingRoom;
      state.pendingRoom = null;
      actions.openRoom(id);
    }
    saveSession();
    redrawAllMessages();
    refreshRooms();
    invalidate();
    if (first && view() === 'room') focusComposer();
  },

  joined(f) {
    const id = f.room?.id;
    if (!id) return;
    let room = state.joined.get(id);
    if (!room) {
      room = newRoomView(id);
      state.joined.set(id, room);
    }
    const recovering = room.joinSince && f.recovered !== false;
    const lostSome = room.joinSince && f.recovered === false && room.byId.size > 0;
    room.info = { ...room.info, ...f.room };
    room.status = 'joined';
    room.reason = null;
    room.you = f.you || {};
    if (Number.isInteger(room.you.unread)) { // the server's count: every device of this person agrees
      const seen = state.current === id && !document.hidden;
      room.unread = seen ? 0 : room.you.unread;
      if (!recovering) room.readMark = room.you.unread > 0 ? room.you.read : null; // the "new messages" line
    }
    setMuted(room, Object.prototype.hasOwnProperty.call(room.you, 'muted_until') ? untilValue(room.you.muted_until) : 0);
    room.members = new Map((f.members || []).map((m) => [m.id, m]));
    room.members.forEach(remember);
    const messages = Array.isArray(f.messages) ? f.messages : [];
    if (lostSome) {
      // Keep what is on screen; mark the gap where it is, before the latest messages.
      const shown = room.items.filter((item) => item.kind === 'msg');
      const from = shown[shown.length - 1].ts;
      const to = messages.find((m) => !room.byId.has(m.id))?.ts;
      addSystemLine(room, () => (to ? t('room.gapBetween', { from: timeOfDay(from), to: timeOfDay(to) })
        : t('room.gapAfter', { from: timeOfDay(from) })), 'gap');
    } else if (!recovering) {
      resetMessages(room);
      room.elements.clear();
      room.hasOlder = messages.length >= HISTORY_PAGE;
      if (room.joinSince && f.recovered === false) addSystemLine(room, () => t('room.notRecovered'), 'gap');
    }
    if (recovering && room.replayAfter) insertReplay(room, messages); // a rejoin while paging: go on where it was
    else messages.forEach((m) => appendMessage(room, m));
    followReplay(room, messages, recovering && f.more);
    room.joinSince = null;
    room.outbox.forEach((entry) => transmit(room, entry));
    loadOpened(room);
    saveSession();
    invalidate();
    if (state.current === id) focusComposer();
  },

  left(f) {
    const room = state.joined.get(f.room);
    if (!room) return;
    const reason = f.reason || 'left';
    if (reason === 'left') {
      forgetRoom(room.id);
      return;
    }
    room.status = 'left';
    room.reason = reason;
    room.outbox = [];
    if (state.openMenu) state.openMenu = null;
    saveSession();
    invalidate();
    if (state.current !== room.id) toast(leftToast(reason, room.info.title || room.id), 'error');
  },

  message(f) {
    const room = state.joined.get(f.room);
    const before = room?.lastId;
    if (!room || !appendMessage(room, f)) return;
    if (f.user?.id === state.me?.id) settleOwnMessage(room, f);
    else if (state.current !== room.id || document.hidden) {
      if (!room.unread && !room.readMark) room.readMark = before || START; // the "new messages" line goes after it
      room.unread += 1;
      invalidate('rooms', 'shell', 'people');
    }
    stoppedTyping(room, f.user?.id);
    invalidate('messages');
  },

  /** A member of a private conversation is typing. */
  typing(f) {
    const room = state.joined.get(f.room);
    if (room) someoneTyping(room, f.user);
  },

  translation(f) {
    const item = state.joined.get(f.room)?.byId.get(f.id);
    if (!item || item.deleted) return;
    item.tr = { lang: f.lang, text: f.text, confidence: f.confidence };
    item.translating = false;
    touch(item);
    invalidate('messages');
  },

  translation_failed(f) {
    const item = state.joined.get(f.room)?.byId.get(f.id);
    if (!item || f.lang !== state.lang) return;
    Object.assign(item, { translating: false, failed: true });
    touch(item);
    invalidate('messages');
  },

  relang(f) {
    const item = state.joined.get(f.room)?.byId.get(f.id);
    if (!item || item.deleted) return;
    Object.assign(item, { lang: f.lang, tr: null, failed: false, translating: false, showOriginal: null });
    item.translating = awaitsTranslation(item, f.translating);
    touch(item);
    invalidate('messages');
  },

  /** A reaction's new count (coalesced by the server: the latest count per message and emoji). */
  reaction(f) {
    const item = state.joined.get(f.room)?.byId.get(f.id);
    if (!item || item.deleted) return;
    const reactions = { ...(item.reactions || {}) };
    if (f.count > 0) reactions[f.emoji] = f.count;
    else delete reactions[f.emoji];
    item.reactions = reactions;
    forgetReactors(f.room, f.id);
    touch(item);
    invalidate('messages');
  },

  /** The sender edited the message: new text, its translation on the way. */
  edited(f) {
    const item = state.joined.get(f.room)?.byId.get(f.id);
    if (!item || item.deleted) return;
    Object.assign(item, { text: f.text, lang: f.lang, edited: true, tr: null, failed: false, showOriginal: null });
    item.translating = awaitsTranslation(item, f.translating);
    touch(item);
    invalidate('messages');
  },

  /**
   * This person's count in a room changed: a device of theirs read (no `id`: this tab's count and
   * "new messages" line follow the server's, so a phone and a laptop agree), or a private message
   * came (`id`): a joined room counts it from its `message`; view-people.js and notify.js handle the
   * conversations this tab has not joined.
   */
  unread(f) {
    const room = state.joined.get(f.room);
    if (!room || f.id || !Number.isInteger(f.unread)) return;
    if (state.current === room.id && !document.hidden) return; // on screen: what is shown here is being read
    room.unread = f.unread;
    room.readMark = f.unread > 0 ? f.read || START : null;
    invalidate('rooms', 'shell', 'people', 'messages');
  },

  /** Someone mentioned this person, in this room or another. */
  mention(f) {
    if (state.current === f.room && !document.hidden) return;
    const title = state.joined.get(f.room)?.info.title || f.room;
    toast(t('msg.mentioned', { name: f.by?.name || t('who.someone'), room: title }));
  },

  presence(f) {
    const room = state.joined.get(f.room);
    const user = f.user;
    if (!room || !user?.id) return;
    remember(user);
    if (f.event === 'join' || f.event === 'update') {
      room.members.set(user.id, { role: 'delegate', ...room.members.get(user.id), ...user });
    } else if (f.event === 'leave') room.members.delete(user.id);
    invalidate('members', 'room', 'rooms');
  },

  moderation(f) {
    const room = state.joined.get(f.room);
    if (!room) return;
    const target = userId(f.user);
    const until = f.until === undefined || f.until === null ? Infinity : untilValue(f.until);
    const isMe = target === state.me?.id;
    if (f.action === 'mute') {
      room.mutedUsers.set(target, until);
      if (isMe) setMuted(room, until);
    } else if (f.action === 'unmute') {
      room.mutedUsers.delete(target);
      if (isMe) setMuted(room, 0);
    } else if (f.action === 'ban') room.banned.set(target, nameOf(f.user));
    else if (f.action === 'unban') room.banned.delete(target);
    const line = moderationLine(f, until, isMe);
    if (line) addSystemLine(room, line);
    invalidate('messages', 'members', 'room');
  },

  deleted(f) {
    const item = state.joined.get(f.room)?.byId.get(f.id);
    if (!item) return;
    Object.assign(item, { deleted: true, text: '', tr: null, translating: false });
    touch(item);
    invalidate('messages');
  },

  room(f) {
    const info = f.room;
    if (!info?.id) return;
    const next = { ...state.rooms.get(info.id), ...info, tr: info.tr }; // a summary without `tr` drops a stale one
    if (f.event === 'closed') next.tr = state.rooms.get(info.id)?.tr;
    if (f.event === 'closed') next.state = 'closed';
    state.rooms.set(info.id, next);
    const room = state.joined.get(info.id);
    if (room) {
      const { members, ...rest } = next;
      room.info = { ...room.info, ...rest };
      followSlowMode(room);
      // reopened: whoever the closing sent out goes back in at once (banner and Send follow)
      const shutOut = (room.status === 'left' && room.reason === 'closed') || (room.status === 'error' && room.reason === 'room_closed');
      if (shutOut && next.state !== 'closed' && f.event !== 'closed') actions.rejoin(room.id);
    }
    invalidate('rooms', 'room', 'host', 'shell');
  },

  /** A host appointed us moderator of a room, or ended it: controls, badge and a word, at once. */
  role(f) {
    if (!f.room || !state.me || state.me.role !== 'delegate') return; // a host's or moderator token's role stays
    const role = f.role === 'moderator' ? 'moderator' : 'delegate';
    remember(f.by);
    const by = nameOf(f.by);
    const title = state.rooms.get(f.room)?.title || state.joined.get(f.room)?.info.title || f.room;
    const room = state.joined.get(f.room);
    if (room) {
      if (roleIn(room) === role) return;
      room.you = { ...room.you, role };
      const me = room.members.get(state.me.id);
      if (me) room.members.set(me.id, { ...me, role });
      addSystemLine(room, () => t(role === 'moderator' ? 'roleChange.appointedLine' : 'roleChange.removedLine', { by }));
      redrawAllMessages(); // each message's Delete button depends on the role
    }
    toast(t(role === 'moderator' ? 'roleChange.appointedToast' : 'roleChange.removedToast', { by, room: title }));
    invalidate();
  },

  history(f) {
    const room = state.joined.get(f.room);
    if (!room) return;
    const messages = Array.isArray(f.messages) ? f.messages : [];
    if (f.ref && f.ref === room.replayRef) {
      onReplayPage(room, f, messages);
      return;
    }
    prependMessages(room, messages);
    room.hasOlder = messages.length >= HISTORY_PAGE;
    room.loadingOlder = false;
    invalidate('messages');
  },

  error(f) {
    // errors that answer a request are handled where it was made; these came unasked
    if (f.code === 'unauthorized') return; // the 4401 close follows
    const replaying = f.ref && [...state.joined.values()].find((room) => room.replayRef === f.ref);
    if (replaying) {
      replaying.replayRef = null;
      if (f.code === 'rate_limited' || f.code === 'unavailable') setTimeout(() => askReplay(replaying), RETRY_LATER);
      return; // otherwise (left the room meanwhile) the next join's `since` starts from replayAfter
    }
    if (f.code === 'banned' && !link.ready) return; // auth refused: the 4403 close follows (onClose)
    toast(errorText({ code: f.code, retryAfter: f.retry_after }), 'error');
  },
};

// A `since` replay longer than one page: `joined` says `more`, and the rest comes page by page
// (`history` with `after`). Each page goes where the replay left off, before messages that arrived
// live meanwhile; a reconnect in between joins with `since` = the last replayed id.

let replayRefs = 0;

/** After `joined` or a replay page: ask for the next page, or end the replay. */
function followReplay(room, messages, more) {
  if (more && messages.length) {
    room.replayAfter = messages[messages.length - 1].id;
    room.replayMark = room.byId.get(room.replayAfter) || null;
    room.replayPage = messages.length; // a full page: the server's [limits] history_max
    askReplay(room);
  } else {
    room.replayAfter = null;
    room.replayMark = null;
  }
}

function askReplay(room) {
  if (!room.replayAfter || state.joined.get(room.id) !== room || room.status !== 'joined') return;
  room.replayRef = `replay${++replayRefs}`;
  const frame = { type: 'history', room: room.id, after: room.replayAfter, limit: room.replayPage, ref: room.replayRef };
  if (!link.send(frame)) room.replayRef = null; // offline: the rejoin's `since` goes on from replayAfter
}

function insertReplay(room, messages) {
  const mark = room.replayMark ? room.items.indexOf(room.replayMark) : -1;
  insertMessages(room, messages, mark >= 0 ? mark + 1 : room.items.length);
}

function onReplayPage(room, f, messages) {
  room.replayRef = null;
  if (f.recovered === false) { // history no longer reaches back to the page asked for: say so, keep the latest
    addSystemLine(room, () => t('room.notRecovered'), 'gap');
    messages.forEach((m) => appendMessage(room, m));
    followReplay(room, messages, false);
  } else {
    insertReplay(room, messages);
    followReplay(room, messages, f.more);
  }
  invalidate('messages');
}

/** Slow mode changed: no countdown when it is off, none longer than the new interval. */
function followSlowMode(room) {
  const slow = Number(room.info.slow_mode) || 0;
  if (slow <= 0) room.nextSendAt = 0;
  else room.nextSendAt = Math.min(room.nextSendAt, Date.now() + slow * 1000);
}

function leftToast(reason, room) {
  const known = ['kicked', 'banned', 'closed'].includes(reason) ? reason : 'other';
  return t(`leftToast.${known}`, { room });
}

const MOD_ACTIONS = ['mute', 'unmute', 'kick', 'ban', 'unban'];

/** The system line for a moderation frame, as a function so it is worded again in a new interface language. */
function moderationLine(f, until, isMe) {
  if (!MOD_ACTIONS.includes(f.action)) return null; // deletions show in place; unknown actions are ignored
  const byMe = userId(f.by) === state.me?.id;
  const by = nameOf(f.by);
  const whom = nameOf(f.user);
  const reason = f.reason ? String(f.reason) : '';
  // the reason in this reader's language (`reason_tr`), the moderator's own words beside it
  const translated = f.reason_tr && f.reason_tr.lang === state.lang && f.reason_tr.text ? String(f.reason_tr.text) : '';
  const seconds = until === Infinity ? 0 : (until - Date.now()) / 1000;
  return () => {
    const action = f.action === 'mute' && until !== Infinity ? 'muteFor' : f.action;
    const who = byMe ? 'byMe' : isMe ? 'toMe' : 'other';
    const line = t(`modLine.${action}.${who}`, { by, whom, duration: seconds ? duration(seconds) : '' });
    if (reason && translated && translated !== reason) {
      return t('modLine.withTranslatedReason', { line, reason: translated, original: reason });
    }
    return reason ? t('modLine.withReason', { line, reason }) : line;
  };
}

let muteTimers = new Map();

/** Set this user's mute in a room, and clear it by itself when a timed mute ends. */
function setMuted(room, until) {
  room.mutedUntil = until;
  room.mutedHint = '';
  clearTimeout(muteTimers.get(room.id));
  if (until > Date.now() && until !== Infinity) {
    const delay = Math.min(until - Date.now() + 250, 2 ** 31 - 1);
    muteTimers.set(room.id, setTimeout(() => { invalidate('room'); }, delay));
  }
}

function onClose(code, atAuth, reason = '') {
  if (code === CLOSE_UNAUTHORIZED && reason === 'signed_out') {
    endSession(t('session.signedOut'));
    return;
  }
  if (code === CLOSE_UNAUTHORIZED) {
    const pasted = !!state.session?.pasted;
    endSession(pasted ? t('session.badToken') : t('session.expired'));
    return;
  }
  if (code === CLOSE_REMOVED && atAuth) { // banned from the whole event: no reconnecting
    endSession(t('session.bannedEvent'));
    return;
  }
  if (code === CLOSE_REMOVED) {
    // each room that sent `left` already says why; only rooms still marked as joined need a word
    const still = [...state.joined.values()].filter((r) => r.status === 'joined' || r.status === 'joining');
    for (const room of still) Object.assign(room, { status: 'left', reason: 'removed' });
    saveSession();
    if (still.length) toast(t('session.removedFrom', { rooms: still.map((r) => r.info.title || r.id).join(', ') }), 'error');
  }
  for (const room of state.joined.values()) room.outbox.forEach((entry) => { entry.inflight = false; });
  invalidate();
}

// joining, sending ----------------------------------------------------------------

function sendJoin(room) {
  const since = room.resetOnJoin ? null : room.replayAfter || room.lastId;
  room.resetOnJoin = false;
  room.joinSince = since;
  if (room.status !== 'joined') room.status = 'joining';
  const frame = { type: 'join', room: room.id };
  if (since) frame.since = since;
  else if (room.lazy) frame.history = 0; // watched: its history waits until it is opened (and stays unread)
  link.request(frame, { match: (f) => f.type === 'joined' && f.room?.id === room.id, timeout: 20_000 })
    .catch((err) => onJoinError(room, err));
}

function onJoinError(room, err) {
  if (err.code === 'disconnected') return; // joins again after reconnecting
  if (err.code === 'unavailable' || err.code === 'timeout' || (err.code === 'rate_limited' && room.lazy)) {
    // a watched conversation past the join burst (many rooms at once after `ready`) waits its turn
    const wait = err.code === 'rate_limited' ? Math.max(1, err.retryAfter || 1) * 1000 : RETRY_LATER;
    setTimeout(() => { if (link.ready && state.joined.get(room.id) === room) sendJoin(room); }, wait);
    return;
  }
  room.status = 'error';
  room.reason = err.code;
  room.retryAfter = err.retryAfter ?? null;
  saveSession();
  invalidate();
}

/** Send (or resend, with the same cid) one outbox entry, once the room is joined. */
function transmit(room, entry) {
  if (entry.inflight || !link.ready || room.status !== 'joined') return;
  entry.inflight = true;
  link.request({ type: 'send', room: room.id, text: entry.text, cid: entry.cid,
    ...(entry.replyTo ? { reply_to: entry.replyTo } : {}), ...(entry.mentions?.length ? { mentions: entry.mentions } : {}) })
    .then((ack) => onSendAck(room, entry, ack))
    .catch((err) => onSendError(room, entry, err))
    .finally(() => invalidate('messages', 'room'));
  invalidate('messages');
}

function onSendAck(room, entry, ack) {
  entry.inflight = false;
  entry.id = ack.id;
  if (!ack.id || room.byId.has(ack.id)) dropFromOutbox(room, entry);
  room.notice = '';
  const slow = Number(room.info.slow_mode) || 0;
  if (slow > 0 && roleIn(room) === 'delegate') room.nextSendAt = Date.now() + slow * 1000;
}

function onSendError(room, entry, err) {
  entry.inflight = false;
  if (err.code === 'disconnected') return; // resent after the rejoin
  if (err.code === 'unavailable' || err.code === 'not_joined') {
    setTimeout(() => {
      if (err.code === 'not_joined' && room.status === 'joined') sendJoin(room);
      else transmit(room, entry);
    }, RETRY_LATER);
    return;
  }
  dropFromOutbox(room, entry);
  room.notice = errorText(err);
  if (err.code === 'muted' && !isMuted(room)) {
    // a timed mute we did not see start: the composer shows it, with its end, like any other
    if (err.retryAfter > 0) {
      setMuted(room, Date.now() + err.retryAfter * 1000);
      room.notice = ''; // the muted line says it, with the time it ends
    } else room.mutedHint = room.notice;
  }
  if (err.code === 'rate_limited' && err.retryAfter > 0 && Number(room.info.slow_mode) > 0) {
    room.nextSendAt = Date.now() + err.retryAfter * 1000; // the slow-mode countdown says it, and counts down
    room.notice = '';
  }
  if (state.current === room.id) restoreDraft(entry.text);
}

/** Our own message came back: the pending copy can go (matched by ack id, or by text). */
function settleOwnMessage(room, message) {
  const entry = room.outbox.find((o) => o.id === message.id)
    || room.outbox.find((o) => !o.id && !o.hidden && o.text === message.text);
  if (!entry) return;
  if (entry.id) dropFromOutbox(room, entry);
  else entry.hidden = true; // its ack is still on the way
}

function dropFromOutbox(room, entry) {
  room.outbox = room.outbox.filter((o) => o !== entry);
}

/** A watched conversation was opened: its latest messages now (a `history` page marks nothing read). */
function loadOpened(room) {
  if (!room.wantHistory || room.status !== 'joined') return;
  room.wantHistory = false;
  room.loadingOlder = link.send({ type: 'history', room: room.id, limit: HISTORY_PAGE });
}

function forgetRoom(id) {
  state.joined.delete(id);
  if (state.current === id) state.current = null;
  if (state.openMenu) state.openMenu = null;
  saveSession();
  invalidate();
}

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// sessions ------------------------------------------------------------------------

function beginSession(session) {
  state.session = session;
  state.lang = session.lang || state.lang;
  state.lobbyError = '';
  state.needAccessCode = false;
  saveSession();
  link.start();
  invalidate();
}

/** Back to the lobby; keep the name and language to make starting again easy. */
function endSession(message = '', { forget = true } = {}) {
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

async function refreshRooms() {
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

async function loadLanguages() {
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
function tokenFromHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token');
  if (token) history.replaceState(null, '', location.pathname + location.search);
  return token;
}

/** `#code=…` (a personal sign-in link): a fragment, so the code never reaches a server's log. */
function codeFromHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const code = params.get('code');
  if (code) history.replaceState(null, '', location.pathname + location.search);
  return code;
}

/** What the app keeps of POST /api/session's answer: the sign-in (sid) and when its token expires. */
function signedIn(answer, name, lang) {
  const ttl = Number(answer.expires_in) * 1000;
  return { token: answer.token, name: answer.user?.name || name, lang: answer.lang || lang, sid: answer.session || '',
    expiresAt: Date.now() + ttl, ttl };
}

let renewing = false;

/** Renew the token once half its life is gone, so a delegate who keeps the page stays signed in. */
async function renewIfDue() {
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

async function signInWithCode(code, lang) {
  const button = document.getElementById('start');
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

async function loadAccess() {
  try {
    state.access = await api.access();
  } catch { /* the lobby asks for a name; the server still says no when it must */ }
  invalidate('shell');
}

// what the views can ask for ------------------------------------------------------

const actions = {
  async start({ name, lang, token, accessCode, signinCode }) {
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
    const button = document.getElementById('start');
    button.disabled = true;
    try {
      const session = await api.createSession(name, lang, accessCode);
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

// boot ----------------------------------------------------------------------------

/** Timed states (slow-mode countdown, a mute running out) redraw once a second. */
function tick() {
  renewIfDue();
  const room = currentRoom();
  if (!room) return;
  const timed = room.nextSendAt > 0 || (room.mutedUntil > 0 && room.mutedUntil !== Infinity);
  if (!timed) return;
  if (room.nextSendAt && room.nextSendAt <= Date.now()) room.nextSendAt = 0;
  if (room.mutedUntil !== Infinity && room.mutedUntil > 0 && room.mutedUntil <= Date.now()) room.mutedUntil = 0;
  invalidate('room');
}

/**
 * Another tab changed who is signed in on this browser: signed out there, signed out here at once; a
 * token renewed there is used here too; signed in there while this tab shows the lobby, this tab
 * follows. A tab opened with a pasted token (#token=) keeps to it.
 */
function identityChanged(identity) {
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

function restore(saved) {
  state.session = { token: saved.token, name: saved.name || '', lang: saved.lang || '', pasted: !!saved.pasted,
    sid: saved.sid || '', expiresAt: saved.expiresAt || 0, ttl: saved.ttl || 0 };
  state.lang = saved.lang || state.lang;
  state.showOriginals = !!saved.showOriginals;
  for (const id of saved.rooms || []) state.joined.set(id, newRoomView(id));
  state.current = saved.current && state.joined.has(saved.current) ? saved.current : null;
}

async function boot() {
  initShell(actions);
  initRoomView(actions);
  initHostPanel(actions);
  initPeople({ actions, link, handlers, api });
  initInbox({ actions, handlers, api });
  initMeetings({ actions, handlers });
  initConfirm();
  initAccount({ api, actions });
  initReactors(actions);
  initNotify({ actions, handlers });
  onLanguageChange(() => {
    redrawAllMessages();
    renderLanguageOptions();
    invalidate();
  });

  const prefs = loadPrefs();
  state.lang = prefs.lang || guessLanguage();
  const saved = loadSession();
  const hashToken = tokenFromHash();
  const hashCode = hashToken ? null : codeFromHash();
  if (hashToken) {
    restore({ ...(saved || {}), token: hashToken, name: '', pasted: true, lang: saved?.lang || prefs.lang || '' });
  } else if (saved?.token) restore(saved);
  await useLanguage(state.lang);

  renderLanguageOptions();
  fillLobby(prefs);
  loadLanguages();
  loadAccess();
  refreshRooms();
  setInterval(refreshRooms, ROOMS_REFRESH);
  setInterval(tick, 1000);
  window.addEventListener('online', () => link.retryNow());
  onIdentityChange(identityChanged);

  if (state.session) {
    saveSession();
    link.start();
  } else if (hashCode) {
    signInWithCode(hashCode, state.lang);
  }
  invalidate();
}

boot();
