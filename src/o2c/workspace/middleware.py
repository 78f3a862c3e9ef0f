from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from o2c.workspace.models import UserPreference


class UserLanguageMiddleware:
    """A signed-in person sees screens in the language of their profile, whatever the browser says."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = (
                UserPreference.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
            )
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)
