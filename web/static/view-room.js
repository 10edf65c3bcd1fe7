// @ts-check
// view-room.js — the room on screen: its header and state banner, the message list
// (keyed elements, redrawn only when a message changes), the composer with its
// muted / read-only / slow-mode states, and the member list with moderation menus.

import { $, h, setChildren, softFocus } from './dom.js';
import { uiName, selfName, isRtl, timeOfDay, fullDate, duration, languageList, sortedLanguages } from './format.js';
import { t, errorText, uiLanguage } from './i18n.js';
import { confirmAction } from './confirm.js';
import { meetingStepEl } from './view-meetings.js';
import {
  state, onRender, invalidate, currentRoom, canModerate, canWrite, roleMayWrite, isMuted, isHost, roleIn, slowWait, canTranslate,
  shownName, updateNamesakes,
} from './state.js';
import {
  initCompose, composerKey, submitEdit, renderComposeExtras, withMentions, mayEdit, startEdit,
} from './compose.js';
import { reactorsTip, reactorsTipId, showReactors, hideReactors } from './reactors.js';

/** The reactions the server accepts (docs/protocol.md, "Reactions"). */
const REACTIONS = ['👍', '❤️', '😂', '😮', '🙏', '👏'];

let actions;
let shownRoom = null; // the room whose elements are in the list right now
let viewEpoch = 0; // bumped when something every message depends on changes

const ROLE_ORDER = { host: 0, moderator: 1, delegate: 2 };

export function initRoomView(appActions) {
  actions = appActions;
  initCompose(actions);
  const composer = $('composer');
  composer.addEventListener('keydown', onComposerKey);
  composer.addEventListener('input', () => { autosize(); renderComposerInfo(currentRoom()); });
  $('composer-form').addEventListener('submit', (e) => { e.preventDefault(); submit(); });
  $('toggle-originals').addEventListener('change', (e) => actions.setShowOriginals(e.target.checked));
  $('leave-room').addEventListener('click', () => actions.leave(state.current));
  $('room-title-toggle').addEventListener('click', () => {
    const room = currentRoom();
    if (room) room.titleOriginal = !room.titleOriginal;
    invalidate('room', 'shell'); // the tab's title follows it
  });
  $('manage-room').addEventListener('click', () => actions.manage(state.current));
  $('load-older').addEventListener('click', () => actions.loadOlder(state.current));
  $('jump-latest').addEventListener('click', () => scrollToBottom());
  $('cancel-reply').addEventListener('click', () => { actions.replyTo(state.current, null); focusComposer(); });
  $('messages-scroll').addEventListener('scroll', () => { if (nearBottom()) $('jump-latest').hidden = true; });
  onRender('room', renderRoom);
  onRender('messages', renderMessages);
  onRender('members', renderMembers);
}

/** Everything drawn per message depends on this too (language, originals, roles). */
export function redrawAllMessages() {
  viewEpoch += 1;
}

// composer ------------------------------------------------------------------------

function onComposerKey(event) {
  if (composerKey(event)) {
    event.preventDefault();
    return;
  }
  if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
  event.preventDefault();
  submit();
}

function submit() {
  const composer = $('composer');
  const text = composer.value;
  if (!text.trim() || $('send').disabled) return;
  if (submitEdit(text)) {
    autosize();
    return;
  }
  if (actions.send(text)) {
    composer.value = '';
    autosize();
  }
}

function autosize() {
  const composer = $('composer');
  composer.style.height = 'auto';
  composer.style.height = `${Math.min(composer.scrollHeight + 2, 180)}px`;
}

/** Put text back into an empty composer (a send the server refused). */
export function restoreDraft(text) {
  const composer = $('composer');
  if (composer.value.trim()) return;
  composer.value = text;
  autosize();
}

export function focusComposer() {
  if (!$('composer').disabled) softFocus($('composer'));
}

// header, banner, composer state --------------------------------------------------

