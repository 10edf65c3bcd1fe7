// view-meetings.js — matchmaking meetings (issue 26): "Propose a meeting" in a private
// conversation (the organisers' free slots, a note), the open meeting's card above the
// messages (accept a time, decline, cancel), each step's card among the messages
// (meetingStepEl: a message carrying `meeting`, drawn by view-room.js), "My agenda" (every
// meeting, in the reader's time zone and the event's, with the calendar file) and the
// organisers' grid (move, cancel).  Server frame handled here: meeting.

import { ApiError } from './api.js';
import { confirmAction } from './confirm.js';
import { $, h, setChildren } from './dom.js';
import { languageLabel } from './format.js';
import { errorText, t, uiLanguage } from './i18n.js';
import { state, onRender, currentRoom, invalidate, nameOf, isHost } from './state.js';
import { toast } from './view-shell.js';

const meetings = {
  off: false, // the event has meetings turned off (the API answers 404)
  grid: null, // hosts: GET /api/meetings/grid
  list: new Map(), // meeting id -> the meeting as GET /api/me/meetings lists it
  members: new Map(), // conversation id -> member ids (GET /api/conversations)
  slots: [],
  reminder: 0, // minutes before a booked meeting the app reminds (GET /api/meeting-slots: reminder_minutes)
};
const reminders = new Map(); // meeting id -> timer
let actions;

