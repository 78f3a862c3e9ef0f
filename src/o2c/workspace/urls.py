from django.contrib.auth import views as auth_views
from django.urls import path

from o2c.workspace import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="workspace/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("customers/", views.home, name="customer_list"),
    path("invoices/", views.home, name="document_list"),
    path("invoices/new/", views.home, name="document_create"),
    path("ledger/trial-balance/", views.home, name="trial_balance"),
    path("audit/", views.home, name="audit_list"),
]
