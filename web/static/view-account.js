// @ts-check
// view-account.js — "Your devices": the browsers this person is signed in on (each can be
// signed out), "sign out everywhere", and a personal sign-in code with its QR code that signs
// the same person in on another device (POST /api/me/signin-code; single use, short-lived).
// The code is shown here only: it never goes into an address the server sees (#code=… is a fragment).

import { $, h, setChildren } from './dom.js';
import { state } from './state.js';
import { t, errorText } from './i18n.js';

let deps = null; // {api, actions}

function when(ms) {
  try {
    return new Date(ms).toLocaleString(document.documentElement.lang || undefined,
      { dateStyle: 'medium', timeStyle: 'short' });
  } catch {
    return new Date(ms).toISOString();
  }
}

function status(text) {
  $('account-status').textContent = text;
}

async function refresh() {
  const token = state.session?.token;
  if (!token) return;
  try {
    const sessions = await deps.api.mySessions(token);
    setChildren($('account-sessions'), sessions.map((session) => h('li', { class: 'member', testid: 'account-session' },
      h('span', { class: 'member-name' }, session.device,
        session.current ? h('span', { class: 'role-badge' }, t('account.thisDevice')) : null),
      h('span', { class: 'hint' }, t('account.lastSeen', { when: when(session.last_seen) })),
      session.current ? null : h('button', {
        type: 'button', class: 'quiet-button', testid: 'account-end',
        'aria-label': t('account.signOutDeviceNamed', { device: session.device }),
        on: { click: () => endOne(session.id) },
      }, t('account.signOutDevice')))));
  } catch (err) {
    status(errorText(err));
  }
}

async function endOne(id) {
  try {
    await deps.api.endMySession(state.session.token, id);
    status(t('account.deviceSignedOut'));
  } catch (err) {
    status(errorText(err));
  }
  refresh();
}

async function everywhere() {
  const token = state.session?.token;
  if (!token) return;
  try {
    await deps.api.signOutEverywhere(token);
    $('account').close();
    deps.actions.signedOutHere(); // this tab's socket closes too; do not wait for it
  } catch (err) {
    status(errorText(err));
  }
}

async function showCode() {
  try {
    const made = await deps.api.signinCode(state.session.token);
    $('account-qr').src = made.qr; // a data:image/svg+xml URI the server drew (segno)
    $('account-code-text').textContent = made.code;
    $('account-code-expiry').textContent = t('account.codeExpires', { when: when(made.expires) });
    $('account-code-box').hidden = false;
  } catch (err) {
    status(errorText(err));
  }
}

export function initAccount({ api, actions }) {
  deps = { api, actions };
  $('account-open').addEventListener('click', () => {
    status('');
    $('account-code-box').hidden = true;
    $('account-code-text').textContent = '';
    $('account-qr').removeAttribute('src');
    setChildren($('account-sessions'));
    $('account').showModal();
    refresh();
  });
  $('account-code').addEventListener('click', showCode);
  $('account-everywhere').addEventListener('click', everywhere);
  $('account').addEventListener('close', () => {
    $('account-code-text').textContent = ''; // a shown code does not linger in the page
    $('account-qr').removeAttribute('src');
  });
}
