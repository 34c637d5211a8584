"""The demo tenant of SPEC §8, built from `fixtures/demo_tenant.json`.

`load_demo_tenant(store)` creates contoso.com (mode ``off``) and its users with realistic
mailboxes: mail in the Inbox and a "Projects" subfolder (threads, HTML and plain bodies,
attachments, a real MIME source each), calendar events (one weekly recurring, one all-day,
meetings with attendees), contacts, tasks and notes. Everything comes from a seeded
`random.Random` and fixed dates: the same seed gives the same mailboxes.

Field conventions the gateway can rely on: Email ``DateReceived`` and Tasks dates are
``2026-11-20T09:15:00.000Z``; Calendar ``StartTime``/``EndTime``/``DtStamp`` are the compact
``20261120T091500Z``; ``Timezone`` is base64 of a 172-byte TIME_ZONE_INFORMATION (UTC);
``ConversationId`` is 32 hex digits (16 bytes).
"""
from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from html import escape
from typing import Any

from fixtures import read_json
from store.api import NotFound, Store
from store.types import Attachment, FolderType, NewItem, Tenant

INBOX_MAILS = 32
PROJECT_MAILS = 8
UTC_TIMEZONE = base64.b64encode(bytes(172)).decode("ascii")  # all-zero bias: UTC


async def load_demo_tenant(store: Store, *, seed: int | None = None) -> bool:
    """Create the demo tenant, its users and their mailboxes, unless they exist. Loading
    twice changes nothing; returns whether anything was loaded."""
    spec = read_json("demo_tenant.json")
    domain = spec["tenant"]["domain"]
    loaded = False
    try:
        await store.get_tenant(domain)
    except NotFound:
        await store.put_tenant(Tenant(domain=domain, mode=spec["tenant"]["mode"]))
        loaded = True
    for index, person in enumerate(spec["users"]):
        address = f"{person['local']}@{domain}"
        try:
            await store.get_user(address)
            continue
        except NotFound:
            pass
        user = await store.create_user(address, spec["password"], _name(person))
        builder = MailboxBuilder(spec, person, domain, (seed or spec["seed"]) + index)
        await builder.fill(store, user.id)
        loaded = True
    return loaded


def _name(person: dict[str, Any]) -> str:
    return f"{person['first']} {person['last']}"


def _address(person: dict[str, Any], domain: str | None = None) -> str:
    return f"{person['first'].lower()}.{person['last'].lower()}@{domain or person['domain']}"


def eas_date(moment: datetime) -> str:
    """``2026-11-20T09:15:00.000Z``, the form EAS writes Email and Tasks dates in."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def eas_compact_date(moment: datetime) -> str:
    """``20261120T091500Z``, the form of Calendar times."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


