"""The client directory: adding, changing and removing clients, and the senders the user
said are not clients."""

from __future__ import annotations

import dataclasses

from heard.domain.clients import Client, ClientDirectory, client_problems, normalize_phone
from heard.domain.ids import ClientId
from heard.engine.context import EngineContext
from heard.errors import InvalidClient


class ClientsService:
    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx

    def _normalized(self, client: Client) -> Client:
        """Phone numbers in E.164, read in the user's region when written without +code,
        once the client passed the one check every face shares (InvalidClient)."""
        problems = client_problems(client, self._ctx.settings.standards.tiers)
        if problems:
            raise InvalidClient(problems)
        region = self._ctx.settings.user.phone_region
        phones = tuple(normalize_phone(p, region) or p for p in client.phones)
        return dataclasses.replace(client, phones=phones)

    def add(self, client: Client) -> Client:
        added = self._ctx.store.add_client(self._normalized(client), self._ctx.clock.now())
        self._start_reports(added)
        self._ctx.events.changed()
        return added

    def update(self, client: Client) -> Client:
        updated = self._ctx.store.update_client(self._normalized(client))
        self._start_reports(updated)
        self._ctx.events.changed()
        return updated

    def _start_reports(self, client: Client) -> None:
        """A client who asks for regular status reports: the clock starts when the
        preference is first seen (a report is due a period later)."""
        store = self._ctx.store
        if client.id is not None and client.report_every is not None \
                and client.id not in store.status_reports():
            store.mark_status_report(client.id, self._ctx.clock.now())

    def remove(self, client_id: ClientId) -> bool:
        removed = self._ctx.store.remove_client(client_id)
        self._ctx.events.changed()
        return removed

    def all(self) -> list[Client]:
        return self._ctx.store.clients()

    def directory(self) -> ClientDirectory:
        return self._ctx.directory()

    def named(self, key: str) -> Client | None:
        """A client by id, by name, or by a unique part of the name."""
        return self._ctx.client_named(key)

    def not_clients(self) -> list[tuple[str, str]]:
        return self._ctx.store.not_clients()

    def remove_not_client(self, value: str) -> bool:
        removed = self._ctx.store.remove_not_client(value.strip().lower())
        self._ctx.events.changed()
        return removed
