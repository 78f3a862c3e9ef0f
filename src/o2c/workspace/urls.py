from django.contrib.auth import views as auth_views
from django.urls import path

from o2c.workspace import views

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
    path("ledger/trial-balance/", views.trial_balance, name="trial_balance"),
    path("audit/", views.audit_list, name="audit_list"),
]
