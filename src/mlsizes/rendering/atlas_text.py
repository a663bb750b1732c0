"""The gap atlas and RQ5 in words and Markdown tables, for the report: where the improbable emptiness is in each
release, what the correction for all the looking makes of it, what the model check reads, and, per release,
whether the paper's gap closed and whether something else is opening."""

from __future__ import annotations

from mlsizes.core.settings import AnalysisParams, size_text

MEASURE_UNITS = {"parameters": "", "training_compute_flop": " FLOP", "training_dataset_size": " datapoints"}


def value_text(measure: str, value: float) -> str:
    """A value of a measure as the report writes it: parameters as 564M, other measures as 2.24e+20."""
    return size_text(value) if measure == "parameters" else f"{value:.3g}"


def band(cell: dict) -> str:
    """A cell's band in the measure's unit: `564M-5.64B` (parameters), `1e+22-1e+23 FLOP`."""
    lower, upper = (value_text(cell["measure"], cell[key]) for key in ("lower", "upper"))
    return f"{lower}-{upper}{MEASURE_UNITS.get(cell['measure'], '')}"


def where(cell: dict) -> str:
    """A cell's place: measure, group, window and band."""
    return f"{cell['measure'].replace('_', ' ')}, {cell['group']}, {cell['window']} window, {band(cell)}"


def simulated(p: dict) -> str:
    """A simulated P as every one is printed: P with its interval, hits of n, and where it lies against alpha."""
    verdict = {"below": f"below {p['alpha']:g}", "above": f"above {p['alpha']:g}"}.get(
        p["side"], f"inconclusive at {p['alpha']:g}"
    )
    return (
        f"{p['p']:.2g} (95% interval {p['interval'][0]:.2g}-{p['interval'][1]:.2g}, {p['hits']} of {p['n']:,} "
        f"simulated atlases; {verdict})"
    )


def release_paragraph(name: str, release: dict, params: AnalysisParams) -> str:
    """One release's atlas in a paragraph: the minimum, its corrected P under both nulls, its reading, and the
    paper's cell."""
    low, paper = release["minimum"], release["paper_cell"]
    corrected = release.get("corrected", {})
    text = (
        f"**{name}** (as of {release['as_of']}, {release['n_cells']:,} cells): the most improbable band is "
        f"{where(low)}: {low['observed']} systems where {low['expected']:.1f} were expected (z {low['z']:.2f}, "
        f"local P {low['local_p']:.2g})."
    )
    if corrected:
        text += (
            f" Corrected for every measure, group, window, width and position it could have been: P "
            f"{simulated(corrected['normal'])} under normal scatter, {simulated(corrected['bootstrap'])} with the "
            "trends' own residuals resampled."
        )
    if low.get("reading"):
        text += f" Model check: {low['reading']}."
    if paper:
        text += (
            f" The paper's cell (language, {params.gap_label}) ranks {paper['rank']:,}: {paper['observed']} observed, "
            f"{paper['expected']:.1f} expected, local P {paper['local_p']:.2g}"
            + (f"; {paper['reading']}." if paper.get("reading") else ".")
        )
    return text


def atlas_lines(atlas: dict, params: AnalysisParams) -> list[str]:
    """The report's atlas section: each release's paragraph, the current release's top cells, the figures."""
    releases = atlas["releases"]
    current_name = list(releases)[-1]
    current = releases[current_name]
    lines = [
        "## The gap atlas: improbable emptiness in every measure, band and domain",
        "",
        "The paper's gap was seen in a scatter plot and then tested on the bounds that had been seen. The atlas "
        "scores every band instead: "
        + atlas["statistic"]
        + f". Local P is exact (Poisson-binomial). Null: {atlas['null']}. "
        f"Model check: {atlas['model_check']}.",
        "",
        *[release_paragraph(name, release, params) + "\n" for name, release in releases.items()],
        f"The ten most improbable cells of {current_name} (all of them: `metrics/atlas_cells.csv`):",
        "",
        "| rank | measure | group | window | band | observed | expected | z | local P | model check |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {c['rank']} | {c['measure']} | {c['group']} | {c['window']} | {band(c)} | {c['observed']} | "
            f"{c['expected']:.1f} | {c['z']:.2f} | {c['local_p']:.2g} | {c.get('reading') or ''} |"
            for c in current["top"][:10]
        ],
        "",
        "Figures: "
        + ", ".join(f"[{words}](figures/atlas_{measure}.png)" for measure, words in atlas["grid"]["measures"].items())
        + f", and the paper-era release's [parameters](figures/atlas_parameters_{list(releases)[0]}.png)"
        + ". Each panel is one domain group (headline window): band lower edge across, band width up, colour the "
        "local P (dark: improbable emptiness), a cyan x where the atlas-wide corrected P lies below alpha, a green "
        "circle at the group's minimum and, for parameters, a blue box on the paper's cell.",
        "",
    ]
    return lines


def rq5_lines(history: dict, params: AnalysisParams) -> list[str]:
    """RQ5, per release: the atlas minimum, the paper's cell and the closing verdict, as a table."""
    lines = [
        "## Has the gap closed, and is something else opening? (RQ5)",
        "",
        f"Per upstream release: the atlas minimum (smallest z, local P only), the {params.gap_label} language cell "
        f"(trend from {params.fit_start.isoformat()}, tested from {params.test_window_start.isoformat()}) and the "
        f"closing test (systems from {params.closing_after.isoformat()} against the earlier trend; observed/expected "
        f"with its {1 - 2 * params.alpha:.0%} interval). Figure: [RQ5](figures/history_atlas.png).",
        "",
        f"| release | atlas minimum | its local P | language {params.gap_label}: observed / expected, local P | "
        "closing, language | closing, all |",
        "|---|---|---|---|---|---|",
    ]
    for row in history["snapshots"]:
        low, paper = row["atlas"]["minimum"], row["atlas"]["paper_cell"]
        cell = "n/a" if paper is None else f"{paper['observed']} / {paper['expected']:.1f}, {paper['local_p']:.2g}"
        lines.append(
            f"| {row['snapshot']} | {where(low)} | {low['local_p']:.2g} | {cell} | "
            f"{closing_text(row['closing']['language'])} | {closing_text(row['closing']['all'])} |"
        )
    return [*lines, ""]


def closing_text(test: dict) -> str:
    """A closing verdict with its ratio and interval, or why there is none."""
    if test.get("ratio") is None:
        return f"{test['verdict']} ({test.get('reason') or 'no systems'})"
    low, high = test["interval"]
    return f"{test['verdict']}, {test['ratio']:.2f} [{low:.2f}, {high:.2f}]"
