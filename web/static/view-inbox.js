// @ts-check
// view-inbox.js — the moderation inbox, for hosts and moderators of the whole event: the
// open reports grouped by message, with how many people reported each, the text in the
// moderator's reading language (the stored translation where there is one, the original
// one click away), and the actions — delete the message, mute or ban its author, dismiss —
// that close the report for every moderator (POST /api/reports/close).
// The server tells these users only a count: the `reports {open}` frame after `ready` and
// whenever the number changes.  Its arrival is what shows the sidebar's "Reports" button
// and the inbox card on the home view (index.html #inbox-entry, #inbox); the list itself
// is read over HTTP (GET /api/reports/inbox) when the inbox is on screen.

import { $, h, setChildren, srOnly } from './dom.js';
import { timeOfDay, uiName } from './format.js';
import { errorText, t } from './i18n.js';
import { state, onRender, invalidate, view } from './state.js';
import { confirmAction } from './confirm.js';
import { toast } from './view-shell.js';

const inbox = {
  session: null, // the sign-in (state.session) this inbox is of: a new one starts it afresh
  count: null, // open reports, from the last `reports` frame; null: this user does not work reports
  groups: [],
  loading: false,
  error: '',
  stale: true, // the list on screen may be older than the count
  loadedLang: '',
  originals: new Set(), // "room message" keys shown in the original instead of the translation
  busy: new Set(), // keys with a close request on its way
};

let actions;
let api;

const ACTION_LABELS = { delete: 'inbox.delete', mute: 'inbox.mute', ban: 'inbox.ban', dismiss: 'inbox.dismiss' };

/** Joins the app like every view (app.js register): returns its actions and the frames it listens to. */
export function initInbox({ actions: appActions, api: appApi }) {
  actions = appActions;
  api = appApi;
  $('inbox-open').addEventListener('click', () => actions.openInbox());
  $('inbox-refresh').addEventListener('click', () => load());
  onRender('inbox', render);
  return { actions: inboxActions, frames: { ready: onReady, reports: onReports } };
}

function onReady() {
  if (inbox.session !== state.session) { // a new sign-in: the count (if any) follows this frame
    Object.assign(inbox, { count: null, groups: [], stale: true, loadedLang: '', session: state.session });
  }
  if (inbox.loadedLang && inbox.loadedLang !== state.lang) inbox.stale = true; // another reading language
  invalidate('inbox');
}

function onReports(frame) {
  if (!Number.isInteger(frame.open)) return;
  inbox.count = frame.open;
  inbox.stale = true;
  invalidate('inbox');
}

const inboxActions = {
  /** Go to the home view and bring the inbox into view, its list fresh. */
  openInbox() {
    actions.select(null); // closes the People view too
    inbox.stale = true;
    invalidate();
    queueMicrotask(() => {
      $('inbox').scrollIntoView({ block: 'start' });
      $('inbox-title').focus({ preventScroll: true });
    });
  },
};

const keyOf = (group) => `${group.room.id} ${group.message.id}`;
const onScreen = () => inbox.count !== null && view() === 'home' && !state.peopleOpen;

async function load() {
  if (!state.session || inbox.loading) return;
  inbox.loading = true;
  inbox.stale = false;
  inbox.error = '';
  invalidate('inbox');
  try {
    const data = await api.reportInbox(state.session.token, state.lang);
    inbox.groups = Array.isArray(data.groups) ? data.groups : [];
    inbox.loadedLang = data.lang || state.lang;
    if (Number.isInteger(data.open)) inbox.count = data.open;
  } catch (err) {
    inbox.error = errorText(err.code);
  } finally {
    inbox.loading = false;
    invalidate('inbox');
  }
}

