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


def entities_option(text: str | None) -> list[LegalEntity]:
    """`--entity` for reports that may cover several legal entities: codes separated by commas, or
    `all`, else the default entity. Ordered by code; an unknown code is a one-line error."""
    if text is None or not text.strip():
        return [entity_option(None)]
    if text.strip().lower() == "all":
        return list(ledger_selectors.entity_list())
    codes = sorted({code.strip() for code in text.split(",") if code.strip()})
    return [entity_option(code) for code in codes]
