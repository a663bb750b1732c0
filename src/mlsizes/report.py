"""The `report` stage: four figures and a readable report.md from the metrics the other stages wrote.

Reads metrics/*.json and the plot data (never the raw data), so the report always shows what the metrics say.
The dataset version in every footer is the params' snapshot id and as-of date, independent of git. Every
label that names a study setting (eras, the gap, alpha, the windows) is built from the params (settings.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes import stats
from mlsizes.files import atomic_write_bytes, atomic_write_text
from mlsizes.paths import Paths
from mlsizes.settings import AnalysisParams, count_words, date_words, scientific, size_words

FIGURES = ("fig1_sizes.png", "fig2_domains.png", "fig3_break_profile.png", "fig4_windows.png")
GROUP_COLOURS = ("tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:cyan")  # the domain groups, in order
ERA_COLOURS = {"before": "black", "after": "tab:red", "above": "tab:blue", "below": "tab:green"}


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed), imported only when figures are drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "figure.dpi": 100, "svg.hashsalt": "mlsizes"})
    return plt


def save_figure(fig, path: Path, footer: str) -> None:
    """Footer (dataset version, as-of date) at the bottom; PNG without a timestamp so reruns are identical."""
    import io

    fig.text(0.01, 0.005, footer, fontsize=7.5, color="dimgray", ha="left", va="bottom", wrap=True)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    fig.clf()
    atomic_write_bytes(Path(path), buffer.getvalue())


def _year(date: str) -> float:
    """An ISO date's place on the figures' time axis (stats.decimal_year)."""
    return float(stats.decimal_year(date))


def _trend_line(ax, fit: dict, colour: str, label: str, style: str = "-") -> None:
    """A fitted trend over its period, labelled with its slope and size."""
    if fit.get("insufficient_data"):
        return
    start, end = _year(fit["period_start"]), _year(fit["period_end"])
    ax.plot(
        [start, end],
        [fit["fitted_parameters_at_start"], fit["fitted_parameters_at_end"]],
        style,
        color=colour,
        linewidth=2,
        label=f"{label}: {fit['slope_oom_per_year']:.2f} OOM/yr (n={fit['n']})",
    )


def _gap_band(ax, trends: dict) -> None:
    """The gap the metrics were computed with, shaded."""
    lower, upper = trends["gap"]
    ax.axhspan(
        lower,
        upper,
        color="gold",
        alpha=0.35,
        zorder=0,
        label=f"gap {size_words(lower)}-{size_words(upper)} parameters",
    )


def figure_sizes(plt, sizes: pd.DataFrame, trends: dict, params: AnalysisParams, path: Path, footer: str) -> None:
    """Figure 1: every system's size against its date, with the eras' trends."""
    fig, ax = plt.subplots(figsize=(11, 6.5))
    ax.scatter(sizes["decimal_year"], sizes["parameters"], s=12, color="tab:gray", alpha=0.6, label="system")
    _gap_band(ax, trends)
    for role, era in params.era_keys.items():
        fit = trends["domains"]["all"][era]
        _trend_line(ax, fit, ERA_COLOURS[role], params.era_labels[era], "--" if role == "after" else "-")
    ax.set_yscale("log")
    ax.set_xlabel("publication date (year)")
    ax.set_ylabel("trainable parameters (log scale)")
    ax.set_title(f"Figure 1. Parameters of {len(sizes)} notable ML systems, with the eras' trends")
    ax.grid(alpha=0.3, which="major")
    ax.legend(loc="upper left", fontsize=8)
    save_figure(fig, path, footer)


def figure_domains(
    plt, sizes: pd.DataFrame, trends: dict, params: AnalysisParams, paper_cutoff: str, path: Path, footer: str
) -> None:
    """Figure 2: one panel per domain group (and the rest), each with its post-break trend."""
    groups = {group: sizes["primary_domain"] == domain for group, domain in params.domain_groups.items()}
    other = ~np.logical_or.reduce(list(groups.values()))
    recent = sizes["decimal_year"] >= 2010
    panels = [*groups.items(), ("other", other)]
    colours = dict(zip(params.domain_groups, GROUP_COLOURS))
    rows = math.ceil(len(panels) / 2)
    fig, axes = plt.subplots(rows, 2, figsize=(12, 4 * rows), sharex=True, sharey=True, squeeze=False)
    for ax, (group, mask) in zip(axes.flat, panels):
        label = params.domain_groups.get(group, "Other")
        ax.scatter(
            sizes.loc[~mask & recent, "decimal_year"],
            sizes.loc[~mask & recent, "parameters"],
            s=6,
            color="lightgray",
            label="other systems",
        )
        ax.scatter(
            sizes.loc[mask & recent, "decimal_year"],
            sizes.loc[mask & recent, "parameters"],
            s=14,
            color=colours.get(group, "tab:brown"),
            label=f"{label} (primary domain)",
        )
        _gap_band(ax, trends)
        fit = trends["domains"][group][params.era_keys["after"]]
        _trend_line(ax, fit, "black", f"{date_words(params.era_break)} on trend, every member")
        ax.set_yscale("log")
        ax.set_title(label)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=7.5)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("publication date (year)")
    for ax in axes[:, 0]:
        ax.set_ylabel("parameters (log scale)")
    fig.suptitle(
        f"Figure 2. Systems since 2010 by primary domain; the {params.gap_label} gap (shaded) is clearest "
        f"for language models around {params.test_window_start.year}-{paper_cutoff[:4]}"
    )
    save_figure(fig, path, footer)


def figure_break(plt, profile: pd.DataFrame, gap: dict, path: Path, footer: str) -> None:
    """Figure 3: the BIC of a two-segment trend against the candidate break date."""
    fig, ax = plt.subplots(figsize=(10, 5.5))
    ax.plot(profile["decimal_year"], profile["bic"], color="tab:blue", label="two-segment trend")
    info = gap["break_date"]
    if info["one_line_bic"] is not None:
        ax.axhline(info["one_line_bic"], color="tab:red", linestyle="--", label="one trend, no break")
    if info["best_break"]:
        ax.axvline(
            _year(info["best_break"]), color="black", linestyle=":", label=f"best break {info['best_break'][:7]}"
        )
    ax.axvline(
        _year(info["assumed_break"]),
        color="tab:green",
        linestyle="-.",
        label=f"paper's break {info['assumed_break'][:7]}",
    )
    ax.set_xlabel("candidate break date (year)")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_ylabel("BIC (lower is better)")
    ax.set_title(f"Figure 3. Where does the trend change? Two-segment fit over {info['n']} systems")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path, footer)


def figure_windows(plt, windows: pd.DataFrame, params: AnalysisParams, path: Path, footer: str) -> None:
    """Figure 4: observed and expected in-gap counts and P(K <= observed) per sliding window."""
    fig, (counts, probability) = plt.subplots(1, 2, figsize=(12, 5.5))
    for domain, colour in (("language", "tab:blue"), ("all", "tab:gray")):
        rows = windows[(windows["domain"] == domain) & ~windows["insufficient_data"].astype(bool)]
        counts.plot(rows["window"], rows["observed_in_gap"], "-o", color=colour, label=f"{domain}: observed")
        counts.plot(rows["window"], rows["expected_in_gap"], "--s", color=colour, label=f"{domain}: expected")
        probability.plot(rows["window"], rows["p_le_observed_exact"], "-o", color=colour, label=domain)
    counts.set_ylabel(f"systems in {params.gap_label} (inclusive)")
    counts.set_title("In-gap count per window")
    probability.set_yscale("log")
    probability.axhline(params.alpha, color="tab:red", linestyle=":", label=f"alpha = {params.alpha:g}")
    probability.set_ylabel("P(K <= observed), log scale")
    probability.set_title("How improbable the emptiness is")
    for ax in (counts, probability):
        ax.set_xlabel(f"publication window (trend fitted from {params.fit_lead_words} earlier)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle(f"Figure 4. The gap test on sliding {params.window_words} windows")
    save_figure(fig, path, footer)


def _fmt(value, spec: str = ".3g") -> str:
    """A number for the report, or n/a."""
    return "n/a" if value is None else format(value, spec)


def _interval(ci: dict | None) -> str:
    """A bootstrap interval as [2.5%; 50%; 97.5%]."""
    return "n/a" if not ci else f"[{ci['p2_5']:.2f}; {ci['p50']:.2f}; {ci['p97_5']:.2f}]"


def trends_table(trends: dict, params: AnalysisParams) -> list[str]:
    """The era fits of every domain group, one row each."""
    lines = [
        "| domain | era | n | OOM/yr | bootstrap [2.5%; 50%; 97.5%] | x/yr | doubling (months) | R^2 | "
        "fitted start -> end |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for domain, eras in trends["domains"].items():
        for era, fit in eras.items():
            if fit["insufficient_data"]:
                lines.append(
                    f"| {domain} | {params.era_labels[era]} | {fit['n']} | insufficient data ({fit['reason']}) "
                    "| | | | | |"
                )
                continue
            lines.append(
                f"| {domain} | {params.era_labels[era]} | {fit['n']} | {fit['slope_oom_per_year']:.2f} | "
                f"{_interval(fit['slope_oom_per_year_ci'])} | {_fmt(fit['growth_x_per_year'], '.2f')} | "
                f"{_fmt(fit['doubling_time_months'], '.1f')} | {_fmt(fit['r2'], '.2f')} | "
                f"{fit['fitted_parameters_at_start']:.1e} -> {fit['fitted_parameters_at_end']:.1e} |"
            )
    return lines


def gap_table(gap: dict) -> list[str]:
    """The headline gap tests, one row per domain group and bounds convention."""
    lines = [
        "| domains | bounds | tested | observed | expected | P(K<=obs) exact | Monte Carlo (SE) | agree |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for domain, tests in gap["tests"].items():
        for bounds, test in tests.items():
            if test["insufficient_data"]:
                lines.append(f"| {domain} | {bounds} | {test['n_systems']} | insufficient data | | | | |")
                continue
            lines.append(
                f"| {domain} | {bounds} | {test['n_systems']} | {test['observed_in_gap']} | "
                f"{test['expected_in_gap']:.1f} | {test['p_le_observed_exact']:.2g} | "
                f"{test['mc_estimate']:.2g} ({test['mc_se']:.1g}) | {test['mc_agrees']} |"
            )
    return lines


def orders_words(orders: float) -> str:
    """A tolerance in orders of magnitude as words: `one order of magnitude`."""
    count = count_words(int(orders)) if float(orders).is_integer() else f"{orders:g}"
    return f"{count} order{'' if orders == 1 else 's'} of magnitude"


def reproduction_table(repro: dict, params: AnalysisParams) -> list[str]:
    """Our era fits beside the paper's, with the targets each meets."""
    lines = [
        "| row | n paper / ours | slope OOM/yr paper / ours (diff) | doubling months paper / ours | "
        "R^2 paper / ours (diff) | targets met |",
        "|---|---|---|---|---|---|",
    ]
    for era in params.era_keys.values():
        paper, ours, met = repro[era]["paper"], repro[era]["ours"], repro[era]["meets_target"]
        missed = [field for field, ok in met.items() if not ok]
        lines.append(
            f"| {params.era_labels[era]} | {paper['n']} / {ours['n']} ({ours['n'] - paper['n']:+d}) | "
            f"{paper['slope_oom_per_year']} / {ours['slope_oom_per_year']:.2f} "
            f"({ours['slope_oom_per_year'] - paper['slope_oom_per_year']:+.2f}) | "
            f"{paper['doubling_time_months']} / {ours['doubling_time_months']:.1f} | "
            f"{paper['r2']} / {ours['r2']:.2f} ({ours['r2'] - paper['r2']:+.2f}) | "
            f"{'all' if not missed else 'missed: ' + ', '.join(missed)} |"
        )
    gp = repro["gap_probability"]
    within = "within " + orders_words(repro["targets"]["gap_probability_orders_of_magnitude"])
    lines.append(
        f"| gap probability (all domains) | | {gp['paper']:g} / {gp['ours']:.2g} | | | "
        f"{within if gp['meets_target'] else 'missed'} |"
    )
    return lines


