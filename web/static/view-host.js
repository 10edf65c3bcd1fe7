// @ts-check
// view-host.js — the host panel (shown on the home view to hosts only): open a room,
// change a room's title / state / slow mode, close it (after confirming), appoint and
// remove moderators (picked from the members seen), download a room's transcript, edit
// the glossary (terms never translated, one per line; GET/PUT /api/glossary).
// The forms are static in index.html; this module wires them to the app's host
// actions (HTTP with the Bearer token) and keeps the room picker current.

import { $, h } from './dom.js';
import { state, onRender } from './state.js';
import { t, errorText, hasKey } from './i18n.js';
import { confirmAction } from './confirm.js';
import { api } from './api.js';
import { languageList, languageLabel, sortedLanguages } from './format.js';

let actions;

export function initHostPanel(appActions) {
  actions = appActions;
  $('host-open-form').addEventListener('submit', onOpen);
  $('host-edit-form').addEventListener('submit', onSave);
  $('host-room').addEventListener('change', () => {
    state.hostRoom = $('host-room').value;
    fillEditForm();
  });
  $('host-close').addEventListener('click', onCloseRoom);
  $('host-export').addEventListener('click', onExport);
  $('host-mod-add').addEventListener('click', () => onModerator(true));
  $('host-mod-remove').addEventListener('click', () => onModerator(false));
  $('host-glossary-form').addEventListener('submit', onSaveGlossary);
  $('host-delegates-form').addEventListener('submit', onImportDelegates);
  $('host-glossary').addEventListener('input', () => { glossaryEdited = true; });
  onRender('host', renderHostPanel);
}

const selected = () => $('host-room').value;

/** Show the outcome of a host action in a status line (the panel's, or the form's own); `success` is the
 * line, or a function of the server's answer that words it. */
async function run(promise, success, status = $('host-status')) {
  status.className = 'host-status';
  status.textContent = t('host.working');
  try {
    const result = await promise;
    status.textContent = typeof success === 'function' ? success(result) : success;
    return result ?? true;
  } catch (err) {
    status.className = 'host-status error-text';
    status.textContent = hostErrorText(err);
    return false;
  }
}

/** Plain words for a refused host request: by the field it names, else by its code. */
function hostErrorText(err) {
  if (err.field && hasKey(`hostError.${err.field}`)) return t(`hostError.${err.field}`);
  if (err.code === 'conflict') return t('hostError.exists');
  return errorText(err);
}

async function onOpen(event) {
  event.preventDefault();
  const fields = {
    id: $('host-open-id').value.trim(),
    title: $('host-open-title').value.trim(),
    state: $('host-open-state').value,
  };
  const forum = $('host-open-forum').value.trim();
  if (forum) fields.forum = forum;
  if (!fields.id || !fields.title) {
    $('host-status').className = 'host-status error-text';
    $('host-status').textContent = t('host.needIdTitle');
    return;
  }
  if (await run(actions.openNewRoom(fields), t('host.opened', { title: fields.title }))) {
    $('host-open-form').reset();
    state.hostRoom = fields.id;
  }
}

function onSave(event) {
  event.preventDefault();
  const room = state.rooms.get(selected());
  if (!room) return;
  const changes = {};
  const title = $('host-title-input').value.trim();
  if (title && title !== room.title) changes.title = title;
  if ($('host-state').value !== room.state) changes.state = $('host-state').value;
  const slow = Number.parseInt($('host-slow').value || '0', 10);
  if (Number.isFinite(slow) && slow >= 0 && slow !== (room.slow_mode || 0)) changes.slow_mode = slow;
  if (!Object.keys(changes).length) {
    $('host-status').textContent = t('host.nothing');
    return;
  }
  run(actions.updateRoom(room.id, changes), t('host.updated'));
}

async function onCloseRoom() {
  const room = state.rooms.get(selected());
  if (!room) return;
  const title = room.title || room.id;
  const answer = await confirmAction({
    title: t('confirm.closeTitle', { room: title }), text: t('confirm.closeText', { room: title }), ok: t('host.close'),
  });
  if (answer) run(actions.updateRoom(room.id, { state: 'closed' }), t('host.closed'));
}

