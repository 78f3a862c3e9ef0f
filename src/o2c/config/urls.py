from django.contrib import admin
from django.urls import include, path

from o2c.config.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("o2c.workspace.urls")),
]
