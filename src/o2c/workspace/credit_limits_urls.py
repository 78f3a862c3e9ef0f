"""Back-office pages of credit management: limits (docs/credit.md, "Back-office pages")."""

from django.urls import URLPattern, path

from o2c.workspace import credit_limit_views as views

urlpatterns: list[URLPattern] = [
    path("limits/", views.limit_list, name="credit_limit_list"),
    path("limits/approvals/", views.limit_approvals, name="credit_limit_approvals"),
    path("limits/<int:limit_id>/approve/", views.limit_approve, name="credit_limit_approve"),
    path("limits/<int:limit_id>/reject/", views.limit_reject, name="credit_limit_reject"),
    path("customers/<int:customer_id>/", views.customer_credit, name="credit_customer"),
    path("customers/<int:customer_id>/limit/", views.customer_limit_request, name="credit_customer_limit"),
    path("customers/<int:customer_id>/block/", views.customer_block, name="credit_customer_block"),
    path("customers/<int:customer_id>/unblock/", views.customer_unblock, name="credit_customer_unblock"),
    path("settings/", views.credit_settings, name="credit_settings"),
    path("settings/policy/", views.credit_policy_save, name="credit_settings_policy"),
    path("settings/threshold/", views.credit_threshold_save, name="credit_settings_threshold"),
]
