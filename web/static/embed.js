// @ts-check
// embed.js — the room of /embed/ROOM: gets a token from the embedding page, then joins the
// room through client.js and shows its messages in the reader's language.
//
// Handshake: the frame posts {type: 'babelroom:ready', room} to its parent; the parent answers
// {type: 'babelroom:token', token, lang?}.  Only answers from the parent window whose origin is in
// [server] embed_origins are taken.  When the token is refused or expires the frame posts
// {type: 'babelroom:token-needed', room} and waits for another.  `#token=…&lang=…` in the frame's
// address works too (for pages that cannot script the frame).
import { BabelroomClient, CLOSE_UNAUTHORIZED } from './client.js';
import { errorText, t, useLanguage } from './i18n.js';

const room = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
const allowed = JSON.parse(/** @type {HTMLMetaElement} */ (document.querySelector('meta[name="babelroom-embed-origins"]')).content || '[]');
/** @type {(id: string) => any} */
const $ = (id) => document.getElementById(id);
const list = $('messages');
const rows = new Map(); // message id -> row element
let client = null;
let readingLang = null;
let parentOrigin = null;

function notice(text) {
  $('notice').textContent = text;
}

function render(message) {
  let row = rows.get(message.id);
  if (!row) {
    row = document.createElement('li');
    row.dataset.id = message.id;
    const who = document.createElement('span');
    who.className = 'who';
    const text = document.createElement('span');
    text.className = 'text';
    const original = document.createElement('span');
    original.className = 'original';
    row.append(who, text, original);
    rows.set(message.id, row);
    list.append(row);
  }
  row.dataset.original = message.text;
  row.querySelector('.who').textContent = message.user.name;
  showText(row, message.tr?.text);
  list.scrollTop = list.scrollHeight;
}

function showText(row, translated) {
  const original = row.dataset.original;
  row.querySelector('.text').textContent = translated || original;
  row.querySelector('.original').textContent = translated && translated !== original ? original : '';
}

function start(token, lang) {
  if (client) {
    client.token = token; // a fresh token for the next (re)connect
    if (client.status === 'offline') connect();
    return;
  }
  client = new BabelroomClient({ token, lang: lang || undefined });
  client.on('status', (status) => {
    $('status').textContent = t(`conn.${status}`);
  });
  client.on('ready', async (ready) => {
    readingLang = ready.lang;
    await useLanguage(ready.lang);
    $('status').textContent = t('conn.connected');
  });
  client.on('joined', (joined) => {
    // the title in the reader's language (`tr`), the original on hover
    const tr = joined.room.tr && joined.room.tr.lang === readingLang ? joined.room.tr : null;
    $('room-title').textContent = tr?.title || joined.room.title;
    $('room-title').title = tr ? t('room.titleOriginalOf', { title: joined.room.title }) : '';
    if (joined.recovered === false) {
      rows.clear();
      list.replaceChildren();
      notice(t('room.notRecovered'));
    } else {
      notice(joined.messages.length || rows.size ? '' : t('room.empty'));
    }
    joined.messages.forEach(render);
    $('composer').hidden = false;
  });
  client.on('message', (message) => {
    if (message.room !== room) return;
    notice('');
    render(message);
  });
  client.on('translation', (translation) => {
    const row = rows.get(translation.id);
    if (row && translation.room === room && translation.lang === readingLang) showText(row, translation.text);
  });
  client.on('left', (left) => {
    if (left.room === room) {
      $('composer').hidden = true;
      notice(errorText(left.reason === 'closed' ? 'room_closed' : left.reason));
    }
  });
  client.on('close', ({ code, final }) => {
    if (final && code === CLOSE_UNAUTHORIZED) {
      $('composer').hidden = true;
      notice(t('error.unauthorized'));
      askParent('babelroom:token-needed');
    }
  });
  connect();
}

async function connect() {
  try {
    await client.connect();
    if (!client.rooms.has(room)) await client.join(room); // after a new token, `ready` rejoins it
  } catch (error) {
    notice(errorText(error));
  }
}

function askParent(type) {
  if (window.parent !== window) window.parent.postMessage({ type, room }, parentOrigin || '*');
}

window.addEventListener('message', (event) => {
  if (event.source !== window.parent || !allowed.includes(event.origin)) return;
  const data = event.data;
  if (!data || data.type !== 'babelroom:token' || typeof data.token !== 'string' || !data.token) return;
  parentOrigin = event.origin;
  start(data.token, typeof data.lang === 'string' ? data.lang : null);
});

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const box = $('text');
  const text = box.value.trim();
  if (!text || !client) return;
  box.value = '';
  try {
    await client.send(room, text);
  } catch (error) {
    notice(errorText(error));
  }
});

$('text').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});

await useLanguage(navigator.language);
const hash = new URLSearchParams(location.hash.slice(1));
if (hash.get('token')) {
  history.replaceState(null, '', location.pathname + location.search); // keep the token out of the address
  start(hash.get('token'), hash.get('lang'));
} else if (window.parent !== window) {
  askParent('babelroom:ready');
}
