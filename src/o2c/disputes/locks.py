from django.db.models import QuerySet

from o2c.disputes.models import Case


def case_qs_for_update() -> QuerySet[Case]:
    return Case.objects.select_for_update(of=("self",)).order_by("pk")
