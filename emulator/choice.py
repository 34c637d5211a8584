"""Following a notice's choice link as a person would: open the page in a browser, then
press the button of its form. A GET alone must change nothing (SPEC §4), so the form POST is
what records the choice."""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin

import aiohttp


class ChoiceError(RuntimeError):
    """The page could not be opened, or has no form to press."""


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    """Collects the first form of a page with the values a browser would submit: its
    inputs (not unchecked boxes) and the first submit button's name and value."""

    def __init__(self) -> None:
        super().__init__()
        self.form: Form | None = None
        self._inside = False
        self._pressed = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and self.form is None:
            self.form = Form(values.get("action", ""), values.get("method", "get").lower())
            self._inside = True
        elif self._inside and self.form is not None and tag in ("input", "button"):
            self._field(tag, values)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False

    def _field(self, tag: str, values: dict[str, str]) -> None:
        assert self.form is not None
        kind = values.get("type", "submit" if tag == "button" else "text").lower()
        name = values.get("name")
        if kind == "submit":
            if name and not self._pressed:
                self.form.fields.append((name, values.get("value", "")))
            self._pressed = True
        elif kind in ("checkbox", "radio"):
            if name and "checked" in values:
                self.form.fields.append((name, values.get("value", "on")))
        elif name:
            self.form.fields.append((name, values.get("value", "")))


def parse_form(page: str) -> Form | None:
    parser = _FormParser()
    parser.feed(page)
    parser.close()
    return parser.form


@dataclass(frozen=True)
class ChoiceOutcome:
    page_status: int  # the GET of the link
    submit_status: int  # the form POST
    final_url: str


async def follow_choice_link(
    http: aiohttp.ClientSession, url: str
) -> ChoiceOutcome:
    """GET the confirmation page, then submit its form the way a browser does."""
    async with http.get(url) as page:
        body = await page.text()
        page_status = page.status
    if page_status >= 400:
        raise ChoiceError(f"the choice page answered HTTP {page_status}")
    form = parse_form(body)
    if form is None:
        raise ChoiceError("the choice page has no form to confirm the choice")
    target = urljoin(url, form.action) if form.action else url
    data = urlencode(form.fields)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    method = "POST" if form.method != "get" else "GET"
    async with http.request(method, target, data=data if method == "POST" else None,
                            params=None if method == "POST" else form.fields,
                            headers=headers) as answer:
        await answer.read()
        return ChoiceOutcome(page_status, answer.status, str(answer.url))
