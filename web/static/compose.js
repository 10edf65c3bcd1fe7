// compose.js — what the composer does beside sending (issue 25): editing one's own message (its
// Edit button, or the Up arrow in an empty composer; Escape cancels), completing `@name` from the
// room's or conversation's members (names in any script: the list matches the start of the name or
// of any word of it), the `mentions` a message carries (every `@name` of a member in its text), the
// mentions highlighted in a message (original and translation alike), and "X is typing…" in a
// private conversation (`typing` sent at most once per TYPING_EVERY).

import { $, h, setChildren } from './dom.js';
import { t } from './i18n.js';
import { state, currentRoom, invalidate, nameOf } from './state.js';

/** The server's default `[limits] edit_window` (900 s): Edit is offered this long; the server decides. */
export const EDIT_WINDOW_MS = 900_000;
const TYPING_EVERY = 3_000; // the server's `typing_interval`: more often is dropped anyway
const TYPING_SHOWN = 6_000; // a `typing` is shown this long unless another one or the message follows
const MENTIONS_MAX = 20;
const CHOICES_MAX = 8;

let actions;
const completion = { items: [], index: 0, start: -1 }; // the open @-completion: start = index of its '@'
const typingSent = new Map(); // room id -> when `typing` was last sent

export function initCompose(appActions) {
  actions = appActions;
  $('cancel-edit').addEventListener('click', () => { cancelEdit(); $('composer').focus(); });
  $('composer').addEventListener('input', onInput);
  $('composer').addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== $('composer')) closeCompletion(); }, 150));
}

// members and mentions --------------------------------------------------------------

/** The people one may mention here (without oneself): the room's members, and a conversation's members. */
function candidates(room) {
  const people = new Map();
  for (const member of room.members.values()) people.set(member.id, member.name);
  for (const member of actions.conversationMembers?.(room.id) || []) people.set(member.id, member.name);
  people.delete(state.me?.id);
  return [...people].filter(([, name]) => name).map(([id, name]) => ({ id, name }));
}

const fold = (text) => text.normalize('NFKC').toLocaleLowerCase();

/** Does `name` start with, or have a word starting with, what was typed after '@'? */
function matches(name, typed) {
  const n = fold(name);
  const q = fold(typed);
  return n.startsWith(q) || n.split(/\s+/u).some((word) => word.startsWith(q));
}

/** The ids of the members whose `@name` the text holds (the longest name wins where several fit). */
export function mentionsIn(room, text) {
  const people = candidates(room).sort((a, b) => b.name.length - a.name.length);
  const ids = [];
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    const found = people.find((p) => text.startsWith(p.name, at + 1));
    if (found && !ids.includes(found.id)) ids.push(found.id);
  }
  return ids.slice(0, MENTIONS_MAX);
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A message's shown text with the names it mentions marked (with or without their '@': a
 * translation keeps the name but may drop the sign). Text nodes only, never markup.
 */
