"""The command line: help everywhere, lazy imports, exit statuses, the seed's outline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reviewpub import __version__
from reviewpub.cli import cli
from reviewpub.errors import ExitStatus
from tests.helpers.cli import run_cli
from tests.helpers.paths import SEED

COMMANDS = sorted(cli.commands)

SEED_OUTLINE = {
    "title": "I.S.S. Movie Review: A Tense and Gripping Thriller Set in Space",
    "chapters": [
        {"title": "Introduction", "children": []},
        {"title": "The Plot: Peril and Intrigue in Space", "children": []},
        {"title": "Stellar Cast: A Compelling Ensemble", "children": []},
        {"title": "Atmospheric Setting: The Confinement of Space", "children": []},
        {"title": "Taut Thrills: Suspense at Every Turn", "children": []},
        {"title": "Production Design and Special Effects: Immersive Realism", "children": []},
        {"title": "Conclusion: A Must-Watch Thriller", "children": []},
        {
            "title": "Frequently Asked Questions",
            "children": [
                {"title": "Is “I.S.S.” suitable for all audiences?", "children": []},
                {"title": "How does the film capture the realism of a space setting?", "children": []},
                {"title": "Does “I.S.S.” explore themes beyond its suspenseful plot?", "children": []},
            ],
        },
    ],
}


def titles_only(node: dict[str, object]) -> dict[str, object]:
    """Keep only title and children, as the issue's expected outline does."""
    children = node.get("children", node.get("chapters"))
    assert isinstance(children, list)
    key = "chapters" if "chapters" in node else "children"
    return {"title": node["title"], key: [titles_only(child) for child in children]}


def test_version() -> None:
    assert run_cli("--version").stdout.strip() == f"reviewpub, version {__version__}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = run_cli(command, "--help")
    assert "Usage: reviewpub" in result.stdout
    assert "Example:" in result.stdout
    assert "-q, --quiet" in result.stdout


def test_help_imports_no_heavy_library() -> None:
    script = (
        "import sys\n"
        "from reviewpub.cli import main\n"
        "sys.argv = ['reviewpub', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'ebooklib', 'pydub', 'gtts', 'PIL', 'markdown_it', 'mutagen', 'lxml', 'requests',"
        " 'charset_normalizer'}\n"
        "print(sorted(heavy & {name.split('.')[0] for name in sys.modules}))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert completed.stdout.strip().splitlines()[-1] == "[]"


def test_python_dash_m_runs_the_same_cli() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "reviewpub", "--version"], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == f"reviewpub, version {__version__}"


def test_seed_outline_json_matches_the_issue() -> None:
    result = run_cli("outline", str(SEED), "--format", "json")
    assert titles_only(json.loads(result.stdout)) == SEED_OUTLINE


def test_seed_outline_text_shows_the_tree_with_word_counts() -> None:
    result = run_cli("outline", str(SEED))
    lines = result.stdout.splitlines()
    assert lines[0] == SEED_OUTLINE["title"]
    assert any(line.startswith("8. Frequently Asked Questions") for line in lines)
    assert any(line.startswith("  8.1. Is “I.S.S.” suitable for all audiences?") for line in lines)
    assert all("words)" in line for line in lines[3:] if line.strip())


def test_outline_explain_names_the_rule_for_each_heading() -> None:
    result = run_cli("outline", str(SEED), "--explain")
    assert "Why:" in result.stdout
    assert "The Plot: Peril and Intrigue in Space" in result.stdout.split("Why:")[1]


def test_cli_metadata_options_win(tmp_path: Path) -> None:
    result = run_cli("outline", str(SEED), "--format", "json", "--title", "Another Title", "--author", "Zoë")
    data = json.loads(result.stdout)
    assert data["title"] == "Another Title"
    assert data["author"] == "Zoë"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n \t\n", "empty"),
        ("binary.txt", bytes(range(256)) * 8, "binary"),
        ("title-only.txt", b"Just A Title\n", "no body text"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    source = tmp_path / name
    source.write_bytes(content)
    output = tmp_path / "output"
    result = run_cli("epub", str(source), "-o", str(output), expect=ExitStatus.ERROR)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert str(source) in result.stderr
    assert not output.exists() or not any(output.iterdir())


def test_missing_file_and_directory(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.txt", tmp_path):
        result = run_cli("outline", str(path), expect=ExitStatus.ERROR)
        assert result.stderr.count("\n") == 1
        assert str(path) in result.stderr


def test_unknown_option_is_a_usage_error() -> None:
    run_cli("outline", str(SEED), "--no-such-option", expect=ExitStatus.USAGE)


def test_outline_counts_read_as_english(tmp_path: Path) -> None:
    review = tmp_path / "one.txt"
    review.write_text("A Short Review\n\nVerdict\n\nGood.\n", encoding="utf-8")
    lines = run_cli("outline", str(review)).stdout.splitlines()
    assert lines[1] == "1 chapter, 1 word"
    assert lines[3] == "1. Verdict  (1 word)"


@pytest.mark.parametrize("option", [["--base-url", "ftp://example.org/x/"], ["--category", "Movies"]])
def test_a_bad_feed_option_stops_the_build_before_anything_is_written(tmp_path: Path, option: list[str]) -> None:
    # The feed is the last file a build writes: its options are checked before the first.
    result = run_cli("build", str(SEED), "-o", str(tmp_path / "out"), *option, expect=ExitStatus.ERROR)
    assert result.stderr.count("\n") == 1 and option[0] in result.stderr
    assert not (tmp_path / "out").exists()


def test_progress_bar_shows_minutes_of_audio() -> None:
    from reviewpub.cli.console import audio_minutes

    assert audio_minutes(90.0) == "1.5 min of audio"
    assert audio_minutes(None) is None
