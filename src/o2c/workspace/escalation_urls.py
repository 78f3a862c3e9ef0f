"""Back-office pages of the escalation matrix and collection agencies (docs/escalation.md, "Back-office
pages")."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
