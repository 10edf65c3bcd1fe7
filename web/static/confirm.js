// @ts-check
// confirm.js — the one confirmation dialog (index.html #confirm): "Ban Dora from this
// room?" with an optional reason, before the actions that cannot be taken back
// (ban, delete a message, close a room).  A native modal <dialog>: it traps focus and
// Escape cancels; focus returns to the control that opened it.

import { $ } from './dom.js';

let settle = null;
let opener = null;

export function initConfirm() {
  const dialog = $('confirm');
  dialog.addEventListener('close', () => {
    const done = settle;
    settle = null;
    const ok = dialog.returnValue === 'ok';
    done?.(ok ? { reason: $('confirm-reason').value.trim() } : null);
    if (opener?.isConnected) opener.focus();
    opener = null;
  });
}

/**
 * Ask before acting.  Resolves with {reason} when confirmed ('' when none was given or
 * no reason field was shown), null when cancelled.
 */
export function confirmAction({ title, text, ok, reason = null }) {
  const dialog = $('confirm');
  if (dialog.open) dialog.close('cancel');
  opener = document.activeElement;
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = ok;
  $('confirm-reason-field').hidden = reason === null;
  $('confirm-reason').value = reason ?? '';
  dialog.returnValue = '';
  return new Promise((resolve) => {
    settle = resolve;
    dialog.showModal();
    (reason === null ? $('confirm-cancel') : $('confirm-reason')).focus();
  });
}