/** The room's language census: "5 readers: 2 中文 · 2 Deutsch · 1 English". */
function censusText(languages) {
  if (!languages || typeof languages !== 'object') return null;
  const entries = Object.entries(languages).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (!entries.length) return null;
  const count = entries.reduce((sum, [, n]) => sum + n, 0);
  const list = entries.map(([code, n]) => `${n} ${uiName(code)}`).join(' · ');
  return t('room.readers', { count, languages: list });
}

function renderRoom() {
  const room = currentRoom();
  if (!room) return;
  const info = room.info;
  // The organisers' title and forum in the reader's language (`tr`), the original a click away.
  const tr = info.tr && info.tr.lang === state.lang && (info.tr.title !== info.title || info.tr.forum !== info.forum)
    ? info.tr : null;
  const original = !tr || room.titleOriginal;
  $('room-title').textContent = (original ? info.title : tr.title) || room.id;
  $('room-title').setAttribute('dir', 'auto');
  $('room-title').title = original ? '' : t('room.titleOriginalOf', { title: info.title });
  const toggle = $('room-title-toggle');
  toggle.hidden = !tr;
  toggle.textContent = t(original ? 'room.titleShowTranslation' : 'room.titleShowOriginal');
  toggle.setAttribute('aria-pressed', String(Boolean(tr && original)));
  const inside = room.status === 'joined' || room.status === 'joining';
  const count = room.members.size;
  const sub = [original ? info.forum : tr.forum, inside ? t('room.memberCount', { count }) : null, inside ? censusText(info.languages) : null];
  if (roleIn(room) !== 'delegate') sub.push(t(`room.youAre.${roleIn(room)}`));
  $('room-sub').textContent = sub.filter(Boolean).join(' · ');
  $('toggle-originals').checked = state.showOriginals;
  $('manage-room').hidden = !isHost();
  $('leave-room').textContent = room.status === 'joined' || room.status === 'joining' ? t('room.leave') : t('room.closeView');
  $('leave-room').hidden = room.info.kind === 'private'; // a conversation has its own Leave conversation
  renderBanner(room);
  renderComposer(room);
}

function bannerLines(room) {
  if (room.status === 'left') {
    const reason = ['kicked', 'banned', 'closed'].includes(room.reason) ? room.reason : 'removed';
    return [t(`left.${reason}`, { room: room.info.title || room.id }), room.reason === 'kicked' ? rejoinButton(room) : null];
  }
  if (room.status === 'error') {
    const final = room.reason === 'banned'; // trying again cannot help: only a moderator's unban can
    return [errorText({ code: room.reason, retryAfter: room.retryAfter }), final ? null : rejoinButton(room, t('room.tryAgain'))];
  }
  const lines = [];
  if (room.info.state === 'closed') lines.push(t('room.closedBanner'));
  if (room.info.state === 'read_only') lines.push(t('room.readOnlyBanner'));
  if (room.info.slow_mode > 0) lines.push(t('room.slowBanner', { duration: duration(room.info.slow_mode) }));
  return lines;
}

function rejoinButton(room, label = t('room.joinAgain')) {
  return h('button', { type: 'button', class: 'quiet-button', testid: 'rejoin', on: { click: () => actions.rejoin(room.id) } }, label);
}

function renderBanner(room) {
  const lines = bannerLines(room).filter(Boolean);
  const banner = $('room-banner');
  banner.hidden = lines.length === 0;
  banner.className = `room-banner ${room.status === 'left' || room.status === 'error' ? 'room-banner-stop' : ''}`;
  setChildren(banner, lines.map((line) => (typeof line === 'string' ? h('p', {}, line) : line)));
}

function mutedText(room) {
  if (room.mutedUntil === Infinity) return t('room.mutedForever');
  const left = duration((room.mutedUntil - Date.now()) / 1000);
  return t('room.mutedUntil', { time: timeOfDay(room.mutedUntil), left });
}

