from django.db.models import QuerySet

from o2c.audit.models import AuditEvent


def audit_events_for(*, object_type: str, object_id: int) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(object_type=object_type, object_id=object_id).order_by("-at", "-pk")


def audit_events_list(*, entity_ids: list[int]) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(entity_id__in=entity_ids).order_by("-at", "-pk")
