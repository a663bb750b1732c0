"""The `report` stage: four figures and a readable report.md from the metrics the other stages wrote.

Reads metrics/*.json and the plot data (never the raw data), so the report always shows what the metrics say.
The dataset version in every footer is the params' snapshot id and as-of date, independent of git. Every
label that names a study setting (eras, the gap, alpha, the windows) is built from the params (settings.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes.analysis import stats
from mlsizes.core.files import atomic_write_text
from mlsizes.core.paths import Paths
from mlsizes.core.settings import AnalysisParams, count_words, date_words, scientific, size_words
from mlsizes.rendering import atlas_text, measures_text
from mlsizes.rendering.figures import ERA_COLOURS, gap_band, grid_margins, pyplot, save_figure, trend_line, year
from mlsizes.rendering.text import NULL_WORDS, closing_lines, gap_table, interval_text, number_text, p_words

FIGURES = (
    "fig1_sizes.png",
    "fig2_domains.png",
    "fig3_break_profile.png",
    "fig4_windows.png",
    "fig5_sensitivity.png",
    "fig6_qq.png",
)
GROUP_COLOURS = ("tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:cyan")  # the domain groups, in order


def figure_sizes(plt, sizes: pd.DataFrame, trends: dict, params: AnalysisParams, path: Path, footer: str) -> None:
    """Figure 1: every system's size against its date, with the eras' trends."""
    fig, ax = plt.subplots(figsize=(11, 6.5))
    ax.scatter(sizes["decimal_year"], sizes["parameters"], s=12, color="tab:gray", alpha=0.6, label="system")
    gap_band(ax, trends)
    for role, era in params.era_keys.items():
        fit = trends["domains"]["all"][era]
        trend_line(ax, fit, ERA_COLOURS[role], params.era_labels[era], "--" if role == "after" else "-")
    ax.set_yscale("log")
    ax.set_xlabel("publication date (year)")
    ax.set_ylabel("trainable parameters (log scale)")
    ax.set_title(f"Figure 1. Parameters of {len(sizes)} notable ML systems, with the eras' trends")
    ax.grid(alpha=0.3, which="major")
    ax.legend(loc="upper left", fontsize=8)
    grid_margins(fig, 1, 1, top=0.45)
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
        gap_band(ax, trends)
        fit = trends["domains"][group][params.era_keys["after"]]
        trend_line(ax, fit, "black", f"{date_words(params.era_break)} on trend, every member")
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
    grid_margins(fig, rows, 2, top=0.7, between_rows=0.45, between_columns=0.3)
    save_figure(fig, path, footer)


def figure_break(plt, profile: pd.DataFrame, gap: dict, path: Path, footer: str) -> None:
    """Figure 3: the BIC of a two-segment trend against the candidate break date."""
    fig, ax = plt.subplots(figsize=(10, 5.5))
    ax.plot(profile["decimal_year"], profile["bic"], color="tab:blue", label="two-segment trend")
    info = gap["break_date"]
    if info["one_line_bic"] is not None:
        ax.axhline(info["one_line_bic"], color="tab:red", linestyle="--", label="one trend, no break")
    if info["best_break"]:
        ax.axvline(year(info["best_break"]), color="black", linestyle=":", label=f"best break {info['best_break'][:7]}")
    ax.axvline(
        year(info["assumed_break"]),
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
    grid_margins(fig, 1, 1, top=0.45)
    save_figure(fig, path, footer)


def figure_windows(plt, windows: pd.DataFrame, params: AnalysisParams, path: Path, footer: str) -> None:
    """Figure 4: observed and expected in-gap counts and P(K <= observed) per sliding window."""
    fig, (counts, probability) = plt.subplots(1, 2, figsize=(12, 5.5))
    for domain, colour in (("language", "tab:blue"), ("all", "tab:gray")):
        rows = windows[(windows["domain"] == domain) & ~windows["insufficient_data"].astype(bool)]
        counts.plot(rows["window"], rows["observed_in_gap"], "-o", color=colour, label=f"{domain}: observed")
        counts.plot(rows["window"], rows["expected_in_gap"], "--s", color=colour, label=f"{domain}: expected")
        probability.plot(rows["window"], rows["p_le_observed_exact"], "-o", color=colour, label=domain)
    counts.set_ylabel(f"systems in {params.gap_label} ({params.bounds} bounds)")
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
    grid_margins(fig, 1, 2, top=0.75)
    save_figure(fig, path, footer)


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
                f"{interval_text(fit['slope_oom_per_year_ci'])} | {number_text(fit['growth_x_per_year'], '.2f')} | "
                f"{number_text(fit['doubling_time_months'], '.1f')} | {number_text(fit['r2'], '.2f')} | "
                f"{fit['fitted_parameters_at_start']:.1e} -> {fit['fitted_parameters_at_end']:.1e} |"
            )
    return lines


def p_value_sentences(gap: dict, params: AnalysisParams) -> list[str]:
    """Each P value of the headline language test in one plain sentence."""
    test = gap["tests"]["language"]
    if test["insufficient_data"]:
        return ["The language test has insufficient data."]
    simulated, posterior, out = test["simulated"], test["posterior_predictive"], test["out_of_sample"]
    family = gap.get("family_scan", {})
    scans = simulated.get("scan", {})
    return [
        f"- **Local P = {test['p_le_observed_exact']:.2g}**: if language-model sizes scattered around their trend "
        f"as the model says, {test['observed_in_gap']} or fewer of the {test['n_systems']} tested systems would "
        f"land in {params.gap_label} with this probability ({test['expected_in_gap']:.1f} were expected). With "
        f"the organisations' design effect ({number_text(test['design_effect'], '.2f')}) it is "
        f"{number_text(test['p_clustered'], '.2g')} (normal approximation).",
        f"- **Scan-corrected P = {p_words(scans.get('normal'))}**: the bounds were read off the data, so the "
        "chosen window is compared with the most extreme window as wide as the gap at any position, in data sets "
        "simulated from the trend (re-fitted on each). Statistic: "
        + simulated.get("statistic", "n/a")
        + ". "
        + "; ".join(f"with {NULL_WORDS[k]}: {p_words(scans.get(k))}" for k in ("bootstrap", "t"))
        + (". **This holds only under normal scatter.**" if simulated.get("normal_only") else "."),
        f"- **Family-wide P = {p_words(family.get('p', {}).get('language'))}**: the same, with the window's "
        f"width ({', '.join(f'{w:g}' for w in family.get('family', {}).get('widths_dex', []))} dex), the bound "
        "convention, the domain group (all, language, the rest) and the period (the headline period and every "
        "sliding window) also free to vary; "
        + "; ".join(
            f"with {NULL_WORDS[k]}: {p_words(family.get('by_null', {}).get(k, {}).get('p', {}).get('language'))}"
            for k in ("bootstrap", "t")
        )
        + ".",
        f"- **Posterior-predictive P = {number_text(test['p_posterior_predictive'], '.2g')}**: the local P "
        "averaged over "
        f"the uncertainty in the trend's intercept, slope and scatter ({posterior.get('n_draws', 'n/a'):,} draws).",
        f"- **Out-of-sample P = {number_text(test['p_out_of_sample'], '.2g')}**: the trend fitted only on the "
        f"{out.get('n_fit', 'n/a')} systems published before the test window, averaged over that fit's own "
        f"uncertainty ({number_text(out.get('p_plug_in'), '.2g')} if the early fit were taken as exact), so the "
        "tested systems do not shape the expectation they are tested against.",
    ]


def sensitivity_table(gap: dict) -> list[str]:
    """The local P of each headline test with the bounds moved, both conventions side by side."""
    lines = [
        "| domains | lower | upper | strict: observed / expected, P | inclusive: observed / expected, P |",
        "|---|---|---|---|---|",
    ]
    rows = gap["sensitivity"]
    for row in (r for r in rows if r["bounds"] == "strict"):
        other = next(
            r
            for r in rows
            if r["bounds"] == "inclusive"
            and (r["domain"], r["lower"], r["upper"]) == (row["domain"], row["lower"], row["upper"])
        )
        cells = [_sensitivity_cell(r) for r in (row, other)]
        lines.append(
            f"| {row['domain']} | {scientific(row['lower'])} | {scientific(row['upper'])} | " + " | ".join(cells) + " |"
        )
    return lines


def _sensitivity_cell(row: dict) -> str:
    """observed / expected, P of one sensitivity row; the chosen test in bold."""
    if row["p"] is None:
        return "n/a"
    text = f"{row['observed']} / {row['expected']:.1f}, {row['p']:.2g}"
    return f"**{text}**" if row["chosen"] else text


def figure_sensitivity(plt, gap: dict, params: AnalysisParams, path: Path, footer: str) -> None:
    """Figure 5: the local P of the language and all-domain tests as the bounds move, both conventions."""
    rows = pd.DataFrame(gap["sensitivity"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5), sharey=True)
    markers = {"strict": "o", "inclusive": "s"}
    lowers = sorted(rows["lower"].unique())
    colours = dict(zip(lowers, ("tab:blue", "tab:red", "tab:green")))
    uppers = sorted(rows["upper"].unique())
    for ax, domain in zip(axes, ("language", "all")):
        for (lower, convention), group in rows[rows["domain"] == domain].groupby(["lower", "bounds"], sort=True):
            group = group.sort_values("upper")
            ax.plot(
                group["upper"],
                group["p"],
                marker=markers[convention],
                color=colours.get(lower, "tab:gray"),
                linestyle="-" if convention == "strict" else "--",
                label=f"lower {size_words(lower)}, {convention}",
            )
        chosen = rows[(rows["domain"] == domain) & rows["chosen"]]
        ax.scatter(chosen["upper"], chosen["p"], s=160, facecolors="none", edgecolors="black", label="chosen")
        ax.axhline(params.alpha, color="black", linestyle=":", label=f"alpha = {params.alpha:g}")
        ax.set_xticks(uppers, [size_words(upper) for upper in uppers])
        ax.set_yscale("log")
        ax.set_xlabel("upper bound of the gap (parameters)")
        ax.set_title(f"{domain} systems")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("local P(K <= observed), log scale")
    axes[1].legend(fontsize=7, loc="lower right")
    fig.suptitle("Figure 5. How much the gap test depends on the exact bounds and on the bound convention")
    grid_margins(fig, 1, 2, top=0.75, between_columns=0.3)
    save_figure(fig, path, footer)


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
    lines = ["| domains | window | tested | observed | expected | P(K<=obs) | Holm |", "|---|---|---|---|---|---|---|"]
    for row in gap["windows"]["rows"]:
        if row["insufficient_data"]:
            lines.append(f"| {row['domain']} | {row['window']} | {row['n_systems']} | insufficient data | | | |")
            continue
        lines.append(
            f"| {row['domain']} | {row['window']} | {row['n_systems']} | {row['observed_in_gap']} | "
            f"{row['expected_in_gap']:.1f} | {row['p_le_observed_exact']:.2g} | "
            f"{'deficit' if row['significant_holm'] else '-'} |"
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
            f"{history['paper_cutoff']}, {history['bounds']} bounds), the language "
            f"models in the gap went from {language['observed_first']} ({language['first']}, expected "
            f"{language['expected_first']:.1f}, P = {language['p_first']:.2g}) to {language['observed_newest']} "
            f"({language['newest']}, expected {language['expected_newest']:.1f}, P = {language['p_newest']:.2g}); "
            f"for all domains from {everything['observed_first']} (P = {everything['p_first']:.2g}) to "
            f"{everything['observed_newest']} (P = {everything['p_newest']:.2g}). Systems upstream added in the gap: "
            f"{', '.join(language['added_in_gap']) or 'none'}. "
            + (
                f"With the newest data the paper's window no longer shows a significant deficit of language models at "
                f"alpha = {params.alpha:g}: revisions and back-filled records weakened the paper's own test. (The "
                "window is the same in every row, so this is not evidence that the gap closed over time; the "
                "closing test above answers that.)"
                if not language["significant_newest"]
                else f"The emptiness is still improbable at alpha = {params.alpha:g} for language models: back-filled "
                "records narrowed the paper's gap in its own window but did not remove it."
            )
        ),
    ]
    return lines


def bounds_paragraph(gap: dict, repro: dict, sizes: pd.DataFrame, params: AnalysisParams) -> str:
    """The bound convention in use, how many tested systems sit exactly on a bound, and why the convention."""
    tested = sizes[sizes["decimal_year"] >= stats.decimal_year(gap["tests"]["all"].get("test_start", gap["as_of"]))]
    examples, on_bound = [], 0
    for bound in gap["gap"]:
        at = tested[tested["parameters"] == bound].sort_values("decimal_year", kind="stable")
        on_bound += len(at)
        if len(at):
            examples.append(f"{at['name'].iloc[0]}, {scientific(bound)}")
    keys = params.era_keys
    paper = [repro[keys[role]]["paper"]["n"] for role in ("above", "below", "after")]
    where = "in" if params.inclusive else "outside"
    return (
        f"Bounds: **{params.bounds}**. A system exactly on a bound is {where} the gap. {on_bound} tested systems "
        f"sit exactly on a bound ({'; '.join(examples) or 'none'}, ...), so the convention decides the verdict "
        "(see the sensitivity table). Strict is the paper's convention: its above-gap and below-gap rows add up "
        f"to its post-break row ({paper[0]} + {paper[1]} = {paper[2]}), so systems on a bound were outside its gap; "
        'it is also the reading of a round, rounded size ("20B", "70B") that does not claim the system is '
        "inside the gap. Every era split, test, window, history row and the reproduction use this one convention; "
        "the other appears only in the sensitivity table."
    )


def paper_gap_lines(repro: dict) -> list[str]:
    """The paper-era gap tests with their robustness checks, one line per domain group."""
    lines = []
    for group, test in repro["gap_tests"].items():
        if test["insufficient_data"]:
            lines.append(f"- {group}: insufficient data")
            continue
        lines.append(
            f"- {group}: {test['observed_in_gap']} in the gap, {test['expected_in_gap']:.1f} expected; local P "
            f"{test['p_le_observed_exact']:.2g}, scan-corrected {p_words(test['simulated']['scan']['normal'])} "
            f"(residuals resampled {p_words(test['simulated']['scan']['bootstrap'])}, Student t "
            f"{p_words(test['simulated']['scan']['t'])}), family-wide "
            f"{p_words(repro['family_scan'].get('p', {}).get(group))}, posterior predictive "
            f"{number_text(test['p_posterior_predictive'], '.2g')}, "
            f"out of sample {number_text(test['p_out_of_sample'], '.2g')}."
        )
    return lines


def counts_note(trends: dict, history: dict) -> str:
    """Why the history table's newest row and the gap table count different systems."""
    newest = history["snapshots"][-1]
    if newest["snapshot"] not in trends["dataset"]:
        return ""
    difference = trends["n_systems"] - newest["n_systems"]
    return (
        f"The history table analyses each upstream snapshot as published: its newest row counts "
        f"{newest['n_systems']} systems, the trend and gap tables {trends['n_systems']}, a difference of "
        f"{difference} made by the contributed records and corrections in data/raw/contributions/."
    )


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
        f"depends strongly on which of the {repro['small_systems_after_break']} small (< 1e8) "
        f"{since}-{repro['as_of'][:4]} systems are in: each one "
        "pulls the line through the two clusters. We did not tune the filter to close these differences."
    )


