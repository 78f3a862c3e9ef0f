"""The scoring subcommands of `o2c credit` (docs/credit-scoring.md):

- `score --customer NUMBER [--as-of DATE] [--format table|json]`: score a customer, keep the score, set
  its risk class and next review
- `reviews [--as-of DATE] [--format table|json]`: the reviews due by the date (default today)
- `bureau-import FILE.csv [--format table|json]`: a credit bureau's export (atomic, idempotent)
- `report risk-classes [--as-of DATE] [--format table|json]`: customers, receivables, exposure and limit
  use by risk class

Machine output alone goes to stdout; bad input is one line on stderr and exit status 2."""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from o2c.core import clock
from o2c.core.cli import O2CCommand, date_option
from o2c.core.exceptions import InputError
from o2c.core.formatting import amount_human, cli_locale, date_human, money_human
from o2c.core.money import Money
from o2c.credit import applications, reviews, scoring
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity


def _as_of(entity: LegalEntity, text: str | None) -> date:
    if not text:
        return clock.today_in(entity.time_zone)
    return date_option("--as-of", text)


SCORING_SUBCOMMANDS = {"score": "_score", "reviews": "_reviews", "bureau-import": "_bureau_import"}


def _json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


class ScoringSubcommands(O2CCommand):
    """`o2c credit`'s scoring subcommands, mixed into its command (their options are its options)."""

    def _score(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        number = options["customer"]
        if not number:
            raise InputError(_("--customer is required"))
        customer = Customer.objects.filter(entity=entity, number=number).first()
        if customer is None:
            raise InputError(_("--customer: unknown customer '%(number)s'") % {"number": number})
        score = scoring.customer_score(
            customer_id=customer.pk, as_of=_as_of(entity, options["as_of"]), actor=None, now=clock.now()
        )
        record = scoring.score_record(score)
        review = customer.credit_reviews.filter(state="open").first()
        record["next_review"] = None if review is None else review.due_date.isoformat()
        if options["format"] == "json":
            _json(record)
            return
        locale = cli_locale()
        lines = [
            _("%(customer)s scored %(total)s as of %(date)s: class %(class)s")
            % {
                "customer": customer.number,
                "total": record["total"],
                "date": date_human(score.as_of, locale),
                "class": record["risk_class"],
            }
        ]
        for factor in record["factors"]:
            if factor["missing"]:
                lines.append(f"  {factor['code']:<22} {_('missing')}")
            else:
                lines.append(
                    f"  {factor['code']:<22} {factor['value']:>10}  {factor['band']:<24} "
                    f"{factor['points']:>3} × {factor['effective_weight']:>6} %"
                )
        if score.recommended_limit_minor is not None:
            lines.append(
                _("recommended limit: %(limit)s")
                % {"limit": money_human(score.recommended_limit_minor, score.currency, locale)}
            )
        if review is not None:
            lines.append(_("next review: %(date)s") % {"date": date_human(review.due_date, locale)})
        sys.stdout.write("\n".join(lines) + "\n")

    def _reviews(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        as_of = _as_of(entity, options["as_of"])
        due = list(reviews.reviews_due(entity_ids=[entity.pk], as_of=as_of))
        if options["format"] == "json":
            _json(
                {
                    "as_of": as_of.isoformat(),
                    "reviews": [
                        {
                            "id": review.pk,
                            "customer": review.customer.number,
                            "name": review.customer.name,
                            "risk_class": review.risk_class,
                            "due_date": review.due_date.isoformat(),
                        }
                        for review in due
                    ],
                }
            )
            return
        locale = cli_locale()
        if not due:
            self.note(_("no credit reviews due by %(date)s") % {"date": date_human(as_of, locale)})
            return
        for review in due:
            sys.stdout.write(
                f"{date_human(review.due_date, locale):<12} {review.risk_class}  "
                f"{review.customer.number:<12} {review.customer.name}\n"
            )

    def _bureau_import(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        name = options["target"]
        if not name:
            raise InputError(_("bureau-import needs a CSV file"))
        try:
            data = Path(name).read_bytes()
        except OSError as error:
            raise InputError(
                _("cannot read the file: %(error)s") % {"error": error.strerror}, file=name
            ) from None
        result = applications.bureau_import(
            data=data, file_name=name, entity=entity, actor=None, now=clock.now()
        )
        if options["format"] == "json":
            _json(result.as_json())
            return
        self.note(
            _("%(rows)s rows: %(created)s reports new, %(updated)s corrected, %(unchanged)s known already")
            % {
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
            }
        )

    def _risk_report(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        as_of = _as_of(entity, options["as_of"])
        report = reviews.risk_class_report(entity_ids=[entity.pk], as_of=as_of)
        if options["format"] == "json":
            _json({"entity": entity.code, "as_of": as_of.isoformat(), **report})
            return
        locale = cli_locale()

        def human(text: str, currency: str) -> str:
            return amount_human(Money(Decimal(text), currency).to_minor(), currency, locale)

        lines = [_("class  currency  customers  receivables  exposure")]
        for row in report["customers"]:
            lines.append(
                f"{row['risk_class'] or '-':<6} {row['currency']:<9} {row['customers']:>9} "
                f"{human(row['receivables'], row['currency']):>12} "
                f"{human(row['exposure'], row['currency']):>12}"
            )
        lines.append(_("class  currency  limits  limit  exposure  use %"))
        for row in report["limits"]:
            lines.append(
                f"{row['risk_class'] or '-':<6} {row['currency']:<9} {row['limits']:>6} "
                f"{human(row['limit'], row['currency']):>12} {human(row['exposure'], row['currency']):>12} "
                f"{row['limit_use'] or '-':>6}"
            )
        sys.stdout.write("\n".join(lines) + "\n")
