from django.contrib.auth import views as auth_views
from django.urls import path

from o2c.workspace import billing_views, views

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="workspace/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", views.language_set, name="language_set"),
    path("", views.home, name="home"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/<int:customer_id>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:customer_id>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<int:customer_id>/contacts/", views.contact_add, name="contact_add"),
    path("customers/<int:customer_id>/bank-accounts/", views.bank_account_add, name="bank_account_add"),
    path("invoices/", views.document_list, name="document_list"),
    path("invoices/new/", views.document_create, name="document_create"),
    path("invoices/<int:document_id>/", views.document_detail, name="document_detail"),
    path("invoices/<int:document_id>/issue/", views.document_issue, name="document_issue"),
    path("invoices/<int:document_id>/credit-memo/", views.credit_memo_create, name="credit_memo_create"),
    path("invoices/<int:document_id>/credit-and-rebill/", views.credit_and_rebill, name="credit_and_rebill"),
    path("invoices/<int:document_id>/approve/", views.credit_memo_approve, name="credit_memo_approve"),
    path("invoices/<int:document_id>/reject/", views.credit_memo_reject, name="credit_memo_reject"),
    path("approvals/", views.approval_list, name="approval_list"),
    path("approvals/threshold/", views.approval_threshold_set, name="approval_threshold_set"),
    path("ledger/trial-balance/", views.trial_balance, name="trial_balance"),
    path("audit/", views.audit_list, name="audit_list"),
    path("billing/", billing_views.billing_review, name="billing_review"),
    path("billing/run/", billing_views.billing_run_start, name="billing_run_start"),
    path("billing/runs/", billing_views.run_list, name="billing_run_list"),
    path("billing/subscriptions/", billing_views.subscription_list, name="billing_subscription_list"),
    path(
        "billing/subscriptions/<int:subscription_id>/",
        billing_views.subscription_detail,
        name="billing_subscription_detail",
    ),
    path(
        "billing/subscriptions/<int:subscription_id>/amend/",
        billing_views.subscription_amend,
        name="billing_subscription_amend",
    ),
    path(
        "billing/subscriptions/<int:subscription_id>/cancel/",
        billing_views.subscription_cancel,
        name="billing_subscription_cancel",
    ),
    path(
        "billing/subscriptions/<int:subscription_id>/renew/",
        billing_views.subscription_renew,
        name="billing_subscription_renew",
    ),
    path("billing/seller/", billing_views.seller_default, name="billing_seller_default"),
    path("billing/seller/<int:entity_id>/", billing_views.seller, name="billing_seller"),
    path(
        "billing/seller/<int:entity_id>/tax-registrations/",
        billing_views.tax_registration_set,
        name="billing_tax_registration_set",
    ),
    path(
        "customers/<int:customer_id>/tax-exemptions/",
        billing_views.tax_exemptions,
        name="billing_tax_exemptions",
    ),
    path(
        "customers/<int:customer_id>/tax-exemptions/add/",
        billing_views.tax_exemption_add,
        name="billing_tax_exemption_add",
    ),
    path(
        "customers/<int:customer_id>/tax-exemptions/<int:exemption_id>/end/",
        billing_views.tax_exemption_end,
        name="billing_tax_exemption_end",
    ),
    path(
        "customers/<int:customer_id>/tax-exemptions/<int:exemption_id>/revoke/",
        billing_views.tax_exemption_revoke,
        name="billing_tax_exemption_revoke",
    ),
]
