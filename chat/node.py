"""One babelroom node: the composition root. It builds the backend (its `Stores`: one object per store
interface), the hub, translation and the domain core's services, handing each service only the stores
it uses, and starts and stops them together."""

from __future__ import annotations

import logging
import os
import socket

from chat.backend import Backend, make_backend
from chat.config import Config, ConfigError
from chat.conversations import Conversations, Person
from chat.hub import Hub
from chat.lobby import LobbyTicker
from chat.meetings import Meetings
from chat.metrics import NodeMetrics
from chat.relay import TranslationRelay
from chat.reports import ReportCount
from chat.tokens import signer_from_settings
from chat.translation_tier import node_job_queue, node_translator_settings
from rooms import Refused
from rooms.access import RoomAccess
from rooms.delegates import Delegates
from rooms.limits import SendLimits
from rooms.messages import MessageRules
from rooms.moderation import Moderation
from rooms.reports import ReportDesk
from rooms.roles import Roles
from rooms.sanctions import Sanctions
from rooms.sign_ins import SignIns
from translation import TranslationService
from translation.organiser import OrganiserText

log = logging.getLogger("babelroom")


def default_node_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Node:
    def __init__(
        self, config: Config, *, translator: TranslationService | None = None, backend: Backend | None = None
    ) -> None:
        self.config = config
        # bad [auth] keys stop the start before the database opens
        self.signer = signer_from_settings(config.auth, config.server.data_dir)
        if config.auth.access == "code" and not config.auth.access_code:
            raise ConfigError('auth.access: "code" needs auth.access_code (the code the organisers hand out)')
        self.id = config.server.node_id or default_node_id()
        self.backend = backend or make_backend(config.backend, self.id, config.server.data_dir)
        self.stores = stores = self.backend.stores
        self.translator = translator or TranslationService(
            node_translator_settings(config.translation), shared_cache=self.backend.shared_cache()
        )
        self.hub = Hub(
            stores.broker,
            config.limits.presence_window,
            config.limits.reaction_window,
            lobby_window=config.server.lobby_interval,  # a connection hears each room at most once per interval
            lobby_bytes_per_second=config.server.lobby_bytes_per_second,  # longer in a join storm
        )
        self.hub.on_glossary = self._glossary_changed
        self.organiser = OrganiserText(self.translator, config.translation.content_lang)
        self.hub.organiser = self.organiser
        self._glossary_heard = False  # a `glossary` event arrived since start: it is newer than the store
        self.jobs = node_job_queue(config, stores.broker)  # workers mode: translations are queued, not made here
        self.relay = TranslationRelay(stores.broker, stores.presence, stores.conversations, self.translator, self.jobs)
        # the domain core, each service on the stores it uses
        self.roles = Roles(stores.moderation, stores.presence)
        self.limits = SendLimits(stores.limits, config.limits.rate_per_second, config.limits.rate_burst)
        self.access = RoomAccess(stores.rooms, stores.moderation, self.roles, self.limits, stores.conversations)
        self.messages = MessageRules(
            self.access,
            stores.broker,
            stores.presence,
            stores.conversations,
            config.limits.edit_window,
            sends=stores.sends,
        )
        self.moderation = Moderation(stores.rooms, stores.moderation, stores.broker, self.roles, stores.conversations)
        self.sanctions = Sanctions(stores.moderation)
        auth = config.auth
        self.sign_ins = SignIns(
            stores.sessions,
            stores.broker,
            stores.limits,
            check_ttl=auth.session_check_ttl,
            code_ttl=auth.signin_code_ttl,
            codes_per_hour=auth.signin_codes_per_hour,
            renewals_per_hour=auth.renewals_per_hour,
            token_ttl=auth.token_ttl + int(auth.leeway),
        )
        self.hub.on_sessions_ended = self.sign_ins.forget
        self.delegates = Delegates(stores.sessions, self.sign_ins, invite_ttl=auth.invite_ttl)
        self.conversations = Conversations(
            stores.conversations,
            stores.rooms,
            stores.moderation,
            stores.broker,
            config,
            self.limits,
            self.translator,
            self.relay,
            self.hub.local_users,
        )
        settings = config.conversations
        self.reports = ReportDesk(
            stores.conversations,
            stores.broker,
            stores.limits,
            self.moderation,
            self.sanctions,
            burst=settings.report_burst,
            per_hour=settings.reports_per_hour,
            history_max=config.backend.history_max,
        )
        self.report_count = ReportCount(self.reports.open_count, self.hub.push_to_moderators)
        self.hub.on_reports_changed = self.report_count.changed
        self.meetings = Meetings(
            stores.meetings,
            stores.conversations,
            stores.moderation,
            stores.broker,
            config.meetings,
            self.conversations.policy,
            self.limits.take_token,
            self.translator,
            self.relay,
            self._meeting_conversation,
            self.conversations.message_stored,
        )
        self.lobby = LobbyTicker(stores.rooms, stores.presence, stores.broker, config.server.lobby_interval)
        self.metrics = NodeMetrics(
            lambda: self.hub.connections, lambda: len(self.hub.local_rooms()), self.translator.metrics.registry
        )
        if self.jobs is not None:
            self.metrics.registry.register(self.jobs.collector())

    async def start(self) -> None:
        await self.backend.start(self.hub.on_event)
        await self.stores.rooms.seed_rooms(self.config.rooms)
        await self._load_glossary()
        await self.meetings.seed()
        await self.translator.start()
        if self.jobs is not None:
            await self.jobs.read_routes()  # the workers already running count from the first message
            self.jobs.start()
        self.lobby.start()
        self.conversations.start()
        if self.signer.weak_secret:
            log.warning(
                "[auth] secret is shorter than 32 bytes, which HS256 wants; "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(32))' makes one"
            )
        log.info(
            "node %s ready: backend %s, %d rooms, reading languages %s",
            self.id,
            self.config.backend.kind,
            len(await self.stores.rooms.list_rooms()),
            ", ".join(self.translator.reading_languages()),
        )

    async def _load_glossary(self) -> None:
        """A glossary a host ever set wins over `[translation] glossary`, which is only the start value."""
        stored = await self.stores.rooms.get_glossary()
        if stored is not None and not self._glossary_heard:
            self.translator.set_glossary(stored)
            log.info("glossary: %d terms as a host last set them (the configured list applies no more)", len(stored))

    def _glossary_changed(self, terms: list[str]) -> None:
        self._glossary_heard = True
        self.translator.set_glossary(terms)

    async def _meeting_conversation(self, person: Person, other: str) -> str | None:
        """Where a meeting's steps are recorded: the two people's 1:1 conversation, found or opened by
        the conversation rules (under policy `request` only once they are in contact); None when
        those rules say no (they share only a group, say): the meeting then has no cards. Too many
        requests is not such a no: it refuses the proposal itself (nothing is stored yet)."""
        try:
            summary, _, _ = await self.conversations.start_conversation(person, [other], None)
        except Refused as refusal:
            if refusal.code == "rate_limited":
                raise
            return None
        return str(summary["id"])

    async def close(self) -> None:
        await self.lobby.close()
        await self.conversations.close()
        await self.report_count.close()
        await self.relay.close()
        if self.jobs is not None:
            await self.jobs.close()
        await self.translator.close()
        await self.backend.close()
