"""The OpenAPI 3.1 description of the HTTP API, served at /api/openapi.json.

Written by hand in one place; tests check that every HTTP route of the app is described here
and schemathesis checks the running server against it. A new route adds its entry here.
"""
from __future__ import annotations

import copy
import functools
import sys
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route

from rooms import SLOW_MODE_MAX, TITLE_MAX
from rooms.conversations import CURSOR_PATTERN, MAX_MEMBERS, PAGE_MAX
from rooms.conversations import TITLE_MAX as CONVERSATION_TITLE_MAX
from rooms.countries import COUNTRIES
from rooms.meetings import NEXT_SLOTS, NOTE_MAX, PLACE_NAME_MAX, REASON_MAX, SLOTS_PER_PROPOSAL
from rooms.models import ROOM_ID
from rooms.reports import ACTIONS as REPORT_ACTIONS
from rooms.reports import PAGE_DEFAULT as REPORT_PAGE_DEFAULT
from rooms.reports import PAGE_MAX as REPORT_PAGE_MAX
from rooms.reports import STATES as REPORT_STATES
from rooms.text import USER_ID_MAX, char_kind
from translation.protect import MAX_TERM_CHARS, MAX_TERMS
from web.api import NAME_MAX
from web.errors import MAX_BODY
from web.meetings import ID_PATTERN as MEETING_ID_PATTERN
from web.people import QUERY_MAX
from web.reports import MUTE_MAX
from web.reports import REASON_MAX as REPORT_REASON_MAX
from web.services import node_of

ROOM_ID_PATTERN = ROOM_ID.pattern


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, **(json_content(schema) if schema else {})}


def error(description: str) -> dict[str, Any]:
    return answer(description, ref("Error"))


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, **json_content(schema)}


BAD_BODY = {"400": error("the body is not a JSON object, or a field is missing, malformed or unknown "
                         "(the message names it)"),
            "413": error(f"the body is larger than {MAX_BODY} bytes")}
HOST_ONLY = {"401": error("no Bearer token, or a bad, forged or expired one"),
             "403": error("the token is not a host's")}
