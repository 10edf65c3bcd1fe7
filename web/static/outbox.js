// @ts-check
// outbox.js — what goes out on the one link (link.js): joins, sends waiting for their `ack` (each
// room's outbox, sent again after a reconnect with the same cid), history requests.

import { Link } from './link.js';
import { errorText } from './i18n.js';
import { state, saveSession, invalidate, roleIn, isMuted } from './state.js';
import { dispatch, setMuted, onClose } from './handlers.js';
import { restoreDraft } from './view-room.js';

export const HISTORY_PAGE = 50;
export const RETRY_LATER = 2_000;

export const link = new Link({
  url: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`,
  auth: () => {
    const frame = { type: 'auth', token: state.session.token };
    if (state.session.lang) frame.lang = state.session.lang;
    return frame;
  },
  onFrame: (frame) => dispatch(frame),
  onStatus: (status) => { state.conn = status; invalidate('shell'); },
  onClose,
});

// joining, sending ----------------------------------------------------------------

export function sendJoin(room) {
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

export function onJoinError(room, err) {
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
export function transmit(room, entry) {
  if (entry.inflight || !link.ready || room.status !== 'joined') return;
  entry.inflight = true;
  link.request({ type: 'send', room: room.id, text: entry.text, cid: entry.cid,
    ...(entry.replyTo ? { reply_to: entry.replyTo } : {}), ...(entry.mentions?.length ? { mentions: entry.mentions } : {}) })
    .then((ack) => onSendAck(room, entry, ack))
    .catch((err) => onSendError(room, entry, err))
    .finally(() => invalidate('messages', 'room'));
  invalidate('messages');
}

export function onSendAck(room, entry, ack) {
  entry.inflight = false;
  entry.id = ack.id;
  if (!ack.id || room.byId.has(ack.id)) dropFromOutbox(room, entry);
  room.notice = '';
  const slow = Number(room.info.slow_mode) || 0;
  if (slow > 0 && roleIn(room) === 'delegate') room.nextSendAt = Date.now() + slow * 1000;
}

export function onSendError(room, entry, err) {
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
export function settleOwnMessage(room, message) {
  const entry = room.outbox.find((o) => o.id === message.id)
    || room.outbox.find((o) => !o.id && !o.hidden && o.text === message.text);
  if (!entry) return;
  if (entry.id) dropFromOutbox(room, entry);
  else entry.hidden = true; // its ack is still on the way
}

export function dropFromOutbox(room, entry) {
  room.outbox = room.outbox.filter((o) => o !== entry);
}

/** A watched conversation was opened: its latest messages now (a `history` page marks nothing read). */
export function loadOpened(room) {
  if (!room.wantHistory || room.status !== 'joined') return;
  room.wantHistory = false;
  room.loadingOlder = link.send({ type: 'history', room: room.id, limit: HISTORY_PAGE });
}

export function forgetRoom(id) {
  state.joined.delete(id);
  if (state.current === id) state.current = null;
  if (state.openMenu) state.openMenu = null;
  saveSession();
  invalidate();
}

export function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