function renderComposer(room) {
  const muted = isMuted(room);
  const readOnly = room.info.state === 'read_only' && !roleMayWrite(room) && room.status === 'joined';
  const writable = canWrite(room);
  $('muted-notice').hidden = !muted && !room.mutedHint;
  $('muted-notice').textContent = muted ? mutedText(room) : room.mutedHint;
  $('readonly-notice').hidden = !readOnly;
  $('composer').disabled = !writable;
  $('send').disabled = !writable || slowWait(room) > 0;
  renderComposerInfo(room);
}

function renderReplyBar(room) {
  const target = room?.replyTo ? room.byId.get(room.replyTo) : null;
  $('reply-bar').hidden = !target;
  if (!target) return;
  const name = target.user ? shownName(room, target.user).full : t('who.someone');
  $('reply-to-text').textContent = t('msg.replyingTo', { name });
}

function renderComposerInfo(room) {
  if (!room) return;
  renderReplyBar(room);
  renderComposeExtras(room);
  const parts = [];
  const wait = slowWait(room);
  if (wait > 0) parts.push(t('room.slowWait', { count: wait }));
  if (room.notice) parts.push(room.notice);
  const length = $('composer').value.length;
  if (length > 1800) parts.push(t('room.length', { count: length, max: 2000 }));
  $('composer-info').textContent = parts.join(' ');
}

// messages ------------------------------------------------------------------------

function nearBottom() {
  const scroll = $('messages-scroll');
  return scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < 80;
}

function scrollToBottom() {
  const scroll = $('messages-scroll');
  scroll.scrollTop = scroll.scrollHeight;
  $('jump-latest').hidden = true;
}

function renderMessages() {
  const room = currentRoom();
  const list = $('messages');
  if (!room) {
    shownRoom = null;
    list.replaceChildren();
    return;
  }
  const switched = shownRoom !== room;
  shownRoom = room;
  if (updateNamesakes(room)) redrawAllMessages();
  const scroll = $('messages-scroll');
  const stick = switched || nearBottom();
  const heightBefore = scroll.scrollHeight;
  const firstBefore = list.firstElementChild;
  const countBefore = list.childElementCount;

  const wanted = [...room.items, ...room.outbox.filter((o) => !o.hidden)];
  const nodes = wanted.map((item) => elementFor(room, item));
  const unreadAt = firstUnread(room);
  if (unreadAt >= 0) nodes.splice(unreadAt, 0, unreadLine());
  placeInOrder(list, nodes);
  forgetStale(room, wanted);

  const empty = room.items.length === 0 && room.outbox.length === 0;
  $('messages-empty').hidden = !empty;
  $('messages-empty').textContent = room.status === 'joining' ? t('room.joining') : t('room.empty');
  $('load-older').hidden = !room.hasOlder || empty;

  const revealed = room.revealId ? list.querySelector(`:scope > li.msg[data-id="${CSS.escape(room.revealId)}"]`) : null;
  if (revealed instanceof HTMLElement) { // a quote was clicked: its original, loaded now if it was not
    room.revealId = null;
    revealed.scrollIntoView({ block: 'center' });
    revealed.classList.add('revealed');
    revealed.tabIndex = -1;
    revealed.focus({ preventScroll: true });
    setTimeout(() => revealed.classList.remove('revealed'), 2000);
  } else if (switched && unreadAt >= 0) unreadLineEl.scrollIntoView({ block: 'center' }); // where the new ones start
  else if (stick) scrollToBottom();
  else if (firstBefore && list.firstElementChild !== firstBefore) {
    scroll.scrollTop += scroll.scrollHeight - heightBefore; // older history went on top: stay put
  } else if (list.childElementCount > countBefore) $('jump-latest').hidden = false;
}

/** A read mark before every message (none of them was read). */
export const START = '^';