/** Fetch the transcript with the host token and hand it to the browser as a download. */
async function onExport() {
  const room = state.rooms.get(selected());
  if (!room) return;
  const lang = $('host-export-lang').value;
  const format = $('host-export-format').value;
  const file = await run(actions.transcript(room.id, lang, format), t('host.exported'));
  if (!file) return;
  const url = URL.createObjectURL(file.blob);
  const link = h('a', { href: url, download: file.name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function onModerator(appoint) {
  const user = $('host-mod-user').value.trim();
  if (!user || !selected()) {
    $('host-status').className = 'host-status error-text';
    $('host-status').textContent = t('host.needUser');
    return;
  }
  run(actions.setModerator(selected(), user, appoint), (answer) => {
    const name = answer?.name || state.names.get(user) || user; // the server names the person when it knows them
    return appoint ? t('host.appointed', { name }) : t('host.unappointed', { name });
  });
}

// The glossary is fetched once per session when the panel first shows; from then on the
// field holds what the host typed or last saved (another host's change is not pushed here).
let glossaryToken = null;
let glossaryEdited = false;

function loadGlossary() {
  glossaryToken = state.session?.token ?? null;
  glossaryEdited = false;
  actions.glossary()
    .then((terms) => { if (!glossaryEdited) $('host-glossary').value = terms.join('\n'); })
    .catch((err) => {
      $('host-glossary-status').className = 'host-status error-text';
      $('host-glossary-status').textContent = hostErrorText(err);
    });
}

/** The delegate list (issue 23): the CSV as it is, checked row by row on the server; all or nothing. */
async function onImportDelegates(event) {
  event.preventDefault();
  const status = $('host-delegates-status');
  const file = $('host-delegates-file').files?.[0];
  if (!file) {
    status.className = 'host-status error-text';
    status.textContent = t('host.delegatesNoFile');
    return;
  }
  const csv = await file.text();
  await run(api.importDelegates(state.session.token, csv), (report) => {
    if (report.imported) return t('host.delegatesImported', report);
    status.className = 'host-status error-text';
    return t('host.delegatesRefused', { rows: report.refused.map((r) => r.row).join(', ') });
  }, status);
}

async function onSaveGlossary(event) {
  event.preventDefault();
  const terms = $('host-glossary').value.split('\n').map((line) => line.trim()).filter(Boolean);
  const kept = await run(actions.setGlossary(terms), t('host.glossarySaved'), $('host-glossary-status'));
  if (kept) {
    $('host-glossary').value = kept.join('\n'); // as the server keeps them: trimmed, duplicates gone
    glossaryEdited = false;
  }
}

/** Put the selected room's current values into the edit form. */
function fillEditForm() {
  const room = state.rooms.get(selected());
  $('host-title-input').value = room?.title || '';
  $('host-state').value = room?.state || 'open';
  $('host-slow').value = String(room?.slow_mode || 0);
}

function renderHostPanel() {
  if ($('host-panel').hidden && state.me?.role !== 'host') return;
  const picker = $('host-room');
  const before = picker.value;
  const rooms = [...state.rooms.values()];
  picker.replaceChildren(...rooms.map((room) =>
    h('option', { value: room.id },
      t(room.state === 'closed' ? 'host.roomOptionClosed' : 'host.roomOption', { title: room.title || room.id, id: room.id }))));
  const wanted = state.hostRoom && state.rooms.has(state.hostRoom) ? state.hostRoom : before;
  if (wanted && state.rooms.has(wanted)) picker.value = wanted;
  const editing = $('host-edit-form').contains(document.activeElement) && document.activeElement !== picker;
  if (picker.value !== before || !editing) fillEditForm();
  $('host-edit-form').querySelectorAll('input, select, button').forEach((el) => { el.disabled = rooms.length === 0; });
  renderModeratorChoices();
  renderExportLanguages();
  if (state.me?.role === 'host' && state.session?.token && state.session.token !== glossaryToken) loadGlossary();
}

/** Members of the picked room (when the host is in it) and everyone seen, to pick instead of typing an id. */
function renderModeratorChoices() {
  const people = new Map();
  const inRoom = state.joined.get(selected());
  for (const room of [inRoom, ...state.joined.values()]) {
    if (!room) continue;
    for (const m of room.members.values()) if (m.id !== state.me?.id && !people.has(m.id)) people.set(m.id, m.name);
  }
  $('host-mod-choices').replaceChildren(...[...people].map(([id, name]) => h('option', { value: id, label: `${name} · ${id}` })));
}

function renderExportLanguages() {
  const select = $('host-export-lang');
  const before = select.value || state.lang;
  select.replaceChildren(...sortedLanguages(languageList()).map((l) => h('option', { value: l.code }, languageLabel(l.code))));
  select.value = before;
}

/** Bring the panel into view with a room picked (the room header's "Manage"). */
export function focusHostPanel() {
  $('host-panel').scrollIntoView({ block: 'start' });
  $('host-title-input').focus();
}