def clusters_criterion(clusters: dict) -> str:
    """How one trend and two clusters are compared, from the parameters the comparison stored."""
    fitted = next((c for c in clusters.values() if c.get("two_clusters")), None)
    if fitted is None:
        return "Criterion: BIC of a mixture of two linear trends against one trend."
    return (
        f"Two questions. (1) Is a mixture of two linear trends ({fitted['two_clusters']['n_params']} parameters, "
        f"EM from {fitted.get('starts', 'several')} starts, each component at least "
        "10 systems and 5% of the weight) better than one trend "
        f"({fitted['one_trend']['n_params']} parameters), by BIC(one) - BIC(two) > {fitted['threshold']:g}, with "
        "two distinct levels rather than one level with two spreads? (2) The paper's own question: are the "
        "systems split at the gap, one trend above it and one below? A likelihood-ratio test of the mixture "
        "against one trend, calibrated by simulation under one trend with its own residuals resampled (a normal "
        "null would be rejected by a skewed tail alone), with the components required to lie on either side of "
        "the gap. The plain bootstrap P is conservative (a resample repeats residuals, and the mixture fits the "
        "lumpier samples better), so it is calibrated by a double bootstrap: the P is the share of null data sets "
        "whose own bootstrap P is at most the data's. On synthetic data of one trend it rejects at its nominal "
        "rate, with normal and with skewed scatter. Its interval covers the simulated null data sets, not the "
        "data's own bootstrap P (one draw of a few resamples), so that P is drawn again and a split is claimed "
        "only when the merged P, twice the median of the redrawn P (valid whatever their dependence), lies below "
        "alpha too."
    )


