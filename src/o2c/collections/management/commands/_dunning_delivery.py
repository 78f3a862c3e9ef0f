"""The delivery actions of `o2c dunning` (docs/dunning-delivery.md):

`o2c dunning bounces PATH... [--format table|json] [--entity CODE]`: record the bounces (RFC 3464
delivery status notifications) in these .eml files, folders of them or mbox files on the dunning notices
they name. JSON: `{"dsns", "notices_bounced", "problems", "permanent", "already_recorded", "unmatched":
[{"source", "message_id"}]}`.

`o2c dunning letters --as-of DATE (--output DIR | --merged FILE.pdf) [--entity CODE]`: the day's
pending letters as PDF, one file each in DIR (`letter-C-1000-2026-03-05-2.pdf`) or all in one FILE.pdf
for printing, then recorded as sent."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from django.template import TemplateSyntaxError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from o2c.collections import bounces, letters
from o2c.core import clock
from o2c.core.cli import O2CCommand
from o2c.core.exceptions import InputError
from o2c.ledger.models import LegalEntity
from o2c.ledger.options import entity_option


def bounces_command(command: O2CCommand, options: dict[str, Any]) -> None:
    if not options["paths"]:
        raise InputError(_("bounces: name the .eml files, folders or mbox files to read"), code="no_paths")
    entity = entity_option(options["entity"])
    paths = [Path(path) for path in options["paths"]]
    for path in paths:
        if not path.exists():
            raise InputError(_("no such file or folder"), file=str(path), code="unreadable_file")
    dsns = list(bounces.dsns_read(paths))  # every file read before anything is recorded
    summary = bounces.bounces_record(dsns=dsns, entity_ids=[entity.pk], actor=None, now=clock.now())
    for dsn in summary.unmatched:
        command.warn(
            _("%(source)s: no dunning notice with Message-ID %(message_id)s: skipped")
            % {"source": dsn.source, "message_id": dsn.message_id or "–"}
        )
    if options["format"] == "json":
        record = {
            "dsns": summary.dsns,
            "notices_bounced": summary.notices_bounced,
            "problems": summary.problems,
            "permanent": summary.permanent,
            "already_recorded": summary.already_recorded,
            "unmatched": [{"source": dsn.source, "message_id": dsn.message_id} for dsn in summary.unmatched],
        }
        sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        return
    lines = [
        ngettext("%(count)s bounce read", "%(count)s bounces read", summary.dsns) % {"count": summary.dsns},
        ngettext("%(count)s notice bounced", "%(count)s notices bounced", summary.notices_bounced)
        % {"count": summary.notices_bounced},
        ngettext(
            "%(count)s delivery problem recorded (%(permanent)s permanent)",
            "%(count)s delivery problems recorded (%(permanent)s permanent)",
            summary.problems,
        )
        % {"count": summary.problems, "permanent": summary.permanent},
        ngettext("%(count)s already recorded", "%(count)s already recorded", summary.already_recorded)
        % {"count": summary.already_recorded},
        ngettext("%(count)s matching no notice", "%(count)s matching no notice", len(summary.unmatched))
        % {"count": len(summary.unmatched)},
    ]
    sys.stdout.write(", ".join(lines) + "\n")


def letters_command(
    command: O2CCommand, options: dict[str, Any], *, entity: LegalEntity, as_of: date
) -> None:
    output, merged = options["output"], options["merged"]
    if bool(output) == bool(merged):
        raise InputError(_("letters: give either --output DIR or --merged FILE.pdf"), code="no_output")
    if output and Path(output).exists() and not Path(output).is_dir():
        raise InputError(_("--output: not a folder"), file=output, code="bad_output")
    notices = letters.letter_notices(entity_ids=[entity.pk], as_of=as_of)
    try:
        printed = letters.letters_print(notices=notices)
    except (LookupError, TemplateSyntaxError) as error:
        raise InputError(
            _("letters: a template cannot be rendered: %(reason)s") % {"reason": error}
        ) from None
    try:
        if merged and printed:
            Path(merged).write_bytes(letters.pdfs_merged([letter.html for letter in printed]))
        elif output and printed:
            folder = Path(output)
            folder.mkdir(parents=True, exist_ok=True)
            for letter in printed:
                (folder / letter.filename).write_bytes(letters.pdf_of(letter))
    except OSError as error:
        raise InputError(
            _("cannot write %(file)s: %(reason)s")
            % {"file": error.filename or merged or output, "reason": error.strerror or error},
            code="bad_output",
        ) from None
    recorded = letters.letters_mark_sent(letters=printed, actor=None, now=clock.now())
    where = merged or output
    sys.stdout.write(
        ngettext("%(count)s letter written to %(where)s", "%(count)s letters written to %(where)s", recorded)
        % {"count": recorded, "where": where}
        + "\n"
    )
