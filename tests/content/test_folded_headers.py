"""A long Subject that the `email` package folds right after its colon reads back without
the fold's leading space (the notice's subject on a device with a long name showed it)."""
from __future__ import annotations

from datetime import UTC, datetime

from gateway.content.mail import new_email
from gateway.content.mime import parse_message

LONG = "Action required: choose how to get your contoso.com email on Galaxy S23"


def test_a_subject_folded_after_its_colon_keeps_no_leading_space():
    item = new_email(sender="Notices <no-reply@contoso.com>", to="alice@contoso.com",
                     subject=LONG, text="Choose.", date=datetime(2026, 11, 20, tzinfo=UTC))
    assert b"Subject: \r\n " in item.mime  # folded where the bug showed
    assert item.data["Subject"] == LONG
    assert parse_message(b"Subject:\r\n  " + LONG.encode() + b"\r\n\r\nbody").subject == LONG
