// view-people.js — matchmaking: the People directory (search, filters, contact,
// block), the sidebar's Conversations list with unread counts and contact-request
// cards (accept / decline), and the actions of a private conversation (block,
// leave for good, report a message).  A conversation is a room of kind "private":
// opening one is actions.openRoom(id), and the room view shows it like any room.
// Server frames handled here: request, conversation (see README); reports go to view-inbox.js.

import { ApiError } from './api.js';
import { $, h, setChildren, srOnly } from './dom.js';
import { languageLabel, languageList, sortedLanguages } from './format.js';
import { errorText, hasKey, t, translatePage } from './i18n.js';
import { state, onRender, currentRoom, invalidate, nameOf, remember } from './state.js';
import { toast } from './view-shell.js';

const REFRESH = 20_000; // conversations list (unread counts) while connected
const READ_EVERY = 2_000; // how often the newest shown message is acknowledged (`read`)
const WATCH_MAX = 10; // conversations joined in the background (live unread counts, typing, notifications)

const people = {
  results: [], next: null, loading: false, error: '', searched: false,
  query: { q: '', lang: '', country: '' },
  composing: null, // user id whose contact form is open
  conversations: new Map(), // id -> {id, title, members, unread}
  incoming: new Map(), // request id -> request frame
  outgoing: new Map(),
  blocked: new Set(),
};
const readSent = new Map(); // room id -> message id last acknowledged

let actions;
let link;
let api;

export function initPeople({ actions: appActions, link: appLink, handlers, api: appApi }) {
  actions = appActions;
  link = appLink;
  api = appApi;
  state.peopleOpen = false;
  buildDom();
  Object.assign(actions, peopleActions);
  const createSession = api.createSession;
  api.createSession = (name, lang, accessCode) => createSession(name, lang, accessCode, lobbyProfile());
  const select = actions.select;
  actions.select = (id) => { state.peopleOpen = false; select(id); };
  const ready = handlers.ready;
  handlers.ready = (frame) => { ready(frame); refresh(); };
  const unread = handlers.unread;
  handlers.unread = (frame) => { unread(frame); onUnread(frame); };
  Object.assign(handlers, frameHandlers);
  onRender('people', render);
  setInterval(() => { if (link.ready) refresh(); }, REFRESH);
  setInterval(acknowledgeRead, READ_EVERY);
}

