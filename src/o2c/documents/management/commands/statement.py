"""`o2c statement --customer NUMBER [--entity CODE] [--output FILE.pdf] [--send]`: a customer's
statement of account as of today (the entity's business date) as PDF, written to FILE.pdf (default
`statement-NUMBER-DATE.pdf` in the current folder), and with `--send` e-mailed to the customer's billing
contacts as well."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import translation
from django.utils.translation import gettext as _

from o2c.core import clock
from o2c.core.cli import O2CCommand
from o2c.core.exceptions import InputError
from o2c.core.formatting import cli_language
from o2c.customers.models import Customer
from o2c.documents import services, statement
from o2c.ledger.options import entity_option


class Command(O2CCommand):
    help = (
        "A customer's statement of account as of today as PDF (open items, unapplied cash, aging and "
        "balance per currency, in the customer's language); --send e-mails it to the billing contacts."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--customer", required=True, metavar="NUMBER", help="the customer's number")
        parser.add_argument("--entity", help="legal entity code (default: the default entity)")
        parser.add_argument("--output", metavar="FILE.pdf", help="where to write the PDF")
        parser.add_argument("--send", action="store_true", help="also e-mail it to the customer")

    def run(self, *args: Any, **options: Any) -> None:
        with translation.override(cli_language()):
            self._run(options)

    def _run(self, options: dict[str, Any]) -> None:
        entity = entity_option(options["entity"])
        try:
            customer = statement.statement_customer(entity_ids=[entity.pk], number=options["customer"])
        except Customer.DoesNotExist:
            raise InputError(
                _("--customer: no customer '%(number)s' in %(entity)s")
                % {"number": options["customer"], "entity": entity.code},
                code="unknown_customer",
            ) from None
        now = clock.now()
        as_of = now.astimezone(ZoneInfo(entity.time_zone)).date()  # the entity's business date
        facts = statement.statement_facts(customer=customer, as_of=as_of)
        output = Path(options["output"] or statement.attachment_filename(facts))
        pdf = statement.render_statement_pdf(facts)
        try:
            output.write_bytes(pdf)
        except OSError as error:
            raise InputError(
                _("--output: cannot write %(file)s: %(reason)s")
                % {"file": output, "reason": error.strerror or error},
                code="bad_output",
            ) from None
        self.note(
            _("statement of %(number)s written to %(file)s") % {"number": customer.number, "file": output}
        )
        if options["send"]:
            sent = services.statement_send(
                customer_id=customer.pk, actor=None, now=now, rendered=(facts, pdf)
            )
            self.note(
                _("statement of %(number)s sent to %(recipients)s")
                % {"number": sent.customer_number, "recipients": ", ".join(sent.recipients)}
            )
