// @ts-check
// link.js — the one WebSocket connection to /ws, for the app and for client.js (the embeddable
// client library, built on it).
// Opens it, authenticates, reconnects after any drop with exponential backoff
// (0.5 s doubling to 10 s, with jitter), keeps it alive with pings, and matches
// answers to requests through `ref`.  It knows nothing about rooms: the app gets
// every frame through onFrame, connection changes through onStatus and onClose.

const MIN_DELAY = 500;
const MAX_DELAY = 10_000;
const PING_EVERY = 20_000; // ping when the socket has been quiet this long
const DEAD_AFTER = 45_000; // give up on a socket silent this long
const AUTH_TIMEOUT = 15_000;

export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_REMOVED = 4403;

/** A refused request: `code` is the server's error code (or 'disconnected', 'timeout', 'closed');
 * `retryAfter`, when the refusal passes by itself, in how many seconds (the frame's retry_after). */
export class BabelroomError extends Error {
  /** @param {string} code @param {string} message @param {number | null} [retryAfter] */
  constructor(code, message, retryAfter = null) {
    super(message);
    this.name = 'BabelroomError';
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export class Link {
  /**
   * url: the /ws address; auth(): the auth frame to send on open (or a promise of it);
   * onFrame(frame), onStatus('connecting'|'connected'|'reconnecting'|'offline'), onClose(code, atAuth, reason);
   * passAnswers: give onFrame the `ack`/`error` answers to requests as well (client.js emits every frame).
   * @param {{url: string, auth: () => object | Promise<object>, onFrame: (frame: any) => void,
   *   onStatus: (status: string) => void, onClose: (code: number, atAuth: boolean, reason?: string) => void,
   *   passAnswers?: boolean}} options
   */
  constructor({ url, auth, onFrame, onStatus, onClose, passAnswers = false }) {
    this.url = url;
    this.auth = auth;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.onClose = onClose;
    this.passAnswers = passAnswers;
    this.ws = null;
    this.ready = false; // true between `ready` and the socket closing
    this.stopped = true;
    this.everReady = false;
    this.attempt = 0;
    this.pending = new Map(); // ref -> {resolve, reject, match, timer}
    this.refs = 0;
    this.lastFrameAt = 0;
    this.retryTimer = null;
    this.authTimer = null;
    this.pingTimer = null;
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.teardown();
    this.onStatus('offline');
  }

  /** Drop the socket and connect again at once (e.g. to change the reading language). */
  restart() {
    this.teardown();
    this.attempt = 0;
    if (!this.stopped) this.connect();
  }

  /** While waiting to reconnect, try now (the network came back, or the user asked). */
  retryNow() {
    if (this.stopped || this.ws) return;
    this.connect();
  }

  /** Send a frame if the link is authenticated; false when it could not. */
  send(frame) {
    if (!this.ready || this.ws.readyState !== WebSocket.OPEN) return false; // closing: not sent
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Send a frame with a fresh `ref`; resolves with the answer that echoes it (`ack`, `history`, …) or with the first frame
   * `match` accepts; rejects with a BabelroomError: the server's `error` code, or
   * 'disconnected' / 'timeout'.
   */
  request(frame, { match = null, timeout = 0 } = {}) {
    return new Promise((resolve, reject) => {
      if (!this.ready) {
        reject(new BabelroomError('disconnected', 'Not connected: it will be sent after reconnecting.'));
        return;
      }
      const ref = `r${++this.refs}`;
      const entry = { resolve, reject, match, timer: null };
      if (timeout) {
        entry.timer = setTimeout(() => {
          this.pending.delete(ref);
          reject(new BabelroomError('timeout', 'The server did not answer in time.'));
        }, timeout);
      }
      this.pending.set(ref, entry);
      this.ws.send(JSON.stringify({ ...frame, ref }));
    });
  }

  // internals ---------------------------------------------------------------------

  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.onStatus(this.everReady || this.attempt > 0 ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    this.ready = false;
    ws.onopen = () => {
      this.lastFrameAt = Date.now();
      this.authTimer = setTimeout(() => this.drop(), AUTH_TIMEOUT);
      Promise.resolve().then(() => this.auth()).then(
        (frame) => { if (ws === this.ws) ws.send(JSON.stringify(frame)); },
        () => { if (ws === this.ws) this.drop(); }, // no token to be had now: try again later
      );
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => this.closed(ws, event.code, event.reason);
    ws.onerror = () => {}; // a close event always follows
  }

  receive(data) {
    this.lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') return;
    if (frame.type === 'ready' && !this.ready) {
      clearTimeout(this.authTimer);
      this.ready = true;
      this.everReady = true;
      this.attempt = 0;
      this.startPing();
      this.onStatus('connected');
    }
    if (this.settle(frame) && !this.passAnswers) return;
    this.onFrame(frame);
  }

  /** Answer a pending request; true when the frame was only that answer (`ack`, `error`). */
  settle(frame) {
    const isAnswer = (frame.type === 'ack' || frame.type === 'error') && frame.ref != null;
    if (isAnswer && this.pending.has(frame.ref)) {
      const entry = this.finish(frame.ref);
      if (frame.type === 'ack') entry.resolve(frame);
      else entry.reject(new BabelroomError(frame.code, frame.message || frame.code, frame.retry_after ?? null));
      return true;
    }
    if (frame.ref != null && this.pending.has(frame.ref)) { // an answer of its own type (history, reactors)
      this.finish(frame.ref).resolve(frame);
      return false;
    }
    for (const [ref, entry] of this.pending) {
      if (entry.match && entry.match(frame)) this.finish(ref).resolve(frame);
    }
    return false;
  }

  finish(ref) {
    const entry = this.pending.get(ref);
    this.pending.delete(ref);
    clearTimeout(entry.timer);
    return entry;
  }

  closed(ws, code, reason = '') {
    if (ws !== this.ws) return; // an old socket we already gave up on
    const atAuth = !this.ready; // 4403 before `ready`: auth refused (an event-wide ban), as final as 4401
    this.cleanup();
    if (this.stopped) return;
    if (code === CLOSE_UNAUTHORIZED || (code === CLOSE_REMOVED && atAuth)) {
      this.stopped = true;
      this.onStatus('offline');
      this.onClose(code, atAuth, reason);
      return;
    }
    this.onClose(code, atAuth, reason);
    if (!this.stopped) this.scheduleRetry(); // onClose may have stopped it
  }

  scheduleRetry() {
    const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this.attempt);
    const delay = Math.min(MAX_DELAY, Math.max(MIN_DELAY, base * (0.8 + Math.random() * 0.4)));
    this.attempt += 1;
    this.onStatus('reconnecting');
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  startPing() {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      const quiet = Date.now() - this.lastFrameAt;
      if (quiet > DEAD_AFTER) this.drop();
      else if (quiet > PING_EVERY) this.send({ type: 'ping' });
    }, 5_000);
  }

  /** Give up on a socket that stopped answering, and reconnect. */
  drop() {
    const ws = this.ws;
    if (!ws) return;
    this.detach(ws);
    this.closed(ws, 1006);
  }

  /** Close the current socket on purpose (no reconnect is scheduled from here). */
  teardown() {
    if (!this.ws) return;
    this.detach(this.ws);
    this.cleanup();
  }

  detach(ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(1000);
    } catch {
      /* already closed */
    }
  }

  cleanup() {
    clearTimeout(this.authTimer);
    clearInterval(this.pingTimer);
    this.ws = null;
    this.ready = false;
    const waiting = [...this.pending.keys()];
    for (const ref of waiting) {
      this.finish(ref).reject(new BabelroomError('disconnected', 'The connection dropped.'));
    }
  }
}
