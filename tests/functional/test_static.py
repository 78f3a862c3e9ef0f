import pytest

pytestmark = pytest.mark.django_db  # closing a response runs request_finished, which checks connections


@pytest.mark.parametrize(("path", "content_type"), [("/static/o2c.css", "text/css")])
def test_static_files_are_served_by_the_app_without_debug(client, settings, path, content_type):
    assert settings.DEBUG is False
    response = client.get(path)
    try:
        assert response.status_code == 200
        assert response["Content-Type"].startswith(content_type)
        assert b"".join(response.streaming_content)
    finally:
        response.close()
