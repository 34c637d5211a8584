"""`easgate wbxml decode` and `easgate wbxml encode`: EAS bodies between WBXML and XML.

    easgate wbxml decode capture.wbxml          # indented XML on stdout
    easgate wbxml encode request.xml -o body    # WBXML into a file (or stdout)

Both read a file, or standard input when FILE is ``-`` or left out. A body that is not
valid EAS WBXML, or XML that cannot be encoded, prints the reason and exits 2.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from protocol.wbxml import WBXMLEncodeError, WBXMLError, decode, encode
from protocol.wbxml.xmlview import from_xml, to_xml

wbxml_app = typer.Typer(help="Convert EAS bodies between WBXML and XML.", no_args_is_help=True)

InputFile = Annotated[
    str, typer.Argument(metavar="[FILE|-]", help="Input file; '-' or nothing reads stdin.")
]

BAD_INPUT = 2


def _read(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as error:
        _fail(f"cannot read {source}: {error.strerror}")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(BAD_INPUT)


@wbxml_app.command("decode")
def decode_command(source: InputFile = "-") -> None:
    """Print a WBXML body as indented XML, each tag prefixed by its code page."""
    try:
        root = decode(_read(source))
    except WBXMLError as error:
        _fail(f"{error.reason} (at byte {error.offset})")
    typer.echo(to_xml(root), nl=False)


@wbxml_app.command("encode")
def encode_command(
    source: InputFile = "-",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Encode namespaced XML (prefixed or not) as an EAS WBXML body."""
    try:
        body = encode(from_xml(_read(source)))
    except WBXMLEncodeError as error:
        _fail(f"{error.reason} ({error.path})")
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(body)
