"""The Django admin for the ledger's master data, for admins only (staff users).

Journal entries are read-only here: they change only through `ledger.services`.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from o2c.audit import services as audit_services
from o2c.core import clock
from o2c.ledger.models import (
    Account,
    EntityBankAccount,
    EntityGrant,
    FiscalPeriod,
    FxRate,
    JournalEntry,
    JournalLine,
    LegalEntity,
    TaxRegistration,
)


class AuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Every change made in the admin lands in the audit trail with who, what and the changed fields."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_services.record(
            actor=request.user,
            action=f"admin.{obj._meta.model_name}.{'changed' if change else 'created'}",
            object_type=obj._meta.model_name,
            object_id=obj.pk,
            object_label=str(obj),
            entity_id=getattr(obj, "entity_id", None) or (obj.pk if isinstance(obj, LegalEntity) else None),
            changes={
                name: (form.initial.get(name), form.cleaned_data.get(name)) for name in form.changed_data
            },
            reason="Django admin",
            now=clock.now(),
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TaxRegistrationInline(admin.TabularInline):  # type: ignore[type-arg]
    model = TaxRegistration
    extra = 0


class BankAccountInline(admin.TabularInline):  # type: ignore[type-arg]
    model = EntityBankAccount
    extra = 0


@admin.register(LegalEntity)
class LegalEntityAdmin(AuditedAdmin):
    list_display = ("code", "name", "country", "currency", "time_zone", "is_default")
    readonly_fields = ("created_at",)
    inlines = (TaxRegistrationInline, BankAccountInline)


@admin.register(Account)
class AccountAdmin(AuditedAdmin):
    list_display = ("entity", "code", "name", "type", "is_open")
    list_filter = ("entity", "type", "is_open")


@admin.register(FiscalPeriod)
class FiscalPeriodAdmin(AuditedAdmin):
    list_display = ("entity", "start_date", "end_date", "status")
    list_filter = ("entity", "status")


@admin.register(EntityGrant)
class EntityGrantAdmin(AuditedAdmin):
    list_display = ("user", "entity")
    list_filter = ("entity",)


@admin.register(FxRate)
class FxRateAdmin(AuditedAdmin):
    list_display = ("rate_date", "from_currency", "to_currency", "rate", "source")
    list_filter = ("from_currency", "to_currency")


class JournalLineInline(admin.TabularInline):  # type: ignore[type-arg]
    model = JournalLine
    extra = 0
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("pk", "entity", "posting_date", "description", "status")
    list_filter = ("entity", "status")
    inlines = (JournalLineInline,)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
