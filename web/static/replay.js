// @ts-check
// replay.js — the rest of a `since` replay, for the app (handlers.js) and for client.js alike.
// `joined` carries at most one page of what was missed (`[limits] history_max`); when it says
// `more`, the rest is asked with `history` `after` the last message replayed, page by page, until
// a page says there is no more (docs/protocol.md: a replay is paged). A refusal that passes by
// itself (rate_limited, unavailable) is asked again a moment later; any other ends the replay with
// that error (disconnected: the rejoin's `since` goes on from the last page shown).

/**
 * @param {{
 *   request: (frame: {type: string, room: string, after: string, limit: number}) => Promise<any>,
 *   room: string, after: string, page: number, retryLater: number,
 *   onPage: (answer: any) => void, wanted?: () => boolean,
 * }} options
 *   request: sends a frame and resolves with the answer that echoes its ref (Link.request);
 *   onPage: each `history` answer, in order; wanted: asked before each page (false: the room was
 *   left or joined again, and this replay ends quietly).
 * @returns {Promise<void>}
 */
export async function replayPages({ request, room, after, page, retryLater, onPage, wanted = () => true }) {
  let last = after;
  while (wanted()) {
    let answer;
    try {
      answer = await request({ type: 'history', room, after: last, limit: page });
    } catch (error) {
      if (error.code !== 'rate_limited' && error.code !== 'unavailable') throw error;
      await new Promise((resolve) => { setTimeout(resolve, retryLater); }); // then ask again
      continue;
    }
    if (!wanted()) return;
    onPage(answer);
    const messages = answer.messages ?? [];
    if (!answer.more || !messages.length) return;
    last = messages[messages.length - 1].id;
  }
}
