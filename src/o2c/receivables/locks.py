from django.db.models import QuerySet

from o2c.receivables.models import Document, NumberSeries


def document_qs_for_update() -> QuerySet[Document]:
    return Document.objects.select_for_update(of=("self",)).order_by("pk")


def series_qs_for_update() -> QuerySet[NumberSeries]:
    return NumberSeries.objects.select_for_update().order_by("pk")
