from django.utils import translation

from o2c.workspace.templatetags.o2c_format import changes_text


def test_audited_amounts_are_shown_in_the_readers_format():
    changes = {"open_amount": ["1190.00 EUR", "1071.00 EUR"], "status": ["draft", "issued"], "po": [None, ""]}
    with translation.override("de"):
        assert changes_text(changes) == [
            ("open_amount", "1.190,00\xa0€", "1.071,00\xa0€"),
            ("status", "draft", "issued"),
        ]
    with translation.override("en"):
        assert changes_text({"credit_limit": [None, "5000.00 GBP"]}) == [("credit_limit", "", "£5,000.00")]