NO_ROOM = {"404": error("there is no such room")}
AUTH_401 = error("no Bearer token, a bad, forged or expired one, or its sign-in has ended")
ROOM_PATH = {"name": "room", "in": "path", "required": True, "schema": {"type": "string", "pattern": ROOM_ID_PATTERN}}
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string", "examples": ["bad_request"]},
                       "message": {"type": "string", "description": "what went wrong and what to do"},
                       "field": {"type": "string", "description": "the field or parameter at fault, when one is"},
                       "retry_after": {"type": "integer", "minimum": 0,
                                       "description": "when the refusal passes by itself (a wait, a cooldown, a "
                                                      "timed mute): in how many seconds; also the Retry-After "
                                                      "header"}},
    },
    "User": {
        "type": "object", "required": ["id", "name", "role"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                       "role": {"enum": ["host", "moderator", "delegate"]}},
    },
    "SessionRequest": {
        "type": "object", "required": ["name", "lang"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX,
                     "description": "display name: it must show (no control, format or invisible characters, "
                                    "nothing that renders blank), and a delegate's may not copy or look like a "
                                    "host's or moderator's name (409 name_reserved)"},
            "lang": {"type": "string", "maxLength": 12, "description": "a code GET /api/languages lists"},
            "access_code": {"type": ["string", "null"], "description": "needed when the event has an access code"},
        },
    },
    "CodeSignIn": {
        "type": "object", "required": ["code"],
        "properties": {
            "code": {"type": "string", "minLength": 1, "maxLength": 40,
                     "description": "a personal sign-in code (POST /api/me/signin-code, or the organisers'); "
                                    "single use; case, dashes and spaces do not matter"},
            "lang": {"type": "string", "maxLength": 12, "description": "this device's reading language; "
                                                                       "default: the person's"},
        },
    },
    "Session": {
        "type": "object", "required": ["token", "user", "lang", "expires_in"],
        "properties": {"token": {"type": "string", "description": "a JWT for the `auth` frame"},
                       "user": ref("User"), "lang": {"type": "string"},
                       "expires_in": {"type": "integer", "description": "seconds"},
                       "session": {"type": "string", "description": "this device's sign-in (the token's `sid`): "
                                                                    "GET /api/me/sessions lists it"}},
    },
    "SignIns": {
        "type": "object", "required": ["sessions"],
        "properties": {"sessions": {"type": "array", "items": {
            "type": "object", "required": ["id", "device", "created", "last_seen", "current"],
            "properties": {"id": {"type": "string"},
                           "device": {"type": "string", "description": "from the User-Agent: 'Firefox on Android'"},
                           "created": {"type": "integer", "description": "ms since the epoch"},
                           "last_seen": {"type": "integer", "description": "ms since the epoch"},
                           "current": {"type": "boolean", "description": "the sign-in of this request's token"}}}}},
    },
    "DelegateImport": {
        "type": "object", "required": ["imported", "created", "updated", "unchanged", "refused"],
        "properties": {"imported": {"type": "boolean", "description": "false: a row was refused, nothing saved"},
                       "created": {"type": "integer"}, "updated": {"type": "integer"},
                       "unchanged": {"type": "integer"},
                       "refused": {"type": "array", "items": {
                           "type": "object", "required": ["row", "reason"],
                           "properties": {"row": {"type": "integer", "description": "1 = the first row"},
                                          "reason": {"type": "string"}}}}},
    },
    "SignInCode": {
        "type": "object", "required": ["code", "url", "expires", "qr"],
        "properties": {"code": {"type": "string", "description": "single use; never logged"},
                       "url": {"type": "string", "description": "the app with #code=... (a fragment: never sent "
                                                                "to a server)"},
                       "expires": {"type": "integer", "description": "ms since the epoch"},
                       "qr": {"type": "string", "description": "the url as a QR code: a data:image/svg+xml URI"}},
    },
    "Room": {
        "type": "object", "required": ["id", "title", "forum", "state", "slow_mode", "members"],
        "properties": {
            "id": {"type": "string", "pattern": ROOM_ID_PATTERN}, "title": {"type": "string"},
            "forum": {"type": "string"}, "state": {"enum": ["open", "read_only", "closed"]},
            "slow_mode": {"type": "integer", "minimum": 0, "description": "seconds between a delegate's messages"},
            "members": {"type": "integer", "minimum": 0, "description": "distinct users in the room, every node"},
            "tr": {"type": "object", "required": ["lang", "title", "forum"],
                   "description": "title and forum in the language asked with ?lang= (where a route exists)",
                   "properties": {"lang": {"type": "string"}, "title": {"type": "string"},
                                  "forum": {"type": "string"}}},
        },
    },
    "RoomList": {"type": "object", "required": ["rooms"],
                 "properties": {"rooms": {"type": "array", "items": ref("Room")}}},
    "NewRoom": {
        "type": "object", "required": ["id", "title"], "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": ROOM_ID_PATTERN},
            "title": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX, "pattern": r"\S"},
            "forum": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX, "pattern": r"\S"},
            "state": {"enum": ["open", "read_only", "closed"]},
            "slow_mode": {"type": "integer", "minimum": 0, "maximum": SLOW_MODE_MAX},
        },
    },
    "RoomChange": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX, "pattern": r"\S"},
            "forum": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX, "pattern": r"\S"},
            "state": {"enum": ["open", "read_only", "closed"]},
            "slow_mode": {"type": "integer", "minimum": 0, "maximum": SLOW_MODE_MAX},
        },
    },
    "Appointment": {
        "type": "object", "required": ["user"], "additionalProperties": False,
        "properties": {"user": {"type": "string", "minLength": 1, "maxLength": USER_ID_MAX, "pattern": r"\S"}},
    },
    "Moderator": {
        "type": "object", "required": ["room", "user", "moderator"],
        "properties": {"room": {"type": "string"}, "user": {"type": "string"}, "moderator": {"type": "boolean"},
                       "name": {"type": "string", "description": "the user's display name, when the server knows it"}},
    },
    "ModerationLog": {
        "type": "object", "required": ["room", "entries"],
        "properties": {"room": {"type": "string"}, "entries": {"type": "array", "items": {
            "type": "object", "required": ["ts", "action", "by"],
            "properties": {
                "ts": {"type": "integer", "description": "ms since the epoch"},
                "action": {"enum": ["mute", "unmute", "kick", "ban", "unban", "delete"]},
                "user": {"type": "string", "description": "the target (not on delete)"},
                "id": {"type": "string", "description": "the deleted message (delete only)"},
                "by": {"type": "object", "required": ["id", "name"],
                       "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
                "until": {"type": "integer", "description": "mute end, ms; absent = until unmuted"},
                "reason": {"type": "string"},
            }}}},
    },
    "Languages": {
        "type": "object", "required": ["languages"],
        "properties": {"languages": {"type": "array", "items": {
            "type": "object", "required": ["code", "name", "rtl", "translatable"],
            "properties": {"code": {"type": "string"}, "name": {"type": "string", "description": "in itself"},
                           "rtl": {"type": "boolean"},
                           "translatable": {"type": "boolean", "description": "an installed package reaches it"}},
        }}},
    },
    "Health": {
        "type": "object", "required": ["status", "node", "backend", "connections"],
        "properties": {"status": {"enum": ["ok", "degraded"]}, "node": {"type": "string"},
                       "backend": {"type": "string"}, "connections": {"type": "integer", "minimum": 0},
                       "reason": {"type": "string", "description": "while degraded: why (unreachable, cannot write)"}},
    },
}
PEOPLE_SCHEMAS: dict[str, Any] = {
    "Profile": {
        "type": "object", "required": ["id", "name", "lang"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "lang": {"type": "string"},
                       "organization": {"type": "string"}, "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                       "bio": {"type": "string"}, "online": {"type": "boolean"}},
    },
    "Person": {"type": "object", "required": ["id", "name"],
               "description": "a profile; only id, name and online for someone never seen",
               "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "lang": {"type": "string"},
                              "organization": {"type": "string"}, "country": {"type": "string"},
                              "bio": {"type": "string"}, "online": {"type": "boolean"}}},
    "People": {"type": "object", "required": ["people", "next"],
               "properties": {"people": {"type": "array", "items": ref("Profile")},
                              "next": {"type": ["string", "null"], "description": "the cursor of the next page"}}},
    "Me": {"allOf": [ref("Profile"), {"type": "object", "required": ["hidden"],
                                       "properties": {"hidden": {"type": "boolean"}}}]},
    "MeChange": {"type": "object", "required": ["hidden"], "additionalProperties": False,
                 "properties": {"hidden": {"type": "boolean"}}},
    "Conversation": {
        "type": "object", "required": ["id", "kind", "title", "state", "members"],
        "properties": {"id": {"type": "string"}, "kind": {"type": "string"}, "title": {"type": "string"},
                       "state": {"enum": ["open", "read_only", "closed"]}, "forum": {"type": "string"},
                       "slow_mode": {"type": "integer"},
                       "members": {"type": "array", "items": ref("Person")},
                       "unread": {"type": "integer", "minimum": 0}},
    },
    "NewConversation": {
        "type": "object", "required": ["with"], "additionalProperties": False,
        "properties": {"with": {"type": "array", "minItems": 1, "maxItems": MAX_MEMBERS - 1, "uniqueItems": True,
                                "items": {"type": "string", "minLength": 1, "maxLength": USER_ID_MAX}},
                       "title": {"type": "string", "minLength": 1, "maxLength": CONVERSATION_TITLE_MAX,
                                 "pattern": r"\S"}},
    },
    "ConversationAnswer": {
        "type": "object", "required": ["room"],
        "properties": {"room": ref("Conversation"),
                       "invited": {"type": "array", "items": {"type": "string"},
                                   "description": "a group under policy `request`: whom an invitation (a "
                                                  "`request` frame with `group`) went to; each is a member "
                                                  "once they accept it"}}},
    "Conversations": {"type": "object", "required": ["conversations"],
                      "properties": {"conversations": {"type": "array", "items": ref("Conversation")}}},
    "Left": {"type": "object", "required": ["room", "left"],
             "properties": {"room": {"type": "string"}, "left": {"type": "boolean"}}},
    "Requests": {"type": "object", "required": ["incoming", "outgoing"],
                 "properties": {"incoming": {"type": "array", "items": {"type": "object"}},
                                "outgoing": {"type": "array", "items": {"type": "object"}}}},
    "BlockedPerson": {"type": "object", "required": ["id", "name"], "additionalProperties": False,
                      "description": "what the person chose to show: only id and name when they hid from the "
                                     "directory (or were never seen); never whether they are online",
                      "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                     "lang": {"type": "string"}, "organization": {"type": "string"},
                                     "country": {"type": "string"}, "bio": {"type": "string"}}},
    "Blocks": {"type": "object", "required": ["users"],
               "properties": {"users": {"type": "array", "items": ref("BlockedPerson")}}},
    "BlockRequest": {"type": "object", "required": ["user"], "additionalProperties": False,
                     "properties": {"user": {"type": "string", "minLength": 1, "maxLength": USER_ID_MAX,
                                                     "pattern": r"\S"}}},
    "Block": {"type": "object", "required": ["user", "blocked"],
              "properties": {"user": {"type": "string"}, "blocked": {"type": "boolean"}}},
}
REPORT_SCHEMAS: dict[str, Any] = {
    "Report": {
        "type": "object", "required": ["id", "ts", "room", "message", "reporter", "state"],
        "properties": {
            "id": {"type": "string"}, "ts": {"type": "integer"},
            "room": {"type": "object",
                     "properties": {"id": {"type": "string"}, "kind": {"enum": ["forum", "private"]}}},
            "message": {"type": "object", "description": "the reported message as it was: id, ts, user {id, name}, "
                                                         "lang, text"},
            "reporter": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
            "reason": {"type": "string"},
            "state": {"enum": list(REPORT_STATES)},
            "closed": {"type": "object", "description": "who closed it, when, and how: {by {id, name}, ts, action}"}}},
    "Reports": {"type": "object", "required": ["reports", "next", "open"],
                "properties": {"reports": {"type": "array", "items": ref("Report")},
                               "next": {"type": ["string", "null"],
                                        "description": "pass as `cursor` for the following page; null at the end"},
                               "open": {"type": "integer", "description": "open reports in all"}}},
    "ReportGroup": {
        "type": "object", "required": ["room", "message", "reporters", "reasons", "reports", "first", "last"],
        "properties": {
            "room": {"type": "object"},
            "message": {"type": "object", "description": "id, ts, user {id, name}, lang, text (the original) and "
                                                         "tr {lang, text} when its translation is stored"},
            "reporters": {"type": "integer", "description": "how many people reported it"},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "reports": {"type": "array", "items": {"type": "string"}, "description": "the report ids"},
            "first": {"type": "integer"}, "last": {"type": "integer"}}},
    "Inbox": {"type": "object", "required": ["open", "lang", "groups"],
              "properties": {"open": {"type": "integer"}, "lang": {"type": "string"},
                             "groups": {"type": "array", "items": ref("ReportGroup")}}},
    "ReportClose": {
        "type": "object", "required": ["room", "message", "action"], "additionalProperties": False,
        "properties": {
            "room": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"\S"},
            "message": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"\S"},
            "action": {"enum": list(REPORT_ACTIONS)},
            "reason": {"type": "string", "minLength": 1, "maxLength": REPORT_REASON_MAX, "pattern": r"\S"},
            "seconds": {"type": "integer", "minimum": 1, "maximum": MUTE_MAX,
                        "description": "mute: how long (absent: until unmuted)"}}},
    "ReportsClosed": {"type": "object", "required": ["room", "message", "action", "state", "closed"],
                      "properties": {"room": {"type": "string"}, "message": {"type": "string"},
                                     "action": {"enum": list(REPORT_ACTIONS)},
                                     "state": {"enum": ["actioned", "dismissed"]},
                                     "closed": {"type": "array", "items": {"type": "string"},
                                                "description": "the ids of the reports closed"}}},
}
AUTH = {"401": error("no Bearer token, or a bad, forged or expired one")}
PEOPLE_PATHS: dict[str, Any] = {
    "/api/people": {"get": {
        "operationId": "people", "summary": "The directory: people by name, filtered by reading language and country",
        "security": BEARER,
        "parameters": [
            {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": QUERY_MAX}},
            {"name": "lang", "in": "query",
             "schema": {"type": "string", "description": "a code GET /api/languages lists"}},
            {"name": "country", "in": "query", "schema": {"enum": ["", *sorted(COUNTRIES)]}},
            {"name": "cursor", "in": "query", "description": "the `next` of the page before",
             "schema": {"type": "string", "pattern": f"^$|{CURSOR_PATTERN}"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX}}],
        "responses": {"200": answer("a page of people", ref("People")),
                      "400": error("an unknown parameter, or a bad q, lang, country, cursor or limit"), **AUTH},
    }},
    "/api/me": {
        "get": {"operationId": "me", "summary": "Your profile", "security": BEARER,
                "responses": {"200": answer("your profile", ref("Me")), **AUTH,
                              "404": error("no profile yet: connect to /ws once")}},
        "patch": {"operationId": "changeMe", "summary": "Hide yourself from the directory, or show yourself",
                  "security": BEARER, "requestBody": body(ref("MeChange")),
                  "responses": {"200": answer("your profile", ref("Me")), **BAD_BODY, **AUTH,
                                "409": error("name_reserved: your token's name looks like a host's or moderator's")}},
    },
    "/api/conversations": {
        "get": {"operationId": "listConversations", "summary": "Your conversations with unread counts",
                "security": BEARER, "responses": {"200": answer("yours", ref("Conversations")), **AUTH}},
        "post": {"operationId": "startConversation", "summary": "Open a private conversation with 1-7 others",
                 "security": BEARER, "requestBody": body(ref("NewConversation")),
                 "responses": {"201": answer("opened", ref("ConversationAnswer")),
                               "200": answer("the existing 1:1 of these two", ref("ConversationAnswer")),
                               **BAD_BODY, **AUTH,
                               "403": error("the event's policy, a block (also between two of the people "
                                            "named), or no accepted contact request"),
                               "404": error("nobody has one of these ids"),
                               "429": error("too many new conversations, or (a group under policy `request`) an "
                                            "invitation refused like a request: cooldown, your waiting "
                                            "requests, or `inbox_full`; wait")}},
    },
    "/api/conversations/{room}": {"delete": {
        "operationId": "leaveConversation", "summary": "Leave a conversation for good", "security": BEARER,
        "parameters": [{"name": "room", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": answer("left", ref("Left")), **AUTH, "404": error("not a conversation of yours")},
    }},
    "/api/requests": {"get": {
        "operationId": "listRequests", "summary": "Contact requests waiting for an answer", "security": BEARER,
        "responses": {"200": answer("incoming and outgoing", ref("Requests")), **AUTH},
    }},
    "/api/blocks": {
        "get": {"operationId": "listBlocks", "summary": "Whom you block", "security": BEARER,
                "responses": {"200": answer("your blocks", ref("Blocks")), **AUTH}},
        "post": {"operationId": "block", "summary": "Block someone", "security": BEARER,
                 "requestBody": body(ref("BlockRequest")),
                 "responses": {"201": answer("blocked", ref("Block")), "200": answer("already blocked", ref("Block")),
                               **BAD_BODY, **AUTH}},
    },
    "/api/blocks/{user}": {"delete": {
        "operationId": "unblock", "summary": "Unblock someone", "security": BEARER,
        "parameters": [{"name": "user", "in": "path", "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": USER_ID_MAX}}],
        "responses": {"200": answer("unblocked", ref("Block")), **AUTH, "404": error("not blocked")},
    }},
}
REPORT_DESK = {**AUTH, "403": error("not a host nor a moderator of the whole event")}
REPORT_PATHS: dict[str, Any] = {
    "/api/reports": {"get": {
        "operationId": "listReports", "summary": "Reported messages, oldest first, paged (hosts and moderators of "
                                                 "the whole event)",
        "security": BEARER,
        "parameters": [
            {"name": "cursor", "in": "query", "description": "the `next` of the page before",
             "schema": {"type": "string", "pattern": r"^[0-9]{0,18}$"}},
            {"name": "limit", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": REPORT_PAGE_MAX, "default": REPORT_PAGE_DEFAULT}},
            {"name": "state", "in": "query", "schema": {"enum": ["", *REPORT_STATES]}}],
        "responses": {"200": answer("a page of reports", ref("Reports")),
                      "400": error("an unknown parameter, or a bad cursor, limit or state"), **REPORT_DESK},
    }},
    "/api/reports/inbox": {"get": {
        "operationId": "reportInbox", "summary": "The open reports grouped by message, most reporters first",
        "security": BEARER,
        "parameters": [{"name": "lang", "in": "query", "description": "translations into (default: the token's)",
                        "schema": {"type": "string", "description": "a code GET /api/languages lists"}}],
        "responses": {"200": answer("the inbox", ref("Inbox")), "400": error("an unknown parameter or language"),
                      **REPORT_DESK},
    }},
    "/api/reports/close": {"post": {
        "operationId": "closeReports", "summary": "Delete a reported message, mute or ban its author, or dismiss: "
                                                  "every open report of the message closes, for every moderator",
        "description": "A private conversation's author is muted or banned event-wide; its messages are not "
                       "deleted by organisers (403).",
        "security": BEARER, "requestBody": body(ref("ReportClose")),
        "responses": {"200": answer("closed", ref("ReportsClosed")), **BAD_BODY, **REPORT_DESK,
                      "404": error("no open report of that message (another moderator may have closed it)")},
    }},
}

GLOSSARY_SCHEMAS: dict[str, Any] = {
    "Glossary": {"type": "object", "required": ["terms"],
                 "properties": {"terms": {"type": "array", "items": {"type": "string"}}}},
    "GlossaryChange": {"type": "object", "required": ["terms"], "additionalProperties": False,
                       "properties": {"terms": {
                           "type": "array", "description": f"at most {MAX_TERMS} terms (and {MAX_BODY} bytes)",
                           "items": {"type": "string", "minLength": 1, "maxLength": MAX_TERM_CHARS,
                                     "pattern": r"\S"}}}},
}
TRANSCRIPT_PATHS: dict[str, Any] = {
    "/api/glossary": {
        "get": {"operationId": "glossary", "summary": "The terms never translated (hosts)", "security": BEARER,
                "responses": {"200": answer("the terms", ref("Glossary")), **HOST_ONLY}},
        "put": {"operationId": "setGlossary", "summary": "Replace the terms never translated, on every node (hosts)",
                "description": "Kept in the backend: the list outlives a restart and wins over "
                               "`[translation] glossary` (the start value) from the first PUT on.",
                "security": BEARER, "requestBody": body(ref("GlossaryChange")),
                "responses": {"200": answer("the terms as kept", ref("Glossary")), **BAD_BODY, **HOST_ONLY}},
    },
    "/api/rooms/{room}/transcript": {"get": {
        "operationId": "transcript", "summary": "A room's messages with translations, as a download (hosts)",
        "security": BEARER,
        "parameters": [ROOM_PATH,
                       {"name": "lang", "in": "query", "description": "translations into (default: the token's)",
                        "schema": {"type": "string", "description": "a code GET /api/languages lists"}},
                       {"name": "format", "in": "query", "schema": {"enum": ["md", "csv", "json"], "default": "json"}}],
        "responses": {"200": {"description": "the transcript, oldest first, as an attachment", "content": {
                          "application/json": {"schema": {"type": "object", "required": ["room", "lang", "messages"],
                                                          "properties": {"room": {"type": "object"},
                                                                         "lang": {"type": "string"},
                                                                         "messages": {"type": "array"},
                                                                         "untranslated": {
                                                                             "type": "integer", "minimum": 1,
                                                                             "description": "lines whose translation "
                                                                             "this request did not make (at most "
                                                                             "500 are made per request): ask again"}}}},
                          "text/markdown": {"schema": {"type": "string"}},
                          "text/csv": {"schema": {"type": "string"}}}},
                      "400": error("an unknown lang, or a format other than md, csv or json (field names it)"),
                      "401": HOST_ONLY["401"],
                      "403": error("the token is not a host's, or the room is a private conversation"),
                      **NO_ROOM},
    }},
}

# meetings (issue 26) ------------------------------------------------------------------------------
# An ISO 8601 time with its offset, of a valid date (days 01-28 keep every match a real date).
ISO_TIME = (r"^(19|20)\d{2}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
            r"(Z|[+-](0\d|1[0-3]):[0-5]\d)$")
CONTROL = "".join(chr(code) for code in range(32) if code != 10)  # literal: see name_pattern
FREE_TEXT = f"^[^{CONTROL}]*$"
ID = {"type": "string", "pattern": MEETING_ID_PATTERN}
MEETING_PATH = {"name": "meeting", "in": "path", "required": True, "schema": ID}
MEETING_ERRORS = {"404": error("no such meeting of yours (or meetings are off)"),
                  "409": answer("`taken`: you, the other person or the place are no longer free in that slot; "
                                "`next` lists the next slots both people have free (choose one of those); "
                                "`conflict`: the meeting changed meanwhile or is over", ref("MeetingConflict"))}
MEETING_SCHEMAS: dict[str, Any] = {
    "MeetingConflict": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"enum": ["taken", "conflict"]}, "message": {"type": "string"},
        "next": {"type": "array", "items": ref("MeetingSlot"), "maxItems": NEXT_SLOTS,
                 "description": "with `taken`: the next slots both people have free, their free places only "
                                "(the lost slot's time first, then later, then earlier ones still to come)"}}},
    "FreeSlots": {"type": "object", "required": ["slots"], "properties": {
        "slots": {"type": "array", "items": ref("MeetingSlot"),
                  "description": "slots both people have free, with their free places only"}}},
    "MeetingSlots": {"type": "object", "required": ["slots"], "properties": {
        "timezone": {"type": "string", "description": "the event's IANA time zone"},
        "reminder_minutes": {"type": "integer", "minimum": 0,
                             "description": "the app reminds this long before a booked meeting (0: never)"},
        "slots": {"type": "array", "items": ref("MeetingSlot")}}},
    "MeetingSlot": {"type": "object", "required": ["id", "start", "end", "places"], "properties": {
        "id": {"type": "string"}, "start": {"type": "string", "description": "ISO 8601 with offset"},
        "end": {"type": "string"}, "places": {"type": "array", "items": ref("SlotPlace")}}},
    "SlotPlace": {"type": "object", "required": ["id", "name", "free"], "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "online": {"type": "boolean"},
        "free": {"type": "boolean", "description": "for the asking person: neither they nor the place are booked"}}},
    "NewMeetingSlot": {"type": "object", "required": ["start", "end", "places"], "additionalProperties": False,
                       "properties": {
        "start": {"type": "string", "pattern": ISO_TIME, "description": "ISO 8601 with its offset"},
        "end": {"type": "string", "pattern": ISO_TIME, "description": "after start (409 otherwise)"},
        "places": {"type": "array", "minItems": 1, "maxItems": 100, "description": "place names (new ones are added)",
                   "items": {"type": "string", "minLength": 1, "maxLength": PLACE_NAME_MAX, "pattern": r"\S"}}}},
    "MeetingSlotAnswer": {"type": "object", "required": ["slot"], "properties": {"slot": {"type": "object"}}},
    "Places": {"type": "object", "required": ["places"],
               "properties": {"places": {"type": "array", "items": {"type": "object", "required": ["id", "name"]}}}},
    "NewPlace": {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": PLACE_NAME_MAX, "pattern": r"\S"},
        "online": {"type": "boolean", "description": "an online place: no limit, a call link per meeting"}}},
    "PlaceAnswer": {"type": "object", "required": ["place"], "properties": {"place": {"type": "object"}}},
    "Meeting": {"type": "object", "required": ["id", "state", "from", "to", "slots"], "properties": {
        "id": {"type": "string"}, "state": {"enum": ["proposed", "booked", "declined", "cancelled"]},
        "from": ref("Person"), "to": ref("Person"), "with": ref("Person"),
        "slots": {"type": "array", "items": {"type": "object"}, "description": "the slots on the table"},
        "turn": {"type": "string", "description": "who must answer (proposed)"},
        "slot": {"type": ["string", "null"]}, "place": {"type": ["string", "null"]},
        "start": {"type": "string"}, "end": {"type": "string"}, "place_name": {"type": "string"},
        "link": {"type": "string"}, "note": {"type": "string"}, "reason": {"type": "string"},
        "note_lang": {"type": "string", "description": "the note's detected language"},
        "note_tr": {"type": "object", "description": "the note in your reading language {lang, text}"},
        "room": {"type": "string", "description": "the conversation whose history records each step as a "
                 "`message` with `meeting` (the two people only; organisers never get it)"}}},
    "MeetingAnswer": {"type": "object", "required": ["meeting"], "properties": {"meeting": ref("Meeting")}},
    "Meetings": {"type": "object", "required": ["meetings"],
                 "properties": {"meetings": {"type": "array", "items": ref("Meeting")}}},
    "NewMeeting": {"type": "object", "required": ["with", "slots"], "additionalProperties": False, "properties": {
        "with": {**ID, "description": "the other person's user id"},
        "slots": {"type": "array", "items": ID, "minItems": 1, "maxItems": SLOTS_PER_PROPOSAL, "uniqueItems": True},
        "place": ID, "note": {"type": "string", "maxLength": NOTE_MAX, "pattern": FREE_TEXT}}},
    "CounterProposal": {"type": "object", "required": ["slots"], "additionalProperties": False, "properties": {
        "slots": {"type": "array", "items": ID, "minItems": 1, "maxItems": SLOTS_PER_PROPOSAL, "uniqueItems": True},
        "place": ID, "note": {"type": "string", "maxLength": NOTE_MAX, "pattern": FREE_TEXT}}},
    "MeetingAccept": {"type": "object", "required": ["slot"], "additionalProperties": False,
                      "properties": {"slot": ID, "place": ID}},
    "MeetingReason": {"type": "object", "additionalProperties": False,
                      "properties": {"reason": {"type": "string", "maxLength": REASON_MAX, "pattern": FREE_TEXT}}},
    "MeetingGrid": {"type": "object", "required": ["places", "slots", "days"], "properties": {
        "places": {"type": "array", "items": {"type": "object"}},
        "slots": {"type": "array", "items": {"type": "object"}, "description": "each slot's cells: the place and "
                  "the booked meeting's id and people (never its conversation)"},
        "days": {"type": "array", "items": {"type": "object"}, "description": "booked and proposed per day"}}},
}