/** Do `action` about a reported message (after confirming all but a dismissal). */
async function work(group, action) {
  const name = group.message.user?.name || group.message.user?.id || '';
  const isPrivate = group.room.kind === 'private';
  const room = isPrivate && action !== 'delete' ? t('inbox.everywhere') : roomLabel(group.room);
  let reason = '';
  if (action !== 'dismiss') {
    const titles = { delete: 'inbox.confirmDeleteTitle', mute: 'inbox.confirmMuteTitle', ban: 'inbox.confirmBanTitle' };
    const texts = { delete: 'inbox.confirmDeleteText', mute: 'inbox.confirmMuteText', ban: 'inbox.confirmBanText' };
    const answer = await confirmAction({
      title: t(titles[action], { name }), text: t(texts[action], { name, room }), ok: t(ACTION_LABELS[action]), reason: '',
    });
    if (!answer) return;
    reason = answer.reason;
  }
  const key = keyOf(group);
  inbox.busy.add(key);
  invalidate('inbox');
  try {
    await api.closeReports(state.session.token, {
      room: group.room.id, message: group.message.id, action, ...(reason ? { reason } : {}),
    });
    inbox.groups = inbox.groups.filter((g) => keyOf(g) !== key);
    if (inbox.count) inbox.count = Math.max(0, inbox.count - group.reporters);
    toast(t('inbox.closed'));
    $('inbox-title').focus({ preventScroll: true }); // the item and its buttons are gone
  } catch (err) {
    toast(errorText(err.code), 'error');
    inbox.stale = true; // e.g. another moderator closed it first
  } finally {
    inbox.busy.delete(key);
    invalidate('inbox');
  }
}

// rendering -----------------------------------------------------------------------------------

function roomLabel(room) {
  if (room.kind === 'private') return t('inbox.privateRoom');
  return state.rooms.get(room.id)?.title || room.id;
}

function render() {
  const works = inbox.count !== null && !!state.session;
  $('inbox-entry').hidden = !works;
  $('inbox').hidden = !works;
  if (!works) return;
  const badge = $('inbox-badge');
  badge.hidden = !inbox.count;
  setChildren(badge, h('span', { 'aria-hidden': 'true' }, String(inbox.count)), srOnly(t('inbox.count', { count: inbox.count })));
  if (onScreen() && inbox.stale && !inbox.loading) queueMicrotask(load);
  $('inbox-status').textContent = inbox.loading && !inbox.groups.length ? t('inbox.loading') : inbox.error
    || (inbox.groups.length ? t('inbox.count', { count: inbox.count ?? 0 }) : t('inbox.empty'));
  setChildren($('inbox-list'), inbox.groups.map(groupEl));
}

function groupEl(group) {
  const key = keyOf(group);
  const message = group.message;
  const translated = message.tr && message.tr.text !== undefined;
  const original = !translated || inbox.originals.has(key);
  const shownLang = original ? message.lang : message.tr.lang;
  const busy = inbox.busy.has(key);
  const isPrivate = group.room.kind === 'private';
  const name = message.user?.name || message.user?.id || '';
  const button = (action, cls) => h('button', {
    type: 'button', class: cls, testid: `inbox-${action}`, disabled: busy,
    on: { click: () => work(group, action) },
  }, t(ACTION_LABELS[action]));
  return h('li', { class: 'inbox-item', testid: 'inbox-item', data: { message: message.id, room: group.room.id } },
    h('p', { class: 'inbox-count' }, h('strong', { testid: 'inbox-reporters' }, t('inbox.reporters', { count: group.reporters }))),
    h('p', { class: 'inbox-where muted small' },
      t('inbox.where', { name, room: roomLabel(group.room), time: timeOfDay(message.ts) })),
    h('blockquote', { class: 'inbox-text', testid: 'inbox-text', dir: 'auto', lang: shownLang },
      original ? message.text : message.tr.text),
    translated ? h('p', { class: 'inbox-tr small' },
      h('span', { class: 'muted' },
        t(original ? 'msg.originalIn' : 'msg.translatedFrom', { language: uiName(message.lang) }), ' · '),
      h('button', {
        type: 'button', class: 'link-button', testid: 'inbox-original', 'aria-pressed': original ? 'true' : 'false',
        on: { click: () => { (original ? inbox.originals.delete(key) : inbox.originals.add(key)); invalidate('inbox'); } },
      }, t(original ? 'inbox.showTranslation' : 'inbox.showOriginal'))) : null,
    group.reasons?.length ? h('p', { class: 'inbox-reasons small', dir: 'auto' },
      t('inbox.reasons', { reasons: group.reasons.join(' · ') })) : null,
    h('div', { class: 'button-row inbox-actions' },
      isPrivate ? null : button('delete', 'danger'),
      button('mute', ''),
      button('ban', 'danger'),
      button('dismiss', 'quiet-button')));
}
