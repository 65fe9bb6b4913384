"""How each account fares: online or not (and since when, and why), pushing or polling,
last synced. Kept in the store too, so `heard status` in another process knows it."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

from heard.config import ImapAccount
from heard.domain.accounts import AccountHealth
from heard.engine.context import EngineContext

log = logging.getLogger(__name__)


class AccountsHealth:
    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx
        self._health: dict[str, AccountHealth] = {}
        self._parts: dict[str, dict[str, str | None]] = {}
        self._lock = threading.Lock()

    def accounts(self) -> list[AccountHealth]:
        """Every account's health: this process's view, else what another process (the
        tray, a `heard sync`) saved last."""
        saved = self._ctx.store.account_states()
        result = []
        for account in self._ctx.settings.accounts:
            kind = "imap" if isinstance(account, ImapAccount) else "maildir"
            with self._lock:
                health = self._health.get(account.name)
            if health is None and account.name in saved:
                online, problem, since, push, last_sync = saved[account.name]
                health = AccountHealth(account.name, kind, online, problem, since, push,
                                       last_sync)
            # A Maildir folder is on this machine: online until a sync says otherwise.
            result.append(health or AccountHealth(account.name, kind,
                                                  online=True if kind == "maildir" else None))
        return result

    def record(self, account: str, problem: str | None, push: bool | None = None,
               synced: bool = False, part: str = "sync", kind: str = "imap") -> None:
        """How one part of an account (its sync, or an IMAP folder's watcher) fares; the
        account is online only when every part is."""
        now = self._ctx.clock.now()
        with self._lock:
            parts = self._parts.setdefault(account, {})
            parts[part] = problem
            problem = next((p for p in parts.values() if p is not None), None)
            old = self._health.get(account) or AccountHealth(account, kind)
            online = problem is None
            new = replace(
                old, online=online, problem=problem or "",
                since=old.since if old.online == online and old.since else now,
                push=push if push is not None else old.push,
                last_sync=now if synced else old.last_sync)
            self._health[account] = new
        self._save(new)
        if (old.online, old.problem, old.push) != (new.online, new.problem, new.push):
            if problem is not None:
                log.warning("%s is offline: %s", account, problem)
            else:
                log.info("%s is online", account)
            self._ctx.events.accounts()

    def _save(self, health: AccountHealth) -> None:
        if self._ctx.closed:
            return
        try:
            self._ctx.store.save_account_state(health.name, health.online, health.problem,
                                               health.since, health.push, health.last_sync)
        except Exception:  # the store closing under a watcher thread: not worth a crash
            log.debug("account state not saved", exc_info=True)
