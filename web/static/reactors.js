// reactors.js — who reacted to a message (issue 25): shown under a reaction's chip while it is
// hovered, focused or long-pressed. The live `reaction` frames carry counts only (coalesced), so the
// names are asked of the server (`reactions {room, id}`, docs/protocol.md) when a chip is shown,
// and kept until the message's reactions change.

import { $, h } from './dom.js';
import { t, uiLanguage } from './i18n.js';
import { state } from './state.js';

let actions;
const known = new Map(); // "room message" -> promise of {emoji: [{id, name}]}

export function initReactors(appActions) {
  actions = appActions;
}

const keyOf = (roomId, id) => `${roomId} ${id}`;

/** The message's reactions changed: ask again next time. */
export function forgetReactors(roomId, id) {
  known.delete(keyOf(roomId, id));
}

/** The tooltip element's id, for the chip's aria-describedby. */
export function reactorsTipId(item, emoji) {
  return `reactors-${item.id}-${[...emoji].map((c) => c.codePointAt(0).toString(16)).join('-')}`;
}

/** The (hidden until shown) tooltip beside a chip. */
export function reactorsTip(item, emoji) {
  return h('span', { id: reactorsTipId(item, emoji), class: 'reactors', role: 'tooltip', testid: 'reactors', hidden: true });
}

function names(users) {
  const list = new Intl.ListFormat(uiLanguage(), { type: 'conjunction' });
  return list.format(users.map((u) => (u.id === state.me?.id ? t('who.you') : u.name || u.id)));
}

export async function showReactors(room, item, emoji) {
  const tip = $(reactorsTipId(item, emoji));
  if (!tip || !actions?.whoReacted) return;
  const key = keyOf(room.id, item.id);
  if (!known.has(key)) {
    const asked = actions.whoReacted(room.id, item.id);
    known.set(key, asked);
    asked.catch(() => known.delete(key));
  }
  tip.hidden = false;
  if (!tip.textContent) tip.textContent = '…';
  let users;
  try {
    users = (await known.get(key))?.[emoji] || [];
  } catch {
    tip.hidden = true;
    return;
  }
  const shown = $(reactorsTipId(item, emoji)); // the message may have been drawn again meanwhile
  if (!shown || shown.hidden) return;
  shown.textContent = users.length ? t('msg.reactedBy', { emoji, names: names(users) }) : '';
  shown.hidden = !users.length;
}

export function hideReactors(item, emoji) {
  const tip = $(reactorsTipId(item, emoji));
  if (tip) tip.hidden = true;
}