def cluster_lines(clusters: dict) -> list[str]:
    """The two cluster questions per domain group: the mixture comparison and the split at the gap."""
    lines = []
    for domain, c in clusters.items():
        if c.get("insufficient_data"):
            lines.append(f"- {domain}: insufficient data")
            continue
        found = (c.get("two_clusters") or {}).get("components") or []
        components = ", ".join(
            f"{k['n_assigned']} systems at {k['slope_oom_per_year']:.2f} OOM/yr (sd {k['sd']:.2f})" for k in found
        )
        split = c["split_at_gap"]
        if split.get("insufficient_data"):
            split_text = "insufficient data"
        else:
            straddle = "straddle" if split["components_straddle_gap"] else "do not straddle"
            redraws = split["redraws"]
            verdict = split["verdict"]
            if split["monte_carlo"]["side"] == "below" and redraws["merged_p"] >= split["alpha"]:
                verdict = "inconclusive: it depends on the data's own resampling"
            split_text = (
                f"{verdict} (likelihood ratio {split['lr_statistic']:.1f}, P "
                f"{p_words(split['monte_carlo'])} against one trend with its residuals resampled, calibrated by a "
                f"double bootstrap; over {redraws['n']} redraws of the data's own resamples the P runs from "
                f"{min(redraws['p']):.2g} to {max(redraws['p']):.2g}, merged P {redraws['merged_p']:.2g}; the "
                f"components {straddle} the gap)"
            )
        lines.append(
            f"- **{domain}**: mixture vs one trend: {c['verdict'].replace('_', ' ')}"
            + (f" ({c['verdict_note']})" if c.get("verdict_note") else "")
            + f"; delta BIC {number_text(c.get('delta_bic'), '.1f')}, n = {c['n']}; "
            f"components: {components or 'none'}. "
            f"Split at the gap: {split_text}."
        )
    return lines


