"""Back-office pages of credit management: reviews (docs/credit.md, "Back-office pages")."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
