"""The default dunning plan a legal entity starts with: a pre-due reminder five days before the due date,
a friendly reminder the day after, a firm notice at 15 days, a call by the collector at 30 and a final
notice at 45, with their texts in English, German, French and Spanish (Django template syntax; the
context is described in docs/collections.md). Managers change plans and texts later; this is data only,
used by the data migration and by `services.plan_default_ensure`."""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "de", "fr", "es")


@dataclass(frozen=True)
class StepDefault:
    level: int
    days: int
    channel: str
    tone: str
    templates: dict[str, tuple[str, str]]
    """language -> (subject, body)"""


DEFAULT_PLAN_NAME = "Standard"


def _item_lines(due: str) -> str:
    return "{% for item in items %}- {{ item.number }}, " + due + ": {{ item.open_amount }}\n{% endfor %}"


_ITEMS = {
    "en": _item_lines("due {{ item.due_date }}"),
    "de": _item_lines("fällig am {{ item.due_date }}"),
    "fr": _item_lines("échéance le {{ item.due_date }} "),
    "es": _item_lines("vencimiento {{ item.due_date }}"),
}

_GREETING = {
    "en": "Dear {{ customer_name }},\n\n",
    "de": "Sehr geehrte Damen und Herren,\n\n",
    "fr": "Madame, Monsieur,\n\n",
    "es": "Estimados señores:\n\n",
}

_CLOSING = {
    "en": "\nKind regards\n{{ entity_name }}\n",
    "de": "\nMit freundlichen Grüßen\n{{ entity_name }}\n",
    "fr": "\nVeuillez agréer nos salutations distinguées.\n{{ entity_name }}\n",
    "es": "\nAtentamente,\n{{ entity_name }}\n",
}


def _late(heading: str, interest: str, fee: str, total: str, charged: str, informative: str) -> str:
    """The late-charges paragraph (docs/late-charges.md): shown only when the notice has late-payment
    interest or recovery fees to show, one line per item with either, then their total."""
    return (
        "{% if late_charges_total %}\n"
        + heading
        + "\n{% for item in items %}{% if item.interest or item.fee %}- {{ item.number }}:"
        + "{% if item.interest %} "
        + interest
        + " {{ item.interest }}{% endif %}{% if item.interest and item.fee %},{% endif %}"
        + "{% if item.fee %} "
        + fee
        + " {{ item.fee }}{% endif %}\n{% endif %}{% endfor %}"
        + total
        + " {% if late_charges_charged %}"
        + charged
        + "{% else %}"
        + informative
        + "{% endif %}\n{% endif %}"
    )


LATE_CHARGES = {
    "en": _late(
        "Late-payment charges as of {{ as_of }} (interest at {{ late_charges_rate }} a year"
        "{% if late_charges_rate_from %}, on the reference rate of {{ late_charges_rate_from }}{% endif %}):",
        "interest",
        "recovery fee",
        "Late charges: {{ late_charges_total }}.",
        "We will invoice them separately.",
        "For your information: we do not charge them at this time.",
    ),
    "de": _late(
        "Verzugskosten zum {{ as_of }} (Verzugszinsen von {{ late_charges_rate }} jährlich"
        "{% if late_charges_rate_from %}, auf Grundlage des Referenzzinssatzes vom "
        "{{ late_charges_rate_from }}{% endif %}):",
        "Verzugszinsen",
        "Verzugspauschale",
        "Verzugskosten gesamt: {{ late_charges_total }}.",
        "Wir stellen sie Ihnen gesondert in Rechnung.",
        "Zu Ihrer Information: Wir berechnen sie derzeit nicht.",
    ),
    "fr": _late(
        "Pénalités de retard au {{ as_of }} (intérêts au taux annuel de {{ late_charges_rate }}"
        "{% if late_charges_rate_from %}, sur la base du taux de référence du {{ late_charges_rate_from }}"
        "{% endif %}) :",
        "intérêts",
        "indemnité forfaitaire pour frais de recouvrement",
        "Total des pénalités de retard : {{ late_charges_total }}.",
        "Nous vous les facturerons séparément.",
        "Pour information : nous ne les facturons pas pour le moment.",
    ),
    "es": _late(
        "Recargos por demora a {{ as_of }} (intereses al {{ late_charges_rate }} anual"
        "{% if late_charges_rate_from %}, según el tipo de referencia del {{ late_charges_rate_from }}"
        "{% endif %}):",
        "intereses",
        "indemnización por costes de cobro",
        "Total de recargos por demora: {{ late_charges_total }}.",
        "Se los facturaremos por separado.",
        "A título informativo: por ahora no se los cobramos.",
    ),
}
"""The late-charges paragraph per language, after the closing paragraph of every standard message
(collections 0008 adds it to the standard texts that were not edited)."""


