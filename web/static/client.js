// @ts-check
// client.js — a small client for babelroom's WebSocket protocol (v1), as an ES module
// another page can import straight from the server:
//
//   import { BabelroomClient } from 'https://chat.example.org/static/client.js';
//   const chat = new BabelroomClient({ token: await myBackend.babelroomToken(), lang: 'de' });
//   chat.on('message', (m) => show(m.user.name, m.tr?.text ?? m.text));
//   chat.on('translation', (t) => showTranslation(t.id, t.text));
//   await chat.connect();
//   await chat.join('plenary');
//   await chat.send('plenary', 'Guten Morgen!');
//
// It reconnects after a drop (backoff 0.5 s doubling to 10 s, with jitter), joins its rooms
// again with `since` (the last message id it saw) so nothing is missed or repeated, and
// sends again, with the same `cid`, every message the server had not acknowledged: the
// server stores a retried message once. A replay longer than one page (`joined.more`) is fetched
// page by page before `join` resolves; its messages are emitted as `message` events, in order,
// then the room's live frames that arrived meanwhile (each message once).
// The protocol is described in docs/protocol.md.

import { Link, BabelroomError, CLOSE_UNAUTHORIZED, CLOSE_REMOVED } from './link.js';
import { replayPages } from './replay.js';

// The socket itself (backoff, ping, auth timeout, `ref` matching) is link.js, the app's own: this
// module adds rooms, `since` rejoins and the resending of unacknowledged messages.
const REQUEST_TIMEOUT = 15_000;

/** Close codes after which reconnecting cannot help (4401 unauthorized, 4403 removed). */
export { CLOSE_UNAUTHORIZED, CLOSE_REMOVED };

/** A refused request: `code` is the server's error code (or 'disconnected', 'timeout', 'closed');
 * `retryAfter`, when the refusal passes by itself, in how many seconds (the frame's retry_after). */
export { BabelroomError };