/** Where the "new messages" line goes: before the first message after the read mark (-1: none). */
function firstUnread(room) {
  if (!room.readMark) return -1;
  const mark = room.readMark === START ? -1 : room.items.findIndex((item) => item.kind === 'msg' && item.id === room.readMark);
  if (mark < 0 && room.readMark !== START) return -1;
  const next = room.items.findIndex((item, i) => i > mark && item.kind === 'msg' && item.user?.id !== state.me?.id);
  return next;
}

let unreadLineEl = null;

function unreadLine() {
  const text = t('room.newMessages');
  if (unreadLineEl?.dataset.text !== text) {
    unreadLineEl = h('li', { class: 'sys unread-line', testid: 'unread-line', data: { text } }, h('span', {}, text));
  }
  return unreadLineEl;
}

/** Make the list's children exactly `nodes`, moving as few as possible. */
function placeInOrder(list, nodes) {
  let cursor = list.firstChild;
  for (const node of nodes) {
    if (node === cursor) cursor = cursor.nextSibling;
    else list.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
}

function keyOf(item) {
  if (item.kind === 'msg') return `m:${item.id}`;
  if (item.kind === 'sys') return item.key;
  return `o:${item.cid}`;
}

function forgetStale(room, wanted) {
  const keys = new Set(wanted.map(keyOf));
  for (const key of room.elements.keys()) if (!keys.has(key)) room.elements.delete(key);
}

/** The cached element of an item, rebuilt when the item or the view changed. */
function elementFor(room, item) {
  const key = keyOf(item);
  const version = `${item.v ?? 0}:${viewEpoch}:${item.inflight ?? ''}`;
  let el = room.elements.get(key);
  if (el && el.dataset.version === version) return el;
  const fresh = item.kind === 'msg' ? messageEl(room, item) : item.kind === 'sys' ? systemEl(item) : pendingEl(item);
  fresh.dataset.version = version;
  if (el) {
    const focused = el.contains(document.activeElement) ? /** @type {HTMLElement} */ (document.activeElement).dataset.testid : null;
    el.replaceWith(fresh);
    if (focused) /** @type {HTMLElement | null} */ (fresh.querySelector(`[data-testid="${CSS.escape(focused)}"]`))?.focus({ preventScroll: true });
  }
  room.elements.set(key, fresh);
  return fresh;
}

/** What a message shows: its translation unless the reader asked for the original, or the
 * translation is less sure than the server's min_confidence (then the original comes first). */
function displayed(item) {
  const translated = item.tr && item.tr.lang === state.lang && item.lang !== state.lang;
  const unsure = Boolean(translated) && typeof item.tr.confidence === 'number'
    && typeof state.minConfidence === 'number' && item.tr.confidence < state.minConfidence;
  const original = item.showOriginal ?? (state.showOriginals || unsure);
  if (translated && !original) return { text: item.tr.text, lang: item.tr.lang, translated, unsure, original: false };
  return { text: item.text, lang: item.lang, translated, unsure, original: true };
}

function messageEl(room, item) {
  const mine = item.user?.id === state.me?.id;
  const author = item.user ? shownName(room, item.user).full : t('who.someone');
  const shown = displayed(item);
  const wordless = Boolean(item.meeting) && !item.text;
  return h('li', {
    class: ['msg', mine && 'mine', item.deleted && 'deleted', mentionsMe(item) && 'mentions-me', item.meeting && 'meeting-card'],
    testid: 'message',
    'data-id': item.id,
    'data-lang': item.lang,
  },
  h('div', { class: 'msg-head' },
    item.user ? nameEl(room, item.user, 'msg-author') : h('span', { class: 'msg-author' }, author),
    h('time', { datetime: new Date(item.ts).toISOString(), title: fullDate(item.ts) }, timeOfDay(item.ts)),
    mayDelete(room, item, mine)
      ? h('button', {
        type: 'button', class: 'msg-delete', testid: 'delete',
        'aria-label': mine ? t('msg.deleteOwnLabel') : t('msg.deleteLabel', { name: author }),
        on: { click: () => askDelete(room, item, author, mine) },
      }, t('msg.delete'))
      : null,
    item.edited && !item.deleted ? h('span', { class: 'msg-edited', testid: 'edited' }, t('msg.edited')) : null,
    !item.deleted && room.status === 'joined'
      ? h('button', {
        type: 'button', class: 'msg-action', testid: 'reply',
        'aria-label': t('msg.replyLabel', { name: author }),
        on: { click: () => { actions.replyTo(room.id, item.id); focusComposer(); } },
      }, t('msg.reply'))
      : null,
    mayEdit(room, item)
      ? h('button', {
        type: 'button', class: 'msg-action', testid: 'edit', 'aria-label': t('msg.editLabel'),
        on: { click: () => startEdit(room, item) },
      }, t('msg.edit'))
      : null,
    !mine && !item.deleted && room.status === 'joined' && actions.reportMessage
      ? h('button', {
        type: 'button', class: 'msg-report', testid: 'report',
        'aria-label': t('msg.reportLabel', { name: author }),
        on: { click: () => actions.reportMessage(room.id, item.id) },
      }, t('msg.report'))
      : null),
  item.reply_to && !item.deleted ? quoteEl(room, item.reply_to) : null,
  item.meeting && !item.deleted ? meetingStepEl(item) : null, // a meeting step's card (issue 26)
  item.deleted
    ? h('div', { class: 'msg-text', testid: 'message-text' }, t('msg.deleted'))
    : wordless ? null // a card with no note or reason: nothing to show, translate or relabel
      : h('div', { class: 'msg-text', testid: 'message-text', lang: shown.lang, dir: isRtl(shown.lang) ? 'rtl' : 'auto' },
        withMentions(room, item, shown.text)),
  item.deleted || wordless ? null : (mine && room.status === 'joined' ? relangControl(room, item) : messageMeta(room, item, shown)),
  item.deleted ? null : reactionsEl(room, item, author));
}

const mentionsMe = (item) => !item.deleted && Array.isArray(item.mentions) && item.mentions.includes(state.me?.id)
  && item.user?.id !== state.me?.id;

/**
 * The quote of the message a reply answers, in the reader's language where it can be. A quote
 * follows its original (docs/protocol.md, Replies): when this client holds the quoted message, its
 * current text, translation and deletion win (they follow `edited`, `translation` and `deleted`
 * frames live); else the quote's own translation (`reply_to.tr`), else its original text.
 */
function quoteEl(room, quote) {
  const held = room.byId.get(quote.id);
  const name = quote.user ? shownName(room, quote.user).full : t('who.someone');
  let text;
  if (quote.deleted || held?.deleted) {
    text = t('msg.deleted');
  } else {
    const original = held ? held.text : quote.text;
    const heldTr = held?.tr && held.tr.lang === state.lang ? held.tr.text : null;
    const quoteTr = !held && quote.tr?.lang === state.lang ? quote.tr.text : null;
    const translated = heldTr || quoteTr;
    text = translated && !state.showOriginals ? translated : original;
  }
  const show = () => actions.showOriginal(room.id, quote.id);
  return h('blockquote', {
    class: 'msg-quote', testid: 'quote', 'data-id': quote.id, role: 'button', tabindex: 0,
    on: { click: show, keydown: (/** @type {KeyboardEvent} */ event) => {
      if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); show(); }
    } },
  },
    h('span', { class: 'msg-quote-author' }, name), ' ',
    h('span', { dir: 'auto' }, text.length > 100 ? `${text.slice(0, 99)}…` : text));
}