def _meeting_step(operation: str, summary: str, schema: str | None) -> dict[str, Any]:
    step: dict[str, Any] = {"operationId": operation, "summary": summary, "security": BEARER,
                            "parameters": [MEETING_PATH],
                            "responses": {"200": answer("the meeting now", ref("MeetingAnswer")), **BAD_BODY, **AUTH,
                                          "403": error("not your turn, or a block or ban stops it"),
                                          **MEETING_ERRORS}}
    if schema:
        step["requestBody"] = {"required": schema not in ("MeetingReason",), **json_content(ref(schema))}
    return {"post": step}


CALENDAR = {"description": "an RFC 5545 calendar", "content": {"text/calendar": {"schema": {"type": "string"}}}}
MEETING_PATHS: dict[str, Any] = {
    "/api/meeting-slots": {
        "get": {"operationId": "meetingSlots", "summary": "Meeting slots and places, `free` for you",
                "security": BEARER, "responses": {"200": answer("the slots", ref("MeetingSlots")), **AUTH,
                                                  "404": error("meetings are off")}},
        "post": {"operationId": "addMeetingSlot", "summary": "Add a meeting slot at some places (hosts)",
                 "security": BEARER, "requestBody": body(ref("NewMeetingSlot")),
                 "responses": {"201": answer("added", ref("MeetingSlotAnswer")), **BAD_BODY, **HOST_ONLY,
                               "404": error("meetings are off"), "409": error("the slot ends before it starts")}},
    },
    "/api/places": {
        "get": {"operationId": "places", "summary": "The meeting places", "security": BEARER,
                "responses": {"200": answer("the places", ref("Places")), **AUTH, "404": error("meetings are off")}},
        "post": {"operationId": "addPlace", "summary": "Add a meeting place (hosts)", "security": BEARER,
                 "requestBody": body(ref("NewPlace")),
                 "responses": {"201": answer("added", ref("PlaceAnswer")),
                               "200": answer("it exists", ref("PlaceAnswer")), **BAD_BODY, **HOST_ONLY,
                               "404": error("meetings are off")}},
    },
    "/api/meetings": {"post": {
        "operationId": "proposeMeeting", "summary": "Propose a meeting in one or more slots", "security": BEARER,
        "requestBody": body(ref("NewMeeting")),
        "responses": {"201": answer("proposed", ref("MeetingAnswer")), **BAD_BODY, **AUTH,
                      "403": error("the policy, a block or a ban"), "404": error("no such person, slot or place"),
                      "409": error("`taken`: one of you has a meeting in a slot"),
                      "429": error("too many requests; wait")}},
    },
    "/api/meetings/grid": {"get": {
        "operationId": "meetingGrid", "summary": "Slots × places with booked meetings, counts per day (hosts)",
        "security": BEARER, "responses": {"200": answer("the grid", ref("MeetingGrid")), **HOST_ONLY,
                                          "404": error("meetings are off")}}},
    "/api/meetings.csv": {"get": {
        "operationId": "meetingExport", "summary": "The booked meetings as CSV (hosts)", "security": BEARER,
        "responses": {"200": {"description": "CSV; cells starting with = + - @ tab or CR are prefixed with '",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **HOST_ONLY, "404": error("meetings are off")}}},
    "/api/me/meetings": {"get": {
        "operationId": "myMeetings", "summary": "Your agenda: booked meetings by time, then the rest",
        "security": BEARER, "responses": {"200": answer("yours", ref("Meetings")), **AUTH,
                                          "404": error("meetings are off")}}},
    "/api/me/meetings.ics": {"get": {
        "operationId": "myCalendar", "summary": "Your booked (and cancelled) meetings as a calendar file",
        "security": BEARER, "responses": {"200": CALENDAR, **AUTH, "404": error("meetings are off")}}},
    "/api/meetings/{meeting}.ics": {"get": {
        "operationId": "meetingCalendar", "summary": "One meeting as a calendar file", "security": BEARER,
        "parameters": [MEETING_PATH],
        "responses": {"200": CALENDAR, **AUTH, "404": error("no such meeting of yours"),
                      "409": error("not booked: it has no time yet")}}},
    "/api/meetings/{meeting}": {"get": {
        "operationId": "meeting", "summary": "One of your meetings", "security": BEARER, "parameters": [MEETING_PATH],
        "responses": {"200": answer("the meeting", ref("MeetingAnswer")), **AUTH,
                      "404": error("no such meeting of yours")}}},
    "/api/meetings/{meeting}/accept": _meeting_step("acceptMeeting", "Accept one of the proposed slots (your turn)",
                                                    "MeetingAccept"),
    "/api/meetings/{meeting}/decline": _meeting_step("declineMeeting", "Decline, with an optional reason",
                                                     "MeetingReason"),
    "/api/meetings/{meeting}/cancel": _meeting_step("cancelMeeting", "Cancel (either person, or a host)",
                                                    "MeetingReason"),
    "/api/meetings/{meeting}/propose": _meeting_step("counterMeeting", "Propose other slots (your turn)",
                                                     "CounterProposal"),
    "/api/meetings/{meeting}/move": _meeting_step("moveMeeting", "Move a booked meeting (hosts); both are told",
                                                  "MeetingAccept"),
    "/api/meetings/{meeting}/free-slots": {"get": {
        "operationId": "meetingFreeSlots", "summary": "The slots both people of a meeting have free (its own slot "
        "and place aside): where a host may move it", "security": BEARER, "parameters": [MEETING_PATH],
        "responses": {"200": answer("the free slots", ref("FreeSlots")), **AUTH,
                      "404": error("no such meeting of yours (or meetings are off)")}}},
}

PATHS: dict[str, Any] = {
    "/api/session": {"post": {
        "operationId": "createSession", "summary": "A delegate token for a display name and reading language",
        "description": "A name (and the access code in `code` mode) signs a new person in; a personal sign-in "
                       "code signs the person it was made for in on this device. Each sign-in is a session "
                       "(GET /api/me/sessions). With `[auth] access = \"invited\"` only codes are taken.",
        "requestBody": body({"anyOf": [ref("SessionRequest"), ref("CodeSignIn")]}),
        "responses": {"200": answer("the token and who it speaks for", ref("Session")), **BAD_BODY,
                      "401": error("the event's access code is missing or wrong, or the sign-in code is not "
                                   "valid (used, expired or mistyped)"),
                      "403": error("invited_only: this event takes personal sign-in codes only"),
                      "409": error("name_reserved: the name copies or looks like a host's or moderator's"),
                      "429": error("too many sessions from this client address ([limits] session_rate); "
                                   "the Retry-After header says how many seconds to wait"),
                      "501": error("this server only verifies tokens minted by the event's website")},
    },
        "delete": {"operationId": "signOut", "summary": "Sign this device out (the token's sign-in ends on every "
                                                        "node; its sockets close with 4401)", "security": BEARER,
                   "responses": {"204": answer("signed out (or already was)"), "401": AUTH_401}}},
    "/api/access": {"get": {
        "operationId": "accessMode", "summary": "How this event lets people in ([auth] access)",
        "responses": {"200": answer("open: a name; code: a name and the access code; invited: a personal sign-in "
                                    "code or a website token only", {
            "type": "object", "required": ["access"],
            "properties": {"access": {"enum": ["open", "code", "invited"]}}})},
    }},
    "/api/delegates": {
        "post": {"operationId": "importDelegates", "summary": "Import the delegate list (hosts; idempotent: the "
                                                             "e-mail or external id keeps a person the same)",
                 "security": BEARER,
                 "requestBody": body({"anyOf": [
                     {"type": "object", "required": ["delegates"], "properties": {
                         "delegates": {"type": "array", "items": {"type": "object", "additionalProperties": {
                             "type": ["string", "null"]}},
                             "description": "rows of the registration export: name, organisation, country, "
                                            "reading language, e-mail or external id, role?"}}},
                     {"type": "object", "required": ["csv"], "properties": {
                         "csv": {"type": "string", "description": "the export as a CSV file with a header row"}}}]}),
                 "responses": {"200": answer("the report: how many rows were created, updated or unchanged, or, "
                                             "when any row is refused (each with its reason), imported: false "
                                             "and nothing saved", ref("DelegateImport")),
                               **BAD_BODY, "413": error("the body is larger than 4 MiB"), **HOST_ONLY}},
        "get": {"operationId": "listDelegates", "summary": "The delegate list (hosts)", "security": BEARER,
                "responses": {"200": answer("the delegates, by name", {
                    "type": "object", "required": ["delegates"],
                    "properties": {"delegates": {"type": "array", "items": {"type": "object"}}}}), **HOST_ONLY}},
    },
    "/api/delegates/links": {"post": {
        "operationId": "delegateLinks", "summary": "Each delegate's personal sign-in link (hosts): a single-use "
                                                   "code, valid [auth] invite_ttl", "security": BEARER,
        "requestBody": body({"type": "object", "properties": {
            "base_url": {"type": "string", "pattern": r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$",
                         "description": "the app's public address (default: this request's)"}}}),
        "responses": {"200": answer("the links", {
            "type": "object", "required": ["links"], "properties": {"links": {"type": "array", "items": {
                "type": "object", "required": ["id", "key", "name", "code", "url", "expires"]}}}}),
            **BAD_BODY, **HOST_ONLY},
    }},
    "/api/delegates/revoke": {"post": {
        "operationId": "revokeDelegate", "summary": "Revoke a delegate (hosts): their links stop working and "
                                                    "their sign-ins end at once, on every node", "security": BEARER,
        "requestBody": body({"type": "object", "required": ["delegate"], "properties": {
            "delegate": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S",
                         "description": "the id, e-mail or external id"}}}),
        "responses": {"200": answer("revoked", {"type": "object", "required": ["id", "name", "revoked", "ended"]}),
                      **BAD_BODY, **HOST_ONLY, "404": error("no such delegate on the list")},
    }},
    "/api/session/renew": {"post": {
        "operationId": "renewSession", "summary": "A fresh token for this device's sign-in, before this one expires",
        "security": BEARER,
        "responses": {"200": answer("the new token", ref("Session")),
                      "403": error("the token names no sign-in (a website's token): renew it where it came from"),
                      "401": error("no Bearer token, a bad or expired one, or its sign-in has ended")},
    }},
    "/api/me/sessions": {
        "get": {"operationId": "mySessions", "summary": "The devices this person is signed in on",
                "security": BEARER, "responses": {"200": answer("oldest first", ref("SignIns")), "401": AUTH_401}},
        "delete": {"operationId": "signOutEverywhere", "summary": "Sign this person out on every device",
                   "security": BEARER,
                   "responses": {"200": answer("how many sign-ins ended", {
                       "type": "object", "required": ["ended"], "properties": {"ended": {"type": "integer"}}}),
                       "401": AUTH_401}},
    },
    "/api/me/sessions/{session}": {"delete": {
        "operationId": "endMySession", "summary": "Sign one of this person's devices out", "security": BEARER,
        "parameters": [{"name": "session", "in": "path", "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 80}}],
        "responses": {"204": answer("signed out"), "401": AUTH_401,
                      "404": error("no such sign-in of this person")},
    }},
    "/api/me/signin-code": {"post": {
        "operationId": "makeSignInCode", "summary": "A personal sign-in code and QR code for another device "
                                                    "(single use, short-lived, rate-limited)", "security": BEARER,
        "responses": {"200": answer("the code, its link and QR code", ref("SignInCode")), "401": AUTH_401,
                      "429": error("too many codes: use the last one, or wait retry_after seconds")},
    }},
    "/api/rooms": {
        "get": {"operationId": "listRooms", "summary": "Every room with its member count",
                "parameters": [{"name": "lang", "in": "query",
                                "description": "titles and forum names also in this language (`tr`)",
                                "schema": {"type": "string", "description": "a code GET /api/languages lists"}}],
                "responses": {"200": answer("the rooms", ref("RoomList")),
                              "400": error("an unknown lang")}},
        "post": {"operationId": "openRoom", "summary": "Open a room (hosts)", "security": BEARER,
                 "requestBody": body(ref("NewRoom")),
                 "responses": {"201": answer("the room, announced to every connection", ref("Room")), **BAD_BODY,
                               **HOST_ONLY, "409": error("a room with this id exists; PATCH it")}},
    },
    "/api/rooms/{room}": {"patch": {
        "operationId": "changeRoom", "summary": "Rename, move, open, close or slow a room (hosts)",
        "security": BEARER, "parameters": [ROOM_PATH], "requestBody": body(ref("RoomChange")),
        "responses": {"200": answer("the room as changed", ref("Room")), **BAD_BODY, **HOST_ONLY, **NO_ROOM},
    }},
    "/api/rooms/{room}/moderators": {"post": {
        "operationId": "appointModerator", "summary": "Appoint a user moderator of a room (hosts)",
        "security": BEARER, "parameters": [ROOM_PATH], "requestBody": body(ref("Appointment")),
        "responses": {"201": answer("appointed", ref("Moderator")), "200": answer("already was", ref("Moderator")),
                      **BAD_BODY, **HOST_ONLY, **NO_ROOM},
    }},
    "/api/rooms/{room}/moderators/{user}": {"delete": {
        "operationId": "removeModerator", "summary": "End a user's appointment (hosts)", "security": BEARER,
        "parameters": [ROOM_PATH, {"name": "user", "in": "path", "required": True,
                                   "schema": {"type": "string", "minLength": 1, "maxLength": USER_ID_MAX}}],
        "responses": {"200": answer("no longer a moderator", ref("Moderator")), **HOST_ONLY,
                      "404": error("no such room, or the user is not its moderator")},
    }},
    "/api/rooms/{room}/moderation": {"get": {
        "operationId": "moderationLog", "summary": "Who did what in a room (hosts and the room's moderators)",
        "security": BEARER, "parameters": [ROOM_PATH],
        "responses": {"200": answer("the log, oldest first", ref("ModerationLog")),
                      "401": HOST_ONLY["401"], "403": error("not a host nor a moderator of this room"), **NO_ROOM},
    }},
    "/api/languages": {"get": {
        "operationId": "listLanguages", "summary": "The reading languages on offer",
        "responses": {"200": answer("the languages", ref("Languages"))},
    }},
    "/api/openapi.json": {"get": {
        "operationId": "openapi", "summary": "This document",
        "responses": {"200": answer("OpenAPI 3.1", {"type": "object"})},
    }},
    "/embed/{room}": {"get": {
        "operationId": "embedRoom", "summary": "The room alone, for an iframe on a site in [server] embed_origins",
        "parameters": [ROOM_PATH],
        "responses": {"200": {"description": "the page (its CSP frame-ancestors lists embed_origins)",
                              "content": {"text/html": {"schema": {"type": "string"}}}},
                      "404": error("not a room id")},
    }},
    "/healthz": {"get": {
        "operationId": "health", "summary": "Whether the node and its backend answer",
        "responses": {"200": answer("healthy", ref("Health")),
                      "503": answer("the backend is unreachable or cannot write", ref("Health"))},
    }},
    "/metrics": {"get": {
        "operationId": "metrics", "summary": "Prometheus metrics of this node (Authorization: Bearer "
                                             "[server] metrics_token; off while that is empty)",
        "responses": {"200": {"description": "Prometheus text exposition format 0.0.4",
                              "content": {"text/plain": {"schema": {"type": "string"}}}},
                      "401": error("no or a wrong bearer token"),
                      "404": error("metrics are off ([server] metrics_token is empty)")},
    }},
    **PEOPLE_PATHS,
    **REPORT_PATHS,
    **MEETING_PATHS,
    **TRANSCRIPT_PATHS,
}
SCHEMAS.update(PEOPLE_SCHEMAS)
SCHEMAS.update(REPORT_SCHEMAS)
SCHEMAS.update(MEETING_SCHEMAS)
SCHEMAS.update(GLOSSARY_SCHEMAS)

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "babelroom HTTP API", "version": "1",
        "description": "Sessions, rooms, languages, the host room API, health and metrics. Chat itself runs over "
                       "the WebSocket at /ws: see docs/protocol.md. Errors are {code, message}.",
    },
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                       "description": "a host's token (a moderator's for the moderation log)"}},
    },
}


