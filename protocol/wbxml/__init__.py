"""EAS WBXML: ``decode(bytes) -> lxml element`` and ``encode(element) -> bytes``.

Elements are named ``{<code page>:}<tag>`` after MS-ASWBXML (``{AirSync:}Sync``,
``{GAL:}DisplayName``); see :mod:`protocol.wbxml.codepages` for every tag and
:mod:`protocol.wbxml.decoder` for what a body may and may not hold.
"""
from protocol.wbxml.decoder import MAX_DEPTH, decode
from protocol.wbxml.encoder import encode
from protocol.wbxml.errors import WBXMLEncodeError, WBXMLError

__all__ = ["MAX_DEPTH", "WBXMLEncodeError", "WBXMLError", "decode", "encode"]