/** Reactions: each emoji someone used with its count (a click toggles one's own), and a picker. */
function reactionsEl(room, item, author) {
  const used = REACTIONS.filter((emoji) => (item.reactions?.[emoji] || 0) > 0);
  const joined = room.status === 'joined';
  if (!used.length && !joined) return null;
  const chips = used.map((emoji) => [h('button', {
    type: 'button', class: 'reaction', testid: 'reaction', 'data-emoji': emoji, disabled: !joined,
    'aria-label': t('msg.reactionCount', { emoji, count: item.reactions[emoji] }),
    'aria-describedby': reactorsTipId(item, emoji),
    on: {
      click: () => actions.react(room.id, item.id, emoji),
      mouseenter: () => showReactors(room, item, emoji),
      focus: () => showReactors(room, item, emoji),
      contextmenu: (event) => { event.preventDefault(); showReactors(room, item, emoji); }, // a long press (Android)
      pointerdown: (event) => { if (event.pointerType === 'touch') pressStart(() => showReactors(room, item, emoji)); },
      pointerup: pressEnd,
      pointercancel: pressEnd,
      mouseleave: () => hideReactors(item, emoji),
      blur: () => hideReactors(item, emoji),
      keydown: (event) => { if (event.key === 'Escape') hideReactors(item, emoji); },
    },
  }, `${emoji} ${item.reactions[emoji]}`), reactorsTip(item, emoji)]);
  const picker = joined
    ? h('details', { class: 'react-picker' },
      h('summary', { testid: 'react', 'aria-label': t('msg.reactLabel', { name: author }) }, t('msg.react')),
      ...REACTIONS.map((emoji) => h('button', {
        type: 'button', class: 'reaction-choice', testid: 'react-with', 'data-emoji': emoji,
        'aria-label': t('msg.reactWith', { emoji }),
        on: { click: (event) => { event.target.closest('details').open = false; actions.react(room.id, item.id, emoji); } },
      }, emoji)))
    : null;
  return h('div', { class: 'msg-reactions' }, ...chips, picker);
}