def windows_table(gap: dict) -> list[str]:
    """The gap test of every sliding window."""
    lines = ["| domains | window | tested | observed | expected | P(K<=obs) |", "|---|---|---|---|---|---|"]
    for row in gap["windows"]["rows"]:
        if row["insufficient_data"]:
            lines.append(f"| {row['domain']} | {row['window']} | {row['n_systems']} | insufficient data | | |")
            continue
        lines.append(
            f"| {row['domain']} | {row['window']} | {row['n_systems']} | {row['observed_in_gap']} | "
            f"{row['expected_in_gap']:.1f} | {row['p_le_observed_exact']:.2g} |"
        )
    return lines


def history_lines(history: dict, params: AnalysisParams) -> list[str]:
    """The gap on every upstream snapshot, and the answer in words."""
    lines = [
        "| snapshot | date | systems | language: observed / expected, P (paper window) | "
        f"all: observed / expected, P (paper window) | language, {date_words(params.test_window_start)} to "
        "snapshot date |",
        "|---|---|---|---|---|---|",
    ]
    for row in history["snapshots"]:
        cells = []
        for domain, window in (("language", "paper_window"), ("all", "paper_window"), ("language", "to_snapshot_date")):
            t = row["gap"][domain][window]
            cells.append(
                "insufficient data"
                if t["insufficient_data"]
                else f"{t['observed_in_gap']} / {t['expected_in_gap']:.1f}, {t['p_le_observed_exact']:.2g}"
            )
        lines.append(f"| {row['snapshot']} | {row['snapshot_date']} | {row['n_systems']} | " + " | ".join(cells) + " |")
    language = history["answer"]["language"]
    everything = history["answer"]["all"]
    lines += [
        "",
        (
            f"**Answer.** In the paper's own window ({date_words(params.test_window_start)} to "
            f"{history['paper_cutoff']}, strict bounds), the language "
            f"models in the gap went from {language['observed_first']} ({language['first']}, expected "
            f"{language['expected_first']:.1f}, P = {language['p_first']:.2g}) to {language['observed_newest']} "
            f"({language['newest']}, expected {language['expected_newest']:.1f}, P = {language['p_newest']:.2g}); "
            f"for all domains from {everything['observed_first']} (P = {everything['p_first']:.2g}) to "
            f"{everything['observed_newest']} (P = {everything['p_newest']:.2g}). Systems upstream added in the gap: "
            f"{', '.join(language['added_in_gap']) or 'none'}. "
            + (
                f"The gap is no longer significant at alpha = {params.alpha:g} in the newest snapshot: as the dataset "
                "grew, the paper's gap closed."
                if language["closed"]
                else f"The emptiness is still improbable at alpha = {params.alpha:g} for language models: "
                "back-filled records narrowed the paper's gap but did not close it."
            )
        ),
    ]
    return lines


