"""Request body parsers of the API."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

TOO_DEEP = "JSON parse error - the body is nested too deeply."


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that a body nested deeper than Python can parse (about a
    thousand levels, a 2 KB body) is a parse error, answered 400 rather than 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
