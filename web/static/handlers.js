// @ts-check
// handlers.js — the server's frames turned into state: one handler per frame type (`handlers`),
// then the listeners of the views that registered for it (app.js). A `since` replay longer than one
// page, mutes running out and the link closing are handled here too.

import { CLOSE_REMOVED, CLOSE_UNAUTHORIZED } from './link.js';
import { duration, timeOfDay } from './format.js';
import { t, errorText, useLanguage } from './i18n.js';
import { state, newRoomView, saveSession, invalidate, view, appendMessage, prependMessages, insertMessages, resetMessages, addSystemLine, touch, remember, userId, nameOf, untilValue, roleIn, awaitsTranslation } from './state.js';
import { endSession, refreshRooms, actions } from './actions.js';
import { someoneTyping, stoppedTyping } from './compose.js';
import { HISTORY_PAGE, RETRY_LATER, link, sendJoin, transmit, settleOwnMessage, loadOpened, forgetRoom } from './outbox.js';
import { forgetReactors } from './reactors.js';
import { replayPages } from './replay.js';
import { redrawAllMessages, focusComposer, START } from './view-room.js';
import { toast } from './view-shell.js';

/** The views' frame listeners by type (see register): each runs after the app's own handler. */
export const listeners = new Map();

/** One server frame: the app's handler of its type, then the views' listeners, in the order they
 * registered (unknown types are ignored). */
export function dispatch(frame) {
  handlers[frame.type]?.(frame);
  for (const listen of listeners.get(frame.type) ?? []) listen(frame);
}

/** How many older pages a click on a quote loads, at most, to find its original. */
const SEEK_PAGES = 20;

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

  /** An older page (asked without a ref); a replay page answers its own request (replay.js). */
  history(f) {
    if (f.ref) return;
    const room = state.joined.get(f.room);
    if (!room) return;
    const messages = Array.isArray(f.messages) ? f.messages : [];
    prependMessages(room, messages);
    room.hasOlder = messages.length >= HISTORY_PAGE;
    room.loadingOlder = false;
    if (room.revealId && !room.byId.has(room.revealId)) { // looking for a quoted message: one page more
      room.seekPages = (room.seekPages || 0) + 1;
      if (room.hasOlder && room.seekPages < SEEK_PAGES) actions.loadOlder(room.id);
      else room.revealId = null;
    }
    invalidate('messages');
  },

  error(f) {
    // errors that answer a request are handled where it was made; these came unasked
    if (f.code === 'unauthorized') return; // the 4401 close follows
    if (f.code === 'banned' && !link.ready) return; // auth refused: the 4403 close follows (onClose)
    toast(errorText({ code: f.code, retryAfter: f.retry_after }), 'error');
  },
};

// A `since` replay longer than one page: `joined` says `more`, and the rest comes page by page
// (replay.js, as for client.js). Each page goes where the replay left off, before messages that
// arrived live meanwhile; a reconnect in between joins with `since` = the last replayed id.

/** After `joined`: ask for the rest of the replay, or there is none. */
function followReplay(room, messages, more) {
  room.replayRun = null; // a replay still asking for an earlier join's pages stops
  if (!(more && messages.length)) {
    room.replayAfter = null;
    room.replayMark = null;
    return;
  }
  const run = {};
  room.replayRun = run;
  replayedUpTo(room, messages);
  replayPages({
    request: (frame) => link.request(frame), room: room.id, after: room.replayAfter, page: messages.length,
    retryLater: RETRY_LATER, onPage: (answer) => onReplayPage(room, answer),
    wanted: () => room.replayRun === run && state.joined.get(room.id) === room && room.status === 'joined',
  }).catch(() => {}) // offline or left: the next join's `since` goes on from replayAfter
    .finally(() => { if (room.replayRun === run) room.replayRun = null; });
}

function replayedUpTo(room, messages) {
  room.replayAfter = messages[messages.length - 1].id;
  room.replayMark = room.byId.get(room.replayAfter) || null;
}

function insertReplay(room, messages) {
  const mark = room.replayMark ? room.items.indexOf(room.replayMark) : -1;
  insertMessages(room, messages, mark >= 0 ? mark + 1 : room.items.length);
}

function onReplayPage(room, f) {
  const messages = Array.isArray(f.messages) ? f.messages : [];
  if (f.recovered === false) { // history no longer reaches back to the page asked for: say so, keep the latest
    addSystemLine(room, () => t('room.notRecovered'), 'gap');
    messages.forEach((m) => appendMessage(room, m));
  } else {
    insertReplay(room, messages);
  }
  if (f.recovered !== false && f.more && messages.length) replayedUpTo(room, messages);
  else {
    room.replayAfter = null;
    room.replayMark = null;
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
export function setMuted(room, until) {
  room.mutedUntil = until;
  room.mutedHint = '';
  clearTimeout(muteTimers.get(room.id));
  if (until > Date.now() && until !== Infinity) {
    const delay = Math.min(until - Date.now() + 250, 2 ** 31 - 1);
    muteTimers.set(room.id, setTimeout(() => { invalidate('room'); }, delay));
  }
}

export function onClose(code, atAuth, reason = '') {
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
