"""Rows of the bench's table: a figure beside its reference, the ratio, the target, and the table itself."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from measuring import Measured, Sample


@dataclass(frozen=True)
class Target:
    """A limit on a figure's ratio (or, for memory, on its value), and how it reads in the table."""

    text: str
    test: Callable[[float, float], bool]
    """(value, ratio) → met."""


def at_most(limit: float) -> Target:
    """The ratio must not exceed ``limit``."""
    return Target(f"<= {limit:g}x", lambda value, ratio: ratio <= limit)


def below(limit: float) -> Target:
    """The ratio must stay under ``limit``."""
    return Target(f"< {limit:g}x", lambda value, ratio: ratio < limit)


def at_least(limit: float) -> Target:
    """The ratio must reach ``limit``."""
    return Target(f">= {limit:g}x", lambda value, ratio: ratio >= limit)


def under_mb(limit: float) -> Target:
    """The value (MB) must stay under ``limit``."""
    return Target(f"< {limit:g} MB", lambda value, ratio: value < limit)


@dataclass
class Figure:
    """A row of the table and of results.json."""

    name: str
    unit: str
    """What ``value`` and ``reference_value`` are in: "s" (median wall time), "MB" (peak memory) or
    "MOS" (a quality score: the mean over chapters; min/max values are the worst and best chapter)."""
    runs: int
    """Timed runs; for a quality row, the chapters scored."""
    median_s: float | None
    """Wall-time figures; None on a quality row, which times nothing."""
    min_s: float | None
    max_s: float | None
    cpu_s: float | None
    peak_rss_mb: float | None
    tree_peak_mb: float | None
    value: float
    min_value: float
    max_value: float
    reference: str
    reference_runs: int
    reference_median_s: float | None
    reference_cpu_s: float | None
    reference_value: float
    ratio: float | None
    """value / reference_value; None on a quality row (scores are compared side by side, not divided)."""
    target: str
    met: bool | None
    note: str = ""


def peak_memory_mb(samples: list[Sample]) -> float:
    """The largest memory seen over the samples: the tree's PSS when sampled, else ru_maxrss."""
    return max(sample.tree_peak_mb or sample.peak_rss_mb for sample in samples)


def make_figure(
    name: str,
    subject: Measured,
    reference: Measured | None,
    target: Target | None,
    *,
    unit: str = "s",
    reference_label: str | None = None,
    note: str = "",
) -> Figure:
    """Summarise a subject and its reference into a row; the ratio is subject / reference."""
    walls = [sample.wall_s for sample in subject.samples]
    trees = [sample.tree_peak_mb for sample in subject.samples if sample.tree_peak_mb is not None]
    values = walls if unit == "s" else [peak_memory_mb([sample]) for sample in subject.samples]
    value = statistics.median(values) if unit == "s" else max(values)
    reference_samples = reference.samples if reference else []
    reference_value = 0.0
    if reference_samples:
        reference_value = (
            statistics.median(sample.wall_s for sample in reference_samples)
            if unit == "s"
            else peak_memory_mb(reference_samples)
        )
    ratio = value / reference_value if reference_value else 0.0
    return Figure(
        name=name,
        unit=unit,
        runs=len(walls),
        median_s=round(statistics.median(walls), 3),
        min_s=round(min(walls), 3),
        max_s=round(max(walls), 3),
        cpu_s=round(statistics.median(sample.cpu_s for sample in subject.samples), 3),
        peak_rss_mb=round(max(sample.peak_rss_mb for sample in subject.samples), 1),
        tree_peak_mb=round(max(trees), 1) if trees else None,
        value=round(value, 4),
        min_value=round(min(values), 3),
        max_value=round(max(values), 3),
        reference=reference_label or (reference.label if reference else "-"),
        reference_runs=len(reference_samples),
        reference_median_s=round(statistics.median(sample.wall_s for sample in reference_samples), 3)
        if reference_samples
        else 0.0,
        reference_cpu_s=round(statistics.median(sample.cpu_s for sample in reference_samples), 3)
        if reference_samples
        else 0.0,
        reference_value=round(reference_value, 4),
        ratio=round(ratio, 3),
        target=target.text if target else "-",
        met=target.test(value, ratio) if target and reference_samples else None,
        note=note,
    )