// HTTP ---------------------------------------------------------------------------------

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Accept: 'application/json', Authorization: `Bearer ${state.session.token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  }).catch(() => null);
  if (!response) throw new ApiError(0, 'network', t('error.network'));
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(response.status, data.code || `http_${response.status}`, data.message || '', data.field || null,
      data.retry_after ?? null);
  }
  return { status: response.status, data };
}

async function refresh() {
  if (!state.session) return;
  try {
    const [listed, requests, blocks] = await Promise.all([
      call('GET', '/api/conversations'), call('GET', '/api/requests'), call('GET', '/api/blocks')]);
    people.conversations = new Map(listed.data.conversations.map((c) => [c.id, c]));
    for (const c of listed.data.conversations) c.members.forEach(remember);
    people.incoming = new Map(requests.data.incoming.map((r) => [r.id, r]));
    people.outgoing = new Map(requests.data.outgoing.map((r) => [r.id, r]));
    people.blocked = new Set(blocks.data.users.map((u) => u.id));
    watchConversations();
    invalidate('people');
  } catch {
    // offline or signed out: the next refresh tries again
  }
}

/** A conversation's count changed (a read on another device, or a new message): every conversation
 * of the list, not only the WATCH_MAX joined ones; one the list does not hold yet is fetched. */
function onUnread(f) {
  const listed = people.conversations.get(f.room);
  if (listed && Number.isInteger(f.unread)) {
    listed.unread = f.unread;
    invalidate('people', 'shell');
  } else if (!listed && f.id) {
    refresh();
  }
}

async function search(more = false) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(people.query)) if (value) params.set(key, value);
  if (more && people.next) params.set('cursor', people.next);
  people.loading = true;
  people.error = '';
  invalidate('people');
  try {
    const { data } = await call('GET', `/api/people?${params}`);
    data.people.forEach(remember);
    people.results = more ? [...people.results, ...data.people] : data.people;
    people.next = data.next;
    people.searched = true;
  } catch (err) {
    people.error = errorText(err.code, err.message);
  } finally {
    people.loading = false;
    invalidate('people');
  }
}

/** Be in the first WATCH_MAX conversations without opening them (app.js watchRoom: nothing is read). */
function watchConversations() {
  for (const c of [...people.conversations.values()].slice(0, WATCH_MAX)) {
    actions.watchRoom(c.id, { kind: 'private', title: c.title || '' }, Number(c.unread) || 0);
  }
}

/** The newest message shown in the open conversation or room is acknowledged as read (the server
 * keeps it, so the sidebar's counts agree on every device of this person). */
function acknowledgeRead() {
  const room = currentRoom();
  if (!room || room.status !== 'joined' || !room.lastId) return;
  if (document.visibilityState !== 'visible' || readSent.get(room.id) === room.lastId) return;
  readSent.set(room.id, room.lastId);
  link.send({ type: 'read', room: room.id, id: room.lastId });
  const listed = people.conversations.get(room.id);
  if (listed && listed.unread) {
    listed.unread = 0;
    invalidate('people');
  }
}

async function setHidden(hidden) {
  try {
    const { data } = await call('PATCH', '/api/me', { hidden });
    toast(t(data.hidden ? 'people.hiddenToast' : 'people.shownToast'));
  } catch (err) {
    $('people-hidden').checked = !hidden;
    toast(errorText(err.code, err.message), 'error');
  }
}

// actions ----------------------------------------------------------------------------------

const peopleActions = {
  openPeople() {
    state.peopleOpen = true;
    state.current = null;
    invalidate();
    queueMicrotask(() => $('people-q')?.focus());
    if (!people.searched) search();
    call('GET', '/api/me').then(({ data }) => { $('people-hidden').checked = !!data.hidden; }).catch(() => {});
  },

  /** Write to someone: a conversation where the organiser allows it, else a contact request. */
  async contact(user, text) {
    try {
      const { data } = await call('POST', '/api/conversations', { with: [user] });
      people.conversations.set(data.room.id, { ...data.room, unread: 0 });
      people.composing = null;
      actions.openRoom(data.room.id);
      if (text) actions.send(text);
      return;
    } catch (err) {
      if (err.code !== 'forbidden' || people.blocked.has(user)) {
        toast(errorText(err.code, err.message), 'error');
        return;
      }
    }
    try {
      await link.request({ type: 'request', to: user, text: text || t('people.hello') }, { timeout: 15_000 });
      people.composing = null;
      toast(t('people.requestSent', { name: nameOf(user) }));
      invalidate('people');
    } catch (err) {
      toast(requestRefusal(err), 'error');
    }
  },

  async answerRequest(id, accept) {
    try {
      const ack = await link.request({ type: accept ? 'accept' : 'decline', request: id }, { timeout: 15_000 });
      people.incoming.delete(id);
      invalidate('people');
      if (accept && ack.room) actions.openRoom(ack.room);
    } catch (err) {
      people.incoming.delete(id);
      invalidate('people');
      toast(errorText(err.code, err.message), 'error');
    }
  },

  async setBlocked(user, blocked) {
    try {
      if (blocked) await call('POST', '/api/blocks', { user });
      else await call('DELETE', `/api/blocks/${encodeURIComponent(user)}`);
      (blocked ? people.blocked.add(user) : people.blocked.delete(user));
      toast(t(blocked ? 'people.blockedToast' : 'people.unblockedToast', { name: nameOf(user) }));
      invalidate('people');
    } catch (err) {
      toast(errorText(err.code, err.message), 'error');
    }
  },

  async leaveConversation(id) {
    try {
      await call('DELETE', `/api/conversations/${encodeURIComponent(id)}`);
      people.conversations.delete(id);
      actions.leave(id);
    } catch (err) {
      toast(errorText(err.code, err.message), 'error');
    }
  },

  /** A conversation's members as the list knows them (the @-completion offers them). */
  conversationMembers(id) {
    return people.conversations.get(id)?.members || [];
  },

  reportMessage(roomId, id) {
    link.request({ type: 'report', room: roomId, id }, { timeout: 15_000 })
      .then(() => toast(t('people.reported')))
      .catch((err) => toast(errorText(err.code, err.message), 'error'));
  },
};

// server frames -------------------------------------------------------------------------------

const frameHandlers = {
  request(f) {
    if (!f?.id) return;
    remember(f.from);
    const incoming = f.to === state.me?.id;
    if (f.state === 'pending') {
      (incoming ? people.incoming : people.outgoing).set(f.id, f);
      if (incoming) toast(requestHeading(f));
    } else {
      people.incoming.delete(f.id);
      people.outgoing.delete(f.id);
      if (!incoming && f.state === 'accepted') toast(t('people.requestAccepted', { name: nameOf(f.to) }));
      if (!incoming && f.state === 'declined') toast(t('people.requestDeclined', { name: nameOf(f.to) }));
    }
    invalidate('people');
  },

  conversation(f) {
    const id = f.room?.id;
    if (!id) return;
    if (f.event === 'opened' || f.event === 'joined') { // joined: an invitee accepted, the room has its members
      f.room.members?.forEach(remember);
      people.conversations.set(id, { unread: 0, ...people.conversations.get(id), ...f.room });
      watchConversations();
    } else if (f.event === 'left') {
      if (f.user?.id === state.me?.id) people.conversations.delete(id);
      else refresh();
    }
    invalidate('people');
  },
};

// rendering -----------------------------------------------------------------------------------

function buildDom() {
  const section = h('section', { id: 'conversations', class: 'conversations', 'aria-labelledby': 'conversations-title', hidden: true },
    h('div', { class: 'sidebar-head' },
      h('h2', { id: 'conversations-title' }, L('people.conversations')),
      h('button', { type: 'button', class: 'home-link', testid: 'people-open', on: { click: () => actions.openPeople() } },
        L('people.findPeople'))),
    h('div', { id: 'request-cards', class: 'request-cards' }),
    h('ul', { id: 'conversation-list', class: 'room-items' }));
  $('me').before(section);

  const view = h('section', { id: 'people-view', class: 'people', 'aria-labelledby': 'people-title', hidden: true },
    h('div', { class: 'card' },
      h('h1', { id: 'people-title' }, L('people.title')),
      h('p', { class: 'lead' }, L('people.lead')),
      h('form', { id: 'people-form', class: 'people-form', novalidate: true, on: { submit: onSearch } },
        h('div', { class: 'field-row' },
          field('people-q', L('people.search'), h('input', { id: 'people-q', testid: 'people-q', type: 'search', maxlength: '80', autocomplete: 'off' })),
          field('people-lang', L('people.reads'), h('select', { id: 'people-lang', testid: 'people-lang' })),
          field('people-country', L('people.country'), h('input', {
            id: 'people-country', testid: 'people-country', maxlength: '2', autocomplete: 'off', spellcheck: 'false',
            placeholder: 'FI', 'aria-describedby': 'people-country-hint',
          }), h('p', { id: 'people-country-hint', class: 'hint' }, L('people.countryHint')))),
        h('button', { type: 'submit', class: 'primary', testid: 'people-search' }, L('people.searchButton'))),
      h('label', { class: 'switch' },
        h('input', { type: 'checkbox', id: 'people-hidden', testid: 'people-hidden', on: { change: (e) => setHidden(e.target.checked) } }),
        L('people.hideMe')),
      h('p', { id: 'people-status', class: 'hint', role: 'status' }),
      h('ul', { id: 'people-list', class: 'people-list', testid: 'people-list' }),
      h('button', { type: 'button', id: 'people-more', class: 'quiet-button', hidden: true, on: { click: () => search(true) } },
        L('people.more'))));
  $('home-view').after(view);

  $('token-box').before(h('details', { class: 'token-box', id: 'profile-box' },
    h('summary', {}, L('people.profile')),
    field('profile-organization', L('people.organization'),
      h('input', { id: 'profile-organization', testid: 'profile-organization', maxlength: '80', autocomplete: 'organization' })),
    field('profile-country', L('people.country'),
      h('input', { id: 'profile-country', testid: 'profile-country', maxlength: '2', autocomplete: 'off', placeholder: 'FI' }),
      h('p', { class: 'hint' }, L('people.countryHint'))),
    field('profile-bio', L('people.bio'), h('textarea', { id: 'profile-bio', testid: 'profile-bio', rows: '2', maxlength: '280' })),
    h('p', { class: 'hint' }, L('people.profileHint'))));

  $('room-view').querySelector('.room-actions').append(h('span', { id: 'conversation-actions', class: 'conversation-actions', hidden: true }));
  for (const id of ['conversations', 'people-view', 'profile-box']) translatePage($(id));
}

/** The optional profile fields of the lobby form (a delegate's card in the directory). */
function lobbyProfile() {
  const profile = {};
  for (const key of ['organization', 'country', 'bio']) {
    const value = $(`profile-${key}`)?.value.trim();
    if (value) profile[key] = key === 'country' ? value.toUpperCase() : value;
  }
  return profile;
}

/** Static text that follows the interface language (translatePage rewrites data-i18n). */
function L(key) {
  return h('span', { 'data-i18n': key }, t(key));
}

function field(id, label, control, hint = null) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint);
}

function onSearch(event) {
  event.preventDefault();
  people.query = {
    q: $('people-q').value.trim(),
    lang: $('people-lang').value,
    country: $('people-country').value.trim().toUpperCase(),
  };
  search();
}

function render() {
  const signedIn = !!state.session;
  $('conversations').hidden = !signedIn;
  const showPeople = signedIn && state.peopleOpen && !currentRoom();
  $('people-view').hidden = !showPeople;
  if (showPeople) $('home-view').hidden = true;
  if (!signedIn) return;
  renderRequests();
  renderConversations();
  renderRoomActions();
  if (showPeople) renderPeople();
}

/** A refused request in the reader's language: when it passes by itself, when ("try again in 23
 * hours"); else the request's own words for its code where the catalogue has them (too many
 * waiting is not "sending too fast"), else the code's general text. */
function requestRefusal(err) {
  const key = `people.requestRefused.${err.code}`;
  return Number(err.retryAfter) > 0 || !hasKey(key) ? errorText(err) : t(key);
}

/** The card's heading: who asks, or who invites into which group (an invitation is a request too). */
function requestHeading(r) {
  const name = r.from?.name || '';
  return r.group ? t('people.invitesTo', { name, title: r.group.title || '' }) : t('people.requestFrom', { name });
}

function renderRequests() {
  const cards = [...people.incoming.values()].map((r) =>
    h('article', { class: 'request-card', testid: r.group ? 'invitation-card' : 'request-card', 'aria-label': requestHeading(r) },
      h('p', { class: 'request-from' }, h('strong', { dir: 'auto' }, r.from?.name || ''), ' ', profileLine(r.from)),
      r.group ? h('p', { class: 'request-group', testid: 'invitation-group', dir: 'auto' }, requestHeading(r)) : null,
      r.text ? h('p', { class: 'request-text', dir: 'auto' }, r.text) : null,
      h('div', { class: 'button-row' },
        h('button', { type: 'button', class: 'primary', testid: 'request-accept', on: { click: () => actions.answerRequest(r.id, true) } },
          t('people.accept')),
        h('button', { type: 'button', testid: 'request-decline', on: { click: () => actions.answerRequest(r.id, false) } },
          t('people.decline')))));
  const waiting = [...people.outgoing.values()].map((r) =>
    h('p', { class: 'hint', testid: 'request-waiting' }, t('people.waitingFor', { name: nameOf(r.to) })));
  setChildren($('request-cards'), cards, waiting);
}

function conversationTitle(c) {
  const others = (c.members || []).filter((m) => m.id !== state.me?.id).map((m) => m.name);
  return others.length ? others.join(', ') : c.title || c.id;
}

function renderConversations() {
  const items = [...people.conversations.values()].map((c) => {
    const joined = state.joined.get(c.id);
    const isCurrent = state.current === c.id;
    const unread = isCurrent ? 0 : joined ? joined.unread : Number(c.unread) || 0;
    return h('li', {}, h('button', {
      type: 'button', class: ['room-entry', isCurrent && 'current', joined && 'joined'],
      testid: `conversation-${c.id}`, 'aria-current': isCurrent ? 'page' : false,
      on: { click: () => actions.openRoom(c.id) },
    },
    h('span', { class: 'room-label' }, h('span', { class: 'room-name', dir: 'auto' }, conversationTitle(c))),
    h('span', { class: 'room-meta' },
      unread ? h('span', { class: 'badge' }, h('span', { testid: 'unread' }, String(unread)), srOnly(t('rooms.unreadSr', { count: unread }))) : null)));
  });
  if (!items.length) items.push(h('li', { class: 'muted small' }, t('people.noConversations')));
  setChildren($('conversation-list'), items);
}

function renderRoomActions() {
  const room = currentRoom();
  const box = $('conversation-actions');
  const isPrivate = room?.info.kind === 'private';
  box.hidden = !isPrivate;
  if (!isPrivate) return;
  const listed = people.conversations.get(room.id);
  const others = (listed?.members || []).filter((m) => m.id !== state.me?.id);
  const one = others.length === 1 ? others[0] : null;
  setChildren(box,
    one ? h('button', {
      type: 'button', class: 'quiet-button', testid: 'conversation-block',
      on: { click: () => actions.setBlocked(one.id, !people.blocked.has(one.id)) },
    }, t(people.blocked.has(one.id) ? 'people.unblockName' : 'people.blockName', { name: one.name })) : null,
    h('button', { type: 'button', class: 'quiet-button', testid: 'conversation-leave', on: { click: () => actions.leaveConversation(room.id) } },
      t('people.leaveConversation')));
}

function profileLine(p) {
  const parts = [p?.organization, p?.country].filter(Boolean);
  return parts.length ? h('span', { class: 'muted', dir: 'auto' }, parts.join(' · ')) : null;
}

function renderPeople() {
  const select = $('people-lang');
  if (select.options.length !== languageList().length + 1) {
    select.replaceChildren(h('option', { value: '' }, t('people.anyLanguage')),
      ...sortedLanguages(languageList()).map((l) => h('option', { value: l.code }, languageLabel(l.code))));
    select.value = people.query.lang;
  }
  $('people-status').textContent = people.loading ? t('people.searching') : people.error
    || (people.searched && !people.results.length ? t('people.none') : '');
  $('people-more').hidden = !people.next;
  setChildren($('people-list'), people.results.map(personEl));
}

function personEl(p) {
  const blocked = people.blocked.has(p.id);
  const composing = people.composing === p.id;
  return h('li', { class: 'person', testid: 'person', 'data-id': p.id },
    h('div', { class: 'person-head' },
      h('span', { class: ['presence-dot', p.online && 'online'], 'aria-hidden': 'true' }),
      h('strong', { dir: 'auto' }, p.name),
      srOnly(p.online ? t('people.online') : t('people.offline')),
      h('span', { class: 'tag' }, languageLabel(p.lang))),
    profileLine(p),
    p.bio ? h('p', { class: 'person-bio', dir: 'auto' }, p.bio) : null,
    composing ? contactForm(p) : h('div', { class: 'button-row' },
      h('button', {
        type: 'button', class: 'primary', testid: 'person-contact', disabled: blocked,
        on: { click: () => { people.composing = p.id; invalidate('people'); queueMicrotask(() => $('contact-text')?.focus()); } },
      }, t('people.contact')),
      h('button', { type: 'button', testid: 'person-block', on: { click: () => actions.setBlocked(p.id, !blocked) } },
        t(blocked ? 'people.unblock' : 'people.block'))));
}

function contactForm(p) {
  return h('form', {
    class: 'contact-form', novalidate: true,
    on: { submit: (e) => { e.preventDefault(); actions.contact(p.id, $('contact-text').value.trim()); } },
  },
  h('label', { for: 'contact-text' }, t('people.introduce', { name: p.name })),
  h('textarea', { id: 'contact-text', testid: 'contact-text', rows: '3', maxlength: '2000' }),
  h('p', { class: 'hint' }, t('people.contactHint')),
  h('div', { class: 'button-row' },
    h('button', { type: 'submit', class: 'primary', testid: 'contact-send' }, t('people.send')),
    h('button', { type: 'button', on: { click: () => { people.composing = null; invalidate('people'); } } }, t('people.cancel'))));
}
