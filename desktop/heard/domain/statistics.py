"""Whether the standard is being met: every contact's timeline measured, then summarised.

Pure: the caller passes the inquiries, the clients, the standards, the working hours and the
instant to measure against (`now`).

Rules of the measure (one `ContactMeasure` per inquiry):
- The **acknowledgement** is `acknowledged_at`; an inquiry answered, or delegated, without one
  counts as acknowledged at `closed_at` (an answer acknowledges too; a delegation tells the client
  who will help). Answering stops the acknowledge clock, never the answer clock: both are counted
  from arrival.
- The **answer** is `closed_at` of an ANSWERED inquiry. A DELEGATED one hands the matter over: it
  is acknowledged at the delegation (its `closed_at`) and counts as answered when it is later
  marked answered; until then its answer clock runs against `now`, like any open contact. (The
  store overwrites `closed_at` when a delegated inquiry is answered, so the delegation instant
  survives only as `acknowledged_at`.)
- **Dismissed** inquiries needed no reply: they are left out of every response measure (counts,
  shares, times, breaches, goals) and counted apart in `Summary.dismissed`.
- **Still open** contacts are measured against `now`: a deadline not yet reached is undecided
  (`None`: not in any share yet), one already passed is late (`False`) and a breach.
- **In time** means the reply came at or before the deadline instant, `deadline()` of the
  contact's own standard: the same instant the tray and the warnings show. A contact that arrives
  outside working hours starts its clock at the next opening.
- **Durations** (`time_to_ack`, `time_to_answer`) are counted as the contact's standard counts:
  working time (`WorkingHours.elapsed`) or real elapsed time (around the clock), from arrival.
- An inquiry whose client is no longer in the directory is measured with the default tier.
- Instants in a measure are UTC; `day` is the local date of arrival in the hours' zone.

Rules of the summary:
- **Percentiles** use the nearest-rank method: the p-th percentile of N sorted times is the
  ceil(p/100 * N)-th of them (1-based). The median is the 50th percentile by that rule: always a
  time that really happened (for an even N, the lower of the two middle ones), never an average.
  Times are taken from contacts that were acknowledged (answered); open ones have no time yet and
  show in `breaches` once late.
- **Goals**: each contact is judged against its own standard; the group's goal is the strictest
  (highest) goal among the standards of its contacts, so "goal met" is never claimed for a VIP
  share that falls short. `needed_more` is the smallest n with (on_time+n)/(total+n) >= goal:
  0 when met, `None` when no number of on-time contacts can reach it (a 100% goal once one
  contact was late).
- **Promises** count with their inquiry's group (a promise made on Monday for a Sunday contact
  belongs to Sunday's week); promises of inquiries not measured are left out. Kept means kept at
  or before `due`; broken means kept late, or still open past `due` at `now` (when given).
- **Weeks and days** are those of the working hours' zone (ISO weeks, Monday first), so a contact
  at 00:30 on a Monday in Berlin is in that Monday's week whatever its UTC date, across DST.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from fractions import Fraction
from functools import lru_cache
from typing import Literal, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from heard.domain.clients import DEFAULT_TIER, Channel, Client
from heard.domain.clock import Counting, WorkingHours
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import InquiryState
from heard.domain.promises import Promise
from heard.domain.standards import PROSPECT_TIER, Standard, Standards

GroupBy = Literal["all", "week", "day", "client", "channel", "tier", "prospect"]
GROUPINGS: tuple[GroupBy, ...] = ("all", "week", "day", "client", "channel", "tier", "prospect")

_ZERO = timedelta(0)
_DAY = timedelta(days=1)
# Past this many closed days in a row, fall back to WorkingHours, which raises the clear error.
_IDLE_DAYS = 3660


class ContactMeasure(NamedTuple):
    """One inquiry's timeline against its standard. Instants are in UTC (show them in the
    user's zone); `day` is the local date of arrival in the working hours' zone.

    A NamedTuple, not a frozen dataclass: a year holds ~100,000 of them and building one is
    about ten times cheaper (a frozen dataclass sets each field through object.__setattr__).
    """

    inquiry_id: InquiryId | None
    client_id: ClientId
    tier: str
    channel: Channel
    prospect: bool
    state: InquiryState
    received: datetime
    day: date
    ack_at: datetime | None
    answer_at: datetime | None
    ack_due: datetime
    answer_due: datetime
    time_to_ack: timedelta | None
    time_to_answer: timedelta | None
    ack_in_time: bool | None     # None: not yet decided (still open, deadline ahead) or dismissed
    answer_in_time: bool | None
    breached: bool               # late on either clock (acknowledge or answer)
    standard: Standard

    @property
    def dismissed(self) -> bool:
        return self.state is InquiryState.DISMISSED

    @property
    def is_open(self) -> bool:
        """Still owes the client its answer (a delegated inquiry not yet answered included)."""
        return self.state is not InquiryState.DISMISSED and self.answer_at is None


@dataclass(frozen=True)
class GoalProgress:
    """Progress toward a percentile goal: "87% within 10 minutes; goal 90%; 3 more"."""

    goal: float                 # the group's goal: the strictest of its contacts' standards
    within: timedelta           # that standard's time ("within 10 minutes")
    counting: Counting
    achieved: float | None      # on_time / total; None with no decided contact
    on_time: int
    total: int                  # decided contacts: on time plus late
    needed_more: int | None     # None: out of reach (a 100% goal after a late contact)

    @property
    def met(self) -> bool:
        return self.achieved is not None and self.needed_more == 0


@dataclass(frozen=True)
class Summary:
    key: str
    count: int                  # contacts that needed a reply (dismissed ones are not counted)
    acknowledged: int
    answered: int
    open: int                   # answer still owed at `now` (delegated ones included)
    delegated: int              # handed over (DELEGATED now, answered or not later)
    dismissed: int
    ack_in_time: int
    ack_late: int
    ack_in_time_share: float | None
    answer_in_time: int
    answer_late: int
    answer_in_time_share: float | None
    median_time_to_ack: timedelta | None
    p90_time_to_ack: timedelta | None
    median_time_to_answer: timedelta | None
    p90_time_to_answer: timedelta | None
    breaches: int
    promises_made: int
    promises_kept: int
    promises_broken: int
    ack_goal: GoalProgress | None      # None when the group has no contact needing a reply
    answer_goal: GoalProgress | None


# --- working time as a line ---------------------------------------------------------------------


class _WorkingTimeline:
    """Working time from an origin, so that elapsed() and add() are a lookup, not a day walk.

    Built from WorkingHours.openings() day by day (the very openings WorkingHours uses, so DST,
    holidays and breaks agree), extended forward on demand. `cum[i]` is the working time before
    opening i; elapsed(a, b) = W(b) - W(a) and add(a, d) is the first instant where W reaches
    W(a) + d. Measuring a year of contacts this way is ~50x faster than walking days per call.
    """

    def __init__(self, hours: WorkingHours, first_day: date) -> None:
        self.hours = hours
        self.starts: list[datetime] = []
        self.ends: list[datetime] = []
        self.cum: list[timedelta] = []      # working time before each opening
        self.cum_end: list[timedelta] = []  # working time up to each opening's end
        self.next_day = first_day
        self.origin = _local_midnight(first_day, hours.zone).astimezone(UTC)
        self.covered = self.origin  # every opening before this instant is in the lists

    def _extend_day(self) -> bool:
        found = False
        total = self.cum_end[-1] if self.cum_end else _ZERO
        for s, e in self.hours.openings(self.next_day):
            s, e = s.astimezone(UTC), e.astimezone(UTC)
            self.starts.append(s)
            self.ends.append(e)
            self.cum.append(total)
            total += e - s
            self.cum_end.append(total)
            found = True
        self.next_day += _DAY
        self.covered = _local_midnight(self.next_day, self.hours.zone).astimezone(UTC)
        return found

    def _cover(self, at: datetime) -> None:
        while at >= self.covered:
            self._extend_day()

    def position(self, at: datetime) -> timedelta:
        """W(at): working time from the origin to `at` (0 before the first opening)."""
        if at >= self.covered:
            self._cover(at)
        i = bisect_right(self.starts, at) - 1
        if i < 0:
            return _ZERO
        end = self.ends[i]
        return self.cum[i] + (end if at > end else at) - self.starts[i]

    def instant(self, start: datetime, position: timedelta, duration: timedelta) -> datetime:
        """The first instant where W reaches `position` + `duration` (`position` = W(start))."""
        target = position + duration
        idle = 0
        while not self.cum_end or self.cum_end[-1] < target:
            idle = 0 if self._extend_day() else idle + 1
            if idle > _IDLE_DAYS:
                return self.hours.add(start, duration).astimezone(UTC)  # raises: no hours
        j = bisect_left(self.cum_end, target)
        return self.starts[j] + (target - self.cum[j])

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        if end <= start:
            return _ZERO
        if start < self.origin:
            return self.hours.elapsed(start, end)
        return self.position(end) - self.position(start)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        if start < self.origin or duration <= _ZERO:
            return self.hours.add(start, duration).astimezone(UTC)
        return self.instant(start, self.position(start), duration)


# --- measuring ----------------------------------------------------------------------------------


def _utc(at: datetime | None) -> datetime | None:
    # The store's instants are UTC already; astimezone() is the costliest call per contact.
    return at if at is None or at.tzinfo is UTC else at.astimezone(UTC)


def _req_utc(at: datetime) -> datetime:
    return at if at.tzinfo is UTC else at.astimezone(UTC)


class Timeline(Protocol):
    """What measuring needs of an inquiry: an Inquiry has it, and so has the store's light
    row for statistics (a year of contacts is read without building full inquiries)."""

    @property
    def id(self) -> InquiryId | None: ...
    @property
    def client_id(self) -> ClientId: ...
    @property
    def channel(self) -> Channel: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def state(self) -> InquiryState: ...
    @property
    def acknowledged_at(self) -> datetime | None: ...
    @property
    def closed_at(self) -> datetime | None: ...


class TimelineRow(NamedTuple):
    """An inquiry's timeline as the store reads it for statistics."""

    id: InquiryId | None
    client_id: ClientId
    channel: Channel
    received_at: datetime
    state: InquiryState
    acknowledged_at: datetime | None
    closed_at: datetime | None


