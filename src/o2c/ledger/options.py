"""What the commands' `--entity CODE` option means: that legal entity, else the default one (DESIGN: the
only entity, or the settings' default)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from o2c.core.exceptions import InputError
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity


def entity_option(code: str | None) -> LegalEntity:
    """The entity `--entity` names, else the default entity; a one-line error when there is none."""
    if code:
        try:
            return ledger_selectors.entity_get(code=code)
        except LegalEntity.DoesNotExist:
            raise InputError(
                _("--entity: unknown legal entity '%(code)s'") % {"code": code}, code="unknown_entity"
            ) from None
    entity = ledger_selectors.entity_default()
    if entity is None:
        raise InputError(_("there is no legal entity yet: run o2c migrate"), code="unknown_entity")
    return entity
