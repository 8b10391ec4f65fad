"""A podcast's settings, checked before anything is written: Apple's categories and the feed's base URL.

``--category`` must name a category Apple lists (and one of its subcategories); ``--base-url``
must be an address every client can reach and that publishes no secret. The options, the show's
``reviewpub.toml`` and the feed writers all take their answer from here.
"""

from __future__ import annotations

import re
import urllib.parse

from reviewpub.errors import SettingsError

DEFAULT_BASE_URL = "http://127.0.0.1:8000/"
"""Where ``reviewpub serve`` listens by default; it rewrites this prefix when it serves."""
DEFAULT_CATEGORY = ("TV & Film", "Film Reviews")
"""Apple's category and subcategory for a film review."""
APPLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit"),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": ("Alternative Health", "Fitness", "Medicine", "Mental Health", "Nutrition", "Sexuality"),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": (
        "Animation & Manga",
        "Automotive",
        "Aviation",
        "Crafts",
        "Games",
        "Hobbies",
        "Home & Garden",
        "Video Games",
    ),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": (
        "Business News",
        "Daily News",
        "Entertainment News",
        "News Commentary",
        "Politics",
        "Sports News",
        "Tech News",
    ),
    "Religion & Spirituality": ("Buddhism", "Christianity", "Hinduism", "Islam", "Judaism", "Religion", "Spirituality"),
    "Science": (
        "Astronomy",
        "Chemistry",
        "Earth Sciences",
        "Life Sciences",
        "Mathematics",
        "Natural Sciences",
        "Nature",
        "Physics",
        "Social Sciences",
    ),
    "Society & Culture": ("Documentary", "Personal Journals", "Philosophy", "Places & Travel", "Relationships"),
    "Sports": (
        "Baseball",
        "Basketball",
        "Cricket",
        "Fantasy Sports",
        "Football",
        "Golf",
        "Hockey",
        "Rugby",
        "Running",
        "Soccer",
        "Swimming",
        "Tennis",
        "Volleyball",
        "Wilderness",
        "Wrestling",
    ),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
}
"""Apple Podcasts' categories and their subcategories: a feed naming another is refused there."""
URL_SAFE = "/:@!$&'()*+,;=~%-._"
"""Characters kept as they are when a base URL or a file name becomes part of a URL."""


def podcast_category(names: tuple[str, ...]) -> tuple[str, ...]:
    """``--category`` values as Apple spells them: a category, then optionally one of its subcategories.

    Raises:
        SettingsError: more than two values, or a name Apple does not list under its parent.
    """
    if not names:
        return DEFAULT_CATEGORY
    if len(names) > 2:
        raise SettingsError(f"--category given {len(names)} times: give a category and at most one subcategory")
    spelled = {name.lower(): name for name in APPLE_CATEGORIES}
    category = spelled.get(names[0].strip().lower())
    if category is None:
        raise SettingsError(
            f"--category {names[0]!r} is not an Apple Podcasts category; choose one of: " + ", ".join(APPLE_CATEGORIES)
        )
    if len(names) == 1:
        return (category,)
    subcategories = {name.lower(): name for name in APPLE_CATEGORIES[category]}
    subcategory = subcategories.get(names[1].strip().lower())
    if subcategory is None:
        offered = APPLE_CATEGORIES[category]
        raise SettingsError(
            f"--category {names[1]!r} is not a subcategory of {category!r}; "
            + (f"it has: {', '.join(offered)}" if offered else "it has none, give it alone")
        )
    return (category, subcategory)


def feed_base_url(base_url: str | None) -> str:
    """The absolute folder URL every link starts with, ending in ``/``.

    Every file's URL is this plus the file's name, and the feed is public, so refused are: a
    query or fragment (the names would land inside it), credentials (``user:pass@`` would be
    published in every link), and a host or port no client can reach. A non-ASCII host is
    written in its IDNA (punycode) form: a feed carries URIs.

    Raises:
        SettingsError: ``base_url`` is not such an address; the line says what to give instead.
    """
    if base_url is None:
        return DEFAULT_BASE_URL
    given = base_url.strip()
    # Never echo a password to the terminal (or a CI log): messages show the URL without userinfo.
    userinfo = re.search(r"(?<=//)[^/?#]*(?=@)", given)
    secret = userinfo.group() if userinfo else ""

    def hide(text: str) -> str:
        return text.replace(secret, "***") if secret else text

    shown = " ".join(hide(given).split())
    example = "such as https://example.org/reviews/iss-review/"
    try:
        parts = urllib.parse.urlsplit(given)
        port = parts.port  # ValueError unless a number from 0 to 65535
    except ValueError as error:  # "Invalid IPv6 URL", a host that changes under NFKC, a bad port
        raise SettingsError(
            f"--base-url {shown}: not a valid address ({hide(str(error))}); give one {example}"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            f"--base-url {shown}: give the absolute http(s) address the folder is published at, {example}"
        )
    if "@" in parts.netloc:
        without = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment=""))
        raise SettingsError(
            f"--base-url {shown}: holds a user name or password, which the public feed would "
            f"publish in every link; give the address without them ({without})"
        )
    if parts.query or parts.fragment:
        part = "a query (?...)" if parts.query else "a fragment (#...)"
        raise SettingsError(
            f"--base-url {shown}: has {part}, and every file's URL is this address plus the file's "
            f"name; give the folder's address alone, {example}"
        )
    host = parts.netloc.rpartition(":")[0] if port is not None or parts.netloc.endswith(":") else parts.netloc
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise SettingsError(f"--base-url {shown}: {host!r} is not a valid host name; give one {example}") from None
    if not re.fullmatch(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+", host):
        raise SettingsError(f"--base-url {shown}: {host!r} is not a valid host name; give one {example}")
    netloc = host if port is None else f"{host}:{port}"
    path = urllib.parse.quote(parts.path, safe=URL_SAFE)
    path = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", path).rstrip("/") + "/"  # a lone % is not an escape
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, "", ""))