class MailboxBuilder:
    """Builds one user's content; every random choice comes from one seeded generator."""

    def __init__(self, spec: dict[str, Any], owner: dict[str, Any], domain: str, seed: int):
        self.spec = spec
        self.rng = random.Random(seed)
        self.domain = domain
        self.owner_name = _name(owner)
        self.owner_address = f"{owner['local']}@{domain}"
        self.base = datetime.fromisoformat(spec["base_date"].replace("Z", "+00:00"))
        self.people = spec["people"]

    async def fill(self, store: Store, user_id: int) -> None:
        projects = await store.create_folder(user_id, str(int(FolderType.INBOX)),
                                             self.spec["subfolder"], FolderType.USER_MAIL)
        await store.add_items_bulk(user_id, "2", self.mails(INBOX_MAILS, first_hour=2))
        await store.add_items_bulk(user_id, projects.id, self.mails(PROJECT_MAILS, first_hour=5))
        await store.add_items_bulk(user_id, "8", self.events())
        await store.add_items_bulk(user_id, "9", self.contacts())
        await store.add_items_bulk(user_id, "7", self.tasks())
        await store.add_items_bulk(user_id, "10", self.notes())

    # --- mail -------------------------------------------------------------------------
    def mails(self, count: int, first_hour: int) -> list[NewItem]:
        """``count`` mails, newest last, some of them replies in a thread (``Re:``)."""
        topics = self.spec["mail_topics"]
        items: list[NewItem] = []
        moment = self.base - timedelta(hours=first_hour + 3 * count)
        threads: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for n in range(count):
            moment += timedelta(hours=self.rng.randint(1, 5), minutes=self.rng.randint(0, 59))
            if threads and self.rng.random() < 0.3:
                topic, sender = self.rng.choice(threads)
                reply = True
            else:
                topic, sender = self.rng.choice(topics), self.rng.choice(self.people)
                threads.append((topic, sender))
                reply = False
            items.append(self.mail(topic, sender, moment, reply, html=n % 3 == 0))
        return items

    def mail(self, topic: dict[str, Any], sender: dict[str, Any], moment: datetime,
             reply: bool, html: bool) -> NewItem:
        subject = ("Re: " if reply else "") + topic["subject"]
        text = self._body_text(topic, sender, reply)
        html_body = self._body_html(text) if html else None
        cc = self.rng.choice(self.people) if self.rng.random() < 0.3 else None
        attachments = () if reply or "attachment" not in topic else (self._attachment(topic),)
        from_header = formataddr((_name(sender), _address(sender)))
        message = self._mime(subject, from_header, cc, moment, text, html_body, attachments)
        data = {
            "Subject": subject,
            "From": from_header,
            "To": formataddr((self.owner_name, self.owner_address)),
            "DisplayTo": self.owner_name,
            "DateReceived": eas_date(moment),
            "ThreadTopic": topic["subject"],
            "Importance": 2 if "budget" in subject.lower() and not reply else 1,
            "MessageClass": "IPM.Note",
            "InternetCPID": "65001",
            "ContentClass": "urn:content-classes:message",
            "ConversationId": hashlib.md5(topic["subject"].encode()).hexdigest().upper(),
            "NativeBodyType": 2 if html else 1,
        }
        if cc is not None:
            data["Cc"] = formataddr((_name(cc), _address(cc)))
        return NewItem("Email", data, body_text=text, body_html=html_body, mime=message,
                       read=self.rng.random() < 0.6, flagged=self.rng.random() < 0.1,
                       attachments=attachments)

    def _body_text(self, topic: dict[str, Any], sender: dict[str, Any], reply: bool) -> str:
        lines = [f"Hi {self.owner_name.split()[0]},", ""]
        if reply:
            lines += [self.rng.choice(self.spec["reply_lines"]), "", "> " + topic["body"]]
        else:
            lines.append(topic["body"])
        lines += ["", "Best regards,", _name(sender), f"{sender['title']}, {sender['company']}"]
        return "\n".join(lines)

    @staticmethod
    def _body_html(text: str) -> str:
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n") if p)
        return f"<html><body style=\"font-family:Calibri,sans-serif\">{paragraphs}</body></html>"

    def _attachment(self, topic: dict[str, Any]) -> tuple[Attachment, bytes]:
        kind = topic["attachment"]
        stem = topic["subject"].lower().replace(" ", "-").replace(":", "")
        if kind == "csv":
            rows = ["region,product,month,amount"] + [
                f"{r},{p},2026-{m:02d},{self.rng.randint(1000, 99999)}"
                for r in ("north", "south", "east", "west") for p in ("hardware", "services")
                for m in range(1, 13)
            ]
            content, ctype = ("\n".join(rows) + "\n").encode(), "text/csv"
        elif kind == "pdf":
            filler = " ".join(f"({topic['subject']} page {n}) Tj" for n in range(60))
            content = f"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\nBT {filler} ET\n%%EOF\n".encode()
            ctype = "application/pdf"
        else:
            content = ("\n".join(f"{n}. {topic['body']}" for n in range(1, 30)) + "\n").encode()
            ctype = "text/plain"
        name = f"{stem}.{kind}"
        return Attachment("", name, ctype, len(content)), content

    def _mime(self, subject: str, from_header: str, cc: dict[str, Any] | None,
              moment: datetime, text: str, html: str | None,
              attachments: Sequence[tuple[Attachment, bytes]]) -> bytes:
        msg = EmailMessage()
        msg["From"] = from_header
        msg["To"] = formataddr((self.owner_name, self.owner_address))
        if cc is not None:
            msg["Cc"] = formataddr((_name(cc), _address(cc)))
        msg["Subject"] = subject
        msg["Date"] = format_datetime(moment)
        digest = hashlib.sha1(f"{self.owner_address}{subject}{moment}".encode()).hexdigest()
        msg["Message-ID"] = f"<{digest[:24]}@{from_header.rsplit('@', 1)[1].rstrip('>')}>"
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
        for attachment, content in attachments:
            maintype, subtype = attachment.content_type.split("/")
            msg.add_attachment(content, maintype=maintype, subtype=subtype,
                               filename=attachment.name)
        # Fixed boundaries: the generator would pick random ones, and fixtures repeat exactly.
        for n, part in enumerate(p for p in msg.walk() if p.is_multipart()):
            part.set_boundary(f"=_part{n}_{digest[:16]}")
        return msg.as_bytes()

    # --- calendar ---------------------------------------------------------------------
    def events(self) -> list[NewItem]:
        items = []
        for n, spec in enumerate(self.spec["events"]):
            day = (self.base + timedelta(days=n * 2 - 4)).replace(hour=0, minute=0, second=0)
            items.append(self.event(spec, day, n))
        return items

    def event(self, spec: dict[str, Any], day: datetime, n: int) -> NewItem:
        all_day = spec.get("all_day", False)
        start = day if all_day else day.replace(hour=spec["hour"])
        end = start + (timedelta(days=1) if all_day else timedelta(minutes=spec["minutes"]))
        attendees = self.rng.sample(self.people, spec.get("attendees", 0))
        data: dict[str, Any] = {
            "Subject": spec["subject"],
            "StartTime": eas_compact_date(start),
            "EndTime": eas_compact_date(end),
            "DtStamp": eas_compact_date(self.base - timedelta(days=14)),
            "Timezone": UTC_TIMEZONE,
            "UID": hashlib.sha1(f"{self.owner_address}/event/{n}".encode()).hexdigest().upper(),
            "AllDayEvent": 1 if all_day else 0,
            "BusyStatus": 0 if all_day else 2,
            "Sensitivity": 2 if spec.get("private") else 0,
            "MeetingStatus": 1 if attendees else 0,
            "Reminder": 15,
            "OrganizerName": self.owner_name,
            "OrganizerEmail": self.owner_address,
        }
        if "location" in spec:
            data["Location"] = spec["location"]
        if attendees:
            data["Attendees"] = [
                {"Email": _address(p), "Name": _name(p), "AttendeeStatus": self.rng.choice([0, 3, 4]),
                 "AttendeeType": 1}
                for p in attendees
            ]
        if spec.get("recurring") == "weekly":
            data["Recurrence"] = {"Type": 1, "Interval": 1,
                                  "DayOfWeek": 1 << ((start.weekday() + 1) % 7), "Occurrences": 20}
        body = f"{spec['subject']}" + (f" at {spec['location']}." if "location" in spec else ".")
        return NewItem("Calendar", data, body_text=body)

    # --- contacts, tasks, notes ---------------------------------------------------------
    def contacts(self) -> list[NewItem]:
        return [self.contact(p) for p in self.people]

    def contact(self, person: dict[str, Any]) -> NewItem:
        digits = lambda: "".join(str(self.rng.randint(0, 9)) for _ in range(4))  # noqa: E731
        data = {
            "FirstName": person["first"],
            "LastName": person["last"],
            "FileAs": f"{person['last']}, {person['first']}",
            "Email1Address": _address(person),
            "MobilePhoneNumber": f"+1 206 555 {digits()}",
            "BusinessPhoneNumber": f"+1 425 555 {digits()}",
            "CompanyName": person["company"],
            "JobTitle": person["title"],
            "BusinessAddressCity": person["city"],
            "BusinessAddressCountry": "United States",
        }
        return NewItem("Contacts", data)

    def tasks(self) -> list[NewItem]:
        items = []
        for n, spec in enumerate(self.spec["tasks"]):
            due = self.base + timedelta(days=n + 1)
            data = {"Subject": spec["subject"], "Importance": spec["importance"],
                    "Complete": 1 if spec.get("complete") else 0,
                    "StartDate": eas_date(self.base), "UtcStartDate": eas_date(self.base),
                    "DueDate": eas_date(due), "UtcDueDate": eas_date(due),
                    "Sensitivity": 0, "ReminderSet": 0}
            if spec.get("complete"):
                data["DateCompleted"] = eas_date(self.base - timedelta(days=1))
            items.append(NewItem("Tasks", data, body_text=spec["subject"]))
        return items

    def notes(self) -> list[NewItem]:
        return [
            NewItem("Notes", {"Subject": spec["subject"], "MessageClass": "IPM.StickyNote",
                              "LastModifiedDate": eas_date(self.base - timedelta(days=n))},
                    body_text=spec["body"])
            for n, spec in enumerate(self.spec["notes"])
        ]