def measure(
    inquiries: Iterable[Timeline],
    clients: Mapping[ClientId, Client],
    standards: Standards,
    hours: WorkingHours,
    now: datetime,
) -> list[ContactMeasure]:
    """Each inquiry's timeline against its own standard, measured at `now` (see the module)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    items = list(inquiries)
    if not items:
        return []
    zone = hours.zone
    # All arithmetic and comparison in UTC: aware datetimes sharing a ZoneInfo compare by wall
    # time in Python, which is wrong across a DST change.
    now_u = now.astimezone(UTC)
    first = min(_req_utc(i.received_at) for i in items)
    line = _WorkingTimeline(hours, first.astimezone(zone).date()) if any(hours.week) else None
    clock = Counting.CLOCK
    dismissed, answered, delegated = (InquiryState.DISMISSED, InquiryState.ANSWERED,
                                      InquiryState.DELEGATED)
    # (client, channel) -> (tier, prospect, standard, counted around the clock)
    contact: dict[tuple[ClientId, Channel], tuple[str, bool, Standard, bool]] = {}

    out = []
    for inq in items:
        found = contact.get((inq.client_id, inq.channel))
        if found is None:
            client = clients.get(inq.client_id)
            tier = client.tier if client is not None else DEFAULT_TIER
            standard = standards.for_contact(tier, inq.channel)
            found = contact[inq.client_id, inq.channel] = (
                tier, client is not None and (client.prospect or client.tier == PROSPECT_TIER),
                standard, standard.counting is clock)
        tier, prospect, standard, around = found
        received = _req_utc(inq.received_at)
        if around:
            ack_due = received + standard.ack_within
            answer_due = received + standard.answer_within
        elif line is not None:
            # W(received) once; every deadline and duration of this contact is relative to it.
            w0 = line.position(received)
            ack_due = line.instant(received, w0, standard.ack_within)
            answer_due = line.instant(received, w0, standard.answer_within)
        else:  # no working hours at all: WorkingHours says so in its error
            ack_due = hours.add(received, standard.ack_within)
            answer_due = hours.add(received, standard.answer_within)
        state = inq.state
        ack_at = answer_at = time_to_ack = time_to_answer = ack_ok = answer_ok = None
        if state is not dismissed:
            closed = _utc(inq.closed_at)
            answer_at = closed if state is answered else None
            ack_at = (_utc(inq.acknowledged_at) or (closed if state is delegated else None)
                      or answer_at)
            if ack_at is not None:
                time_to_ack = (max(_ZERO, ack_at - received) if around or line is None
                               else max(_ZERO, line.position(ack_at) - w0))
                ack_ok = ack_at <= ack_due
            elif now_u > ack_due:
                ack_ok = False
            if answer_at is not None:
                time_to_answer = (max(_ZERO, answer_at - received) if around or line is None
                                  else max(_ZERO, line.position(answer_at) - w0))
                answer_ok = answer_at <= answer_due
            elif now_u > answer_due:
                answer_ok = False
        # Positional, in field order: see ContactMeasure on why.
        out.append(ContactMeasure(
            inq.id, inq.client_id, tier, inq.channel, prospect, state, received,
            received.astimezone(zone).date(), ack_at, answer_at, ack_due, answer_due,
            time_to_ack, time_to_answer, ack_ok, answer_ok,
            ack_ok is False or answer_ok is False, standard))
    return out


# --- summarising --------------------------------------------------------------------------------


def percentile(values: Iterable[timedelta], p: float) -> timedelta | None:
    """Nearest-rank: the ceil(p/100 * N)-th smallest value (1-based); None when empty."""
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    return _ranked(sorted(values), p)


def _ranked(ordered: Sequence[timedelta], p: int | float) -> timedelta | None:
    if not ordered:
        return None
    rank = math.ceil(Fraction(p) * len(ordered) / 100)
    return ordered[max(rank, 1) - 1]


def _fraction(share: float) -> Fraction:
    # 0.9 is 0.90000000000000002 in binary; the user meant nine tenths.
    return Fraction(share).limit_denominator(1_000_000)


def needed_more(on_time: int, total: int, goal: float) -> int | None:
    """The fewest further on-time contacts that bring on_time/total up to `goal`.

    0 when the goal is met (or nothing has been measured yet); None when it cannot be reached
    (a goal of 100% once a contact was late).
    """
    if not 0 <= on_time <= total:
        raise ValueError(f"on_time must be between 0 and total, got {on_time} of {total}")
    g = _fraction(goal)
    if total == 0 or Fraction(on_time, total) >= g:
        return 0
    if g >= 1:
        return None
    # (on_time + n) / (total + n) >= g  <=>  n >= (g * total - on_time) / (1 - g)
    return math.ceil((g * total - on_time) / (1 - g))


def _progress(on_time: int, late: int, standards: Iterable[Standard],
              which: Literal["ack", "answer"]) -> GoalProgress | None:
    def goal_of(s: Standard) -> float:
        return s.ack_goal if which == "ack" else s.answer_goal

    def within_of(s: Standard) -> timedelta:
        return s.ack_within if which == "ack" else s.answer_within

    # The strictest goal; among standards with that goal, the shortest time.
    strictest = min(standards, key=lambda s: (-goal_of(s), within_of(s), s.counting),
                    default=None)
    if strictest is None:
        return None
    goal = goal_of(strictest)
    total = on_time + late
    return GoalProgress(goal, within_of(strictest), strictest.counting,
                        on_time / total if total else None, on_time, total,
                        needed_more(on_time, total, goal))


@lru_cache(maxsize=1024)
def _week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


_KEYS: dict[GroupBy, Callable[[ContactMeasure], str]] = {
    "all": lambda m: "all",
    "week": lambda m: _week_key(m.day),
    "day": lambda m: m.day.isoformat(),
    "client": lambda m: str(m.client_id),
    "channel": lambda m: m.channel.value,
    "tier": lambda m: m.tier,
    "prospect": lambda m: "prospects" if m.prospect else "clients",
}


def _order(group_by: GroupBy, key: str) -> tuple[int, str]:
    # Clients by id, as numbers; everything else (ISO weeks and days included) as text.
    return (int(key), "") if group_by == "client" else (0, key)


def is_prospect(m: ContactMeasure) -> bool:
    return m.prospect


def is_client(m: ContactMeasure) -> bool:
    return not m.prospect


def summarise(
    measures: Sequence[ContactMeasure],
    promises: Iterable[Promise] = (),
    *,
    group_by: GroupBy = "all",
    where: Callable[[ContactMeasure], bool] | None = None,
    now: datetime | None = None,
) -> list[Summary]:
    """One summary per group, in order (weeks and days chronological, clients by id).

    `where` keeps only the contacts it accepts (e.g. `is_client` to leave prospects out).
    `group_by="all"` always returns one summary, empty when there is no data; other groupings
    return one per group that has contacts. `now` decides which open promises are broken.
    """
    if group_by not in _KEYS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPINGS)}, got {group_by!r}")
    key_of = _KEYS[group_by]
    groups: dict[str, list[ContactMeasure]] = {}
    group_of_inquiry: dict[InquiryId, str] = {}
    for m in measures:
        if where is not None and not where(m):
            continue
        key = key_of(m)
        groups.setdefault(key, []).append(m)
        if m.inquiry_id is not None:
            group_of_inquiry[m.inquiry_id] = key
    if group_by == "all":
        groups.setdefault("all", [])
    now_u = None if now is None else now.astimezone(UTC)
    made: dict[str, int] = {}
    kept: dict[str, int] = {}
    broken: dict[str, int] = {}
    for p in promises:
        key_or_none = group_of_inquiry.get(p.inquiry_id)
        if key_or_none is None:
            continue
        made[key_or_none] = made.get(key_or_none, 0) + 1
        due = p.due.astimezone(UTC)
        if p.kept_at is not None:
            target = kept if p.kept_at.astimezone(UTC) <= due else broken
        elif now_u is not None and now_u > due:
            target = broken
        else:
            continue
        target[key_or_none] = target.get(key_or_none, 0) + 1
    return [
        _summary(key, groups[key], made.get(key, 0), kept.get(key, 0), broken.get(key, 0))
        for key in sorted(groups, key=lambda k: _order(group_by, k))
    ]


def _share(yes: int, no: int) -> float | None:
    return yes / (yes + no) if yes + no else None


def _summary(key: str, group: Sequence[ContactMeasure], made: int, kept: int,
             broken: int) -> Summary:
    # One pass: a year's summary walks 100,000 contacts.
    ack_times: list[timedelta] = []
    answer_times: list[timedelta] = []
    standards: dict[int, Standard] = {}
    count = still_open = handed = breaches = ack_yes = ack_no = ans_yes = ans_no = 0
    dismissed, delegated = InquiryState.DISMISSED, InquiryState.DELEGATED
    for m in group:
        if m.state is dismissed:
            continue
        count += 1
        standards.setdefault(id(m.standard), m.standard)
        if m.time_to_ack is not None:
            ack_times.append(m.time_to_ack)
        if m.time_to_answer is not None:
            answer_times.append(m.time_to_answer)
        else:
            still_open += 1
        handed += m.state is delegated
        breaches += m.breached
        if m.ack_in_time is not None:
            if m.ack_in_time:
                ack_yes += 1
            else:
                ack_no += 1
        if m.answer_in_time is not None:
            if m.answer_in_time:
                ans_yes += 1
            else:
                ans_no += 1
    ack_times.sort()
    answer_times.sort()
    return Summary(
        key=key,
        count=count,
        acknowledged=len(ack_times),
        answered=len(answer_times),
        open=still_open,
        delegated=handed,
        dismissed=len(group) - count,
        ack_in_time=ack_yes,
        ack_late=ack_no,
        ack_in_time_share=_share(ack_yes, ack_no),
        answer_in_time=ans_yes,
        answer_late=ans_no,
        answer_in_time_share=_share(ans_yes, ans_no),
        median_time_to_ack=_ranked(ack_times, 50),
        p90_time_to_ack=_ranked(ack_times, 90),
        median_time_to_answer=_ranked(answer_times, 50),
        p90_time_to_answer=_ranked(answer_times, 90),
        breaches=breaches,
        promises_made=made,
        promises_kept=kept,
        promises_broken=broken,
        ack_goal=_progress(ack_yes, ack_no, standards.values(), "ack"),
        answer_goal=_progress(ans_yes, ans_no, standards.values(), "answer"),
    )


# --- periods and words --------------------------------------------------------------------------


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    """The first instant of a local date: midnight, or the end of a DST gap that swallows it."""
    wall = datetime.combine(day, time())
    at = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if at.astimezone(zone).replace(tzinfo=None) != wall:
        # Midnight does not exist that day: the first instant whose local date is `day` lies
        # between the two readings of the missing wall time.
        other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
        lo, hi = min(at, other), max(at, other)
        while hi - lo > timedelta(microseconds=1):
            mid = lo + (hi - lo) // 2
            if mid.astimezone(zone).date() >= day:
                hi = mid
            else:
                lo = mid
        at = hi
    return at.astimezone(zone)


def week_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) of the ISO week holding `day`, in `zone`.

    167 or 169 hours long in a DST-change week: each end is its own local midnight.
    """
    monday = day - timedelta(days=day.weekday())
    return _local_midnight(monday, zone), _local_midnight(monday + timedelta(days=7), zone)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return _local_midnight(day, zone), _local_midnight(day + _DAY, zone)