def _letter(language: str, opening: str, after: str) -> str:
    return (
        _GREETING[language]
        + opening
        + "\n\n"
        + _ITEMS[language]
        + "\n"
        + after
        + "\n"
        + LATE_CHARGES[language]
        + _CLOSING[language]
    )


def _task(language: str, opening: str, after: str) -> str:
    return opening + "\n\n" + _ITEMS[language] + "\n" + after + "\n" + LATE_CHARGES[language]


def _texts(level: int, *, letter: bool = True) -> dict[str, tuple[str, str]]:
    """A message to the customer (a letter: greeting, items, closing) or a task for the collector."""
    write = _letter if letter else _task
    return {
        language: (subject, write(language, opening, after))
        for language, (subject, opening, after) in _TEXTS[level].items()
    }


# level -> language -> (subject, opening, closing paragraph)
_TEXTS: dict[int, dict[str, tuple[str, str, str]]] = {
    0: {
        "en": (
            "Upcoming payments: customer {{ customer_number }}",
            "a friendly reminder that the following invoices fall due soon:",
            "Total: {{ total }}. If you have already paid, thank you and please ignore this message.",
        ),
        "de": (
            "Bald fällige Zahlungen: Kunde {{ customer_number }}",
            "wir möchten Sie freundlich daran erinnern, dass die folgenden Rechnungen bald fällig werden:",
            "Gesamtbetrag: {{ total }}. Falls Sie bereits gezahlt haben, danken wir Ihnen und bitten Sie, "
            "diese Nachricht zu ignorieren.",
        ),
        "fr": (
            "Paiements à venir : client {{ customer_number }}",
            "nous vous rappelons aimablement que les factures suivantes arrivent bientôt à échéance :",
            "Total : {{ total }}. Si vous avez déjà réglé, nous vous remercions et vous prions de ne pas "
            "tenir compte de ce message.",
        ),
        "es": (
            "Próximos vencimientos: cliente {{ customer_number }}",
            "les recordamos amablemente que las siguientes facturas vencen próximamente:",
            "Total: {{ total }}. Si ya han realizado el pago, les damos las gracias y les rogamos que "
            "ignoren este mensaje.",
        ),
    },
    1: {
        "en": (
            "Payment reminder: customer {{ customer_number }}",
            "according to our records the following invoices are past due:",
            "Total: {{ total }}. Please pay this amount within the next few days. If you have already "
            "paid, please ignore this reminder.",
        ),
        "de": (
            "Zahlungserinnerung: Kunde {{ customer_number }}",
            "nach unseren Unterlagen sind die folgenden Rechnungen überfällig:",
            "Gesamtbetrag: {{ total }}. Bitte überweisen Sie diesen Betrag in den nächsten Tagen. Falls Sie "
            "bereits gezahlt haben, betrachten Sie diese Erinnerung bitte als gegenstandslos.",
        ),
        "fr": (
            "Rappel de paiement : client {{ customer_number }}",
            "selon nos écritures, les factures suivantes sont échues :",
            "Total : {{ total }}. Merci de régler ce montant dans les prochains jours. Si vous avez déjà "
            "payé, veuillez ne pas tenir compte de ce rappel.",
        ),
        "es": (
            "Recordatorio de pago: cliente {{ customer_number }}",
            "según nuestros registros, las siguientes facturas están vencidas:",
            "Total: {{ total }}. Les rogamos que abonen este importe en los próximos días. Si ya han "
            "pagado, ignoren este recordatorio.",
        ),
    },
    2: {
        "en": (
            "Second notice: overdue invoices, customer {{ customer_number }}",
            "despite our reminder, the following invoices are still unpaid:",
            "Total: {{ total }}. Please pay this amount within 7 days or contact us if there is a problem "
            "with these invoices.",
        ),
        "de": (
            "Zweite Mahnung: überfällige Rechnungen, Kunde {{ customer_number }}",
            "trotz unserer Erinnerung sind die folgenden Rechnungen noch nicht bezahlt:",
            "Gesamtbetrag: {{ total }}. Bitte zahlen Sie diesen Betrag innerhalb von 7 Tagen oder melden "
            "Sie sich bei uns, falls es mit diesen Rechnungen ein Problem gibt.",
        ),
        "fr": (
            "Deuxième relance : factures échues, client {{ customer_number }}",
            "malgré notre rappel, les factures suivantes restent impayées :",
            "Total : {{ total }}. Merci de régler ce montant sous 7 jours ou de nous contacter si ces "
            "factures posent un problème.",
        ),
        "es": (
            "Segundo aviso: facturas vencidas, cliente {{ customer_number }}",
            "a pesar de nuestro recordatorio, las siguientes facturas siguen pendientes de pago:",
            "Total: {{ total }}. Les rogamos que abonen este importe en un plazo de 7 días o que se pongan "
            "en contacto con nosotros si hay algún problema con estas facturas.",
        ),
    },
    3: {
        "en": (
            "Call {{ customer_name }} ({{ customer_number }}) about overdue invoices",
            "Call the customer about these invoices, 30 days or more past due:",
            "Total: {{ total }}. Ask for a payment date and record it as a promise to pay.",
        ),
        "de": (
            "{{ customer_name }} ({{ customer_number }}) wegen überfälliger Rechnungen anrufen",
            "Rufen Sie den Kunden wegen dieser Rechnungen an, seit 30 Tagen oder länger überfällig:",
            "Gesamtbetrag: {{ total }}. Fragen Sie nach einem Zahlungstermin und erfassen Sie ihn als "
            "Zahlungszusage.",
        ),
        "fr": (
            "Appeler {{ customer_name }} ({{ customer_number }}) au sujet de factures échues",
            "Appelez le client au sujet de ces factures, échues depuis 30 jours ou plus :",
            "Total : {{ total }}. Demandez une date de paiement et enregistrez-la comme promesse de "
            "paiement.",
        ),
        "es": (
            "Llamar a {{ customer_name }} ({{ customer_number }}) por facturas vencidas",
            "Llame al cliente por estas facturas, vencidas hace 30 días o más:",
            "Total: {{ total }}. Pida una fecha de pago y regístrela como promesa de pago.",
        ),
    },
    4: {
        "en": (
            "Final notice: customer {{ customer_number }}",
            "this is our final notice. The following invoices remain unpaid despite our reminders:",
            "Total: {{ total }}. Unless we receive this amount within 10 days, we will hand the matter "
            "over for collection without further notice.",
        ),
        "de": (
            "Letzte Mahnung: Kunde {{ customer_number }}",
            "dies ist unsere letzte Mahnung. Die folgenden Rechnungen sind trotz unserer Erinnerungen "
            "noch offen:",
            "Gesamtbetrag: {{ total }}. Geht dieser Betrag nicht innerhalb von 10 Tagen bei uns ein, "
            "übergeben wir die Forderung ohne weitere Ankündigung dem Inkasso.",
        ),
        "fr": (
            "Mise en demeure : client {{ customer_number }}",
            "ceci est notre dernière relance. Les factures suivantes restent impayées malgré nos rappels :",
            "Total : {{ total }}. Faute de paiement sous 10 jours, nous confierons le recouvrement de "
            "cette créance à un tiers sans autre avis.",
        ),
        "es": (
            "Último aviso: cliente {{ customer_number }}",
            "este es nuestro último aviso. Las siguientes facturas siguen pendientes a pesar de nuestros "
            "recordatorios:",
            "Total: {{ total }}. Si no recibimos este importe en un plazo de 10 días, trasladaremos la "
            "deuda a una agencia de cobro sin más aviso.",
        ),
    },
}

DEFAULT_STEPS: tuple[StepDefault, ...] = (
    StepDefault(0, -5, "email", "friendly", _texts(0)),
    StepDefault(1, 1, "email", "friendly", _texts(1)),
    StepDefault(2, 15, "email", "firm", _texts(2)),
    StepDefault(3, 30, "call_task", "firm", _texts(3, letter=False)),
    StepDefault(4, 45, "email", "final", _texts(4)),
)