@functools.cache
def name_pattern() -> str:
    """A display name as rooms.text.text_fault accepts it: white space, then a visible character,
    then anything but refused characters (control, format, invisible...; char_kind)."""
    ranges: dict[str, list[list[int]]] = {"refused": [], "selector": [], "mark": [], "space": [], "visible": []}
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue  # lone surrogates cannot be written in the JSON document (bodies holding them are 400 anyway)
        kind = ranges[char_kind(chr(code))]
        if kind and kind[-1][1] == code - 1:
            kind[-1][1] = code
        else:
            kind.append([code, code])

    def chars(*kinds: str) -> str:
        # Literal characters, not escapes: Python's and ECMA-262's regex escapes for code points differ.
        return "".join(f"{chr(a)}-{chr(b)}" if a != b else chr(a)
                       for a, b in sorted(pair for kind in kinds for pair in ranges[kind]))

    return f"^[{chars('space')}]*[^{chars('refused', 'selector', 'mark', 'space')}][^{chars('refused')}]*$"


async def openapi(request: Request) -> Response:
    document = copy.deepcopy(DOCUMENT)
    session = document["components"]["schemas"]["SessionRequest"]["properties"]
    session["name"]["pattern"] = name_pattern()
    languages = node_of(request).translator.reading_languages()  # this server's choice
    session["lang"]["enum"] = languages
    for path in ("/api/people", "/api/rooms/{room}/transcript", "/api/reports/inbox", "/api/rooms"):
        for parameter in document["paths"][path]["get"]["parameters"]:
            if parameter["name"] == "lang":  # empty: no filter (people, rooms), the token's (transcript, inbox)
                parameter["schema"]["enum"] = ["", *languages]
    return JSONResponse(document)


async def unknown_api_path(request: Request) -> Response:
    """JSON for /api paths no route serves: 405 with Allow when the path exists for other methods."""
    allowed = sorted({method for route in request.app.router.routes if isinstance(route, Route)
                      and route.matches(request.scope)[0] is Match.PARTIAL for method in route.methods or ()})
    if allowed:
        return JSONResponse({"code": "method_not_allowed", "message": f"{request.url.path} answers "
                             + ", ".join(allowed)}, status_code=405, headers={"allow": ", ".join(allowed)})
    return JSONResponse({"code": "not_found", "message": f"no API route {request.url.path}; "
                         "GET /api/openapi.json lists them"}, status_code=404)


def openapi_routes() -> list[BaseRoute]:
    """The document, then JSON answers for every other /api path (after the API's own routes)."""
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return [Route("/api/openapi.json", openapi, methods=["GET"]),
            Route("/api/{rest:path}", unknown_api_path, methods=methods)]