export function initMeetings({ actions: appActions, handlers }) {
  actions = appActions;
  buildDom();
  const ready = handlers.ready;
  handlers.ready = (frame) => { ready(frame); refresh(); if (isHost()) loadGrid(); };
  handlers.meeting = (frame) => {
    meetings.list.set(frame.meeting.id, frame.meeting);
    scheduleReminders();
    if (frame.meeting.by && frame.meeting.by !== state.me?.id) {
      toast(t(`meetings.event.${frame.event}`, { name: frame.meeting.with?.name || '' }));
    }
    invalidate('meetings');
  };
  onRender('meetings', render);
}

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Accept: 'application/json', Authorization: `Bearer ${state.session.token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  }).catch(() => null);
  if (!response) throw new ApiError(0, 'network', '');
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new ApiError(response.status, data.code || `http_${response.status}`, data.message || '');
    if (Array.isArray(data.next)) error.next = data.next; // 409 taken: the next slots both people have free
    throw error;
  }
  return data;
}

async function refresh() {
  if (!state.session) return;
  try {
    const [mine, conversations] = await Promise.all([call('GET', '/api/me/meetings'), call('GET', '/api/conversations')]);
    meetings.list = new Map(mine.meetings.map((m) => [m.id, m]));
    if (!meetings.reminder) meetings.reminder = (await call('GET', '/api/meeting-slots')).reminder_minutes || 0;
    scheduleReminders();
    meetings.members = new Map(conversations.conversations.map((c) => [c.id, c.members.map((m) => m.id)]));
    invalidate('meetings');
  } catch (err) {
    meetings.off = err.status === 404; // else offline or signed out: the next refresh tries again
    invalidate('meetings');
  }
}

const asked = new Set(); // conversations whose members were fetched because they were not known yet

/** The other person of the 1:1 conversation on screen, or null. */
function otherPerson() {
  const room = currentRoom();
  if (!room || room.info.kind !== 'private' || !state.me) return null;
  if (!meetings.members.has(room.id) && !asked.has(room.id)) {
    asked.add(room.id); // a conversation opened since the last refresh: learn who is in it
    refresh();
  }
  const members = meetings.members.get(room.id) || [...room.members.keys()];
  const others = members.filter((id) => id !== state.me.id);
  return others.length === 1 ? others[0] : null;
}

/** A toast `reminder` minutes before each booked meeting of the next day (timers kept per meeting). */
function scheduleReminders() {
  for (const timer of reminders.values()) clearTimeout(timer);
  reminders.clear();
  if (!meetings.reminder) return;
  for (const m of meetings.list.values()) {
    if (m.state !== 'booked' || !m.start) continue;
    const wait = Date.parse(m.start) - meetings.reminder * 60_000 - Date.now();
    if (wait < 0 || wait > 86_400_000) continue;
    reminders.set(m.id, setTimeout(() => toast(t('meetings.reminder', { name: m.with?.name || '', time: when(m.start) })), wait));
  }
}

// times: the reader's own zone and the event's ---------------------------------------------
const when = (iso, timeZone) => new Intl.DateTimeFormat(uiLanguage(), {
  year: 'numeric', month: 'short', day: 'numeric', weekday: 'short', hour: '2-digit', minute: '2-digit',
  ...(timeZone ? { timeZone, timeZoneName: 'short' } : {}),
}).format(new Date(iso));

/** The time in the reader's zone, and in the event's when that differs. */
function times(meeting, start) {
  const ownZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const own = when(start, ownZone);
  const event = when(start, meeting.timezone);
  return own === event ? [own] : [t('meetings.yourTime', { time: own }), t('meetings.eventTime', { time: event })];
}

// DOM ----------------------------------------------------------------------------------------
/** Static text that follows the interface language (translatePage rewrites data-i18n). */
function L(key) {
  return h('span', { 'data-i18n': key }, t(key));
}

function buildDom() {
  $('room-view').querySelector('.room-actions').append(
    h('button', { type: 'button', id: 'meeting-propose', class: 'quiet-button', testid: 'meeting-propose', hidden: true,
      on: { click: () => openProposal() } }, L('meetings.propose')));
  $('messages').before(h('section', { id: 'meeting-cards', class: 'request-cards', testid: 'meeting-cards',
    'aria-label': t('meetings.cards'), 'data-i18n-attr': 'aria-label:meetings.cards', hidden: true }));
  $('me').before(h('button', { type: 'button', id: 'agenda-open', class: 'home-link', testid: 'agenda-open', hidden: true,
    on: { click: openAgenda } }, L('meetings.agenda')));
  document.body.append(
    h('dialog', { id: 'meeting-dialog', class: 'confirm', testid: 'meeting-dialog', 'aria-labelledby': 'meeting-dialog-title' },
      h('form', { method: 'dialog', id: 'meeting-form', on: { submit: sendProposal } },
        h('h2', { id: 'meeting-dialog-title' }),
        h('p', { id: 'meeting-taken', class: 'hint', testid: 'meeting-taken', hidden: true }, L('meetings.takenNext')),
        h('fieldset', { id: 'meeting-slots', class: 'meeting-slots' }),
        h('div', { class: 'field' },
          h('label', { for: 'meeting-note' }, L('meetings.note')),
          h('textarea', { id: 'meeting-note', testid: 'meeting-note', rows: '2', maxlength: '500' })),
        h('div', { class: 'button-row' },
          h('button', { type: 'submit', value: 'ok', class: 'primary', testid: 'meeting-send' }, L('meetings.send')),
          h('button', { type: 'submit', value: 'cancel', class: 'quiet-button', formnovalidate: true }, L('meetings.close'))))),
    h('dialog', { id: 'agenda-dialog', class: 'confirm', testid: 'agenda-dialog', 'aria-labelledby': 'agenda-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'agenda-title' }, L('meetings.agenda')),
        h('ul', { id: 'agenda-list', class: 'agenda-list', testid: 'agenda-list' }),
        h('p', {}, h('a', { id: 'agenda-ics', href: '#', testid: 'agenda-ics', on: { click: downloadCalendar } },
          L('meetings.calendar'))),
        h('div', { class: 'button-row' },
          h('button', { type: 'submit', value: 'cancel', class: 'quiet-button' }, L('meetings.close'))))),
    h('dialog', { id: 'move-dialog', class: 'confirm', testid: 'move-dialog', 'aria-labelledby': 'move-title' },
      h('form', { method: 'dialog', on: { submit: sendMove } },
        h('h2', { id: 'move-title' }),
        h('fieldset', { id: 'move-options', class: 'meeting-slots' }),
        h('div', { class: 'button-row' },
          h('button', { type: 'submit', value: 'ok', class: 'primary', id: 'move-send', testid: 'move-send' }, L('host.meetingMoveSend')),
          h('button', { type: 'submit', value: 'cancel', class: 'quiet-button', formnovalidate: true }, L('meetings.close'))))));
  $('host-panel').append(h('form', { id: 'host-meetings-form', class: 'host-form', testid: 'host-meetings-form', novalidate: true,
    on: { submit: addSlot } },
  h('h3', { id: 'host-meetings-heading' }, L('host.meetings')),
  h('div', { class: 'field' }, h('label', { for: 'host-meeting-start' }, L('host.meetingStart')),
    h('input', { id: 'host-meeting-start', testid: 'host-meeting-start', type: 'datetime-local', required: true })),
  h('div', { class: 'field' }, h('label', { for: 'host-meeting-minutes' }, L('host.meetingMinutes')),
    h('input', { id: 'host-meeting-minutes', testid: 'host-meeting-minutes', type: 'number', min: '5', max: '480', value: '20', inputmode: 'numeric' })),
  h('div', { class: 'field' }, h('label', { for: 'host-meeting-places' }, L('host.meetingPlaces')),
    h('input', { id: 'host-meeting-places', testid: 'host-meeting-places', autocomplete: 'off', placeholder: 'Table 1, Table 2' })),
  h('div', { class: 'button-row' },
    h('button', { type: 'submit', class: 'primary', testid: 'host-meeting-add' }, L('host.meetingAdd')),
    h('button', { type: 'button', testid: 'host-meeting-csv', on: { click: downloadCsv } }, L('host.meetingCsv'))),
  h('p', { id: 'host-meeting-status', class: 'host-status', role: 'status', testid: 'host-meeting-status' }),
  h('div', { id: 'host-meeting-grid', class: 'meeting-grid', testid: 'host-meeting-grid' })));
}

function render() {
  const signedIn = !!state.session && !meetings.off;
  $('agenda-open').hidden = !signedIn;
  const other = signedIn ? otherPerson() : null;
  $('meeting-propose').hidden = !other;
  const cards = $('meeting-cards');
  const shown = other ? [...meetings.list.values()].filter((m) => m.with?.id === other
    && (m.state === 'proposed' || m.state === 'booked')) : [];
  cards.hidden = !shown.length;
  setChildren(cards, shown.map(card));
  if ($('agenda-dialog').open) renderAgenda();
  renderGrid();
}

function stateLine(m) {
  return h('p', { class: 'meeting-state', testid: 'meeting-state' }, t(`meetings.state.${m.state}`));
}

function card(m) {
  const mine = m.turn === state.me?.id;
  const body = [h('strong', {}, t('meetings.with', { name: m.with?.name || '' })), stateLine(m)];
  if (m.note) body.push(noteOf(m));
  if (m.state === 'booked') {
    body.push(...times(m, m.start).map((line) => h('p', { testid: 'meeting-time' }, line)),
      h('p', {}, t('meetings.place', { place: m.place_name || '' })));
    if (m.link) body.push(h('p', {}, h('a', { href: m.link, rel: 'noopener noreferrer', target: '_blank' }, m.link)));
  } else if (mine) {
    body.push(h('div', { class: 'button-row' }, m.slots.filter((s) => s.start).map((s) =>
      h('button', { type: 'button', class: 'primary', testid: 'meeting-accept', on: { click: () => answer(m, 'accept', { slot: s.id }) } },
        t('meetings.accept', { time: when(s.start) })))));
  } else {
    body.push(h('p', { class: 'hint' }, t('meetings.waiting', { name: m.with?.name || '' })));
  }
  const buttons = [];
  if (mine) {
    buttons.push(h('button', { type: 'button', testid: 'meeting-counter', on: { click: () => openProposal(m) } }, t('meetings.counter')),
      h('button', { type: 'button', testid: 'meeting-decline', on: { click: () => withReason(m, 'decline') } }, t('meetings.decline')));
  }
  buttons.push(h('button', { type: 'button', class: 'quiet-button', testid: 'meeting-cancel', on: { click: () => withReason(m, 'cancel') } },
    t('meetings.cancel')));
  return h('article', { class: 'request-card', testid: 'meeting-card', 'aria-label': t('meetings.with', { name: m.with?.name || '' }) },
    ...body, h('div', { class: 'button-row' }, buttons));
}

// the steps among the messages -------------------------------------------------------------
const STEPS = ['proposed', 'countered', 'booked', 'declined', 'cancelled', 'moved'];

/** One time a step offers or took, in the reader's zone (and the event's when that differs). */
function stepTime(step, start) {
  return times({ timezone: step.timezone || undefined }, start).join(' · ');
}

/**
 * A meeting step recorded in the conversation (a message carrying `meeting`, docs/protocol.md
 * "Meeting cards"): what happened, in the reader's interface language, the times in their zone
 * and the event's, the place. The message's own text (the note or the reason, translated like
 * any message, with its honest "translating…") is drawn below it by view-room.js.
 */
export function meetingStepEl(item) {
  const step = item.meeting;
  const lines = [h('strong', { class: 'meeting-step-title', testid: 'meeting-step-title' },
    t(STEPS.includes(step.step) ? `meetings.step.${step.step}` : 'meetings.step.changed'))];
  if (step.slots?.length) {
    lines.push(h('ul', { class: 'meeting-step-times', 'aria-label': t('meetings.slots') },
      step.slots.map((s) => h('li', { testid: 'meeting-step-time' }, stepTime(step, s.start)))));
  }
  if (step.start) lines.push(h('p', { testid: 'meeting-step-time' }, stepTime(step, step.start)));
  if (step.place_name) lines.push(h('p', {}, t('meetings.place', { place: step.place_name })));
  if (step.link) lines.push(h('p', {}, h('a', { href: step.link, rel: 'noopener noreferrer', target: '_blank' }, step.link)));
  return h('div', { class: 'meeting-step', testid: 'meeting-step', 'data-step': step.step }, ...lines);
}

/** The note in the reader's language (the server translates it like a message), the original beside it. */
function noteOf(m) {
  if (!m.note_tr) return h('p', { class: 'meeting-note', testid: 'meeting-note-text' }, m.note);
  return h('p', { class: 'meeting-note', testid: 'meeting-note-text' }, m.note_tr.text,
    h('span', { class: 'hint', lang: m.note_lang || undefined }, ` (${m.note})`));
}

/** Decline or cancel, after asking (with an optional reason, which the other person reads translated). */
async function withReason(meeting, step) {
  const name = meeting.with?.name || '';
  const answered = await confirmAction({
    title: t(step === 'decline' ? 'meetings.declineTitle' : 'meetings.cancelTitle', { name }),
    text: t('meetings.reasonText'), ok: t(step === 'decline' ? 'meetings.decline' : 'meetings.cancel'), reason: '',
  });
  // the dialog takes 300 characters (moderation reasons); a meeting's reason is at most 200
  if (answered) await answer(meeting, step, answered.reason ? { reason: answered.reason.slice(0, 200) } : {});
}

async function answer(meeting, step, body = {}) {
  try {
    const data = await call('POST', `/api/meetings/${encodeURIComponent(meeting.id)}/${step}`, body);
    meetings.list.set(data.meeting.id, data.meeting);
    if (data.meeting.state === 'booked') toast(t('meetings.bookedToast', { time: when(data.meeting.start) }));
    invalidate('meetings');
  } catch (err) {
    toast(errorText(err), 'error');
    await refresh();
    // lost the race for that time: offer the next times both have free (the 409's `next`), as a counter-proposal
    if (err.code === 'taken' && step === 'accept') openProposal(meetings.list.get(meeting.id) || meeting, err.next || null);
  }
}

// proposing ------------------------------------------------------------------------------------
/** The proposal dialog: a new meeting with the conversation's other person, or (`counter`) other
 * times for a meeting whose answer is the reader's turn; `offered`: the times a lost race
 * answered with (free for both), shown instead of the reader's free times. */
async function openProposal(counter = null, offered = null) {
  const other = counter?.with?.id || otherPerson();
  if (!other) return;
  try {
    meetings.slots = offered || (await call('GET', '/api/meeting-slots')).slots;
  } catch (err) {
    toast(errorText(err), 'error');
    return;
  }
  const dialog = $('meeting-dialog');
  dialog.dataset.with = other;
  dialog.dataset.meeting = counter?.id || '';
  $('meeting-dialog-title').textContent = t('meetings.proposeTitle', { name: nameOf(other) });
  $('meeting-taken').hidden = !offered;
  const free = meetings.slots.filter((s) => Date.parse(s.end) > Date.now() && s.places.some((p) => p.free));
  setChildren($('meeting-slots'), h('legend', {}, t('meetings.slots')),
    free.length ? free.map((s, i) => h('label', { class: 'meeting-slot' },
      h('input', { type: 'checkbox', name: 'slot', value: s.id, testid: 'meeting-slot', checked: i === 0 }),
      ` ${when(s.start)} – ${new Intl.DateTimeFormat(uiLanguage(), { timeStyle: 'short' }).format(new Date(s.end))}`))
      : h('p', { class: 'hint' }, t('meetings.noSlots')));
  $('meeting-note').value = '';
  dialog.returnValue = '';
  dialog.showModal();
}

async function sendProposal(event) {
  const dialog = $('meeting-dialog');
  if (event.submitter?.value !== 'ok') return;
  event.preventDefault();
  const slots = [...dialog.querySelectorAll('input[name="slot"]:checked')].map((input) => input.value);
  if (!slots.length) {
    toast(t('meetings.noSlots'), 'error');
    return;
  }
  const note = $('meeting-note').value.trim();
  try {
    const data = dialog.dataset.meeting
      ? await call('POST', `/api/meetings/${encodeURIComponent(dialog.dataset.meeting)}/propose`, { slots, ...(note ? { note } : {}) })
      : await call('POST', '/api/meetings', { with: dialog.dataset.with, slots, ...(note ? { note } : {}) });
    meetings.list.set(data.meeting.id, data.meeting);
    dialog.close('ok');
    toast(t('meetings.sent'));
    invalidate('meetings');
  } catch (err) {
    toast(errorText(err), 'error');
  }
}

// the agenda -------------------------------------------------------------------------------------
async function openAgenda() {
  await refresh();
  renderAgenda();
  $('agenda-dialog').showModal();
}

function renderAgenda() {
  const listed = [...meetings.list.values()].sort((a, b) =>
    (a.state === 'booked' ? 0 : 1) - (b.state === 'booked' ? 0 : 1) || String(a.start || '').localeCompare(String(b.start || '')));
  setChildren($('agenda-list'), listed.length ? listed.map((m) => h('li', { class: 'agenda-item', testid: 'agenda-item' },
    h('strong', {}, m.with?.name || ''),
    m.with?.organization ? ` · ${m.with.organization}` : '',
    m.with?.lang ? h('span', { class: 'hint' }, ` · ${t('meetings.reads', { lang: languageLabel(m.with.lang) })}`) : '',
    stateLine(m),
    m.state === 'booked' ? [...times(m, m.start).map((line) => h('p', { testid: 'agenda-time' }, line)),
      h('p', {}, t('meetings.place', { place: m.place_name || '' }))] : [],
    conversationButton(m)))
    : h('li', { class: 'hint' }, t('meetings.agendaEmpty')));
}

function conversationButton(m) {
  // the conversation its steps are recorded in; for a meeting from before the cards, the 1:1 with that person
  const room = m.room || [...meetings.members.entries()].find(([, members]) => members.length === 2 && members.includes(m.with?.id))?.[0];
  if (!room) return null;
  return h('button', { type: 'button', class: 'link-button', testid: 'agenda-conversation',
    on: { click: () => { $('agenda-dialog').close(); actions.openRoom(room); } } },
    t('meetings.openConversation'));
}

async function downloadCalendar(event) {
  event.preventDefault();
  try {
    const response = await fetch('/api/me/meetings.ics', { headers: { Authorization: `Bearer ${state.session.token}` }, cache: 'no-store' });
    if (!response.ok) throw new ApiError(response.status, `http_${response.status}`, '');
    const url = URL.createObjectURL(await response.blob());
    h('a', { href: url, download: 'meetings.ics' }).click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    toast(errorText(err), 'error');
  }
}

// the organisers' grid (host panel) ------------------------------------------------------------
async function loadGrid() {
  try {
    meetings.grid = await call('GET', '/api/meetings/grid');
  } catch {
    meetings.grid = null;
  }
  invalidate('meetings');
}

function renderGrid() {
  const form = $('host-meetings-form');
  form.hidden = !isHost() || meetings.off;
  if (form.hidden) return;
  const grid = meetings.grid;
  if (!grid || !grid.slots.length) {
    setChildren($('host-meeting-grid'), h('p', { class: 'hint' }, t('host.meetingNone')));
    return;
  }
  const names = new Map(grid.places.map((p) => [p.id, p.name]));
  const placeIds = grid.places.map((p) => p.id);
  setChildren($('host-meeting-grid'),
    h('ul', { class: 'hint' }, grid.days.map((d) => h('li', {}, t('host.meetingDay', { day: d.day, booked: String(d.booked), proposed: String(d.proposed) })))),
    h('table', { class: 'meeting-grid-table' },
      h('caption', {}, t('host.meetingGrid')),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('host.meetingStart')), placeIds.map((id) => h('th', { scope: 'col' }, names.get(id))))),
      h('tbody', {}, grid.slots.map((row) => {
        const cells = new Map(row.cells.map((c) => [c.place, c]));
        return h('tr', {}, h('th', { scope: 'row' }, when(row.start)), placeIds.map((id) => {
          const cell = cells.get(id);
          if (!cell) return h('td', {}, '–');
          if (!cell.meeting) return h('td', {}, t('host.meetingFree'));
          const people = cell.meeting.people.map((p) => p.name).join(' · ');
          return h('td', {}, people, ' ',
            h('button', { type: 'button', class: 'quiet-button', testid: 'host-meeting-move',
              'aria-label': t('host.meetingMoveTitle', { people }), on: { click: () => openMove(cell.meeting, people) } },
            t('host.meetingMove')), ' ',
            h('button', { type: 'button', class: 'quiet-button', testid: 'host-meeting-cancel',
              on: { click: () => hostCancel(cell.meeting.id) } }, t('meetings.cancel')));
        }));
      }))));
}

/** The move dialog: the slots and places both people have free (GET /api/meetings/{id}/free-slots). */
async function openMove(meeting, people) {
  let slots;
  try {
    slots = (await call('GET', `/api/meetings/${encodeURIComponent(meeting.id)}/free-slots`)).slots;
  } catch (err) {
    toast(errorText(err), 'error');
    return;
  }
  const dialog = $('move-dialog');
  dialog.dataset.meeting = meeting.id;
  $('move-title').textContent = t('host.meetingMoveTitle', { people });
  const options = slots.flatMap((s) => s.places.map((p) => ({ slot: s, place: p })));
  setChildren($('move-options'), h('legend', {}, t('host.meetingMoveTo')),
    options.length ? options.map((o, i) => h('label', { class: 'meeting-slot' },
      h('input', { type: 'radio', name: 'move-to', value: `${o.slot.id}|${o.place.id}`, testid: 'move-option', checked: i === 0 }),
      ` ${when(o.slot.start)} · ${o.place.name}`))
      : h('p', { class: 'hint' }, t('host.meetingMoveNone')));
  $('move-send').disabled = !options.length;
  dialog.returnValue = '';
  dialog.showModal();
}

async function sendMove(event) {
  const dialog = $('move-dialog');
  if (event.submitter?.value !== 'ok') return;
  event.preventDefault();
  const chosen = dialog.querySelector('input[name="move-to"]:checked');
  if (!chosen) return;
  const [slot, place] = chosen.value.split('|');
  try {
    await call('POST', `/api/meetings/${encodeURIComponent(dialog.dataset.meeting)}/move`, { slot, place });
    dialog.close('ok');
    $('host-meeting-status').textContent = t('host.meetingMoved');
    loadGrid();
  } catch (err) {
    toast(errorText(err), 'error');
  }
}

/** A host cancels a booked meeting from the grid: both people are told (a `meeting` frame). */
async function hostCancel(id) {
  try {
    await call('POST', `/api/meetings/${encodeURIComponent(id)}/cancel`, {});
    loadGrid();
  } catch (err) {
    toast(errorText(err), 'error');
  }
}

async function addSlot(event) {
  event.preventDefault();
  const startValue = $('host-meeting-start').value;
  const minutes = Number($('host-meeting-minutes').value) || 20;
  const places = $('host-meeting-places').value.split(',').map((p) => p.trim()).filter(Boolean);
  const start = new Date(startValue);
  if (!startValue || Number.isNaN(start.getTime()) || !places.length) {
    $('host-meeting-status').textContent = t('error.bad_request');
    return;
  }
  try {
    await call('POST', '/api/meeting-slots', { start: start.toISOString(), end: new Date(start.getTime() + minutes * 60_000).toISOString(), places });
    $('host-meeting-status').textContent = t('host.meetingAdded');
    loadGrid();
  } catch (err) {
    $('host-meeting-status').textContent = errorText(err);
  }
}

async function downloadCsv() {
  try {
    const response = await fetch('/api/meetings.csv', { headers: { Authorization: `Bearer ${state.session.token}` }, cache: 'no-store' });
    if (!response.ok) throw new ApiError(response.status, `http_${response.status}`, '');
    const url = URL.createObjectURL(await response.blob());
    h('a', { href: url, download: 'meetings.csv' }).click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    toast(errorText(err), 'error');
  }
}