// A long press on a touch screen (browsers without `contextmenu` for it, such as Safari on iOS).
let pressTimer = null;
const LONG_PRESS = 500;

function pressStart(run) {
  clearTimeout(pressTimer);
  pressTimer = setTimeout(run, LONG_PRESS);
}

function pressEnd() {
  clearTimeout(pressTimer);
}

/** On one's own message: the language it was taken to be in, which the sender may correct. */
function relangControl(room, item) {
  const options = sortedLanguages(languageList()).map((l) =>
    h('option', { value: l.code, selected: l.code === item.lang }, uiName(l.code)));
  return h('div', { class: 'msg-meta' },
    h('label', {}, t('msg.writtenIn'), ' ',
      h('select', {
        class: 'relang', testid: 'relang', 'aria-label': t('msg.writtenInLabel'),
        on: { change: (event) => actions.relang(room.id, item.id, event.target.value) },
      }, ...options)));
}

/**
 * Whether this reader may delete the message, as the server rules (docs/protocol.md, "Deleting
 * messages"): their own always; others' in a forum room as a host, or as a moderator when the
 * author is not a host or moderator as far as this room shows.
 */
function mayDelete(room, item, mine) {
  if (item.deleted || room.status !== 'joined') return false;
  if (mine) return true;
  if (room.info.kind === 'private' || !canModerate(room)) return false;
  if (roleIn(room) === 'host') return true;
  return mayActOn(room, room.members.get(item.user?.id) || {});
}

async function askDelete(room, item, author, mine) {
  const text = item.text.length > 120 ? `${item.text.slice(0, 117)}…` : item.text;
  const answer = await confirmAction({
    title: mine ? t('confirm.deleteOwnTitle') : t('confirm.deleteTitle', { name: author }),
    text: t('confirm.deleteText', { text }), ok: t('msg.delete'),
  });
  if (answer) actions.deleteMessage(room.id, item.id);
}

