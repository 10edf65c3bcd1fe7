// @ts-check
// view-people.js — matchmaking: the People directory (search, filters, contact,
// block), the sidebar's Conversations list with unread counts and contact-request
// cards (accept / decline), and the actions of a private conversation (block,
// leave for good, report a message).  A conversation is a room of kind "private":
// opening one is actions.openRoom(id), and the room view shows it like any room.
// Server frames handled here: request, conversation (see README); reports go to view-inbox.js.

import { api } from './api.js';
import { $, h, setChildren, srOnly } from './dom.js';
import { languageLabel, languageList, sortedLanguages } from './format.js';
import { errorText, hasKey, t } from './i18n.js';
import { state, onRender, currentRoom, invalidate, nameOf, remember } from './state.js';
import { toast } from './view-shell.js';

const REFRESH = 20_000; // conversations list (unread counts) while connected
const READ_EVERY = 2_000; // how often the newest shown message is acknowledged (`read`)
const WATCH_MAX = 10; // conversations joined in the background (live unread counts, typing, notifications)

const people = state.people;
const readSent = new Map(); // room id -> message id last acknowledged
const token = () => state.session?.token;

let actions;
let link;

/**
 * The People view joins the app like every view: it is given the app's actions and link, and
 * returns its own actions and the frames it listens to (after the app's own handler of each).
 * Its markup is in index.html; its state is state.people.
 * @param {{actions: Record<string, Function>, link: import('./link.js').Link}} app
 */
export function initPeople({ actions: appActions, link: appLink }) {
  actions = appActions;
  link = appLink;
  $('people-open').addEventListener('click', () => actions.openPeople());
  $('people-form').addEventListener('submit', onSearch);
  $('people-hidden').addEventListener('change', (e) => setHidden(e.target.checked));
  $('people-more').addEventListener('click', () => search(true));
  onRender('people', render);
  setInterval(() => { if (link.ready) refresh(); }, REFRESH);
  setInterval(acknowledgeRead, READ_EVERY);
  return { actions: peopleActions, frames: { ...frameHandlers, ready: refresh, unread: onUnread } };
}

// HTTP (api.js) ------------------------------------------------------------------------

async function refresh() {
  if (!state.session) return;
  try {
    const [listed, requests, blocks] = await Promise.all([
      api.conversations(token()), api.requests(token()), api.blocks(token())]);
    people.conversations = new Map(listed.conversations.map((c) => [c.id, c]));
    for (const c of listed.conversations) c.members.forEach(remember);
    people.incoming = new Map(requests.incoming.map((r) => [r.id, r]));
    people.outgoing = new Map(requests.outgoing.map((r) => [r.id, r]));
    people.blocked = new Set(blocks.users.map((u) => u.id));
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
    const data = await api.people(token(), params);
    data.people.forEach(remember);
    people.results = more ? [...people.results, ...data.people] : data.people;
    people.next = data.next;
    people.searched = true;
  } catch (err) {
    people.error = errorText(err.code);
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
    const data = await api.updateMe(token(), { hidden });
    toast(t(data.hidden ? 'people.hiddenToast' : 'people.shownToast'));
  } catch (err) {
    $('people-hidden').checked = !hidden;
    toast(errorText(err.code), 'error');
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
    api.me(token()).then((data) => { $('people-hidden').checked = !!data.hidden; }).catch(() => {});
  },

  /** Write to someone: a conversation where the organiser allows it, else a contact request. */
  async contact(user, text) {
    try {
      const data = await api.openConversation(token(), [user]);
      people.conversations.set(data.room.id, { ...data.room, unread: 0 });
      people.composing = null;
      actions.openRoom(data.room.id);
      if (text) actions.send(text);
      return;
    } catch (err) {
      if (err.code !== 'forbidden' || people.blocked.has(user)) {
        toast(errorText(err.code), 'error');
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
      toast(errorText(err.code), 'error');
    }
  },

  async setBlocked(user, blocked) {
    try {
      if (blocked) await api.block(token(), user);
      else await api.unblock(token(), user);
      (blocked ? people.blocked.add(user) : people.blocked.delete(user));
      toast(t(blocked ? 'people.blockedToast' : 'people.unblockedToast', { name: nameOf(user) }));
      invalidate('people');
    } catch (err) {
      toast(errorText(err.code), 'error');
    }
  },

  async leaveConversation(id) {
    try {
      await api.leaveConversation(token(), id);
      people.conversations.delete(id);
      actions.leave(id);
    } catch (err) {
      toast(errorText(err.code), 'error');
    }
  },

  /** A conversation's members as the list knows them (the @-completion offers them). */
  conversationMembers(id) {
    return people.conversations.get(id)?.members || [];
  },

  reportMessage(roomId, id) {
    link.request({ type: 'report', room: roomId, id }, { timeout: 15_000 })
      .then(() => toast(t('people.reported')))
      .catch((err) => toast(errorText(err.code), 'error'));
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
