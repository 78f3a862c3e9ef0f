"""What every `o2c` command shares: one-line errors with exit status 2, progress on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from o2c.core.exceptions import DomainError, InputError

stderr_console = Console(stderr=True)


class O2CCommand(BaseCommand):
    """Runs `run()`; a refusal or bad input becomes one line on stderr and exit status 2."""

    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.run(*args, **options)
        except DomainError as error:
            sys.stderr.write(f"error: {error.message}\n")
            sys.exit(2)

    def run(self, *args: Any, **options: Any) -> None:
        raise AbstractCommandError(self.__class__.__name__)

    def warn(self, message: str) -> None:
        sys.stderr.write(f"warning: {message}\n")

    def note(self, message: str) -> None:
        sys.stderr.write(f"{message}\n")


class AbstractCommandError(TypeError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name} must define run()")


@contextmanager
def progress_stages() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """Rich progress bars on stderr, one per stage: `stage(description, total)` returns `advance(n)`.
    Quiet when stderr is not a terminal (logs and CI get the summary lines only)."""
    progress = Progress(
        TextColumn("[bold]{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr_console,
        disable=not stderr_console.is_terminal,
    )
    with progress:

        def stage(description: str, total: int) -> Callable[[int], None]:
            task = progress.add_task(description, total=total)
            return lambda amount: progress.advance(task, amount)

        yield stage


def date_option(option: str, text: str) -> date:
    """A command's ISO 8601 date option, or a one-line error naming it (exit status 2)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(
            _("%(option)s: '%(value)s' is not an ISO 8601 date (YYYY-MM-DD)")
            % {"option": option, "value": text}
        ) from None