export function withMentions(room, item, text) {
  const ids = Array.isArray(item.mentions) ? item.mentions : [];
  const names = new Map();
  for (const id of ids) {
    const name = room.members.get(id)?.name || nameOf(id);
    if (name && name !== id) names.set(name, id);
  }
  if (!names.size) return [text];
  const pattern = new RegExp(`@?(?:${[...names.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|')})`, 'gu');
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    const id = names.get(match[0].replace(/^@/, ''));
    parts.push(h('mark', { class: ['mention', id === state.me?.id && 'mention-me'], testid: 'mention' }, match[0]));
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

// @-completion --------------------------------------------------------------------

function onInput() {
  const room = currentRoom();
  if (!room) return;
  sendTyping(room);
  const composer = $('composer');
  const before = composer.value.slice(0, composer.selectionStart);
  const at = before.lastIndexOf('@');
  const typed = at >= 0 ? before.slice(at + 1) : '';
  const starts = at >= 0 && (at === 0 || /[\s\p{P}]/u.test(before[at - 1]));
  if (!starts || typed.length > 40 || /\n/.test(typed)) {
    closeCompletion();
    return;
  }
  const items = candidates(room).filter((p) => matches(p.name, typed))
    .sort((a, b) => a.name.localeCompare(b.name)).slice(0, CHOICES_MAX);
  if (!items.length) {
    closeCompletion();
    return;
  }
  const same = completion.start === at && completion.items.map((p) => p.id).join() === items.map((p) => p.id).join();
  Object.assign(completion, { items, start: at, index: same ? completion.index : 0 });
  renderCompletion();
}

function closeCompletion() {
  if (completion.start < 0 && $('mention-list').hidden) return;
  Object.assign(completion, { items: [], index: 0, start: -1 });
  renderCompletion();
}

function renderCompletion() {
  const list = $('mention-list');
  const composer = $('composer');
  const open = completion.start >= 0 && completion.items.length > 0;
  list.hidden = !open;
  if (!open) {
    composer.removeAttribute('aria-activedescendant');
    list.replaceChildren();
    return;
  }
  setChildren(list, completion.items.map((p, i) => h('li', {
    id: `mention-option-${i}`, role: 'option', class: ['mention-option', i === completion.index && 'active'],
    testid: 'mention-option', 'aria-selected': String(i === completion.index), dir: 'auto',
    on: { mousedown: (event) => { event.preventDefault(); pick(i); } },
  }, p.name)));
  composer.setAttribute('aria-activedescendant', `mention-option-${completion.index}`);
}

/** Put the chosen name in place of what was typed after '@'. */
function pick(index) {
  const person = completion.items[index];
  const composer = $('composer');
  if (!person) return;
  const caret = composer.selectionStart;
  const text = composer.value;
  const inserted = `@${person.name} `;
  composer.value = text.slice(0, completion.start) + inserted + text.slice(caret);
  const position = completion.start + inserted.length;
  composer.setSelectionRange(position, position);
  closeCompletion();
  composer.dispatchEvent(new Event('input')); // autosize and the length line follow
}

// editing -------------------------------------------------------------------------

/** The newest message of one's own that may still be edited. */
function lastEditable(room) {
  for (let i = room.items.length - 1; i >= 0; i -= 1) {
    const item = room.items[i];
    if (item.kind === 'msg' && item.user?.id === state.me?.id && mayEdit(room, item)) return item;
  }
  return null;
}

/**
 * Edit is offered on one's own live message while the edit window lasts (the server checks again);
 * never on a meeting step's card, which the server refuses to edit.
 */
export function mayEdit(room, item) {
  return room.status === 'joined' && !item.deleted && !item.meeting && item.user?.id === state.me?.id
    && Date.now() - item.ts < EDIT_WINDOW_MS;
}

/** Put one's message into the composer to change it (what was being written waits). */
export function startEdit(room, item) {
  const composer = $('composer');
  if (room.editing !== item.id) room.editDraft = room.editing ? room.editDraft : composer.value;
  room.editing = item.id;
  composer.value = item.text;
  composer.dispatchEvent(new Event('input'));
  composer.focus();
  composer.setSelectionRange(composer.value.length, composer.value.length);
  invalidate('room');
}

export function cancelEdit() {
  const room = currentRoom();
  if (!room?.editing) return;
  room.editing = null;
  $('composer').value = room.editDraft || '';
  room.editDraft = '';
  $('composer').dispatchEvent(new Event('input'));
  invalidate('room');
}

/** The composer's text was submitted: true when it was an edit (sent here, the composer restored). */
export function submitEdit(text) {
  const room = currentRoom();
  if (!room?.editing) return false;
  const item = room.byId.get(room.editing);
  if (item && text !== item.text) actions.editMessage(room.id, item.id, text);
  cancelEdit();
  return true;
}

/** Keys the composer gives to completion and editing first; true when the key was used. */
export function composerKey(event) {
  const room = currentRoom();
  if (!room) return false;
  const open = completion.start >= 0 && completion.items.length > 0;
  if (open && (event.key === 'ArrowDown' || event.key === 'ArrowUp')) {
    const step = event.key === 'ArrowDown' ? 1 : -1;
    completion.index = (completion.index + step + completion.items.length) % completion.items.length;
    renderCompletion();
    return true;
  }
  if (open && (event.key === 'Enter' || event.key === 'Tab') && !event.shiftKey && !event.isComposing) {
    pick(completion.index);
    return true;
  }
  if (event.key === 'Escape' && open) {
    closeCompletion();
    return true;
  }
  if (event.key === 'Escape' && room.editing) {
    cancelEdit();
    return true;
  }
  if (event.key === 'ArrowUp' && !$('composer').value && !room.editing) {
    const item = lastEditable(room);
    if (item) {
      startEdit(room, item);
      return true;
    }
  }
  return false;
}

// typing --------------------------------------------------------------------------

function sendTyping(room) {
  if (room.info.kind !== 'private' || room.status !== 'joined' || !$('composer').value) return;
  const now = Date.now();
  if (now - (typingSent.get(room.id) || 0) < TYPING_EVERY) return;
  typingSent.set(room.id, now);
  actions.typing(room.id);
}

/** Someone is typing in a conversation: shown for a few seconds. */
export function someoneTyping(room, user) {
  if (!user?.id || user.id === state.me?.id) return;
  room.typing = room.typing || new Map();
  clearTimeout(room.typing.get(user.id)?.timer);
  const timer = setTimeout(() => { room.typing.delete(user.id); invalidate('room'); }, TYPING_SHOWN);
  room.typing.set(user.id, { name: user.name || nameOf(user), timer });
  invalidate('room');
}

/** Their message came: they are no longer typing it. */
export function stoppedTyping(room, userId) {
  const entry = room.typing?.get(userId);
  if (!entry) return;
  clearTimeout(entry.timer);
  room.typing.delete(userId);
  invalidate('room');
}

/** The edit bar and the typing line, with the composer. */
export function renderComposeExtras(room) {
  $('edit-bar').hidden = !room?.editing;
  const typing = room?.typing ? [...room.typing.values()].map((e) => e.name) : [];
  $('typing-line').textContent = typing.length === 1 ? t('typing.one', { name: typing[0] })
    : typing.length > 1 ? t('typing.many', { names: typing.join(', ') }) : '';
  if (!room || state.current !== room.id) closeCompletion();
}
