"""Back-office pages of credit management: reviews, raise requests, the scorecard and a customer's scores
(docs/credit.md, "Back-office pages: reviews, raise requests and the scorecard")."""

from django.urls import URLPattern, path

from o2c.workspace import credit_review_views as views

urlpatterns: list[URLPattern] = [
    path("reviews/", views.review_list, name="credit_review_list"),
    path("reviews/<int:review_id>/", views.review_detail, name="credit_review_detail"),
    path("reviews/<int:review_id>/score/", views.review_score, name="credit_review_score"),
    path("reviews/<int:review_id>/complete/", views.review_complete, name="credit_review_complete"),
    path("raise-requests/", views.raise_list, name="credit_raise_list"),
    path("raise-requests/new/", views.raise_create, name="credit_raise_create"),
    path("raise-requests/<int:request_id>/", views.raise_detail, name="credit_raise_detail"),
    path("raise-requests/<int:request_id>/checklist/", views.raise_check, name="credit_raise_check"),
    path(
        "raise-requests/<int:request_id>/evidence/",
        views.raise_evidence_add,
        name="credit_raise_evidence_add",
    ),
    path(
        "raise-requests/<int:request_id>/evidence/<int:evidence_id>/",
        views.raise_evidence_get,
        name="credit_raise_evidence",
    ),
    path("raise-requests/<int:request_id>/decide/", views.raise_decide, name="credit_raise_decide"),
    path("scorecard/", views.scorecard, name="credit_scorecard"),
    path("scorecard/change/", views.scorecard_change, name="credit_scorecard_change"),
    path("scorecard/change-json/", views.scorecard_change_json, name="credit_scorecard_change_json"),
    path("customers/<int:customer_id>/scores/", views.customer_scores, name="credit_customer_scores"),
    path(
        "customers/<int:customer_id>/scores/score/",
        views.customer_score_now,
        name="credit_customer_score_now",
    ),
]
