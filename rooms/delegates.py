"""The organisers' delegate list (issue 23): import the registration export, hand each delegate a
personal sign-in link, revoke one.

A delegate's user id comes from their e-mail or external id (`d_` + a digest), so importing the
same list again changes nothing, a changed row updates the same person (found by either key), and
the person who signs in through their link is that user, with their conversations, on every device.

Same person everywhere: a token from the organisers' website whose `sub` is a delegate's external
id (or e-mail), or whose `email` claim is their e-mail, speaks for that delegate's user id too
(`person`), so the list, the website and the personal links make one user and the directory shows
the person once. A name typed into the self sign-in form never claims a listed person: it proves
nothing; a delegate's own way in is their personal link or code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from rooms.conversations import profile_complaint
from rooms.models import Role
from rooms.refusal import Refused
from rooms.sign_ins import SignInCode, SignIns
from rooms.stores import Delegate, SessionStore

NAME_MAX = 100
KEY_MAX = 200
# the columns a registration export may use for each field (case and spaces do not matter)
COLUMNS = {
    "name": ("name", "full name", "display name"),
    "organization": ("organisation", "organization", "company", "org"),
    "country": ("country", "country code"),
    "lang": ("reading language", "language", "lang"),
    "email": ("e-mail", "email", "mail"),
    "external_id": ("external id", "external_id", "id", "registration id"),
    "role": ("role",),
}


ID_PREFIX = "d_"


def delegate_id(key: str) -> str:
    return ID_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16]


def _column(row: Mapping[str, str], name: str) -> str:
    wanted = COLUMNS[name]
    for header, value in row.items():
        if header is not None and header.strip().lower().replace("_", " ") in {w.replace("_", " ") for w in wanted}:
            return (value or "").strip()
    return ""


def delegate_from_row(row: Mapping[str, str], languages: Iterable[str]) -> Delegate:
    """One row as a Delegate; ValueError naming what is wrong with it."""
    name = _column(row, "name")
    fault = profile_complaint(name=name, name_max=NAME_MAX)  # the sign-in form's rules for a name
    if fault:
        raise ValueError(str(fault))
    email, external = _column(row, "email").lower(), _column(row, "external_id")
    if email and ("@" not in email or " " in email):
        raise ValueError(f"e-mail {email!r} is not an address")
    key = email or external
    if not key or len(key) > KEY_MAX:
        raise ValueError("an e-mail or an external id is needed (it keeps the person the same on every import)")
    lang = _column(row, "lang").lower()
    if lang not in set(languages):
        raise ValueError(f"reading language {lang!r} is not offered here (GET /api/languages lists them)")
    country = _column(row, "country").upper()
    organization = _column(row, "organization")
    complaint = profile_complaint(organization=organization, country=country, bio="")
    if complaint:
        raise ValueError(complaint)
    role = _column(row, "role").lower() or Role.DELEGATE.value
    if role not in {r.value for r in Role}:
        raise ValueError(f"role {role!r} must be delegate, moderator or host")
    return Delegate(
        delegate_id(key),
        key,
        name,
        lang,
        organization=organization,
        country=country,
        role=role,
        email=email,
        external_id=external,
    )


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (row number, 1 = the first data row; why)

    def summary(self) -> dict[str, object]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "refused": [{"row": row, "reason": reason} for row, reason in self.refused],
        }


class Delegates:
    def __init__(self, store: SessionStore, sign_ins: SignIns, *, invite_ttl: int) -> None:
        self._store, self._sign_ins, self._invite_ttl = store, sign_ins, invite_ttl

    async def import_rows(self, rows: Sequence[Mapping[str, str]], languages: Iterable[str]) -> ImportReport:
        """Validate every row; save the list only when every row is good (nothing half-imported)."""
        report = ImportReport()
        offered = list(languages)
        parsed: list[Delegate] = []
        seen: dict[str, int] = {}  # each key (e-mail, external id) -> the row that holds it
        numbered: list[tuple[int, Delegate]] = []
        for number, row in enumerate(rows, start=1):
            try:
                delegate = delegate_from_row(row, offered)
            except ValueError as exc:
                report.refused.append((number, str(exc)))
                continue
            twice = next((key for key in delegate.keys if key in seen), None)
            if twice is not None:
                report.refused.append((number, f"the same person as row {seen[twice]} ({twice})"))
                continue
            seen.update(dict.fromkeys(delegate.keys, number))
            numbered.append((number, delegate))
        # A person already on the list keeps their user id when one of their keys changed (a new
        # e-mail, the same registration id); a row whose keys name two listed people is refused.
        owners = await self._store.delegate_ids(list(seen)) if seen else {}
        for number, delegate in numbered:
            ids = list(dict.fromkeys(owners[key] for key in delegate.keys if key in owners))
            if len(ids) > 1:
                report.refused.append(
                    (
                        number,
                        f"its e-mail and external id belong to two people on the list "
                        f"({', '.join(key for key in delegate.keys if key in owners)})",
                    )
                )
                continue
            parsed.append(replace(delegate, id=ids[0]) if ids else delegate)
        if report.refused:
            report.refused.sort()
            return report
        known = {d.id: d for d in await self._store.delegates([d.id for d in parsed])}
        changed = []
        for delegate in parsed:
            before = known.get(delegate.id)
            delegate = replace(delegate, revoked=before.revoked) if before else delegate  # import does not un-revoke
            (report.unchanged if before == delegate else report.updated if before else report.created).append(
                delegate.id
            )
            if before != delegate:
                changed.append(delegate)
        if changed:
            await self._store.save_delegates(changed)
        return report

    async def person(self, subject: str, email: str = "") -> Delegate | None:
        """The delegate a website token speaks for: its `sub` is their external id, e-mail or user
        id, or its `email` claim their e-mail; None for someone not on the list. Refused when the
        organisers revoked them."""
        keys = list(
            dict.fromkeys(key for key in (subject, subject.lower() if "@" in subject else "", email.lower()) if key)
        )
        owners = await self._store.delegate_ids(keys)
        wanted = [owners[key] for key in keys if key in owners]
        if subject.startswith(ID_PREFIX):
            wanted.append(subject)  # the delegate's user id itself (a token minted for them)
        if not wanted:
            return None
        found = {d.id: d for d in await self._store.delegates(list(dict.fromkeys(wanted)))}
        delegate = next((found[one] for one in wanted if one in found), None)
        if delegate is not None and delegate.revoked:
            raise Refused("unauthorized", "the organisers withdrew this person's access; ask them for help")
        return delegate

    async def everyone(self) -> list[Delegate]:
        return await self._store.delegates()

    async def link_code(self, delegate: Delegate) -> SignInCode:
        """A personal sign-in code for the delegate's link or badge: single use, valid `invite_ttl`."""
        if delegate.revoked:
            raise Refused("forbidden", f"{delegate.name} was revoked")
        return await self._sign_ins.issue_code(
            delegate.id, {"user": delegate.id, "delegate": True}, ttl=self._invite_ttl, limited=False
        )

    async def listed(self, user: str) -> Delegate | None:
        """The delegate as the list says now, None for someone not on it; Refused when revoked (their links
        and codes no longer work)."""
        found = await self._store.delegates([user])
        if found and found[0].revoked:
            raise Refused("unauthorized", "this personal link was withdrawn by the organisers; ask them for help")
        return found[0] if found else None

    async def revoke(self, key_or_id: str) -> tuple[Delegate, int]:
        """Revoke a delegate (by id, e-mail or external id): their links stop working and every sign-in of
        theirs ends at once, on every node. The delegate and how many sign-ins ended."""
        wanted = key_or_id.strip()
        owners = await self._store.delegate_ids(list(dict.fromkeys([wanted, wanted.lower()])))
        ids = [*owners.values(), wanted, delegate_id(wanted.lower()), delegate_id(wanted)]
        found = await self._store.delegates(list(dict.fromkeys(ids)))
        if not found:
            raise Refused("not_found", f"no delegate {key_or_id!r} on the list")
        delegate = replace(found[0], revoked=True)
        await self._store.save_delegates([delegate])
        ended = await self._sign_ins.end_all(delegate.id)
        return delegate, len(ended)
