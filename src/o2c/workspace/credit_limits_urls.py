"""Back-office pages of credit management: limits (docs/credit.md, "Back-office pages")."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
