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


def p_words(result: dict | None) -> str:
    """A simulated P as the report prints it: the point value only when resolved, the interval otherwise, with
    hits of n; "inconclusive at alpha" when the interval straddles alpha."""
    if not result:
        return "n/a"
    low, high = result["interval"]
    count = f"{result['hits']:,} of {result['n']:,}"
    if result["side"] == "inconclusive":
        return f"inconclusive at alpha = {result['alpha']:g} ({low:.2g} to {high:.2g}; {count})"
    if result["hits"] == result["n"]:
        return f"1 ({count})"
    if result["hits"] == 0:
        return f"< {high:.2g} (0 of {result['n']:,})"
    if not result["resolved"]:
        return f"{low:.2g} to {high:.2g} ({count})"
    return f"{result['p']:.2g} ({low:.2g} to {high:.2g}; {count})"


NULL_WORDS = {"normal": "normal scatter", "bootstrap": "residuals resampled", "t": "Student t scatter"}


def gap_table(gap: dict) -> list[str]:
    """The headline gap tests, one row per domain group: the local P, its simulated checks under the three nulls,
    the family-wide P, the organisations' design effect and the posterior and out-of-sample P."""
    lines = [
        "| domains | tested | observed | expected | P(K<=obs) exact | design effect (clustered P) | scan-corrected, "
        "normal | residuals resampled | Student t | family-wide | posterior predictive | out of sample (fit "
        "before the window, with its uncertainty) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    family = gap.get("family_scan", {}).get("p", {})
    for domain, test in gap["tests"].items():
        if test["insufficient_data"]:
            lines.append(f"| {domain} | {test['n_systems']} | insufficient data |" + " |" * 9)
            continue
        scans = test.get("simulated", {}).get("scan", {})
        lines.append(
            f"| {domain} | {test['n_systems']} | {test['observed_in_gap']} | {test['expected_in_gap']:.1f} | "
            f"{test['p_le_observed_exact']:.2g} | {number_text(test['design_effect'], '.2f')} "
            f"({number_text(test['p_clustered'], '.2g')}) | "
            + " | ".join(p_words(scans.get(kind)) for kind in NULL_WORDS)
            + f" | {p_words(family.get(domain))} | "
            f"{number_text(test['p_posterior_predictive'], '.2g')} | {number_text(test['p_out_of_sample'], '.2g')} |"
        )
    return lines


def closing_lines(answer: dict) -> list[str]:
    """The closing verdict of each domain with the numbers behind it."""
    lines = []
    for domain, info in answer.items():
        if info.get("insufficient_data"):
            lines.append(f"- **{domain}: {info['verdict']}** ({info.get('reason')}).")
            continue
        low, high = info["interval"]
        others = "; ".join(
            f"{NULL_WORDS[kind]}: {u['ratio']:.2f} [{u['interval'][0]:.2f}, {u['interval'][1]:.2f}], {u['verdict']}"
            for kind, u in info["under_other_scatter"].items()
        )
        lines.append(
            f"- **{domain}: {info['verdict']}.** {info['observed_in_gap']} of the {info['n_systems']} systems "
            f"published after the bounds were fixed are in the gap, {info['expected_in_gap']:.1f} expected (sd "
            f"{info['expected_sd']:.1f} from the fit): observed/expected {info['ratio']:.2f}, "
            f"{info['interval_level']:.0%} interval [{low:.2f}, {high:.2f}] (95%: [{info['interval_95'][0]:.2f}, "
            f"{info['interval_95'][1]:.2f}]); deficit P {info['p_deficit']:.2g}, P that the ratio is <= "
            f"{info['meaningful_ratio']:g}: {info['p_closed']:.2g}; design effect "
            f"{number_text(info['design_effect'], '.2f')} over {info['clustering']['n_clusters']} organisations; "
            f"power {info['power_deficit_test_at_meaningful_ratio']:.2f} to show a deficit if the ratio were "
            f"{info['meaningful_ratio']:g}, {info['power_closed_test_at_ratio_1']:.2f} to show closing if it were 1. "
            f"Under other scatter: {others}."
            + (" The verdict holds only under normal scatter." if info.get("normal_only") else "")
            + (
                " The verdict depends on the scatter model."
                if any(u["verdict"] != info["verdict"] for u in info["under_other_scatter"].values())
                and not info.get("normal_only")
                else ""
            )
        )
    return lines


def markdown_text(text: str) -> str:
    """Text from the data (a name, a note) as Markdown that shows exactly that text on one line: no image, link,
    HTML or emphasis a contributor's name could smuggle into the changelog, a pull-request comment or the site."""
    return _MARKDOWN_SYNTAX.sub(lambda match: "\\" + match.group(0), " ".join(str(text).split()))


TERMINAL_WIDTH = 100  # columns a table printed on a terminal fits in


def plain_table(header: list[str], rows: list[list], width: int = TERMINAL_WIDTH) -> str:
    """Rows under a header and a rule, each column as wide as its widest cell, numeric columns right-aligned: the
    one shape of every table a command prints on a terminal. A table wider than `width` narrows its widest text
    columns (never below their header or 12 characters), cutting their long cells with an ellipsis: a long record
    name must not wrap every line. Markdown and JSON output keep every cell whole."""

    def numeric(cell) -> bool:
        return isinstance(cell, (int, float)) or str(cell).replace(".", "", 1).lstrip("-").isdigit()

    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(text) for text in column) for column in zip(header, *cells)]
    right = [bool(rows) and all(numeric(row[i]) or row[i] in ("-", "") for row in rows) for i in range(len(header))]
    floors = [width if flush else max(len(name), 12) for name, width, flush in zip(header, widths, right)]
    while sum(widths) + 2 * (len(widths) - 1) > width:
        narrowable = [i for i in range(len(widths)) if widths[i] > floors[i]]
        if not narrowable:
            break
        widths[max(narrowable, key=lambda i: widths[i])] -= 1

    def line(texts: list[str]) -> str:
        fitted = [text if len(text) <= size else text[: size - 1] + "…" for text, size in zip(texts, widths)]
        return "  ".join(
            text.rjust(size) if flush else text.ljust(size) for text, size, flush in zip(fitted, widths, right)
        ).rstrip()

    return "\n".join([line(header), line(["-" * size for size in widths]), *(line(row) for row in cells)])
