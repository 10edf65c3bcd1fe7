// @ts-check
// view-shell.js — everything around the room: which view is showing (lobby, home,
// room), the connection indicator, the sidebar's room list grouped by forum (member
// counts, unread badges, state tags), the "signed in as" block, the lobby form, the
// phone drawers and the toast line.

import { $, h, setChildren, srOnly, softFocus } from './dom.js';
import { languageList, languageLabel, sortedLanguages } from './format.js';
import { t, useLanguage } from './i18n.js';
import { state, onRender, view, currentRoom, isHost } from './state.js';

let actions;

export function initShell(appActions) {
  actions = appActions;
  $('lobby-form').addEventListener('submit', onLobbySubmit);
  $('home').addEventListener('click', () => actions.select(null));
  $('sign-out').addEventListener('click', () => actions.signOut());
  $('reading-lang').addEventListener('change', (e) => actions.changeLanguage(e.target.value));
  $('lang').addEventListener('change', (e) => { if (!state.session) useLanguage(e.target.value); });
  $('reconnect-now').addEventListener('click', () => actions.reconnectNow());
  $('toggle-rooms').addEventListener('click', () => toggleDrawer('rooms'));
  $('toggle-members').addEventListener('click', () => toggleDrawer('members'));
  $('scrim').addEventListener('click', () => closeDrawer());
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.drawer) closeDrawer();
  });
  onRender('shell', renderShell);
  onRender('rooms', renderRoomList);
}

// the lobby form ------------------------------------------------------------------

function onLobbySubmit(event) {
  event.preventDefault();
  actions.start({
    name: $('name').value.trim(),
    lang: $('lang').value,
    token: $('token').value.trim(),
    accessCode: $('access-code').value.trim(),
    signinCode: $('signin-code').value.trim(),
    profile: lobbyProfile(),
  });
}

/** The optional profile fields of the lobby form (a delegate's card in the People directory). */
function lobbyProfile() {
  /** @type {Record<string, string>} */
  const profile = {};
  for (const key of ['organization', 'country', 'bio']) {
    const value = $(`profile-${key}`)?.value.trim();
    if (value) profile[key] = key === 'country' ? value.toUpperCase() : value;
  }
  return profile;
}

/** Fill both language selects (lobby and sidebar): each language in itself and in the reader's, sorted for the reader. */
export function renderLanguageOptions() {
  const list = languageList();
  const mark = list.some((l) => l.translatable) ? (l) => l.translatable === false : () => false; // none translatable: no noise
  for (const select of [$('lang'), $('reading-lang')]) {
    const keep = select === $('lang') && !state.session ? select.value || state.lang : state.lang;
    const options = sortedLanguages(list).map((l) =>
      h('option', { value: l.code, dir: 'auto' },
        mark(l) ? t('lang.originalsOnly', { language: languageLabel(l.code) }) : languageLabel(l.code)));
    select.replaceChildren(...options);
    select.value = keep;
  }
}

export function fillLobby({ name = '', lang = state.lang } = {}) {
  if (name && !$('name').value) $('name').value = name;
  $('lang').value = lang;
}

// whole-page state ----------------------------------------------------------------

let shownView = null;

function renderShell() {
  const current = view();
  const switched = shownView !== null && shownView !== current;
  shownView = current;
  document.body.classList.toggle('signed-out', current === 'lobby');
  document.body.classList.toggle('in-room', current === 'room');
  $('lobby').hidden = current !== 'lobby';
  $('home-view').hidden = current !== 'home' || !!state.peopleOpen; // view-people.js shows People instead
  $('room-view').hidden = current !== 'room';
  $('members').hidden = current !== 'room';
  $('toggle-members').hidden = current !== 'room';
  $('home').hidden = !state.session;
  $('home').setAttribute('aria-current', current === 'home' ? 'page' : 'false');
  if (current !== 'room' && state.drawer === 'members') state.drawer = null;

  renderConnection();
  renderMe();
  renderLobby();
  renderHome();
  renderDrawers();
  renderTitle();
  if (switched) queueMicrotask(() => focusView(current));
}

