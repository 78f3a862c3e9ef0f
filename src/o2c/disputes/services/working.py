"""Working a case: its state, owner and team, notes and files."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.core.actors import actor_id
from o2c.disputes import rules
from o2c.disputes.errors import UnableToChangeCase
from o2c.disputes.models import Case, CaseAttachment, CaseNote
from o2c.disputes.services import _shared as shared


@transaction.atomic
def case_transition(*, case_id: int, state: str, actor: User | None, now: datetime, reason: str = "") -> Case:
    """Move a case between its working states (`rules.TRANSITIONS`): open, in review, waiting on the
    customer. The resolutions have their own services."""
    case = shared.locked_case(case_id)
    shared.ensure_working(case)
    if state in rules.RESOLUTIONS:
        raise UnableToChangeCase(
            _("a case is resolved with its resolution, not moved to %(state)s") % {"state": state},
            code="use_resolve",
        )
    rules.ensure_transition(case.state, state)
    shared.ensure_nothing_pending(case, actor=actor, now=now)
    before = case.state
    case.state = state
    case.save(update_fields=["state"])
    shared.audit_case(
        case,
        "disputes.case.state_changed",
        actor=actor,
        now=now,
        changes={"state": (before, state)},
        reason=reason,
    )
    return case


@transaction.atomic
def case_assign(
    *,
    case_id: int,
    owner_id: int | None,
    team: str,
    actor: User | None,
    now: datetime,
    reason: str = "",
) -> Case:
    """Give a case an owner (a person granted its legal entity, or nobody) and a team."""
    case = shared.locked_case(case_id)
    shared.ensure_working(case)
    shared.ensure_team(team)
    owner = shared.case_owner(owner_id, entity_id=case.entity_id) if owner_id is not None else None
    changes: dict[str, tuple[object, object]] = {}
    if case.owner_id != (owner.pk if owner else None):
        before = case.owner.get_username() if case.owner else None
        changes["owner"] = (before, owner.get_username() if owner else None)
    if case.team != team:
        changes["team"] = (case.team, team)
    if changes:
        case.owner = owner
        case.team = team
        case.save(update_fields=["owner", "team"])
        shared.audit_case(
            case, "disputes.case.assigned", actor=actor, now=now, changes=changes, reason=reason
        )
    return case


@transaction.atomic
def case_note_add(*, case_id: int, text: str, actor: User | None, now: datetime) -> CaseNote:
    """A note in the case's thread (closed cases too: what happened afterwards)."""
    case = shared.locked_case(case_id)
    if not text.strip():
        raise UnableToChangeCase(_("a note has text"), code="empty_note")
    note = CaseNote.objects.create(
        case=case, author=actor if actor_id(actor) else None, text=text.strip(), created_at=now
    )
    shared.audit_case(case, "disputes.case.note_added", actor=actor, now=now, reason=text.strip()[:300])
    return note


@transaction.atomic
def case_attachment_add(
    *,
    case_id: int,
    file_name: str,
    content: bytes,
    content_type: str,
    actor: User | None,
    now: datetime,
    description: str = "",
) -> CaseAttachment:
    """A file on a case (open or ended, like a note), kept in the database: at most
    `rules.MAX_ATTACHMENT_BYTES`, of a type in `rules.ATTACHMENT_TYPES` (`rules.attachment_type`)."""
    case = shared.locked_case(case_id)
    if not content:
        raise UnableToChangeCase(_("the file is empty"), code="empty_file")
    if len(content) > rules.MAX_ATTACHMENT_BYTES:
        raise UnableToChangeCase(
            _("the file is larger than %(size)s MB") % {"size": rules.MAX_ATTACHMENT_BYTES // (1024 * 1024)},
            code="file_too_large",
        )
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "attachment"
    kind = rules.attachment_type(name, content_type, content[:16])
    digest = hashlib.sha256(content).hexdigest()
    attachment = CaseAttachment.objects.create(
        case=case,
        file_name=name,
        description=description.strip()[:300],
        content_type=kind,
        size=len(content),
        sha256=digest,
        content=content,
        uploaded_by=actor if actor_id(actor) else None,
        uploaded_at=now,
    )
    shared.audit_case(
        case,
        "disputes.case.attachment_added",
        actor=actor,
        now=now,
        changes={"attachment": (None, f"{attachment.file_name} ({attachment.size} bytes, sha256 {digest})")},
        reason=attachment.description,
    )
    return attachment
