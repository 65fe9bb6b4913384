"""What the quick-reply window's actions and the toasts' actions do: acknowledge (held for
Undo first), take a held acknowledgement back, delegate, dismiss and undismiss, mark
answered, snooze a client and wake them, decide about a new person, preview a reply, log a
call.

Each runs its engine call off the GUI thread through Ops and says how it went in the window
(and, when it was chosen on a toast, in a toast). What it needs from the app is passed in:
the window (made on first use), the status on screen, the undo stack and the toaster; what
the app must do in turn (read the status again, open the window, show a problem) it asks
for with a signal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from heard.domain.ids import InquiryId
from heard.domain.templates import format_time
from heard.domain.wording import clock, day_and_time
from heard.engine import Decision, Delivery, Engine, Status
from heard.gui.ops import Ops
from heard.gui.toaster import Toaster, ToastRef, UndoRef
from heard.gui.undo import Undoable, UndoStack

if TYPE_CHECKING:
    from heard.domain.inquiries import Inquiry
    from heard.engine.results import AckResult, DelegateResult
    from heard.gui.quick_reply import AckRequest, QuickReplyWindow

log = logging.getLogger(__name__)

# Said in words (a window shows no file syntax): where an assistant is added.
NO_ASSISTANT = "Add an assistant, with a name and an address, in Settings > Assistants"


class Actions(QObject):
    """The actions of the quick-reply window and of the toasts, on one engine."""

    acknowledged = Signal(object)     # AckResult: an acknowledgement was sent or settled
    status_wanted = Signal()          # the store changed: the status on screen is old
    # An acknowledgement of (inquiry id, only that message) is on its way: the client no
    # longer waits from the user's view, so the badge need not wait for the server (the
    # claim on it, the outbox write) to say so; `settled` (the inquiry id): the engine
    # answered, whatever it said, and the status read after it is the truth again.
    sending = Signal(int, bool)
    settled = Signal(int)
    open_requested = Signal(object)   # open the window (on this inquiry id, or None)
    open_mail_requested = Signal(str, str)   # a message's Message-ID and account, to open
    failed = Signal(str)              # a failure with no place of its own, in words

    def __init__(self, engine: Engine, ops: Ops, undo: UndoStack, toaster: Toaster, *,
                 window: Callable[[], QuickReplyWindow],
                 made_window: Callable[[], QuickReplyWindow | None],
                 status: Callable[[], Status | None], send_delay_ms: int = 0,
                 parent: QObject | None = None) -> None:
        """`window`: the quick-reply window, made if need be; `made_window`: it, only if
        it is made already; `status`: the status on screen. `send_delay_ms`: how long an
        acknowledgement waits for Undo when the window (which has its own) is not made."""
        super().__init__(parent)
        self.engine = engine
        self.ops = ops
        self.undo = undo
        self.toaster = toaster
        self._window = window
        self._made_window = made_window
        self._status = status
        self.send_delay_ms = send_delay_ms
        self._toast_acks: dict[str, str] = {}   # Message-ID -> name, acknowledged from a toast
        self._delegate_dialog: QWidget | None = None
        self._call_dialog: QWidget | None = None
        self._nudge_dialog: QWidget | None = None

    @property
    def zone(self) -> Any:
        return self.engine.settings.zone  # settings may be reloaded while running

    def _name_of(self, inquiry_id: int) -> str:
        """The client's preferred name, from the status on screen."""
        status = self._status()
        for item in status.waiting if status is not None else ():
            if item.inquiry.id == inquiry_id:
                return item.client.display_name
        return "the client"

    # an action chosen on a toast

    def toast_action(self, ref: object, key: str) -> None:
        """The same as in the window, with the same safety (an acknowledgement waits for
        Undo before it goes out)."""
        if isinstance(ref, UndoRef):
            if key == "undo" and ref.entry in self.undo:
                ref.entry.take_back()
            elif key == "default":
                self.open_requested.emit(None)
            return
        target = ref if isinstance(ref, ToastRef) else ToastRef()
        inquiry_id = target.inquiry_id
        if key in ("ack", "client", "not-a-client"):
            self.toaster.withdraw_arrival(ref)
        if key == "ack" and inquiry_id is not None:
            from heard.gui.quick_reply import AckRequest

            self.acknowledge(AckRequest(inquiry_id), from_toast=True)
        elif key in ("client", "not-a-client") and inquiry_id is not None:
            self.decide(inquiry_id, key, from_toast=True)
        elif key == "mail" and inquiry_id is not None:
            self._open_mail(inquiry_id)
        elif key == "snooze" and inquiry_id is not None:
            self.snooze(inquiry_id, "1h", from_toast=True)
        elif key in ("open", "default"):
            first = inquiry_id if inquiry_id is not None else next(iter(target.inquiries),
                                                                   None)
            self.open_requested.emit(first)

    def _open_mail(self, inquiry_id: int) -> None:
        """A toast's Open in mail: the message of the status on screen."""
        status = self._status()
        for item in status.waiting if status is not None else ():
            if item.inquiry.id == inquiry_id and item.inquiry.message_id:
                self.open_mail_requested.emit(item.inquiry.message_id, item.inquiry.account)
                return
        self.open_requested.emit(inquiry_id)   # gone meanwhile: the window says how it is

    def _tell_sent(self, slot: str, result: AckResult, name: str) -> None:
        if result.sent:
            self.toaster.tell(slot, f"Sent: acknowledgement to {name}", "A reply is promised"
                              f" by {clock(result.reply_by, self.zone)}.",
                              timeout_ms=5000)
        else:   # failed, unsure, cancelled or still to be retried: as the window says it
            self.toaster.tell(slot, self._window().message.text())

    # acknowledge, and hold it for Undo

    def acknowledge(self, request: AckRequest | int, from_toast: bool = False) -> None:
        """Acknowledge with the template (and the user's own text, if they changed it).
        From the window or a toast it waits the send delay for Undo before it goes out; from
        a toast, toasts say what happens (with Undo while it waits)."""
        if isinstance(request, int):
            from heard.gui.quick_reply import AckRequest

            request = AckRequest(request)
        inquiry_id = request.inquiry_id
        name = self._name_of(inquiry_id)
        made = self._made_window()
        delay_ms = made.send_delay_ms if made is not None else self.send_delay_ms

        def done(result: AckResult) -> None:
            self.settled.emit(inquiry_id)
            window = self._window()
            window.set_busy(False)
            slot = f"ack:{inquiry_id}"
            if result.call_back:
                number = result.call_back.removeprefix("tel:")
                window.show_message(f"{result.body} ({number}) — you will be reminded.")
                if from_toast:
                    self.toaster.tell(slot, f"Call {name} back", f"{result.body} ({number})")
                self.acknowledged.emit(result)
            elif delay_ms > 0 and not result.sent and result.state is Delivery.QUEUED:
                entry = self._hold(result, name, delay_ms)
                if from_toast:
                    self._toast_acks[result.message_id] = name
                    seconds = max(1, round(delay_ms / 1000))
                    self.toaster.tell(slot, f"Acknowledgement to {name} goes out in"
                                      f" {seconds} s", result.body, undo=entry,
                                      timeout_ms=delay_ms + 2000)
            else:
                self._report_sent(result)
                if from_toast:
                    self._tell_sent(slot, result, name)
            self.status_wanted.emit()

        def failed(exc: Exception) -> None:
            self.settled.emit(inquiry_id)
            window = self._window()
            window.set_busy(False)
            promised = request.reply_by
            if promised is not None and promised <= self.engine.clock.now():
                # The time the shown text promised has passed: nothing went out; the text
                # is written again with a time still to come, for the user to see first.
                when = format_time(promised, self.zone, promised)
                window.show_message(f"Not sent: the reply promised {when}, which has passed."
                                    " It now shows a new time: check it and press Enter"
                                    " again.")
                self.preview(inquiry_id, request.template or "", int(request.only))
            else:
                window.show_message(f"Not sent: {exc}")
            if from_toast:
                self.toaster.tell(f"ack:{inquiry_id}", f"Not sent to {name}", str(exc))
            self.status_wanted.emit()

        delay = timedelta(milliseconds=delay_ms)
        self.sending.emit(inquiry_id, request.only)
        self.ops.run(lambda: self.engine.replies.acknowledge(
            InquiryId(inquiry_id), request.template, request.reply_by, subject=request.subject,
            body=request.body, delay=delay, only=request.only), done, failed)

    def _report_sent(self, result: AckResult) -> None:
        window = self._window()
        if result.state is Delivery.FAILED:
            window.show_message(f"Not sent: {result.error}. The client is waiting again.")
        elif result.state is Delivery.UNSURE:
            window.show_message(f"Unsure whether it went out: {result.error}")
        elif result.state is Delivery.REQUESTED:
            window.show_message(f"Passed on to your other device: {result.error}.")
        else:
            state = "Sent" if result.sent else f"Not sent yet ({result.error}); Heard keeps" \
                " trying"
            window.show_message(f"{state}: acknowledgement to {result.to}, promising a reply"
                                f" by {clock(result.reply_by, self.zone)}.")
        self.acknowledged.emit(result)

    def _hold(self, result: AckResult, name: str, delay_ms: int) -> Undoable:
        """The acknowledgement waits in the outbox; sent when the delay is over, unless Undo
        comes first. If Heard quits meanwhile, the undo stack sends it (or the next start
        does)."""
        entry = self.undo.hold(f"the acknowledgement to {name}",
                               send=lambda: self._send_held(result),
                               cancel=lambda: self._cancel_send(result, name), delay_ms=delay_ms)
        seconds = max(1, round(delay_ms / 1000))
        self._window().show_message(f"Acknowledgement to {name} will be sent in {seconds} s"
                                    " — Undo (Ctrl+Z)")
        return entry

    def _send_held(self, result: AckResult) -> None:
        self.ops.run(lambda: self._deliver_held(result), self._held_delivered,
                     lambda exc: self.failed.emit(f"could not send to {result.to}: {exc}"))

    def _deliver_held(self, result: AckResult) -> AckResult:
        """On a worker: send it, or (if it is no longer held) say what became of it."""
        outcome = self.engine.replies.send_queued(result.message_id)
        return replace(result, sent=outcome.out, state=Delivery.of(outcome.state),
                       error=outcome.error)

    def _held_delivered(self, result: AckResult) -> None:
        if result.state is Delivery.CANCELLED:
            self._window().show_message(f"The acknowledgement to {result.to} was cancelled.")
        else:
            self._report_sent(result)
        name = self._toast_acks.pop(result.message_id, None)
        if name is not None:   # it was acknowledged from a toast: say so there too
            self._tell_sent(f"ack:{result.inquiry_id}", result, name)
        self.status_wanted.emit()

    def _cancel_send(self, result: AckResult, name: str) -> None:
        def done(_item: object) -> None:
            window = self._window()
            window.show_message(f"Undone: the acknowledgement to {name} was not sent;"
                                f" {name} is waiting again.")
            if self._toast_acks.pop(result.message_id, None) is not None:
                self.toaster.tell(f"ack:{result.inquiry_id}", window.message.text(),
                                  timeout_ms=5000)
            self.status_wanted.emit()

        self.ops.run(lambda: self.engine.outbox.cancel(result.message_id), done,
                     lambda exc: self._window().show_message(f"Too late to undo: {exc}"))

    # a new person

    def decide(self, inquiry_id: int, decision: str, from_toast: bool = False) -> None:
        """Client, prospect or not a client (of a sender, or "not-a-client-domain"), for a
        new person; undoable from the window (and, from a toast, from the toast that says
        it was done)."""
        whole_domain = decision == "not-a-client-domain"
        decision = decision.removesuffix("-domain")

        def done(result: Decision) -> None:
            name = result.person.name
            text = {"client": f"{name} is now a client.",
                    "prospect": f"{name} stays a prospect.",
                    "not-a-client": f"Not a client: {result.listed[0] if result.listed else name}"
                                    " — their mail no longer counts."}[result.kind]
            self._window().show_message(text)
            entry = Undoable(text, lambda: self._undo_decision(result, entry))
            self.undo.push(entry)
            if from_toast:
                self.toaster.tell(f"decide:{inquiry_id}", text, undo=entry)
            self.status_wanted.emit()

        def failed(exc: Exception) -> None:
            self._window().show_message(f"Not done: {exc}")
            if from_toast:
                self.toaster.tell(f"decide:{inquiry_id}", "Not done", str(exc))

        self.ops.run(lambda: self.engine.prospects.decide(InquiryId(inquiry_id), decision,
                                                whole_domain=whole_domain), done, failed)

    def _undo_decision(self, decision: Decision, entry: Undoable) -> None:
        def done(_result: Decision) -> None:
            self.undo.drop(entry)
            self._window().show_message(f"Undone: {decision.person.name} is as before.")
            self.status_wanted.emit()

        self.ops.run(lambda: self.engine.prospects.undo(decision), done,
                     lambda exc: self._window().show_message(f"Could not undo: {exc}"))

    # dismiss, answered, delegate

    def dismiss(self, inquiry_id: int, only: bool = False) -> None:
        """No reply needed (the client's waiting messages, or `only` this one); Ctrl+Z
        brings them back."""
        name = self._name_of(inquiry_id)

        def done(closed: list[Inquiry]) -> None:
            ids = [InquiryId(i.id) for i in closed if i.id is not None]
            what = f"{name}'s message" if len(ids) == 1 else f"{name}'s {len(ids)} messages"
            entry: Undoable = Undoable(f"dismissing {what}",
                                       lambda: self._undismiss(ids, name, entry))
            self.undo.push(entry)
            self._window().show_message(f"Dismissed {what} (no reply needed) — Undo (Ctrl+Z)")
            self.status_wanted.emit()

        self.ops.run(lambda: self.engine.inquiries.dismiss(InquiryId(inquiry_id), only=only),
                     done, lambda exc: self._window().show_message(f"Not dismissed: {exc}"))

    def _undismiss(self, ids: list[InquiryId], name: str, entry: Undoable) -> None:
        def done(_inquiries: object) -> None:
            self.undo.drop(entry)
            self._window().show_message(f"Undone: {name} is waiting again.")
            self.status_wanted.emit()

        self.ops.run(lambda: [self.engine.inquiries.undismiss(i) for i in ids], done,
                     lambda exc: self._window().show_message(f"Could not undo: {exc}"))

    def snooze(self, inquiry_id: int, said: str, from_toast: bool = False) -> None:
        """Set the client aside until `said` (as heard.domain.snoozes.snooze_time reads it),
        or wake them ("off"); Ctrl+Z takes either back (from a toast: its Undo)."""
        from heard.domain.snoozes import snooze_time

        name = self._name_of(inquiry_id)
        engine = self.engine
        who = str(inquiry_id)

        def work() -> tuple[Any, Any]:
            if said == "off":
                return engine.inquiries.unsnooze(who)
            busy = engine.status().busy if said.startswith("meeting") else None
            until = snooze_time(said, engine.clock.now(), engine.settings.hours, busy)
            return engine.inquiries.snooze(who, until)

        def done(result: tuple[Any, Any]) -> None:
            group, snooze = result
            name = group.client.display_name
            client_id = int(group.client.id)
            if said == "off":
                text = f"{name} is counted again." if snooze is not None else \
                    f"{name} was not snoozed."
                entry: Undoable = Undoable(f"waking {name}", lambda: self._restore_snooze(
                    snooze, client_id, f"{name} is snoozed again.", entry))
            else:
                now = engine.clock.now()
                zone = self.zone
                told = (f"Snoozed {name} until {day_and_time(snooze.until, now, zone)}",
                        "not counted meanwhile, back at once if they write; the"
                        " acknowledgement is still due"
                        f" {day_and_time(group.ack_due, now, zone)}")
                text = f"{told[0]}: {told[1]} — Undo (Ctrl+Z)"
                entry = Undoable(f"snoozing {name}", lambda: self._restore_snooze(
                    None, client_id, f"Undone: {name} is counted again.", entry))
            self.undo.push(entry)
            if from_toast and said != "off":
                self.toaster.tell("snooze", told[0], f"{told[1][0].upper()}{told[1][1:]}.",
                                  undo=entry)
            elif from_toast:
                self.toaster.tell("snooze", text)
            else:
                self._window().show_message(text)
            self.status_wanted.emit()

        def failed(exc: Exception) -> None:
            words = f"Not snoozed: {exc}" if said != "off" else f"{name} not woken: {exc}"
            if from_toast:
                self.toaster.tell("snooze", words)
            else:
                self._window().show_message(words)

        self.ops.run(work, done, failed)

    def _restore_snooze(self, snooze: Any, client_id: int, text: str, entry: Undoable) -> None:
        def done(_none: object) -> None:
            self.undo.drop(entry)
            self._window().show_message(text)
            self.status_wanted.emit()

        self.ops.run(lambda: self.engine.inquiries.restore_snooze(snooze, client_id), done,
                     lambda exc: self._window().show_message(f"Could not undo: {exc}"))

    # waiting on the client (follow-ups)

    def follow_up(self, inquiry_id: int, said: str) -> None:
        """Wait on the client's reply until `said` (heard.domain.followups.follow_up_time);
        Ctrl+Z takes it back."""
        from heard.domain.followups import follow_up_time

        engine = self.engine

        def work() -> Any:
            due = follow_up_time(said, engine.clock.now(), engine.settings.hours)
            return engine.follow_ups.set(str(inquiry_id), due)

        def done(follow_up: Any) -> None:
            name = self._name_of(inquiry_id)
            entry = Undoable(f"the follow-up on {name}", lambda: self._stop_follow_up(
                int(follow_up.id), f"Undone: no longer waiting on {name}.", entry))
            self.undo.push(entry)
            when = day_and_time(follow_up.due, engine.clock.now(), self.zone)
            self._window().show_message(
                f"Waiting on {name}: if they have not written by {when}, they show under"
                " Owe you a reply — Undo (Ctrl+Z)")
            self.status_wanted.emit()

        self.ops.run(work, done, lambda exc: self._window().show_message(
            f"No follow-up set: {exc}"))

    def stop_follow_up(self, follow_up_id: int) -> None:
        self._stop_follow_up(follow_up_id, "", None)

    def _stop_follow_up(self, follow_up_id: int, text: str, undone: Undoable | None) -> None:
        def done(closed: Any) -> None:
            if undone is not None:
                self.undo.drop(undone)
                self._window().show_message(text)
            else:
                entry = Undoable("stopping the follow-up",
                                 lambda: self._restore_follow_ups(closed, entry))
                self.undo.push(entry)
                self._window().show_message("No longer waiting on them — Undo (Ctrl+Z)")
            self.status_wanted.emit()

        self.ops.run(lambda: self.engine.follow_ups.off(str(follow_up_id)), done,
                     lambda exc: self._window().show_message(f"Not changed: {exc}"))

    def _restore_follow_ups(self, follow_ups: Any, entry: Undoable) -> None:
        def done(_none: object) -> None:
            self.undo.drop(entry)
            self._window().show_message("Undone: waiting on them again.")
            self.status_wanted.emit()

        self.ops.run(lambda: self.engine.follow_ups.restore(list(follow_ups)), done,
                     lambda exc: self._window().show_message(f"Could not undo: {exc}"))

    def nudge(self, follow_up_id: int) -> None:
        """Show the nudge as it will leave; Send queues exactly that text, held for Undo."""
        from heard.gui.owed_panel import NudgeDialog

        def shown(draft: Any) -> None:
            dialog = NudgeDialog(draft.client.display_name, draft.to, draft.subject,
                                 draft.body, self._window())
            self._nudge_dialog = dialog
            dialog.accepted.connect(lambda: self._send_nudge(follow_up_id, dialog,
                                                             draft.client.display_name))
            dialog.show()

        self.ops.run(lambda: self.engine.follow_ups.draft(follow_up_id), shown,
                     lambda exc: self._window().show_message(f"No nudge: {exc}"))

    def _nudge_undone(self, name: str) -> None:
        self._window().show_message(f"Undone: the nudge to {name} was not sent; they owe"
                                    " you a reply again.")
        self.status_wanted.emit()

    def _send_nudge(self, follow_up_id: int, dialog: Any, name: str) -> None:
        subject, body = dialog.text()
        delay_ms = self.engine.settings.replies.undo_seconds * 1000

        def done(result: Any) -> None:
            if not delay_ms:
                self._window().show_message(f"Nudged {name}." if result.sent else
                                            f"The nudge to {name} is not out yet:"
                                            f" {result.error}")
                self.status_wanted.emit()
                return
            self.undo.hold(f"the nudge to {name}",
                           send=lambda: self.ops.run(
                               lambda: self.engine.replies.send_queued(result.message_id),
                               lambda _o: self.status_wanted.emit(),
                               lambda exc: self.failed.emit(f"nudge not sent: {exc}")),
                           cancel=lambda: self.ops.run(
                               lambda: self.engine.outbox.cancel(result.message_id),
                               lambda _i: self._nudge_undone(name),
                               lambda exc: self._window().show_message(
                                   f"Too late to undo: {exc}")),
                           delay_ms=delay_ms)
            self._window().show_message(f"Nudge to {name} will be sent in"
                                        f" {max(1, round(delay_ms / 1000))} s — Undo (Ctrl+Z)")
            self.status_wanted.emit()

        self.ops.run(lambda: self.engine.follow_ups.nudge(
            follow_up_id, subject, body, delay=timedelta(milliseconds=delay_ms)), done,
            lambda exc: self._window().show_message(f"Not sent: {exc}"))

    def mark_answered(self, inquiry_id: int, only: bool = False) -> None:
        """They have their answer another way (a call, a meeting)."""
        name = self._name_of(inquiry_id)

        def done(_closed: object) -> None:
            self._window().show_message(f"Marked answered: {name} has their answer.")
            self.status_wanted.emit()

        self.ops.run(lambda: self.engine.inquiries.mark_answered(InquiryId(inquiry_id),
                                                                 only=only), done,
                     lambda exc: self._window().show_message(f"Not marked answered: {exc}"))

    def delegate(self, inquiry_id: int, only: int = 0) -> None:
        """Ask to whom, with what note and by when; then forward it off the GUI thread."""
        from heard.gui.delegate_dialog import DelegateDialog

        settings = self.engine.settings
        window = self._window()
        if not settings.assistants:
            window.show_message(NO_ASSISTANT)
            return
        entry = window.current_entry() if window.current_id() == inquiry_id else None
        if entry is None:
            return
        now = self.engine.clock.now()
        dialog = DelegateDialog(entry.client.display_name, entry.inquiry.subject,
                                settings.assistants, now + settings.delegation.due,
                                self.zone, tell_client=settings.delegation.tell_client,
                                assistant_allowed=entry.client.assistant_allowed, now=now,
                                parent=window)
        name = entry.client.display_name

        def done(result: DelegateResult) -> None:
            told = f"; {name} is told {result.assistant.name} will help" \
                if result.told_client else ""
            sent = "" if result.sent else f" (not sent yet: {result.error}; Heard keeps trying)"
            if result.state is Delivery.REQUESTED:
                self._window().show_message(f"Delegation passed on to your other device:"
                                            f" {result.error}.")
                return
            self._window().show_message(
                f"Delegated {name}'s message to {result.assistant.name}, due"
                f" {format_time(result.due, self.zone, now)}{told}.{sent}")
            self.status_wanted.emit()

        def accepted() -> None:
            choice = dialog.values()
            self.ops.run(lambda: self.engine.replies.delegate(
                InquiryId(inquiry_id), choice.assistant.address, choice.note, choice.due,
                choice.tell_client, only=bool(only)), done,
                lambda exc: self._window().show_message(f"Not delegated: {exc}"))

        dialog.accepted.connect(accepted)
        dialog.open()
        self._delegate_dialog = dialog

    # preview, log a call

    def preview(self, inquiry_id: int, template: str = "", only: int = 0) -> None:
        """The reply as it would be sent (a dry run), for the window to show and edit."""
        self.ops.run(
            lambda: self.engine.replies.acknowledge(InquiryId(inquiry_id), template or None,
                                                    dry_run=True, only=bool(only)),
            lambda result: self._window().show_preview(inquiry_id, result, template, only),
            lambda exc: self._preview_failed(inquiry_id, exc),
        )

    def _preview_failed(self, inquiry_id: int, exc: Exception) -> None:
        from heard.errors import NotWaiting

        # Dismissed, answered or acknowledged meanwhile (here or on another device): the
        # preview is moot, and its error must not hide what the user just did.
        window = self._window()
        if isinstance(exc, NotWaiting) or inquiry_id != window.current_id():
            log.info("preview of inquiry %s dropped: %s", inquiry_id, exc)
            return
        window.show_message(f"No preview: {exc}")

    def log_call(self) -> None:
        """Ask who called (a number or a client) and what about; it then waits like mail. A
        number no client has becomes a prospect; a refusal is said in the dialog, which
        stays open with the note."""
        from heard.gui.clients_page import words
        from heard.gui.log_call import LogCallDialog

        dialog = LogCallDialog(self._made_window())

        def logged(_inquiry: object) -> None:
            dialog.accept()
            self.status_wanted.emit()

        def log_it() -> None:
            who, note = dialog.values()
            dialog.working()
            self.ops.run(lambda: self.engine.inquiries.log_call(who, note=note), logged,
                         lambda exc: dialog.failed(words(exc)))

        dialog.ok.clicked.connect(log_it)
        dialog.open()
        self._call_dialog = dialog