/** After a view change, keyboard focus goes to the view's first useful control unless it is on one already. */
function focusView(current) {
  const active = /** @type {HTMLElement | null} */ (document.activeElement);
  const lost = !active || active === document.body || !active.isConnected || active.closest('[hidden]')
    || active.offsetParent === null;
  if (!lost) return;
  let target;
  if (current === 'lobby') target = $('name').value ? $('start') : $('name');
  else if (current === 'home') target = $('room-list').querySelector('.room-entry') || $('home-title');
  else if ($('composer').disabled) target = $('leave-room');
  else target = window.matchMedia('(pointer: fine)').matches ? $('composer') : $('room-title'); // no surprise phone keyboard
  target?.focus({ preventScroll: current === 'room' });
}

function renderConnection() {
  const status = $('conn-status');
  status.hidden = !state.session;
  status.textContent = t(`conn.${state.conn}`);
  status.className = `conn conn-${state.conn}`;
  $('reconnect-now').hidden = !state.session || state.conn !== 'reconnecting';
}

function renderMe() {
  $('me').hidden = !state.session;
  if (!state.session) return;
  $('me-name').textContent = state.me?.name || state.session.name || '…';
  const role = state.me?.role;
  $('me-role').hidden = !role || role === 'delegate';
  $('me-role').textContent = role ? t(`role.${role}`) : '';
  if ($('reading-lang').value !== state.lang) $('reading-lang').value = state.lang;
}

function renderLobby() {
  $('lobby-error').textContent = state.lobbyError;
  $('access-code-field').hidden = !state.needAccessCode && state.access !== 'code';
  const invited = state.access === 'invited'; // a personal code or link, never a name (issue 23)
  $('invited-note').hidden = !invited;
  $('name-field').hidden = invited;
  if (invited) $('code-box').open = true;
  const pending = state.pendingRoom ? state.rooms.get(state.pendingRoom) : null;
  $('lobby-pending').hidden = !pending;
  $('lobby-pending').textContent = pending ? t('lobby.pending', { room: pending.title || pending.id }) : '';
}

function renderHome() {
  if (!state.session) return;
  $('home-title').textContent = state.me ? t('home.welcomeName', { name: state.me.name }) : t('home.welcome');
  const joinedCount = [...state.joined.values()].filter((r) => r.status === 'joined').length;
  let text;
  if (!state.me) text = t('home.connecting');
  else if (joinedCount) text = t('home.inRooms', { count: joinedCount });
  else text = t('home.pickRoom');
  $('home-text').textContent = text;
  $('host-panel').hidden = !isHost();
}

function renderTitle() {
  const seen = (r) => r.id === state.current && document.visibilityState === 'visible';
  const unread = [...state.joined.values()].reduce((sum, r) => sum + (seen(r) ? 0 : r.unread), 0) + (state.alerts || 0);
  const room = currentRoom();
  // the title as the reader reads it in the sidebar: in their language where the organisers' is translated
  const name = room ? (!room.titleOriginal && roomTr(room.info)?.title) || room.info.title || room.id : '';
  const place = room ? `${name} · babelroom` : 'babelroom';
  document.title = unread ? `(${unread}) ${place}` : place;
  $('rooms-unread').hidden = !unread;
  $('rooms-unread').textContent = unread ? String(unread) : '';
}

// drawers (narrow screens) --------------------------------------------------------

function toggleDrawer(which) {
  if (state.drawer === which) closeDrawer();
  else {
    state.drawer = which;
    renderDrawers();
    const panel = which === 'rooms' ? $('sidebar') : $('members');
    panel.querySelector('button, select, input, [tabindex]')?.focus();
  }
}

export function closeDrawer() {
  if (!state.drawer) return;
  const toggle = state.drawer === 'rooms' ? $('toggle-rooms') : $('toggle-members');
  const hadFocus = (state.drawer === 'rooms' ? $('sidebar') : $('members')).contains(document.activeElement);
  state.drawer = null;
  renderDrawers();
  if (hadFocus && toggle.offsetParent) toggle.focus();
}

