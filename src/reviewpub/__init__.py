"""reviewpub: turn a written review into an accessible EPUB 3 and narrated audio.

The public API is what a script may import; heavy libraries load only when a function that
needs them runs, so ``reviewpub --help`` stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
