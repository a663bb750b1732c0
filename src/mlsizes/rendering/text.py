"""The study's results in words and Markdown tables, shared by report.md, the dataset card and the site."""

from __future__ import annotations

import re

# What Markdown (CommonMark, GitHub's comments, the site's renderer) would read as syntax inside one line of text:
# code, emphasis and strikethrough, links and images, HTML and autolinks, entities, table cells, a heading at the
# start. Backslash-escaped, each is plain text; `_` inside a word, `<` before no tag, `>`, `!` and `#` elsewhere are
# plain already.
_MARKDOWN_SYNTAX = re.compile(r"[\\`*\[\]|~]|<(?=[A-Za-z/!?])|&(?=[#A-Za-z0-9])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|^#")


def number_text(value, spec: str = ".3g") -> str:
    """A number for the report, or n/a."""
    return "n/a" if value is None else format(value, spec)


def interval_text(ci: dict | None) -> str:
    """A bootstrap interval as [2.5%; 50%; 97.5%]."""
    return "n/a" if not ci else f"[{ci['p2_5']:.2f}; {ci['p50']:.2f}; {ci['p97_5']:.2f}]"


def gap_table(gap: dict) -> list[str]:
    """The headline gap tests, one row per domain group, with the local P and its three checks."""
    lines = [
        "| domains | tested | observed | expected | P(K<=obs) exact | Monte Carlo (SE) | scan-corrected | "
        "posterior predictive | out of sample (fit before the window) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for domain, test in gap["tests"].items():
        if test["insufficient_data"]:
            lines.append(f"| {domain} | {test['n_systems']} | insufficient data | | | | | | |")
            continue
        scan = test["scan"]
        lines.append(
            f"| {domain} | {test['n_systems']} | {test['observed_in_gap']} | {test['expected_in_gap']:.1f} | "
            f"{test['p_le_observed_exact']:.2g} | {test['mc_estimate']:.2g} ({test['mc_se']:.1g}) | "
            f"{scan_words(scan)} | "
            f"{number_text(test['p_posterior_predictive'], '.2g')} | {number_text(test['p_out_of_sample'], '.2g')} |"
        )
    return lines


def scan_words(scan: dict) -> str:
    """The scan-corrected P with its simulation count; with no simulated data set as extreme, the range it lies
    in (from the local P, which the correction can only weaken, to the 95% upper limit)."""
    if scan.get("insufficient_data") or scan.get("p_scan_corrected") is None:
        return "n/a"
    if scan["hits"] == 0:
        return f"{scan['observed_local_p']:.2g} to {scan['p_upper_95']:.2g} (0 of {scan['n_sims']} simulations)"
    return f"{scan['p_scan_corrected']:.2g} ({scan['hits']} of {scan['n_sims']}; 95% upper {scan['p_upper_95']:.2g})"


def closing_lines(windows: dict) -> list[str]:
    """The closing verdict of each domain with the numbers behind it."""
    lines = []
    for domain, info in windows.items():
        if "first_window" not in info:
            lines.append(f"- {domain}: {info['verdict']}")
            continue
        change = info["change_test"]
        power = "n/a" if info["power_newest"] is None else f"{info['power_newest']:.2f}"
        lines.append(
            f"- **{domain}: {info['verdict']}.** Observed/expected {info['observed_over_expected_first']:.2f} in "
            f"{info['first_window']} -> {info['observed_over_expected_newest']:.2f} in {info['newest_window']} "
            f"(change test p = {change['p']:.2g}, one-sided, {change['method']}); local P {info['p_first']:.2g} -> "
            f"{info['p_newest']:.2g}; power of the newest window to show the first window's deficit: {power}."
        )
    return lines


def markdown_text(text: str) -> str:
    """Text from the data (a name, a note) as Markdown that shows exactly that text on one line: no image, link,
    HTML or emphasis a contributor's name could smuggle into the changelog, a pull-request comment or the site."""
    return _MARKDOWN_SYNTAX.sub(lambda match: "\\" + match.group(0), " ".join(str(text).split()))
