// @ts-check
// app.js — entry point of the babelroom browser app: wires the modules and boots the page.
// state.js holds the state and schedules rendering; handlers.js turns server frames into state;
// actions.js holds what the views can ask for; outbox.js owns the one link (link.js) and what goes
// out on it; each view-*.js renders its part of index.html from state and calls actions.

import { api } from './api.js';
import { guessLanguage } from './format.js';
import { useLanguage, onLanguageChange } from './i18n.js';
import { state, saveSession, loadSession, loadPrefs, onIdentityChange, invalidate, currentRoom } from './state.js';
import { refreshRooms, loadLanguages, renewIfDue, signInWithCode, loadAccess, actions, identityChanged, restore, tokenFromHash, codeFromHash } from './actions.js';
import { initConfirm } from './confirm.js';
import { listeners } from './handlers.js';
import { initNotify } from './notify.js';
import { link } from './outbox.js';
import { initReactors } from './reactors.js';
import { initAccount } from './view-account.js';
import { initHostPanel } from './view-host.js';
import { initInbox } from './view-inbox.js';
import { initMeetings } from './view-meetings.js';
import { initPeople } from './view-people.js';
import { initRoomView, redrawAllMessages } from './view-room.js';
import { initShell, renderLanguageOptions, fillLobby } from './view-shell.js';

const ROOMS_REFRESH = 30_000;

/**
 * A view joins the app (view-people.js, view-inbox.js, view-meetings.js, notify.js): its intents
 * become actions the other views can call, none replacing another, and its frame listeners are
 * called after the app's handlers.
 * @param {{actions?: Record<string, Function>, frames?: Record<string, (frame: any) => void>}} view
 */
function register({ actions: more = {}, frames = {} }) {
  for (const [name, fn] of Object.entries(more)) {
    if (name in actions) throw new Error(`two views define the action ${name}`);
    actions[name] = fn;
  }
  for (const [type, listen] of Object.entries(frames)) listeners.set(type, [...(listeners.get(type) ?? []), listen]);
}

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

async function boot() {
  initShell(actions);
  initRoomView(actions);
  initHostPanel(actions);
  register(initPeople({ actions, link }));
  register(initInbox({ actions, api }));
  register(initMeetings({ actions }));
  initConfirm();
  initAccount({ api, actions });
  initReactors(actions);
  register(initNotify({ actions }));
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
