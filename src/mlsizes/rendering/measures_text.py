"""The compute paper's reproduction, the recent-growth readout and RQ3 (does a model fit on one accelerator) as
Markdown for the report: the paper's numbers and ours side by side, each verdict, the readout's sentences, and the
chip shares with the coverage they rest on."""

from __future__ import annotations


def _number(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _doubling(numbers: dict) -> str:
    interval = numbers.get("doubling_interval")
    spread = f" [{'; '.join(f'{v:.1f}' for v in interval)}]" if interval else ""
    return _number(numbers.get("doubling_time_months"), 1) + spread


def _verdict(row: dict) -> str:
    if row.get("not_reproducible"):
        return "not reproducible (n differs: not the paper's systems)"
    if not row["judged"]:
        return "not judged (known inconsistency of the paper)"
    off = [field for field, ok in row["within_tolerance"].items() if not ok]
    return "within tolerance" if not off else "off: " + ", ".join(off)


def compute_reproduction_lines(result: dict) -> list[str]:
    """The reproduction's section: every table row, the paper's figures beside ours, then the notes."""
    tolerance = result["tolerances"]
    lines = [
        f"## Compute trends across three eras, reproduced (snapshot {result['snapshot']}, cut-off {result['cutoff']})",
        "",
        f"{result['paper']}. Doubling times in months with the bootstrap [2.5%; 50%; 97.5%]; each cell is "
        f"paper / ours. Tolerances: n {tolerance['n_relative']:.0%}, slope {tolerance['slope_oom_per_year']:g} "
        f"OOM/yr, doubling time {tolerance['doubling_time_relative']:.0%}, R^2 {tolerance['r2']:g}. Figure: "
        "[three eras](figures/compute_eras.png).",
        "",
        "| table | period | systems | n | OOM/yr | doubling (months) | R^2 | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"].values():
        paper, ours = row["paper"], row["ours"]
        lines.append(
            f"| {row['table']} | {row['period']} | {row['systems']} | {paper['n']} / {ours['n']} | "
            f"{_number(paper['slope_oom_per_year'], 1)} / {_number(ours['slope_oom_per_year'])} | "
            f"{_doubling(paper)} / {_doubling(ours)} | {_number(paper['r2'])} / {_number(ours['r2'])} | "
            f"{_verdict(row)} |"
        )
    summary = result["summary"]
    lines += [
        "",
        f"{summary['judged_within_tolerance']} of {summary['judged']} judged rows are within every tolerance "
        "(each distance taken to the interval the paper's rounded figure stands for). Which rows are judged: "
        f"{summary['rule']}. Not reproducible by that rule: {', '.join(summary['not_reproducible']) or 'none'}"
        f" ({summary['not_reproducible_otherwise_within']} of them agree with the paper on every figure but n). "
        + " ".join(summary["not_reproduced"])
        + ".",
    ]
    reasons = sorted({reason for row in result["rows"].values() for reason in row.get("why_not", [])})
    if reasons:
        lines += ["", "Why rows are off:", "", *[f"- {reason}" for reason in reasons]]
    names = lambda systems: ", ".join(system["name"] for system in systems)  # noqa: E731
    if result["uncurated_with_compute"]:
        uncurated = result["uncurated_with_compute"]
        codes = sorted({system["reject_code"] for system in uncurated})
        lines += ["", f"Systems with a training compute that curate rejects ({', '.join(codes)}): {names(uncurated)}."]
    lines += [
        "",
        f"Large-scale systems ({len(result['large_scale'])}): {names(result['large_scale'])}.",
        "",
        f"Low outliers, left out of every fit ({len(result['low_outliers'])}): {names(result['low_outliers'])}.",
    ]
    return lines


def growth_lines(result: dict, history: dict | None = None) -> list[str]:
    """The recent-growth section: one sentence per measure and group, the figure of each measure, and (with the
    history) the readout on every release, so a rate can be followed as the dataset grew."""
    lines = [
        f"## Recent growth of every measure (since {result['since']}; frontier: {result['frontier']})",
        "",
        *[f"- {sentence}" for sentence in result["sentences"]],
        "",
        "Figures: "
        + ", ".join(
            f"[{reading['measure']}](figures/growth_{column}.png)" for column, reading in result["measures"].items()
        )
        + ".",
    ]
    rows = [row for row in (history or {}).get("snapshots", []) if "growth" in row]
    if not rows:
        return lines
    columns = list(rows[-1]["growth"])
    words = {column: result["measures"].get(column, {}).get("measure", column) for column in columns}
    lines += [
        "",
        "On every release (x/year [95% interval], n; notable / frontier):",
        "",
        "| release | " + " | ".join(words[column] for column in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = [
            " / ".join(_rate(row["growth"][column][group]) for group in ("notable", "frontier")) for column in columns
        ]
        lines.append(f"| {row['snapshot_date']} | " + " | ".join(cells) + " |")
    return lines


def _rate(reading: dict) -> str:
    if reading.get("x_per_year") is None:
        return "-"
    interval = reading.get("interval_95")
    spread = f" [{interval[0]:.1f}; {interval[1]:.1f}]" if interval else ""
    return f"{reading['x_per_year']:.1f}x{spread}, {reading['n']}"


def chips_lines(result: dict) -> list[str]:
    """RQ3: coverage first, then per release the shares below, in and above the gap, overall and by year."""
    per = result["bytes_per_parameter"]
    lower, upper = result["gap"]
    lines = [
        "## RQ3: does a model fit on one accelerator?",
        "",
        f"Weights at {per['weights']:g} bytes per parameter and training state at {per['training_state']:g} bytes "
        f"per parameter against the memory of one accelerator of those each system was trained on "
        f"(`{result['chip_table']['path']}`, {result['chip_table']['accelerators']} accelerators as Epoch spells "
        f"them, each with its source); gap [{lower:.0e}, {upper:.0e}], {result['bounds']} bounds. " + result["rule"],
    ]
    for release in result["releases"]:
        c = release["coverage"]
        unknown = ", ".join(f"{name} ({n})" for name, n in c["unknown_hardware"].items()) or "none"
        lines += [
            "",
            f"**{release['snapshot']}.** Coverage: of {c['systems']} systems, {c['with_parameters']} have a "
            f"parameter count and {c['with_training_hardware']} name their training hardware; the answer rests on "
            f"the {c['with_parameters_and_known_chip']} with both and a known accelerator "
            f"({c['with_hardware_quantity_too']} of them with a hardware quantity). Names not in the chip table: "
            f"{unknown}.",
            "",
            "| year | below: n, weights fit, state fits | in: n, weights, state | above: n, weights, state |",
            "|---|---|---|---|",
        ]
        years = {"all years": release["by_position"], **release["by_year"]}
        for year, cells in years.items():
            lines.append(f"| {year} | " + " | ".join(_fits(cells[where]) for where in ("below", "in", "above")) + " |")
    return lines


def _fits(cell: dict) -> str:
    if not cell["n"]:
        return "-"
    return f"{cell['n']}, {cell['weights']['fit']} ({cell['weights']['share']:.0%}), " + (
        f"{cell['training_state']['fit']} ({cell['training_state']['share']:.0%})"
    )
