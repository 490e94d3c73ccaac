from cookies.texts import DEFAULT_TEXTS


def test_the_french_gpc_notice_is_a_correct_ni_ni_negation():
    """« ne … ni ne … » takes no « pas »: « nous ne vendons ni ne partageons pas » is wrong."""
    text = DEFAULT_TEXTS["fr"]["gpc_honored"]

    assert "ni ne partageons" in text
    assert " pas " not in text