def quality_figure(
    name: str,
    scores: list[float],
    reference: str,
    reference_scores: list[float],
    *,
    mean_at_least: float | None = None,
    lowest_at_least: float | None = None,
    note: str = "",
) -> Figure:
    """A quality row: the mean score over chapters, its worst and best chapter, beside the reference's mean.

    Without ``scores`` (the scorer is not installed) the row says so in the reference column,
    with no value and no verdict, like the pandoc fallback.
    """
    limits = []
    if mean_at_least is not None:
        limits.append(f"mean >= {mean_at_least:g}")
    if lowest_at_least is not None:
        limits.append(f"each >= {lowest_at_least:g}")
    target = ", ".join(limits) or "-"
    mean = statistics.fmean(scores) if scores else 0.0
    met = None
    if scores and target != "-":
        met = (mean_at_least is None or mean >= mean_at_least) and (
            lowest_at_least is None or min(scores) >= lowest_at_least
        )
    return Figure(
        name=name,
        unit="MOS",
        runs=len(scores),
        median_s=None,
        min_s=None,
        max_s=None,
        cpu_s=None,
        peak_rss_mb=None,
        tree_peak_mb=None,
        value=round(mean, 3),
        min_value=round(min(scores), 3) if scores else 0.0,
        max_value=round(max(scores), 3) if scores else 0.0,
        reference=reference,
        reference_runs=len(reference_scores),
        reference_median_s=None,
        reference_cpu_s=None,
        reference_value=round(statistics.fmean(reference_scores), 3) if reference_scores else 0.0,
        ratio=None,
        target=target,
        met=met,
        note=note,
    )


def format_value(value: float, unit: str) -> str:
    """``1.234 s``, ``212 MB`` or ``4.17 MOS``."""
    if unit == "MOS":
        return f"{value:.2f} MOS"
    return f"{value:.0f} MB" if unit == "MB" else f"{value:.3f} s"


def value_range(row: Figure) -> str:
    """The min-max column: whole MB, two decimals of seconds or of a score."""
    if row.unit == "MB":
        return f"{row.min_value:.0f}-{row.max_value:.0f}"
    if row.unit == "MOS" and not row.runs:
        return "-"
    return f"{row.min_value:.2f}-{row.max_value:.2f}"


def table(figures: list[Figure]) -> str:
    """The table printed by the bench and quoted in the README."""
    # "value" is a median time, a peak memory or a mean score, as its unit says.
    header = ("figure", "n", "value", "min-max", "CPU s", "peak MB", "reference", "ref value", "ratio", "target", "met")
    rows = [header]
    for row in figures:
        peak_mb = row.tree_peak_mb or row.peak_rss_mb
        rows.append(
            (
                row.name,
                str(row.runs),
                format_value(row.value, row.unit) if row.runs else "-",
                value_range(row),
                "-" if row.cpu_s is None else f"{row.cpu_s:.2f}",
                "-" if peak_mb is None else f"{peak_mb:.0f}",
                f"{row.reference} (n={row.reference_runs})" if row.reference_runs else row.reference,
                format_value(row.reference_value, row.unit) if row.reference_runs else "-",
                f"{row.ratio:.2f}x" if row.reference_runs and row.ratio is not None else "-",
                row.target,
                {True: "yes", False: "NO", None: "-"}[row.met],
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    right = {1, 2, 3, 4, 5, 7, 8}
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)


def notes(figures: list[Figure]) -> str:
    """The notes under the table (reviewpub's own summary of what each audio run did)."""
    return "\n".join(f"{figure.name}: {figure.note}" for figure in figures if figure.note)
