// @ts-check
// api.js — the HTTP API: delegate sessions, the room and language lists, and the
// host's room controls (Bearer token).  Every failure becomes an ApiError whose
// code the page translates (i18n.js errorText); the message is the server's English.

export class ApiError extends Error {
  constructor(status, code, message, field = null, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field; // the body field a 400 is about, when the server names it
    this.retryAfter = retryAfter; // the body's retry_after: seconds until the refusal passes by itself
    /** @type {unknown[] | null} a meeting's 409 taken: the next slots both people have free */
    this.next = null;
  }
}

/**
 * @param {string} method
 * @param {string} path
 * @param {{body?: unknown, token?: string | null}} [options]
 */
async function call(method, path, { body, token } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection and try again.');
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const message = data?.message || `The server answered ${response.status} ${response.statusText}.`;
    const error = new ApiError(response.status, data?.code || `http_${response.status}`, message, data?.field || null,
      data?.retry_after ?? null);
    if (Array.isArray(data?.next)) error.next = data.next;
    throw error;
  }
  return data ?? {};
}

const room = (id) => `/api/rooms/${encodeURIComponent(id)}`;

export const api = {
  createSession(name, lang, accessCode, profile = {}) {
    /** @type {Record<string, unknown>} */
    const body = { name, lang, ...profile }; // profile: organization?, country?, bio? (the lobby's profile box)
    if (accessCode) body.access_code = accessCode;
    return call('POST', '/api/session', { body });
  },
  /** A personal sign-in code: the same person on this device (lang: this device's reading language). */
  signInWithCode: (code, lang) => call('POST', '/api/session', { body: lang ? { code, lang } : { code } }),
  /** How the event lets people in: 'open' | 'code' | 'invited'. */
  access: () => call('GET', '/api/access').then((data) => data.access || 'open'),
  renewSession: (token) => call('POST', '/api/session/renew', { token }),
  signOut: (token) => call('DELETE', '/api/session', { token }),
  mySessions: (token) => call('GET', '/api/me/sessions', { token }).then((data) => data.sessions || []),
  endMySession: (token, id) => call('DELETE', `/api/me/sessions/${encodeURIComponent(id)}`, { token }),
  signOutEverywhere: (token) => call('DELETE', '/api/me/sessions', { token }),
  signinCode: (token) => call('POST', '/api/me/signin-code', { token }),
  /** The organisers' delegate list as a CSV file (hosts): {imported, created, updated, unchanged, refused}. */
  importDelegates: (token, csv) => call('POST', '/api/delegates', { token, body: { csv } }),
  /** The lobby; with lang, each room's `tr` gives title and forum in that language where possible. */
  rooms: (lang) => call('GET', lang ? `/api/rooms?lang=${encodeURIComponent(lang)}` : '/api/rooms')
    .then((data) => data.rooms || []),
  languages: () => call('GET', '/api/languages').then((data) => data.languages || []),

  // host controls
  openRoom: (token, fields) => call('POST', '/api/rooms', { token, body: fields }),
  updateRoom: (token, id, changes) => call('PATCH', room(id), { token, body: changes }),
  addModerator: (token, id, user) => call('POST', `${room(id)}/moderators`, { token, body: { user } }),
  /** The room's transcript as {blob, name}: lang = translations into, format = md | csv | json. */
  async transcript(token, id, lang, format) {
    const query = new URLSearchParams({ lang, format });
    let response;
    try {
      response = await fetch(`${room(id)}/transcript?${query}`, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
    } catch {
      throw new ApiError(0, 'network', 'The server cannot be reached.');
    }
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      throw new ApiError(response.status, data?.code || `http_${response.status}`, data?.message || '', data?.field || null);
    }
    return { blob: await response.blob(), name: `${id}-transcript-${lang}.${format}` };
  },
  /** The terms never translated, as the server uses them now (a list of strings). */
  glossary: (token) => call('GET', '/api/glossary', { token }).then((data) => data.terms || []),
  /** Replace them on every node; resolves to the terms as kept (trimmed, duplicates dropped). */
  setGlossary: (token, terms) => call('PUT', '/api/glossary', { token, body: { terms } }).then((data) => data.terms || []),
  removeModerator: (token, id, user) =>
    call('DELETE', `${room(id)}/moderators/${encodeURIComponent(user)}`, { token }),

  // matchmaking (view-people.js)
  /** The directory: params (URLSearchParams) q, lang, country, cursor; {people, next}. */
  people: (token, params) => call('GET', `/api/people?${params}`, { token }),
  me: (token) => call('GET', '/api/me', { token }),
  updateMe: (token, changes) => call('PATCH', '/api/me', { token, body: changes }),
  conversations: (token) => call('GET', '/api/conversations', { token }),
  /** A private conversation with these people (a 403 `forbidden` where the organiser asks for a contact request). */
  openConversation: (token, users) => call('POST', '/api/conversations', { token, body: { with: users } }),
  leaveConversation: (token, id) => call('DELETE', `/api/conversations/${encodeURIComponent(id)}`, { token }),
  requests: (token) => call('GET', '/api/requests', { token }),
  blocks: (token) => call('GET', '/api/blocks', { token }),
  block: (token, user) => call('POST', '/api/blocks', { token, body: { user } }),
  unblock: (token, user) => call('DELETE', `/api/blocks/${encodeURIComponent(user)}`, { token }),

  // meetings (view-meetings.js)
  myMeetings: (token) => call('GET', '/api/me/meetings', { token }),
  /** The event's meeting slots: {slots, reminder_minutes, ...}; hosts replace them with setMeetingSlots. */
  meetingSlots: (token) => call('GET', '/api/meeting-slots', { token }),
  setMeetingSlots: (token, body) => call('POST', '/api/meeting-slots', { token, body }),
  proposeMeeting: (token, body) => call('POST', '/api/meetings', { token, body }),
  /** A step on one meeting: accept, decline, propose, move, cancel, ... */
  meetingStep: (token, id, step, body) => call('POST', `/api/meetings/${encodeURIComponent(id)}/${step}`, { token, body }),
  meetingFreeSlots: (token, id) => call('GET', `/api/meetings/${encodeURIComponent(id)}/free-slots`, { token }),
  meetingGrid: (token) => call('GET', '/api/meetings/grid', { token }),

  // the moderation inbox (hosts and moderators of the whole event)
  /** The open reports grouped by message, with translations into `lang` where stored. */
  reportInbox: (token, lang) => call('GET', `/api/reports/inbox?${new URLSearchParams({ lang })}`, { token }),
  /** Delete / mute / ban / dismiss: {room, message, action, reason?}; closes the message's reports. */
  closeReports: (token, body) => call('POST', '/api/reports/close', { token, body }),
};
