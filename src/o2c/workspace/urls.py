from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from o2c.workspace import (
    billing_views,
    cash_views,
    close_views,
    collection_views,
    credit_scoring_views,
    dashboard_views,
    dispute_views,
    views,
)

urlpatterns: list[URLPattern | URLResolver] = [
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
    path(
        "customers/<int:customer_id>/undeliverable-clear/",
        views.undeliverable_clear,
        name="customer_undeliverable_clear",
    ),
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
    path("dashboard/", dashboard_views.ar_dashboard, name="ar_dashboard"),
    path("close/", close_views.close_periods, name="close_periods"),
    path(
        "close/<int:entity_id>/<str:month>/close/", close_views.close_period_close, name="close_period_close"
    ),
    path(
        "close/<int:entity_id>/<str:month>/reopen/",
        close_views.close_period_reopen,
        name="close_period_reopen",
    ),
    path("close/rollforward/", close_views.close_rollforward, name="close_rollforward"),
    path("close/rollforward/lines/", close_views.close_rollforward_lines, name="close_rollforward_lines"),
    path("close/tie-out/", close_views.close_tie_out, name="close_tie_out"),
    path("close/provision/", close_views.close_provision, name="close_provision"),
    path("close/provision/rates/", close_views.close_provision_rate_set, name="close_provision_rate_set"),
    path("close/review/", close_views.close_review, name="close_review"),
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
    path("cash/import/", cash_views.bank_file_import, name="cash_import"),
    path("cash/import/progress/", cash_views.bank_file_progress, name="cash_import_progress"),
    path("cash/payments/", cash_views.payment_list, name="cash_payment_list"),
    path("cash/policy/", cash_views.policy_default, name="cash_policy_default"),
    path("cash/policy/<int:entity_id>/", cash_views.policy, name="cash_policy"),
    path("cash/payments/<int:payment_id>/", cash_views.payment_detail, name="cash_payment_detail"),
    path("cash/payments/<int:payment_id>/open-items/", cash_views.payment_open_items, name="cash_open_items"),
    path(
        "cash/payments/<int:payment_id>/customers/",
        cash_views.payment_customer_options,
        name="cash_customer_options",
    ),
    path("cash/payments/<int:payment_id>/accept/", cash_views.payment_accept, name="cash_payment_accept"),
    path("cash/payments/<int:payment_id>/apply/", cash_views.payment_apply, name="cash_payment_apply"),
    path(
        "cash/payments/<int:payment_id>/on-account/",
        cash_views.payment_on_account,
        name="cash_payment_on_account",
    ),
    path(
        "cash/applications/<int:application_id>/reverse/",
        cash_views.application_reverse,
        name="cash_application_reverse",
    ),
    path("disputes/", dispute_views.case_list, name="dispute_case_list"),
    path("disputes/<int:case_id>/", dispute_views.case_detail, name="dispute_case_detail"),
    path("disputes/<int:case_id>/notes/", dispute_views.case_note_add, name="dispute_case_note_add"),
    path(
        "disputes/<int:case_id>/files/",
        dispute_views.case_attachment_add,
        name="dispute_case_attachment_add",
    ),
    path(
        "disputes/<int:case_id>/files/<int:attachment_id>/",
        dispute_views.case_attachment_get,
        name="dispute_case_attachment_get",
    ),
    path("disputes/<int:case_id>/move/", dispute_views.case_transition, name="dispute_case_transition"),
    path("disputes/<int:case_id>/assign/", dispute_views.case_assign, name="dispute_case_assign"),
    path("disputes/<int:case_id>/resolve/", dispute_views.case_resolve, name="dispute_case_resolve"),
    path("disputes/<int:case_id>/rebill/", dispute_views.case_rebill, name="dispute_case_rebill"),
    path(
        "disputes/<int:case_id>/approve-write-off/",
        dispute_views.case_write_off_approve,
        name="dispute_write_off_approve",
    ),
    path(
        "disputes/<int:case_id>/reject-write-off/",
        dispute_views.case_write_off_reject,
        name="dispute_write_off_reject",
    ),
    path("invoices/<int:document_id>/dispute/", dispute_views.case_open, name="dispute_case_open"),
    path("disputes/settings/", dispute_views.settings_default, name="dispute_settings_default"),
    path("disputes/settings/<int:entity_id>/", dispute_views.settings_page, name="dispute_settings"),
    path(
        "disputes/settings/<int:entity_id>/<str:what>/",
        dispute_views.settings_change,
        name="dispute_settings_change",
    ),
    path("collections/", collection_views.worklist, name="collections_worklist"),
    path("collections/tasks/", collection_views.worklist_tasks, name="collections_tasks"),
    path("collections/portfolios/", collection_views.portfolios, name="collections_portfolios"),
    path(
        "collections/customers/<str:number>/",
        collection_views.customer_collections,
        name="collections_customer",
    ),
    path(
        "collections/customers/<str:number>/activities/",
        collection_views.activity_log,
        name="collections_activity_log",
    ),
    path(
        "collections/customers/<str:number>/promises/",
        collection_views.promise_record,
        name="collections_promise_record",
    ),
    path(
        "collections/customers/<str:number>/payment-plans/",
        collection_views.payment_plan_propose,
        name="collections_plan_propose",
    ),
    path(
        "collections/payment-plans/<int:plan_id>/approve/",
        collection_views.payment_plan_approve,
        name="collections_plan_approve",
    ),
    path(
        "collections/payment-plans/<int:plan_id>/reject/",
        collection_views.payment_plan_reject,
        name="collections_plan_reject",
    ),
    path("collections/plans/", collection_views.dunning_plan_list, name="collections_dunning_plans"),
    path(
        "collections/plans/<int:plan_id>/",
        collection_views.dunning_plan_detail,
        name="collections_dunning_plan",
    ),
    path(
        "collections/plans/<int:plan_id>/delete/",
        collection_views.dunning_plan_delete,
        name="collections_dunning_plan_delete",
    ),
    path(
        "collections/plans/<int:plan_id>/steps/add/",
        collection_views.dunning_step_add,
        name="collections_dunning_step_add",
    ),
    path(
        "collections/plans/<int:plan_id>/steps/<int:level>/remove/",
        collection_views.dunning_step_remove,
        name="collections_dunning_step_remove",
    ),
    path(
        "collections/plans/<int:plan_id>/steps/<int:level>/",
        collection_views.dunning_step,
        name="collections_dunning_step",
    ),
    path(
        "collections/plans/<int:plan_id>/steps/<int:level>/<str:language>/",
        collection_views.dunning_template,
        name="collections_dunning_template",
    ),
    path(
        "collections/plans/<int:plan_id>/steps/<int:level>/<str:language>/preview/",
        collection_views.dunning_template_preview,
        name="collections_dunning_template_preview",
    ),
]

