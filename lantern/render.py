"""How the CLI shows things to a person: tables with headers, local times, progress.

On a terminal, tables are drawn by rich with colour; piped or redirected, the
same table is plain text with a header line, so ``grep`` and ``cut`` keep
working.  Times are shown in the local zone, with how far away they are
("in 3 min", "2 min late").  Progress bars go to stderr and only on a
terminal, so they never mix with output a script reads.  ``--json`` output
never passes through here.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

#: colours by meaning, for the states people look for first
STYLES = {
    "exhausted": "bold white on red",
    "escalated": "bold red",
    "assigned": "yellow",
    "late": "bold red",
    "acknowledged": "green",
    "resolved": "dim green",
    "overdue": "bold red",
    "due": "yellow",
    "completed": "green",
    "BROKEN": "bold white on red",
    "intact": "green",
}


def is_terminal(stream: IO[str] | None = None) -> bool:
    stream = stream or sys.stdout
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def table(
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    empty: str = "(none)",
    styles: Sequence[str | None] | None = None,
) -> str:
    """A table: rich with colour on a terminal, else aligned plain text with a header line."""
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    if not cells:
        return f"{title}\n  {empty}" if title else empty
    if is_terminal():
        grid = Table(title=title or None, title_justify="left", header_style="bold")
        for name in header:
            grid.add_column(name, overflow="fold")
        for n, row in enumerate(cells):
            style = styles[n] if styles else None
            grid.add_row(*[_styled(c) for c in row], style=style)
        console = Console(file=io.StringIO(), force_terminal=True, width=_width())
        console.print(grid)
        text: str = console.file.getvalue()  # type: ignore[attr-defined]
        return text.rstrip("\n")
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    widths[-1] = 0  # the last column is not padded
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join([*([title] if title else []), line, *body])


def _width() -> int:
    try:
        return max(80, os.get_terminal_size().columns)
    except OSError:
        return 120


def _styled(cell: str) -> str:
    """Colour a cell by the state word it starts with, or red when it says something is late."""
    escaped = cell.replace("[", r"\[")
    style = STYLES["late"] if cell.endswith((" late", " late)")) else STYLES.get(cell.split(" ")[0])
    return f"[{style}]{escaped}[/]" if style else escaped


# -- time -----------------------------------------------------------------------------------------
def parse(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def relative(at: datetime, now: datetime | None = None, *, late_word: str = "late") -> str:
    """ "in 3 min", "2 min late" (or "2 min ago"), "now"."""
    now = now or datetime.now(UTC)
    seconds = (at - now).total_seconds()
    span = _span(abs(seconds))
    if span == "now":
        return "now"
    return f"in {span}" if seconds > 0 else f"{span} {late_word}"


def _span(seconds: float) -> str:
    if seconds < 30:
        return "now"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} d"


def local(value: str | datetime | None, now: datetime | None = None) -> str:
    """A time in the local zone, to the minute; the date too when it is not today."""
    at = parse(value)
    if at is None:
        return "-"
    here = at.astimezone()
    today = (now or datetime.now(UTC)).astimezone().date()
    return here.strftime("%H:%M" if here.date() == today else "%Y-%m-%d %H:%M")


def deadline(
    value: str | datetime | None, now: datetime | None = None, *, open_: bool = True
) -> str:
    """A deadline: local time and how far ("09:32 (in 3 min)", "09:20 (2 min late)")."""
    at = parse(value)
    if at is None:
        return "-"
    if not open_:
        return local(at, now)
    return f"{local(at, now)} ({relative(at, now)})"


def when(value: str | datetime | None, now: datetime | None = None) -> str:
    """A past or future moment: local time and how long ago/until ("09:20 (2 min ago)")."""
    at = parse(value)
    if at is None:
        return "-"
    return f"{local(at, now)} ({relative(at, now, late_word='ago')})"


# -- progress -----------------------------------------------------------------------------
class Steps:
    """One progress bar's handle: ``advance()`` as work is done, ``total`` when it is known."""

    def __init__(self, progress: Progress | None, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, by: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, by)

    def total(self, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)


@contextmanager
def progress(label: str, total: int | None = None) -> Iterator[Steps]:
    """A progress bar on stderr while the block runs (nothing when stderr is not a terminal)."""
    if not is_terminal(sys.stderr):
        yield Steps(None, None)
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with bar:
        yield Steps(bar, bar.add_task(label, total=total))
