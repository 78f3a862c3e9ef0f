"""Back-office pages of credit management: orders, the hold queue and the reports (docs/credit.md,
"Back-office pages: orders, holds and reports")."""

from django.urls import URLPattern, path

from o2c.workspace import credit_order_views as views

urlpatterns: list[URLPattern] = [
    path("holds/", views.hold_list, name="credit_hold_list"),
    path("holds/recheck/", views.hold_recheck_all, name="credit_hold_recheck_all"),
    path("orders/", views.order_list, name="credit_order_list"),
    path("orders/<str:number>/", views.order_detail, name="credit_order_detail"),
    path("orders/<str:number>/release/", views.order_release, name="credit_order_release"),
    path("orders/<str:number>/reject/", views.order_reject, name="credit_order_reject"),
    path("orders/<str:number>/recheck/", views.order_recheck, name="credit_order_recheck"),
    path("orders/<str:number>/ship/", views.order_ship, name="credit_order_ship"),
    path("orders/<str:number>/invoice/", views.order_invoice, name="credit_order_invoice"),
    path("orders/<str:number>/cancel/", views.order_cancel, name="credit_order_cancel"),
    path("reports/", views.reports, name="credit_reports"),
]