function messageMeta(room, item, shown) {
  if (item.lang === state.lang || !item.lang) return null;
  const from = uiName(item.lang);
  if (shown.translated) {
    return h('div', { class: 'msg-meta' },
      shown.original ? t('msg.originalIn', { language: from }) : t('msg.translatedFrom', { language: from }), ' · ',
      shown.unsure ? h('span', { class: 'unreliable', testid: 'unreliable' }, t('msg.unreliable')) : null,
      shown.unsure ? ' · ' : null,
      h('button', {
        type: 'button', class: 'link-button', testid: 'show-original',
        'aria-pressed': String(shown.original),
        on: { click: () => actions.toggleOriginal(room.id, item.id, !shown.original) },
      }, shown.original ? t('msg.showTranslation') : t('msg.showOriginal')));
  }
  if (item.translating) {
    return h('div', { class: 'msg-meta' }, h('span', { class: 'translating', testid: 'translating' }, t('msg.translating')));
  }
  if (item.failed) {
    return h('div', { class: 'msg-meta', testid: 'translation-failed' }, t('msg.translationFailed', { language: from }));
  }
  if (!canTranslate(item.lang) && item.user?.id !== state.me?.id) {
    return h('div', { class: 'msg-meta', testid: 'original-only' }, t('msg.originalOnly', { language: from }));
  }
  return h('div', { class: 'msg-meta' }, t('msg.in', { language: from }));
}

function systemEl(item) {
  return h('li', { class: ['sys', item.variant], testid: 'system-line', 'data-kind': item.variant || null },
    h('span', {}, typeof item.text === 'function' ? item.text() : item.text), ' ', h('time', { datetime: new Date(item.ts).toISOString() }, timeOfDay(item.ts)));
}

function pendingEl(entry) {
  return h('li', { class: 'msg mine pending', testid: 'pending' },
    h('div', { class: 'msg-head' },
      h('span', { class: 'msg-author', dir: 'auto' }, state.me?.name || t('who.you')),
      h('span', { class: 'muted' }, entry.inflight ? t('msg.sending') : t('msg.waiting'))),
    h('div', { class: 'msg-text', dir: 'auto' }, entry.text));
}

// members -------------------------------------------------------------------------

function renderMembers() {
  const room = currentRoom();
  if (!room) return;
  const inside = room.status === 'joined' || room.status === 'joining';
  if (updateNamesakes(room)) {
    redrawAllMessages();
    invalidate('messages');
  }
  const members = [...(inside ? room.members.values() : [])].sort((a, b) =>
    (ROLE_ORDER[a.role] ?? 3) - (ROLE_ORDER[b.role] ?? 3) || String(a.name).localeCompare(String(b.name), uiLanguage()));
  $('member-count').textContent = `(${members.length})`;
  setChildren($('member-list'), members.map((m) => memberEl(room, m)));

  const banned = canModerate(room) ? [...room.banned].filter(([id]) => !room.members.has(id)) : [];
  $('banned-section').hidden = banned.length === 0;
  setChildren($('banned-list'), banned.map(([id, name]) => memberEl(room, { id, name, banned: true })));
}

const isMutedHere = (room, id) => (room.mutedUsers.get(id) || 0) > Date.now();

function mutedTag(room, id) {
  return isMutedHere(room, id) ? h('span', { class: 'tag tag-muted' }, t('members.mutedTag')) : null;
}

/** A name as shown in this room: with the organisation, or a short id, when two people share it. */
function nameEl(room, user, cls) {
  const { name, tag } = shownName(room, user);
  return h('span', { class: cls, dir: 'auto' }, name, tag ? h('span', { class: 'name-tag' }, ` (${tag})`) : null);
}

/** As the server rules: hosts act on anyone but hosts, moderators on delegates only. */
const mayActOn = (room, member) => ROLE_ORDER[roleIn(room)] < ROLE_ORDER[member.role || 'delegate'];

function memberEl(room, member) {
  const isMe = member.id === state.me?.id;
  const moderate = canModerate(room) && !isMe && room.status === 'joined' && (member.banned || mayActOn(room, member));
  return h('li', { class: ['member', isMe && 'is-me'], testid: `member-${member.id}` },
    h('div', { class: 'member-line' },
      h('span', { class: 'member-name' }, nameEl(room, member, 'member-label'),
        isMe ? h('span', { class: 'muted' }, ' ', t('members.youTag')) : null),
      member.role && member.role !== 'delegate'
        ? h('span', { class: 'role-badge', testid: 'role-badge' }, t(`role.${member.role}`)) : null,
      mutedTag(room, member.id),
      moderate ? modButton(room, member) : null),
    member.lang ? h('div', { class: 'member-lang' }, h('span', { lang: member.lang, dir: 'auto' }, selfName(member.lang))) : null,
    moderate && state.openMenu === member.id ? modMenu(room, member) : null);
}

