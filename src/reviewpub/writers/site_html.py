"""The HTML pieces both listening pages share: escaping, times as a listener reads them, the page frame.

Apart from ``site.py`` so the review page and the index, which differ in what they show, are
built from one set of landmarks, one escape and one way of writing a time.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from typing import Any

from reviewpub.document import Rating
from reviewpub.layout import STYLESHEET_NAME
from reviewpub.writers.xhtml import clean, is_right_to_left


def escape(text: str) -> str:
    """Text ready for HTML content or a quoted attribute (controls HTML forbids dropped)."""
    return html.escape(clean(text), quote=True)


def script_json(value: Any, *, indent: int | None = 1) -> str:
    """JSON that is safe inside ``<script>``: ``<``, ``>`` and ``&`` as escapes, so a title
    holding ``</script>`` or ``<!--`` cannot end the element early."""
    text = json.dumps(value, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def clock(seconds: float) -> str:
    """``1:02:03`` or ``2:03``: a time as a listener reads it."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def iso_duration(seconds: float) -> str:
    """ISO 8601 duration (``PT3M12.5S``), as schema.org ``duration`` wants."""
    whole_minutes, rest = divmod(round(seconds, 3), 60)
    hours, minutes = divmod(int(whole_minutes), 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + f"{rest:g}S" if rest or text == "PT" else text


def duration_element(seconds: float) -> str:
    """``<time datetime="PT3M12S">3:12</time>``: the length shown, and machine-readable."""
    return f'<time datetime="{iso_duration(round(seconds))}">{clock(seconds)}</time> long'


def shown_date(day: dt.date) -> str:
    """``1 March 2024``: the same in every locale the build runs in."""
    months = (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    )
    return f"{day.day} {months[day.month - 1]} {day.year}"


def html_page(
    *,
    title: str,
    language: str,
    head: Sequence[str],
    header: Sequence[str],
    main: Sequence[str],
    footer: Sequence[str],
    scripts: Sequence[str] = (),
) -> str:
    """A whole HTML5 page with the landmarks every page has: skip link, header, main, footer."""
    direction = ' dir="rtl"' if is_right_to_left(language) else ""
    lines = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(language)}"{direction}>',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        # No icon: otherwise a browser asks every server for /favicon.ico, which is not there.
        '<link rel="icon" href="data:,">',
        *head,
        f'<link rel="stylesheet" href="{STYLESHEET_NAME}">',
        "</head>",
        "<body>",
        '<a class="skip-link" href="#main">Skip to content</a>',
        '<header class="site-header">',
        *header,
        "</header>",
        '<main id="main" tabindex="-1">',
        *main,
        "</main>",
        '<footer class="site-footer">',
        *footer,
        "</footer>",
        *scripts,
        "</body>",
        "</html>",
    ]
    return "\n".join(lines) + "\n"


def rating_line(rating: Rating | None, item: str | None) -> list[str]:
    """``Rating: 4/5`` (and what was reviewed) when the review gives them; nothing otherwise."""
    lines = []
    if item:
        lines.append(f'<p class="meta">Reviewed: {escape(item)}</p>')
    if rating is not None:
        lines.append(f'<p class="meta">Rating: <strong>{escape(str(rating))}</strong></p>')
    return lines
