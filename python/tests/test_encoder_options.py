"""The parse step of the encoder's constructor (ajpy_enc_parse in encode.c), on its own: json.dumps
keyword arguments into the options the encoder is built with, or None where the json module must
write the text, or the error json.dumps raises."""

import pytest

from atomic_json_io import _ajio

opts = _ajio._encoder_options


def test_file_defaults():
    o = opts({}, False)
    assert o == {
        "skipkeys": False,
        "ensure_ascii": True,
        "check_circular": True,
        "sort_keys": False,
        "indented": True,
        "indent": 2,
        "item_sep": None,
        "key_sep": None,
        "default": None,
    }


def test_lines_are_one_line():
    assert opts({}, True)["indented"] is False


def test_given_options():
    o = opts(
        {"indent": -3, "separators": [",", " : "], "sort_keys": 1, "skipkeys": [0], "default": str},
        False,
    )
    assert (o["indented"], o["indent"]) == (True, 0)
    assert (o["item_sep"], o["key_sep"]) == (",", " : ")
    assert o["sort_keys"] is True and o["skipkeys"] is True
    assert o["default"] is str
    assert opts({"indent": "    "}, False)["indent"] == 4
    assert opts({"indent": None}, False)["indented"] is False


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cls": object},
        {"allow_nan": True},
        {"indent": "\t"},
        {"indent": 2.0},
        {"indent": 10**30},
        {"separators": (";", "=")},
        {"separators": ",:"},
        {"separators": (",", ":", "!")},
    ],
)
def test_fallbacks(kwargs):
    assert opts(kwargs, False) is None


def test_errors():
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        opts({"bogus": 1}, False)
    with pytest.raises(ValueError, match="indent cannot be used with JSON Lines"):
        opts({"indent": 2}, True)
    with pytest.raises(ValueError, match="line break"):
        opts({"separators": (",\n", ":")}, True)