def markdown(
    trends: dict, gap: dict, repro: dict, history: dict, sizes: pd.DataFrame, params: AnalysisParams, footer: str
) -> str:
    """report.md: every result with the method and the settings it was obtained with."""
    brk, windows = gap["break_date"], gap["windows"]
    lower, upper = gap["gap"]
    lines = [
        "# Machine-learning model sizes and the parameter gap: results",
        "",
        f"_{footer}_",
        "",
        answer_paragraph(gap, repro, params),
        "",
        "Figures: [sizes](figures/fig1_sizes.png), [by domain](figures/fig2_domains.png), "
        "[break date](figures/fig3_break_profile.png), [windows](figures/fig4_windows.png), "
        "[sensitivity](figures/fig5_sensitivity.png), [history](figures/history.png).",
        "",
        "## The gap model",
        "",
        gap["model"],
        "",
        f"Gap: [{lower:.0e}, {upper:.0e}] parameters. "
        + bounds_paragraph(gap, repro, sizes, params)
        + f" Domain membership rule: `{gap['domain_rule']}` (a system is in a group when the group's domain is "
        f"among its domains). Only notable systems are analysed: {gap['non_notable_left_out']} records without "
        "notability criteria (in snapshots that state them) were left out.",
        "",
        "## Paper reproduction (snapshot " + repro["snapshot"] + ", as of " + repro["as_of"] + ")",
        "",
        "Selection: " + " ".join(repro["selection"].split()),
        "",
        *reproduction_table(repro, params),
        "",
        reproduction_notes(repro, params),
        "",
        f"The paper-era gap tests ({params.bounds} bounds) with the checks of the headline tests below:",
        "",
        *paper_gap_lines(repro),
        "",
        "## Trends (as of " + trends["as_of"] + ", dataset " + trends["dataset"] + ")",
        "",
        *trends_table(trends, params),
        "",
        f"## Gap test (trend fitted from {date_words(params.fit_start)}, systems tested from "
        f"{date_words(params.test_window_start)} to the as-of date, {gap['bounds']} bounds)",
        "",
        *gap_table(gap),
        "",
        "What each P value of the language test says:",
        "",
        *p_value_sentences(gap, params),
        "",
        "### How much the result depends on the exact bounds",
        "",
        "Each bound moved by 10% either way, under both conventions (the chosen test in bold; figure 5):",
        "",
        *sensitivity_table(gap),
        "",
        f"## Has the gap closed? (systems published from {date_words(params.closing_after)} on)",
        "",
        f"The bounds were fixed on the paper's data, so the question is put to the systems published after the "
        f"paper ({date_words(params.closing_after)} on), against the trend fitted on {date_words(params.fit_start)} "
        f"to {date_words(params.closing_after)} without them. **Closed** only when the interval of observed/expected "
        f"excludes a meaningful deficit (a ratio of {params.closing_ratio:g} or less); **persists** when the deficit "
        f"is significant at alpha = {params.alpha:g}; otherwise **inconclusive**. The count's variance is widened "
        "by the organisations' design effect (never below 1) and by the expectation's own uncertainty (the early "
        "fit's posterior).",
        "",
        *closing_lines(windows["answer"]),
        "",
        f"The sliding windows, for reading only (bounds: {windows['bounds']}; Holm over each domain's windows at "
        f"alpha = {params.alpha:g}; the first window is where the bounds were read, so its deficit is biased "
        "upwards):",
        "",
        *windows_table(gap),
        "",
        "## Does the log-normal trend model fit?",
        "",
        *model_check_lines(gap["model_check"], params),
        "",
        *deficit_band_lines(gap.get("deficit_bands", {}), params),
        "",
        "## Break date estimated from the data",
        "",
        f"Over {brk['grid']} ({brk['n']} systems, all domains), the best two-segment fit breaks at "
        f"**{brk['best_break']}**; its BIC is {number_text(brk['delta_bic_one_line_minus_best'], '.1f')} lower "
        "than one "
        f"trend without a break, and the paper's {brk['assumed_break']} is "
        f"{number_text(brk.get('bic_assumed_minus_best'), '.1f')} BIC units worse than the best "
        "(differences under 2 are not worth a mention).",
        "",
        f"## Two clusters or one trend (after {date_words(params.era_break)})",
        "",
        clusters_criterion(gap["clusters"]),
        "",
        *cluster_lines(gap["clusters"]),
        "",
        "## The gap across upstream releases",
        "",
        *history_lines(history, params),
        "",
        counts_note(trends, history),
        "",
    ]
    return "\n".join(lines)


