"""WBXML codec throughput: protocol.wbxml against pyactivesync's codec, same documents, same run.

Two documents: a Sync response adding 100 mails (HTML bodies of 1–3 KB, a non-ASCII
subject, an opaque conversation id each) and a Provision response carrying the full
policy document. Each codec decodes and encodes each document; rounds alternate between
the codecs so that machine noise hits both alike, and the best round counts. Ratios above
1 mean protocol.wbxml is faster; the target is 2x.

protocol.wbxml is the codec the gateway runs (its C extension, see protocol.wbxml.fast);
``--reference`` measures the pure-Python reference codec instead, to see what the C bought.

pyactivesync's tables lack the Provision policy settings; for its writer to run at all they
are added to its table with MS-ASWBXML's tokens. Its algorithm is what is measured.

    python benchmarks/bench_codec.py [--json [FILE]] [--seconds S] [--reference]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree
from pyactivesync import _codepages
from pyactivesync._wbxml import WBXMLReader, WBXMLWriter, wtag

from protocol import wbxml
from protocol.wbxml import decoder, encoder
from protocol.wbxml.codepages import PAGE_NUMBERS, TAGS
from protocol.xml import E, is_opaque, opaque_bytes, sub

ROUNDS = 7


def sync100() -> etree._Element:
    root = E("AirSync:Sync")
    collection = sub(sub(root, "AirSync:Collections"), "AirSync:Collection")
    sub(collection, "AirSync:SyncKey", "1534275414")
    sub(collection, "AirSync:CollectionId", "2")
    sub(collection, "AirSync:Status", 1)
    commands = sub(collection, "AirSync:Commands")
    for number in range(100):
        add = sub(commands, "AirSync:Add")
        sub(add, "AirSync:ServerId", f"2:{number}")
        data = sub(add, "AirSync:ApplicationData")
        sub(data, "Email:To", '"Alice Wong" <alice@contoso.com>')
        sub(data, "Email:From", '"Dana Kim" <dana@fabrikam.com>')
        sub(data, "Email:Subject", f"Quarterly report {number} – Übersicht")
        sub(data, "Email:DateReceived", "2026-11-20T09:15:00.000Z")
        sub(data, "Email:DisplayTo", "Alice Wong")
        sub(data, "Email:Importance", 1)
        sub(data, "Email:Read", number % 2)
        body = sub(data, "AirSyncBase:Body")
        sub(body, "AirSyncBase:Type", 2)
        html = "<p>Hello team,\r\nthe figures for the quarter are attached.</p>\r\n"
        text = html * (20 + number % 40)
        sub(body, "AirSyncBase:EstimatedDataSize", len(text))
        sub(body, "AirSyncBase:Data", text)
        sub(data, "Email:MessageClass", "IPM.Note")
        sub(data, "Email:InternetCPID", 65001)
        sub(data, "Email:ContentClass", "urn:content-classes:message")
        sub(data, "AirSyncBase:NativeBodyType", 2)
    return root


def provision() -> etree._Element:
    root = E("Provision:Provision")
    sub(root, "Provision:Status", 1)
    policy = sub(sub(root, "Provision:Policies"), "Provision:Policy")
    sub(policy, "Provision:PolicyType", "MS-EAS-Provisioning-WBXML")
    sub(policy, "Provision:Status", 1)
    sub(policy, "Provision:PolicyKey", "1307199584")
    document = sub(sub(policy, "Provision:Data"), "Provision:EASProvisionDoc")
    for token in range(0x0E, 0x37):
        name = TAGS[PAGE_NUMBERS["Provision"]].get(token)
        if name and name != "DocumentBrowseEnabled":
            sub(document, f"Provision:{name}", token % 3)
    return root


# --- pyactivesync's side -------------------------------------------------------------

_THEIR_PAGES = {"GetItemEstimate": "ItemEstimate"}


def _teach_pyactivesync_the_policy_tags() -> None:
    table = _codepages.CODEPAGES["Provision"]
    for token, name in TAGS[PAGE_NUMBERS["Provision"]].items():
        table.setdefault(name, token)
    number = _codepages.PAGE_INDEX["Provision"]
    _codepages.REVERSE[number] = {tok & 0x3F: tag for tag, tok in table.items()}


def _builder(element: etree._Element):
    namespace, _, tag = element.tag[1:].partition("}")
    page = namespace.rstrip(":")
    page = _THEIR_PAGES.get(page, page)
    children = [_builder(child) for child in element]
    if is_opaque(element):
        return wtag(page, tag, children or None, opaque=opaque_bytes(element))
    return wtag(page, tag, children or None, None if children else element.text)


def _pyactivesync_encoder(root: etree._Element) -> Callable[[], bytes]:
    build = _builder(root)  # its document model, built once as ours is

    def run() -> bytes:
        writer = WBXMLWriter()
        build(writer)
        return writer.render()

    return run


# --- measuring -----------------------------------------------------------------------

def _rate(function: Callable[[], Any], size: int, seconds: float) -> float:
    """MB/s of the best of a few timed batches of about ``seconds`` each."""
    count = 1
    while True:  # size the batch
        started = time.perf_counter()
        for _ in range(count):
            function()
        elapsed = time.perf_counter() - started
        if elapsed > seconds / 4:
            break
        count *= 2
    return size * count / elapsed / 1e6


def measure(name: str, root: etree._Element, seconds: float,
            reference: bool = False) -> list[dict[str, Any]]:
    decode, encode = ((decoder.decode, encoder.encode) if reference
                      else (wbxml.decode, wbxml.encode))
    body = encode(root)
    their_encode = _pyactivesync_encoder(root)
    assert their_encode() == body, f"{name}: the codecs write different bytes"
    pairs = {
        "decode": (lambda: decode(body), lambda: WBXMLReader(body).parse()),
        "encode": (lambda: encode(root), their_encode),
    }
    results = []
    for operation, (ours, theirs) in pairs.items():
        best_ours = best_theirs = 0.0
        for _ in range(ROUNDS):
            best_ours = max(best_ours, _rate(ours, len(body), seconds))
            best_theirs = max(best_theirs, _rate(theirs, len(body), seconds))
        results.append({"operation": operation, "document": name, "bytes": len(body),
                        "codec": "reference" if reference else "protocol.wbxml",
                        "ours_mb_s": round(best_ours, 2),
                        "pyactivesync_mb_s": round(best_theirs, 2),
                        "ratio": round(best_ours / best_theirs, 2)})
    return results


def describe(result: dict[str, Any]) -> str:
    codec = " (Python reference)" if result["codec"] == "reference" else ""
    return (f"wbxml {result['operation']} {result['document']}{codec}: "
            f"{result['ours_mb_s']:.1f} MB/s vs pyactivesync {result['pyactivesync_mb_s']:.1f} "
            f"MB/s = {result['ratio']:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", nargs="?", const="-", metavar="FILE",
                        help="write the results as JSON to FILE (stdout when no FILE)")
    parser.add_argument("--seconds", type=float, default=0.12,
                        help="length of one timed batch (default 0.12)")
    parser.add_argument("--reference", action="store_true",
                        help="measure the pure-Python reference codec instead")
    args = parser.parse_args(argv)
    _teach_pyactivesync_the_policy_tags()
    results = []
    for name, build in (("sync100", sync100), ("provision", provision)):
        for result in measure(name, build(), args.seconds, args.reference):
            results.append(result)
            if args.json != "-":
                print(describe(result), flush=True)
    if args.json == "-":
        print(json.dumps(results, indent=2))
    elif args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
