"""Where the repository and its seed review are."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SEED = ROOT / "source" / "iss-review.txt"