/** The /ws address of the server this module was loaded from. */
export function defaultUrl() {
  const url = new URL('/ws', import.meta.url);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

let cidCounter = 0;
const newCid = () => `c${Date.now().toString(36)}${(++cidCounter).toString(36)}${Math.random().toString(36).slice(2, 8)}`;

export class BabelroomClient {
  /**
   * token: a JWT, or a function returning one (or a promise of one) — called on every
   *   (re)connect, so an expired token can be replaced;
   * lang: the reading language (optional: the token's `lang` claim otherwise);
   * url: the /ws address (default: the server this module came from);
   * reconnect: false to stay closed after a drop.
   * @param {{token: string | (() => string | Promise<string>), lang?: string, url?: string, reconnect?: boolean}} options
   */
  constructor({ token, lang = undefined, url = defaultUrl(), reconnect = true } = /** @type {any} */ ({})) {
    if (!token) throw new TypeError('BabelroomClient needs a token');
    this.token = token;
    this.lang = lang;
    this.url = url;
    this.reconnect = reconnect;
    this.ready = null; // the last `ready` frame while connected
    this.status = 'offline'; // connecting | connected | reconnecting | offline
    this.rooms = new Map(); // room -> {history, last (message id)}
    this.unacked = new Map(); // cid -> {frame, resolve, reject}
    this.listeners = new Map(); // type -> Set(fn)
    this.closedByUser = false;
    this.firstReady = null; // {resolve, reject} for connect()
    this.link = new Link({
      url,
      auth: async () => {
        const token = typeof this.token === 'function' ? await this.token() : this.token;
        /** @type {Record<string, unknown>} */
        const auth = { type: 'auth', token };
        if (this.lang) auth.lang = this.lang;
        return auth;
      },
      onFrame: (frame) => this.receive(frame),
      // 'connected' is this client's once it has handled `ready`; 'offline' once it has given up
      onStatus: (status) => { if (status !== 'connected' && status !== 'offline') this.setStatus(status); },
      onClose: (code, _atAuth, reason = '') => this.dropped(code, reason),
      passAnswers: true, // every frame is an event, answers included
    });
  }

  /** Call fn(frame) for each server frame of this type ('*' for all), and for the client's own
   * events: 'status' (fn(status)) and 'close' (fn({code, reason, final})). Returns an unsubscribe. */
  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  /** Open the socket and authenticate; resolves with the `ready` frame. */
  connect() {
    this.closedByUser = false;
    if (this.status === 'connected') return Promise.resolve(this.ready);
    if (this.status !== 'offline') { // on its way
      return new Promise((resolve) => {
        const off = this.on('ready', (ready) => { off(); resolve(ready); });
      });
    }
    return new Promise((resolve, reject) => {
      this.firstReady = { resolve, reject };
      this.link.start();
    });
  }

  /** Join a room (history: how many past messages to receive, 0-200); resolves with `joined`. */
  /** @param {string} room @param {{history?: number}} [options] */
  async join(room, { history } = {}) {
    const known = this.rooms.get(room);
    const frame = { type: 'join', room };
    if (history !== undefined) frame.history = history;
    if (known?.last) frame.since = known.last;
    const state = { history, last: known?.last ?? null, held: null };
    this.rooms.set(room, state);
    const joined = await this.request(frame, (f) => f.type === 'joined' && f.room.id === room);
    state.last = lastId(joined.messages) ?? state.last;
    if (joined.more && joined.messages.length) await this.replayRest(room, state, joined.messages.length);
    return joined;
  }

  /**
   * The rest of a `since` replay, page by page (`history` with `after`): each replayed message is
   * emitted as a `message` event; the room's live frames are held meanwhile and emitted after it,
   * without the messages the replay already brought. A drop in between drops the held frames: the
   * rejoin replays from the last message replayed, and brings them again (stored, translated).
   */
  async replayRest(room, state, page) {
    state.held = [];
    const emitted = new Set();
    try {
      await replayPages({
        request: (frame) => this.request(frame), room, after: state.last, page, retryLater: 1000,
        onPage: (answer) => {
          for (const message of answer.messages) {
            emitted.add(message.id);
            this.emit('message', message);
          }
          state.last = lastId(answer.messages) ?? state.last;
        },
      });
    } catch (error) {
      state.held = null;
      throw error;
    }
    const held = state.held;
    state.held = null;
    for (const frame of held) {
      if (frame.type === 'message' && emitted.has(frame.id)) continue;
      if (frame.type === 'message') this.remember(room, frame.id);
      this.emit(frame.type, frame);
    }
  }

  /** Leave a room; resolves with `left`. */
  async leave(room) {
    this.rooms.delete(room);
    return this.request({ type: 'leave', room }, (f) => f.type === 'left' && f.room === room);
  }

  /**
   * Send a message; resolves with its `ack` ({cid, id}). Sent again with the same cid after a
   * reconnect until acknowledged (so it is stored once), rejected on a refusal (muted, ...).
   */
  send(room, text, { cid = newCid() } = {}) {
    const frame = { type: 'send', room, text, cid };
    return new Promise((resolve, reject) => {
      this.unacked.set(cid, { frame, resolve, reject });
      if (this.status === 'connected') this.transmit(cid);
    });
  }

  /** Change the reading language; resolves with the new `ready`. */
  setLang(lang) {
    this.lang = lang;
    return this.request({ type: 'lang', lang }, (f) => f.type === 'ready');
  }

  /**
   * Any other client frame (history, mute, kick, ...): resolves with the answer that echoes its
   * `ref` (`ack`, `history`), or with the first frame `match` accepts (answers without a ref:
   * `joined`, `left`, `ready`); rejects with the `error` that echoes its ref.
   */
  request(frame, match = null) {
    return this.link.request(frame, { match, timeout: REQUEST_TIMEOUT });
  }

  /** Close for good (no reconnect); pending sends are rejected. */
  close() {
    this.closedByUser = true;
    this.fail(new BabelroomError('closed', 'the client was closed'), true);
    this.link.stop();
    this.ready = null;
    this.setStatus('offline');
  }

  /** The WebSocket while there is one (the link's). */
  get ws() {
    return this.link.ws;
  }

  // internals ---------------------------------------------------------------------

  emit(type, payload) {
    for (const fn of this.listeners.get(type) ?? []) fn(payload);
    if (type !== 'status' && type !== 'close') for (const fn of this.listeners.get('*') ?? []) fn(payload);
  }

  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.emit('status', status);
  }

  receive(frame) {
    const ref = frame.ref;
    if (frame.type === 'ready' && this.status !== 'connected') {
      this.ready = frame;
      this.setStatus('connected');
      this.emit('ready', frame);
      if (this.firstReady) {
        this.firstReady.resolve(frame);
        this.firstReady = null;
      }
      this.rejoin();
      return;
    }
    if (frame.type === 'ready') this.ready = frame;
    const replaying = HELD_WHILE_REPLAYING.has(frame.type) && this.rooms.get(frame.room)?.held;
    if (replaying) {
      replaying.push(frame); // emitted once the replay has caught up (replayRest)
      return;
    }
    if (frame.type === 'message') this.remember(frame.room, frame.id);
    if (frame.type === 'joined') this.remember(frame.room.id, lastId(frame.messages));
    if (frame.type === 'ack' && frame.cid && this.unacked.has(frame.cid)) {
      this.unacked.get(frame.cid).resolve(frame);
      this.unacked.delete(frame.cid);
    }
    if (frame.type === 'error' && ref?.startsWith('s') && this.unacked.has(ref.slice(1))) {
      const cid = ref.slice(1);
      if (frame.code === 'unavailable') {
        setTimeout(() => this.transmit(cid), 1000); // the backend is down for a moment: try again
      } else {
        this.unacked.get(cid).reject(new BabelroomError(frame.code, frame.message, frame.retry_after ?? null));
        this.unacked.delete(cid);
      }
    }
    this.emit(frame.type, frame); // the answers to requests were settled by the link
  }

  remember(room, id) {
    const state = this.rooms.get(room);
    if (state && id) state.last = id;
  }

  async rejoin() {
    for (const [room, state] of this.rooms) {
      try {
        await this.join(room, { history: state.history });
      } catch (error) {
        this.emit('error', { type: 'error', code: error.code, message: error.message, room });
      }
    }
    for (const cid of this.unacked.keys()) this.transmit(cid);
  }

  transmit(cid) {
    const entry = this.unacked.get(cid);
    if (entry) this.link.send({ ...entry.frame, ref: `s${cid}` }); // not connected: sent after the rejoin
  }

  /** The socket closed (the link has rejected the pending requests); the link reconnects unless final. */
  dropped(code, reason) {
    this.ready = null;
    const final = this.closedByUser || !this.reconnect || code === CLOSE_UNAUTHORIZED || code === CLOSE_REMOVED;
    this.emit('close', { code, reason, final });
    if (final) {
      this.link.stop();
      this.fail(new BabelroomError(code === CLOSE_UNAUTHORIZED ? 'unauthorized' : 'closed',
        reason || `the connection closed (${code})`), false);
      this.setStatus('offline');
    }
  }

  fail(error, includeSends) {
    if (this.firstReady) {
      this.firstReady.reject(error);
      this.firstReady = null;
    }
    if (includeSends || error.code === 'unauthorized' || error.code === 'closed') {
      for (const entry of this.unacked.values()) entry.reject(error);
      this.unacked.clear();
    }
  }
}

/** A room's live frames that follow its messages: held while a replay of it is fetched. */
const HELD_WHILE_REPLAYING = new Set(['message', 'translation', 'translation_failed', 'relang', 'deleted']);

function lastId(messages) {
  return messages?.length ? messages[messages.length - 1].id : null;
}