function renderDrawers() {
  $('sidebar').classList.toggle('open', state.drawer === 'rooms');
  $('members').classList.toggle('open', state.drawer === 'members');
  $('toggle-rooms').setAttribute('aria-expanded', String(state.drawer === 'rooms'));
  $('toggle-members').setAttribute('aria-expanded', String(state.drawer === 'members'));
  $('scrim').hidden = !state.drawer;
}

// the room list -------------------------------------------------------------------

/** Lobby rooms plus any joined room the lobby list does not know (yet). */
function allRooms() {
  const rooms = new Map(state.rooms);
  for (const room of state.joined.values()) {
    // conversations (kind private) are listed by view-people.js
    if (!rooms.has(room.id) && room.info.kind !== 'private') rooms.set(room.id, { ...room.info, members: room.members.size });
  }
  return [...rooms.values()];
}

/** A room's `tr` (title and forum in the reader's language) when it is for this reader. */
function roomTr(room) {
  return room.tr && room.tr.lang === state.lang && room.tr.title !== room.title ? room.tr : null;
}

/** A forum's name as its rooms' `tr` gives it in the reader's language, else as written. */
function forumShown(forum, rooms) {
  const tr = rooms.map((room) => room.tr).find((one) => one && one.lang === state.lang && one.forum);
  return tr && rooms[0].forum === forum ? tr.forum : forum;
}

function byForum(rooms) {
  const groups = new Map();
  for (const room of rooms) {
    const forum = room.forum || t('shell.rooms');
    if (!groups.has(forum)) groups.set(forum, []);
    groups.get(forum).push(room);
  }
  return groups;
}

function renderRoomList() {
  const rooms = allRooms();
  $('room-list-empty').hidden = rooms.length > 0;
  const groups = [...byForum(rooms)].map(([forum, list]) =>
    h('section', { class: 'forum' },
      h('h3', { class: 'forum-title', dir: 'auto' }, forumShown(forum, list)),
      h('ul', { class: 'room-items' }, list.map((room) => h('li', {}, roomEntry(room))))));
  setChildren($('room-list'), groups);
  renderTitle();
}

function memberCount(room) {
  const joined = state.joined.get(room.id);
  if (joined?.status === 'joined') return joined.members.size;
  return Number(room.members) || 0;
}

function roomEntry(room) {
  const joined = state.joined.get(room.id);
  const isCurrent = state.current === room.id;
  const unread = !isCurrent && joined ? joined.unread : 0;
  const count = memberCount(room);
  const tag = room.state === 'read_only' || room.state === 'closed' ? t(`roomTag.${room.state}`) : null;
  return h('button', {
    type: 'button',
    class: ['room-entry', isCurrent && 'current', joined && 'joined', room.state === 'closed' && 'closed'],
    testid: `room-${room.id}`,
    'aria-current': isCurrent ? 'page' : false,
    on: { click: () => actions.openRoom(room.id) },
  },
  h('span', { class: 'room-label' },
    h('span', { class: 'room-name', dir: 'auto', title: roomTr(room) ? t('room.titleOriginalOf', { title: room.title }) : null },
      roomTr(room)?.title || room.title || room.id),
    joined && joined.status === 'joined' ? srOnly(t('rooms.joinedSr')) : null,
    tag ? h('span', { class: `tag tag-${room.state}` }, tag) : null,
    room.slow_mode > 0 ? h('span', { class: 'tag', title: t('rooms.slowTitle', { seconds: Number(room.slow_mode) }) }, t('rooms.slowTag')) : null),
  h('span', { class: 'room-meta' },
    unread ? h('span', { class: 'badge' }, h('span', { testid: 'unread' }, String(unread)), srOnly(t('rooms.unreadSr', { count: unread }))) : null,
    h('span', { class: 'count', title: t('rooms.membersTitle') },
      h('span', { testid: 'room-count' }, String(count)), srOnly(t('rooms.membersSr', { count })))));
}

// toast ---------------------------------------------------------------------------

let toastTimer = null;

/** A short message at the bottom of the screen; kind 'error' makes it an alert. */
export function toast(text, kind = 'info') {
  const el = $('toast');
  el.textContent = text;
  el.className = `toast toast-${kind}`;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, kind === 'error' ? 8000 : 4000);
}

export function focusLobby() {
  softFocus($('name'));
}