def on_bound_examples(gap: dict, sizes: pd.DataFrame) -> str:
    """The first tested system exactly on each bound of the gap (in the headline test's inclusive count but not
    its strict one), as `(name, size; name, size)`."""
    tests = gap["tests"]["all"]
    names = set(tests["inclusive"].get("systems_in_gap") or []) - set(tests["strict"].get("systems_in_gap") or [])
    tested = sizes[sizes["name"].isin(names)]
    examples = []
    for bound in gap["gap"]:
        on_bound = tested[tested["parameters"] == bound].sort_values("decimal_year", kind="stable")
        if len(on_bound):
            examples.append(f"{on_bound['name'].iloc[0]}, {scientific(bound)}")
    return f" ({'; '.join(examples)})" if examples else ""


def reproduction_notes(repro: dict, params: AnalysisParams) -> str:
    """The targets of the reproduction and why some rows cannot meet them, from the reproduction's own numbers."""
    targets, keys = repro["targets"], params.era_keys
    ours = repro[keys["before"]]["ours"]["n"] + repro[keys["after"]]["ours"]["n"]
    paper = repro[keys["before"]]["paper"]["n"] + repro[keys["after"]]["paper"]["n"]
    since = date_words(params.era_break)
    return (
        f"Targets: n within {targets['n_relative']:.0%}, slope within {targets['slope_oom_per_year']:g} OOM/yr, "
        f"R^2 within {targets['r2']:g}, doubling time within {targets['doubling_time_relative']:.0%}, gap "
        f"probability within {orders_words(targets['gap_probability_orders_of_magnitude'])}. The above-gap row has "
        "a slope near zero, so its doubling time passes through infinity (the paper's "
        f"{repro[keys['above']]['paper']['doubling_time_months']:g} months and the blog's -14.2 months are both "
        "artefacts of that) and is not compared. Where a count differs, the cause is the dataset, not the method: "
        f"the {repro['as_of']} sheet has {ours} systems with a name, domain and parameter count where the paper used "
        f"about {paper}, and the exact filter behind {paper} is not published. The post-{since} single-trend slope "
        f"depends strongly on which of the dozen small (< 1e8) {since}-{repro['as_of'][:4]} systems are in: each one "
        "pulls the line through the two clusters. We did not tune the filter to close these differences."
    )


