"""Back-office pages of the escalation matrix and collection agencies (docs/escalation.md, "Back-office
pages")."""

from django.urls import URLPattern, path

from o2c.workspace import escalation_views

urlpatterns: list[URLPattern] = [
    path("escalations/", escalation_views.escalation_list, name="collections_escalations"),
    path("escalations/matrix/", escalation_views.escalation_matrix, name="collections_escalation_matrix"),
    path(
        "escalations/matrix/<int:rule_id>/",
        escalation_views.escalation_rule,
        name="collections_escalation_rule",
    ),
    path(
        "escalations/customers/<str:number>/",
        escalation_views.escalation_account,
        name="collections_escalation_account",
    ),
    path(
        "escalations/customers/<str:number>/level/",
        escalation_views.escalation_level,
        name="collections_escalation_level",
    ),
    path(
        "escalations/customers/<str:number>/escalate/",
        escalation_views.escalation_raise,
        name="collections_escalation_raise",
    ),
    path(
        "escalations/customers/<str:number>/de-escalate/",
        escalation_views.escalation_lower,
        name="collections_escalation_lower",
    ),
    path("agencies/", escalation_views.agency_list, name="collections_agencies"),
    path("agencies/add/", escalation_views.agency_create, name="collections_agency_create"),
    path(
        "agencies/<int:agency_id>/export/", escalation_views.agency_export, name="collections_agency_export"
    ),
    path("agencies/placements/add/", escalation_views.placement_create, name="collections_placement_create"),
    path(
        "agencies/placements/<int:placement_id>/recall/",
        escalation_views.placement_recall,
        name="collections_placement_recall",
    ),
]
