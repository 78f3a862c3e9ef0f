"""Customers in the Django admin: read-only. Master data changes go through the back office and the
API, whose services validate VAT ids and IBANs and audit every change."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from o2c.customers.models import BankAccount, Contact, Customer


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ContactInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Contact
    extra = 0


class BankAccountInline(admin.TabularInline):  # type: ignore[type-arg]
    model = BankAccount
    extra = 0


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("number", "name", "entity", "country", "currency", "status")
    list_filter = ("entity", "country", "currency", "status")
    search_fields = ("number", "name", "vat_id")
    inlines = (ContactInline, BankAccountInline)