# credit applications (docs/credit-scoring.md)
urlpatterns += [
    path("credit/applications/", credit_scoring_views.application_list, name="credit_application_list"),
    path("credit/applications/bureau/", credit_scoring_views.bureau_upload, name="credit_bureau_upload"),
    path(
        "credit/applications/new/", credit_scoring_views.application_create, name="credit_application_create"
    ),
    path(
        "credit/applications/<int:application_id>/",
        credit_scoring_views.application_detail,
        name="credit_application_detail",
    ),
    path(
        "credit/applications/<int:application_id>/score/",
        credit_scoring_views.application_score,
        name="credit_application_score",
    ),
    path(
        "credit/applications/<int:application_id>/approve/",
        credit_scoring_views.application_approve,
        name="credit_application_approve",
    ),
    path(
        "credit/applications/<int:application_id>/decline/",
        credit_scoring_views.application_decline,
        name="credit_application_decline",
    ),
]

# credit management's back-office pages (docs/credit.md)
urlpatterns += [
    path("credit/", include("o2c.workspace.credit_orders_urls")),
    path("credit/", include("o2c.workspace.credit_limits_urls")),
    path("credit/", include("o2c.workspace.credit_reviews_urls")),
]

# escalation levels, the matrix's proposals and agency placements (docs/escalation.md)
urlpatterns += [path("collections/", include("o2c.workspace.escalation_urls"))]