def clusters_criterion(clusters: dict) -> str:
    """How one trend and two clusters are compared, from the parameters the comparison stored."""
    fitted = next((c for c in clusters.values() if not c.get("insufficient_data")), None)
    if fitted is None:
        return "Criterion: BIC of a mixture of two linear trends against one trend."
    return (
        f"Criterion: a mixture of two linear trends ({fitted['two_clusters']['n_params']} parameters, EM) is "
        f"preferred to one trend ({fitted['one_trend']['n_params']} parameters) when BIC(one) - BIC(two) > "
        f"{fitted['threshold']:g}."
    )


def markdown(
    trends: dict, gap: dict, repro: dict, history: dict, sizes: pd.DataFrame, params: AnalysisParams, footer: str
) -> str:
    """report.md: every result with the method and the settings it was obtained with."""
    brk, windows = gap["break_date"], gap["windows"]["answer"]
    cl = gap["clusters"]
    lower, upper = gap["gap"]
    lines = [
        "# Machine-learning model sizes and the parameter gap: results",
        "",
        f"_{footer}_",
        "",
        "Figures: [sizes](figures/fig1_sizes.png), [by domain](figures/fig2_domains.png), "
        "[break date](figures/fig3_break_profile.png), [windows](figures/fig4_windows.png), "
        "[history](figures/history.png).",
        "",
        "## The gap model",
        "",
        gap["model"],
        "",
        f"Gap: [{lower:.0e}, {upper:.0e}] parameters. Inclusive bounds count systems exactly on a "
        f"bound{on_bound_examples(gap, sizes)} as in the gap; strict bounds do not. Domain membership rule: "
        f"`{gap['domain_rule']}` (a system is in a group when the group's domain is among its domains).",
        "",
        "## Paper reproduction (snapshot " + repro["snapshot"] + ", as of " + repro["as_of"] + ")",
        "",
        "Selection: " + " ".join(repro["selection"].split()),
        "",
        *reproduction_table(repro, params),
        "",
        reproduction_notes(repro, params),
        "",
        "## Trends (as of " + trends["as_of"] + ", dataset " + trends["dataset"] + ")",
        "",
        *trends_table(trends, params),
        "",
        f"## Gap test (trend fitted from {date_words(params.fit_start)}, systems tested from "
        f"{date_words(params.test_window_start)} to the as-of date)",
        "",
        *gap_table(gap),
        "",
        f"## Has the gap been closing since {repro['as_of'][:4]}? (sliding windows)",
        "",
        *windows_table(gap),
        "",
        *(
            f"- {domain}: {info['verdict']}"
            + (
                f" (observed/expected {info['observed_over_expected_first']:.2f} in {info['first_window']} -> "
                f"{info['observed_over_expected_newest']:.2f} in {info['newest_window']}; P {info['p_first']:.2g} -> "
                f"{info['p_newest']:.2g})"
                if "first_window" in info
                else ""
            )
            for domain, info in windows.items()
        ),
        "",
        "## Break date estimated from the data",
        "",
        f"Over {brk['grid']} ({brk['n']} systems, all domains), the best two-segment fit breaks at "
        f"**{brk['best_break']}**; its BIC is {_fmt(brk['delta_bic_one_line_minus_best'], '.1f')} lower than one "
        f"trend without a break, and the paper's {brk['assumed_break']} is "
        f"{_fmt(brk.get('bic_assumed_minus_best'), '.1f')} BIC units worse than the best "
        "(differences under 2 are not worth a mention).",
        "",
        f"## Two clusters or one trend (after {date_words(params.era_break)})",
        "",
        clusters_criterion(cl),
        "",
        *(
            f"- {domain}: "
            + (
                "insufficient data"
                if c.get("insufficient_data")
                else f"{c['verdict'].replace('_', ' ')} (delta BIC {c['delta_bic']:.1f}, n = {c['n']}; "
                "clusters: "
                + ", ".join(
                    f"{k['n_assigned']} systems at {k['slope_oom_per_year']:.2f} OOM/yr"
                    for k in c["two_clusters"]["components"]
                )
                + ")"
            )
            for domain, c in cl.items()
        ),
        "",
        "## The gap across upstream releases",
        "",
        *history_lines(history, params),
        "",
    ]
    return "\n".join(lines)