def format_duration(span: timedelta) -> str:
    """'10 minutes', '1 hour', '1 hour 30 minutes', '2 days'."""
    minutes = round(span.total_seconds() / 60)
    if minutes >= 48 * 60 and minutes % (24 * 60) == 0:
        return _plural(minutes // (24 * 60), "day")
    hours, mins = divmod(minutes, 60)
    parts = ([_plural(hours, "hour")] if hours else []) + ([_plural(mins, "minute")] if mins
                                                          else [])
    return " ".join(parts) or "0 minutes"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _percent(share: float) -> str:
    # Rounded down: 89.6% of a 90% goal must not read as "90%".
    return f"{math.floor(share * 100 + 1e-9)}%"


def _goal_percent(goal: float) -> str:
    return f"{goal * 100:.1f}".rstrip("0").rstrip(".") + "%"


def goal_sentence(progress: GoalProgress | None, label: str = "this week") -> str:
    """"this week 87% within 10 minutes; goal 90%; 3 more on time to reach it"."""
    if progress is None or progress.achieved is None:
        return f"{label}: nothing to measure yet"
    head = (f"{label} {_percent(progress.achieved)} within {format_duration(progress.within)};"
            f" goal {_goal_percent(progress.goal)}")
    if progress.needed_more is None:
        late = progress.total - progress.on_time
        return f"{head}; out of reach ({late} late)"
    if progress.needed_more == 0:
        return f"{head}; met"
    return f"{head}; {progress.needed_more} more on time to reach it"


def weekly_summary_text(summary: Summary, label: str = "this week") -> str:
    """The acknowledgement and answer goals of one summary, one sentence per line."""
    return "\n".join((
        f"acknowledged: {goal_sentence(summary.ack_goal, label)}",
        f"answered: {goal_sentence(summary.answer_goal, label)}",
    ))