function modButton(room, member) {
  const open = state.openMenu === member.id;
  return h('button', {
    type: 'button', class: 'mod-button', testid: `mod-${member.id}`,
    'aria-expanded': String(open), 'aria-controls': `mod-menu-${member.id}`,
    'aria-label': t('mod.menuLabel', { name: shownName(room, member).full }),
    on: { click: () => actions.toggleMenu(member.id) },
  }, '⋯');
}

/** The member's actions: only those that apply (Mute or Unmute, Ban or Unban), with an optional reason. */
function modMenu(room, member) {
  const who = shownName(room, member).full;
  const reason = () => state.menuReason.trim();
  const act = (testid, label, run, cls) =>
    h('button', { type: 'button', class: cls, testid, data: { focusKey: `${testid}-${member.id}` }, on: { click: run } }, label);
  const mod = (action, extra = {}) => () => {
    const why = reason();
    actions.moderate(room.id, action, member.id, why ? { ...extra, reason: why } : extra);
  };
  const ban = async () => {
    const answer = await confirmAction({
      title: t('confirm.banTitle', { name: who }), text: t('confirm.banText', { name: who }),
      ok: t('mod.ban'), reason: reason(),
    });
    if (answer) actions.moderate(room.id, 'ban', member.id, answer.reason ? { reason: answer.reason } : {});
  };
  const muted = isMutedHere(room, member.id);
  const moderator = member.role === 'moderator' || room.appointed.has(member.id);
  let buttons;
  if (member.banned) buttons = [act('unban', t('mod.unban'), mod('unban'))];
  else {
    buttons = [
      muted ? act('unmute', t('mod.unmute'), mod('unmute'))
        : [act('mute-300', t('mod.mute5'), mod('mute', { seconds: 300 })),
          act('mute-3600', t('mod.mute60'), mod('mute', { seconds: 3600 })),
          act('mute-forever', t('mod.muteForever'), mod('mute'))],
      act('kick', t('mod.kick'), mod('kick')),
      act('ban', t('mod.ban'), ban, 'danger'),
      isHost() && member.role !== 'host'
        ? (moderator ? act('remove-mod', t('mod.unappoint'), () => actions.appointModerator(room.id, member.id, false))
          : act('appoint-mod', t('mod.appoint'), () => actions.appointModerator(room.id, member.id, true)))
        : null,
    ];
  }
  const reasonId = `mod-reason-${member.id}`;
  return h('div', {
    class: 'mod-menu', role: 'group', id: `mod-menu-${member.id}`, 'aria-label': t('mod.actionsFor', { name: who }),
    on: { keydown: (e) => { if (e.key === 'Escape') { e.stopPropagation(); actions.closeMenu(member.id); } } },
  },
  h('div', { class: 'field mod-reason' },
    h('label', { for: reasonId }, t('mod.reason')),
    h('input', {
      id: reasonId, testid: 'mod-reason', maxlength: 300, autocomplete: 'off', value: state.menuReason,
      on: { input: (e) => { state.menuReason = e.target.value; } },
    })),
  h('div', { class: 'mod-actions' }, buttons),
  h('p', { class: 'mod-id' }, t('mod.userId'), ' ', h('code', {}, member.id)));
}

/** After the menu closes with Escape, put focus back on its button. */
export function focusModButton(userId) {
  /** @type {HTMLElement | null} */ (document.querySelector(`[data-testid="mod-${CSS.escape(userId)}"]`))?.focus();
}