def footer(snapshot: str, params: AnalysisParams) -> str:
    """The dataset version and the settings, printed under every figure and atop the report."""
    return (
        f"Dataset: Epoch snapshot {snapshot}, as of {params.as_of.isoformat()}; {params.n_bootstrap} bootstrap "
        f"resamples, {params.n_simulations:,} simulations, seed {params.seed}."
    )


def run(paths: Paths, params: AnalysisParams, snapshot: str) -> list[Path]:
    """Load the metrics and plot data, draw the four figures and write report.md."""
    loaded = {
        name: json.loads(path.read_text())
        for name, path in (
            ("trends", paths.trends),
            ("gap", paths.gap),
            ("paper_reproduction", paths.paper_reproduction),
            ("history", paths.history),
        )
    }
    sizes = pd.read_csv(paths.plots_dir / "sizes.csv")
    note = footer(snapshot, params)
    plt = pyplot()
    figures = [paths.figures_dir / name for name in FIGURES]
    figure_sizes(plt, sizes, loaded["trends"], params, figures[0], note)
    figure_domains(plt, sizes, loaded["trends"], params, loaded["paper_reproduction"]["as_of"], figures[1], note)
    figure_break(plt, pd.read_csv(paths.plots_dir / "break_profile.csv"), loaded["gap"], figures[2], note)
    figure_windows(plt, pd.read_csv(paths.plots_dir / "windows.csv"), params, figures[3], note)
    text = markdown(
        loaded["trends"], loaded["gap"], loaded["paper_reproduction"], loaded["history"], sizes, params, note
    )
    atomic_write_text(paths.report, text)
    return [*figures, paths.report]