def figure_qq(plt, check: dict, params: AnalysisParams, path: Path, footer: str) -> None:
    """Figure 6: standardised residuals of each era's trend against normal quantiles, one panel per domain."""
    fig, axes = plt.subplots(1, len(check), figsize=(6 * len(check), 5), squeeze=False)
    for ax, (domain, eras) in zip(axes.flat, check.items()):
        for (era, c), colour in zip(eras.items(), ("tab:blue", "tab:red")):
            if c.get("insufficient_data"):
                continue
            ax.plot(
                c["qq_normal"],
                c["qq_residual"],
                "o",
                ms=4,
                color=colour,
                label=f"{params.era_labels[era]} (n {c['n']}, Jarque-Bera P {c['p']:.2g})",
            )
        ax.axline((0, 0), slope=1, color="gray", lw=1)
        ax.set_xlabel("normal quantile")
        ax.set_ylabel("standardised residual quantile")
        ax.set_title(f"{domain}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("Figure 6. Residuals of the trends against normal scatter (Q-Q)")
    grid_margins(fig, 1, len(check), top=0.75)
    save_figure(fig, path, footer)


def model_check_lines(check: dict, params: AnalysisParams) -> list[str]:
    """Residual normality per domain and era: the Jarque-Bera test, skewness and kurtosis; figure 6 is the Q-Q."""
    lines = []
    for domain, eras in check.items():
        for era, c in eras.items():
            if c.get("insufficient_data"):
                lines.append(f"- {domain}, {params.era_labels[era]}: insufficient data")
                continue
            fits = "consistent with normal scatter" if c["normal_fits"] else "**not normal: the model fits poorly**"
            lines.append(
                f"- {domain}, {params.era_labels[era]} ({c['n']} systems): skewness {c['skewness']:.2f}, excess "
                f"kurtosis {c['excess_kurtosis']:.2f}, Jarque-Bera P {c['p']:.2g}: {fits}."
            )
    lines += [
        "",
        "Figure 6 ([Q-Q](figures/fig6_qq.png)) plots each era's standardised residuals against normal quantiles. "
        "Where the scatter is not normal, read the P values under the resampled residuals and Student t scatter "
        "beside the normal ones.",
    ]
    return lines


def band_words(offset: int) -> str:
    """A band by its place against the gap: `the gap`, `2 bands below`."""
    if offset == 0:
        return "the gap"
    return f"{abs(offset)} band{'s' if abs(offset) > 1 else ''} {'above' if offset > 0 else 'below'}"


def deficit_band_lines(bands: dict, params: AnalysisParams) -> list[str]:
    """The number of size bands as wide as the gap with a deficit, against what each null gives."""
    lines = []
    for domain, by_null in bands.items():
        if by_null.get("insufficient_data"):
            lines.append(f"- {domain}: insufficient data")
            continue
        normal = by_null["normal"]
        where = ", ".join(band_words(k) for k in normal["deficit_offsets"])
        lines.append(
            f"- {domain}: {normal['observed_deficits']} of {normal['n_bands']} bands with a deficit at alpha = "
            f"{params.alpha:g}"
            + (f" ({where})" if where else "")
            + "; P of as many: "
            + "; ".join(
                f"{NULL_WORDS[k]} {p_words(by_null[k]['p'])} (mean {by_null[k]['null_mean_deficits']:.2f} bands)"
                for k in ("normal", "bootstrap", "t")
            )
            + "."
        )
    if not lines:
        return []
    return [
        "Size bands as wide as the gap, tiling the tested sizes from the gap outwards: how many have a deficit "
        "(their in-gap count's z below the one-sided normal quantile at alpha), against how many the model gives "
        "by chance (trend re-fitted on every simulated data set):",
        "",
        *lines,
    ]


def closing_words(domain: str, c: dict) -> str:
    """One domain's closing verdict for the answer paragraph, with the ratio, its interval and, when another
    scatter model gives another verdict, that one."""
    if c.get("insufficient_data"):
        return f"{domain}: {c['verdict']}"
    other = [
        f"{u['verdict']} with {NULL_WORDS[k]}"
        for k, u in c["under_other_scatter"].items()
        if u["verdict"] != c["verdict"]
    ]
    return (
        f"{domain}: {c['verdict']} (observed/expected {c['ratio']:.2f}, {c['interval_level']:.0%} interval "
        f"[{c['interval'][0]:.2f}, {c['interval'][1]:.2f}]" + (f"; {', '.join(other)}" if other else "") + ")"
    )


def answer_paragraph(gap: dict, repro: dict, params: AnalysisParams) -> str:
    """The answer first: the verdict, the P to quote and what it is corrected for, from the numbers alone."""
    family = gap.get("family_scan", {})
    if family.get("insufficient_data") or not family:
        return "**Answer.** The family-wide scan has insufficient data; see the tests below."
    quote = family["quote"]
    test = gap["tests"][quote]
    p = family["p_quote"]
    significant = {"below": "significant", "above": "not significant", "inconclusive": "inconclusive"}[p["side"]]
    paper = repro.get("family_scan", {})
    paper_text = ""
    if paper and not paper.get("insufficient_data"):
        paper_text = (
            f" On the paper's own data (as of {repro['as_of']}) the same family-wide P for the {paper['quote']} test "
            f"is {p_words(paper['p_quote'])}."
        )
    normal_only = [d for d, t in gap["tests"].items() if t.get("simulated", {}).get("normal_only")]
    closing = gap["windows"]["answer"]
    verdicts = "; ".join(closing_words(d, c) for d, c in closing.items())
    poor = [
        f"{d} {params.era_labels[e]}"
        for d, eras in gap["model_check"].items()
        for e, c in eras.items()
        if not c.get("insufficient_data") and not c["normal_fits"]
    ]
    return (
        f"**Answer.** As of {gap['as_of']}, the emptiest headline test is {quote}: {test['observed_in_gap']} "
        f"systems in {params.gap_label} where {test['expected_in_gap']:.1f} were expected (local P "
        f"{test['p_le_observed_exact']:.2g}). The P to quote is the family-wide P, **{p_words(p)}**, {significant} "
        f"at alpha = {params.alpha:g}: it is corrected for every choice the analyst made (the window's position, its "
        f"width from {family['family']['widths_dex'][0]:g} to {family['family']['widths_dex'][-1]:g} dex, the bound "
        "convention, the domain group and the period tested: the headline period and every sliding window), under "
        "normal scatter around the trend ("
        + "; ".join(f"with {NULL_WORDS[k]}: {p_words(family['by_null'][k]['p'][quote])}" for k in ("bootstrap", "t"))
        + ")"
        + ("; **it holds only under normal scatter**" if family.get("normal_only") else "")
        + f".{paper_text} "
        + (
            f"Under scatter that is not normal the scan-corrected result of {', '.join(normal_only)} does not hold "
            "(see the gap test). "
            if normal_only
            else ""
        )
        + f"Has the gap closed since the paper? {verdicts}. "
        + (
            f"The log-normal trend model fits poorly ({', '.join(poor)}: residuals not normal)."
            if poor
            else "The residuals are consistent with normal scatter in every era tested."
        )
        + "".join(
            f" {domain}: {b['normal']['observed_deficits']} of {b['normal']['n_bands']} size bands as wide as the gap "
            f"have a deficit where the model gives {b['normal']['null_mean_deficits']:.2f} on average (P of as many "
            f"{p_words(b['normal']['p'])}), so the gap is not the only hole in the model."
            for domain, b in gap.get("deficit_bands", {}).items()
            if not b.get("insufficient_data")
            and b["normal"]["observed_deficits"] > 1
            and all(b[k]["p"]["side"] == "below" for k in ("normal", "bootstrap", "t"))
        )
    )


def footer(snapshot: str, as_of: str, params: AnalysisParams) -> str:
    """The dataset version and the settings, printed under every figure and atop the report."""
    return (
        f"Dataset: Epoch snapshot {snapshot}, as of {as_of}; {params.bounds} bounds; {params.n_bootstrap} "
        f"bootstrap resamples, {params.n_simulations:,} simulations, seed {params.seed}."
    )


@dataclass(frozen=True)
class ReportSettings:
    """The analysis settings (every label naming one is built from them) and the snapshot the footers name."""

    analysis: AnalysisParams
    snapshot: str


def run(paths: Paths, settings: ReportSettings) -> list[Path]:
    """Load the metrics and plot data, draw the figures and write report.md."""
    params, snapshot = settings.analysis, settings.snapshot
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
    note = footer(snapshot, loaded["trends"]["as_of"], params)
    plt = pyplot()
    figures = [paths.figures_dir / name for name in FIGURES]
    figure_sizes(plt, sizes, loaded["trends"], params, figures[0], note)
    figure_domains(plt, sizes, loaded["trends"], params, loaded["paper_reproduction"]["as_of"], figures[1], note)
    figure_break(plt, pd.read_csv(paths.plots_dir / "break_profile.csv"), loaded["gap"], figures[2], note)
    figure_windows(plt, pd.read_csv(paths.plots_dir / "windows.csv"), params, figures[3], note)
    figure_sensitivity(plt, loaded["gap"], params, figures[4], note)
    figure_qq(plt, loaded["gap"]["model_check"], params, figures[5], note)
    text = markdown(
        loaded["trends"], loaded["gap"], loaded["paper_reproduction"], loaded["history"], sizes, params, note
    )
    # The compute paper's reproduction, every measure's growth (issue 25) and RQ3 (issue 26), after the parameter
    # study.
    compute, growth, chips = (
        json.loads(path.read_text()) for path in (paths.compute_reproduction, paths.growth, paths.chips)
    )
    text += "\n".join(
        [
            *measures_text.compute_reproduction_lines(compute),
            "",
            *measures_text.growth_lines(growth, loaded["history"]),
            "",
            *measures_text.chips_lines(chips),
            "",
        ]
    )
    # The gap atlas and RQ5 (issue 26): every band of every measure, and the question across releases.
    atlas = json.loads(paths.atlas.read_text())
    text += "\n".join(["", *atlas_text.atlas_lines(atlas, params), *atlas_text.rq5_lines(loaded["history"], params)])
    atomic_write_text(paths.report, text)
    return [*figures, paths.report]
