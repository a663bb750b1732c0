"""The study's settings: params.yaml read once, typed, with every word and key that derives from them.

params.yaml owns the study's numbers (the as-of date, the era break, the gap bounds, alpha, the windows); the
code restates none of them. Era keys in the metrics, era and gap labels in the report and figures, and the
wording of the windows are all built here from the params, so changing the gap to 1e10-1e11 changes every
"20B-70B" with it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from mlsizes.core import untrusted

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def read_params(params_path: Path) -> dict:
    """The pipeline's params.yaml as a mapping, read as untrusted (it arrives in pull requests); UnreadableFile
    naming the file and the reason in one line for an alias, a tag, a huge or malformed document, a FIFO."""
    return untrusted.load_file(Path(params_path))


def iso_date(value) -> dt.date:
    """A date from params (YAML may already have parsed it) or an ISO string."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def date_words(day: dt.date) -> str:
    """A date as a label: the year alone when it is 1 January (`2018`), else the ISO date."""
    return str(day.year) if (day.month, day.day) == (1, 1) else day.isoformat()


def count_words(number: int) -> str:
    """A small count spelled out (`three`), a larger one in digits."""
    return NUMBER_WORDS[number] if 0 <= number < len(NUMBER_WORDS) else str(number)


def size_words(parameters: float) -> str:
    """A parameter count as the report writes it: 2e10 -> `20B`, 1e11 -> `100B`, 5e8 -> `0.5B`."""
    return f"{parameters / 1e9:g}B"


SIZE_UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def size_text(value: float, digits: int = 3) -> str:
    """A parameter count as every human-facing output prints it: 175B, 1.2T, 820M, 36.5K, 17 (`digits`
    significant digits, no float noise)."""
    for scale, unit in SIZE_UNITS:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g}{unit}"
    return f"{value:.{digits}g}"


def scientific(value: float) -> str:
    """A number as the paper writes it: 2e10, 7e10, 2.5e10."""
    return f"{value:g}".replace("e+", "e")


def in_gap(sizes, lower: float, upper: float, inclusive: bool = True):
    """Which sizes are in the gap: [lower, upper] with inclusive bounds, (lower, upper) with strict ones.

    The one statement of the rule (stats, analyze and diff use it); works on numbers, arrays and pandas Series
    alike (a Series keeps its index). Here, with the settings, so a fast command need not import scipy.
    """
    if inclusive:
        return (sizes >= lower) & (sizes <= upper)
    return (sizes > lower) & (sizes < upper)


def _typed(name: str, value, convert):
    """A setting's value converted (a date, a number); ValueError naming the setting when it is not one."""
    try:
        return convert(value)
    except (TypeError, ValueError, OverflowError):
        kind = {iso_date: "an ISO date (YYYY-MM-DD)", float: "a number", int: "a whole number"}[convert]
        shown = repr(value) if len(repr(value)) <= 60 else f"{repr(value)[:60]}..."
        raise ValueError(f"{name} must be {kind}, got {shown}") from None


class _Section:
    """A mapping of params.yaml read by key: a missing key or a value of the wrong type names its setting
    (`analysis.windows.step_years`), since params.yaml can arrive in a pull request."""

    def __init__(self, mapping, name: str):
        if not isinstance(mapping, dict):
            raise ValueError(f"{name} must be a mapping of settings, got {type(mapping).__name__} {mapping!r:.60}")
        self.mapping, self.name = mapping, name

    def __getitem__(self, key: str):
        if key not in self.mapping:
            raise KeyError(f"{self.name}.{key}")
        value = self.mapping[key]
        return _Section(value, f"{self.name}.{key}") if isinstance(value, dict) or key in _SECTIONS else value

    def __repr__(self) -> str:
        return repr(self.mapping)

    def get(self, key: str, default=None):
        """The value of a setting that may be absent."""
        return self[key] if key in self.mapping else default

    def typed(self, key: str, convert):
        """A setting converted (iso_date, float or int); ValueError naming it when it cannot be."""
        return _typed(f"{self.name}.{key}", self[key], convert)


# Settings that are mappings of settings: anything else there is refused by name.
_SECTIONS = ("domains", "groups", "windows", "break_search", "monte_carlo", "scan", "split_fit", "closing", "measures")


@dataclass(frozen=True)
class AnalysisParams:
    """The `analysis:` section of params.yaml, typed; dates are ISO strings in the file."""

    as_of: dt.date | None  # None: the analysed snapshot's date (see analyze.run)
    era_break: dt.date
    fit_start: dt.date
    test_window_start: dt.date
    gap_lower: float
    gap_upper: float
    bounds: str  # "strict" or "inclusive": whether a system exactly on a bound is in the gap
    window_years: int
    window_step_years: int
    domain_rule: str
    domain_groups: dict[str, str]
    break_search_start: dt.date
    break_search_end: dt.date
    alpha: float
    n_bootstrap: int
    n_simulations: int
    n_window_simulations: int
    n_posterior_draws: int
    mc_first_batch: int
    mc_resolve_factor: float
    mc_max_scan: int
    mc_max_family: int
    mc_max_split: int
    split_starts: int  # the split test's mixture fits: EM starts per fit, iterations per start
    split_iterations: int
    scan_grid_step_dex: float
    family_widths_dex: tuple[float, ...]
    heavy_tail_df: float
    closing_after: dt.date
    closing_ratio: float
    seed: int

    @classmethod
    def from_dict(cls, section: dict, as_of=None) -> AnalysisParams:
        """Build from params.yaml's `analysis:` mapping; a top-level as_of (passed in) wins when present, and
        without either the analysed snapshot's date is used."""
        section = _Section(section, "analysis")
        rule = section["domains"]["rule"]
        if rule not in ("any", "primary"):
            raise ValueError(f"analysis.domains.rule must be 'any' or 'primary', got {rule!r}")
        if section["bounds"] not in ("strict", "inclusive"):
            raise ValueError(f"analysis.bounds must be 'strict' or 'inclusive', got {section['bounds']!r}")
        as_of = as_of if as_of is not None else section.get("as_of")
        mc, scan = section["monte_carlo"], section["scan"]
        if not 0 < mc.typed("first_batch", int) <= min(mc.typed("max_scan", int), mc.typed("max_family", int)):
            raise ValueError("analysis.monte_carlo: need 0 < first_batch <= max_scan and max_family")
        if mc.typed("max_split", int) < 1:
            raise ValueError("analysis.monte_carlo: max_split must be positive")
        split_fit = section["split_fit"]
        if split_fit.typed("starts", int) < 1 or split_fit.typed("iterations", int) < 1:
            raise ValueError("analysis.split_fit: starts and iterations must be positive")
        widths_dex = scan["widths_dex"]
        if not (isinstance(widths_dex, list) and len(widths_dex) == 2):
            raise ValueError(f"analysis.scan.widths_dex must be a list of two widths, got {widths_dex!r:.60}")
        w_lo, w_hi = (_typed("analysis.scan.widths_dex", w, float) for w in widths_dex)
        w_step = scan.typed("width_step_dex", float)
        if not (0 < w_lo <= w_hi and w_step > 0):
            raise ValueError("analysis.scan: need 0 < widths_dex[0] <= widths_dex[1] and a positive width_step_dex")
        widths = tuple(round(w_lo + w_step * i, 9) for i in range(int((w_hi - w_lo) / w_step + 1e-9) + 1))
        return cls(
            as_of=None if as_of is None else _typed("as_of", as_of, iso_date),
            era_break=section.typed("era_break", iso_date),
            fit_start=section.typed("fit_start", iso_date),
            test_window_start=section.typed("test_window_start", iso_date),
            gap_lower=section.typed("gap_lower", float),
            gap_upper=section.typed("gap_upper", float),
            bounds=section["bounds"],
            window_years=section["windows"].typed("length_years", int),
            window_step_years=section["windows"].typed("step_years", int),
            domain_rule=rule,
            domain_groups=dict(section["domains"]["groups"].mapping),
            break_search_start=section["break_search"].typed("start", iso_date),
            break_search_end=section["break_search"].typed("end", iso_date),
            alpha=section.typed("alpha", float),
            n_bootstrap=section.typed("n_bootstrap", int),
            n_simulations=section.typed("n_simulations", int),
            n_window_simulations=section.typed("n_window_simulations", int),
            n_posterior_draws=section.typed("n_posterior_draws", int),
            mc_first_batch=mc.typed("first_batch", int),
            mc_resolve_factor=mc.typed("resolve_factor", float),
            mc_max_scan=mc.typed("max_scan", int),
            mc_max_family=mc.typed("max_family", int),
            mc_max_split=mc.typed("max_split", int),
            split_starts=split_fit.typed("starts", int),
            split_iterations=split_fit.typed("iterations", int),
            scan_grid_step_dex=scan.typed("grid_step_dex", float),
            family_widths_dex=widths,
            heavy_tail_df=section.typed("heavy_tail_df", float),
            closing_after=section["closing"].typed("after", iso_date),
            closing_ratio=section["closing"].typed("meaningful_ratio", float),
            seed=section.typed("seed", int),
        )

    @property
    def inclusive(self) -> bool:
        """Whether a system exactly on a bound counts as in the gap (the `bounds` convention)."""
        return self.bounds == "inclusive"

    # ---- keys and words derived from the params

    @property
    def era_keys(self) -> dict[str, str]:
        """The metrics key of each of the paper's eras, by role: before and after the break, and after it above
        and below the gap (`pre_2018`, `post_2018`, `above_gap`, `below_gap` for a 2018-01-01 break)."""
        year = date_words(self.era_break).replace("-", "_")
        return {"before": f"pre_{year}", "after": f"post_{year}", "above": "above_gap", "below": "below_gap"}

    @property
    def era_labels(self) -> dict[str, str]:
        """Each era key as words (`before 2018`, `2018 on, single trend`, ...)."""
        keys, since = self.era_keys, date_words(self.era_break)
        return {
            keys["before"]: f"before {since}",
            keys["after"]: f"{since} on, single trend",
            keys["above"]: f"{since} on, above gap",
            keys["below"]: f"{since} on, below gap",
        }

    @property
    def gap_label(self) -> str:
        """The gap as words: `20B-70B`."""
        return f"{size_words(self.gap_lower)}-{size_words(self.gap_upper)}"

    @property
    def fit_lead_words(self) -> str:
        """How long before a test window its trend is fitted from: `2 years` (or days when not whole years)."""
        lead = self.test_window_start - self.fit_start
        years = self.test_window_start.year - self.fit_start.year
        if self.fit_start.replace(year=self.test_window_start.year) == self.test_window_start:
            return f"{years} year" + ("s" if years != 1 else "")
        return f"{lead.days} days"

    @property
    def window_words(self) -> str:
        """The sliding windows' length as words: `three-year`."""
        return f"{count_words(self.window_years)}-year"


@dataclass(frozen=True)
class ReproductionParams:
    """The `paper_reproduction:` section: the paper-era snapshot and its cut-off, analysed with the analysis
    params (as_of replaced by the cut-off)."""

    snapshot: str
    as_of: dt.date
    analysis: AnalysisParams

    @classmethod
    def from_dict(cls, section: dict, analysis: dict) -> ReproductionParams:
        """Build from the `paper_reproduction:` and `analysis:` mappings."""
        section = _Section(section, "paper_reproduction")
        return cls(
            snapshot=str(section["snapshot"]),
            as_of=section.typed("as_of", iso_date),
            analysis=AnalysisParams.from_dict(analysis, section["as_of"]),
        )


@dataclass(frozen=True)
class Settings:
    """All of params.yaml, typed: each stage takes only its own section."""

    snapshot: str
    analysis: AnalysisParams
    paper_reproduction: ReproductionParams | None

    @classmethod
    def load(cls, params_path: Path) -> Settings:
        """Read and type params.yaml; a top-level `as_of` overrides `analysis.as_of`. A file for one analysis
        may hold only the `analysis:` section."""
        params = read_params(params_path)
        reproduction = params.get("paper_reproduction")
        try:
            return cls(
                snapshot=str(params.get("snapshot", "unknown")),
                analysis=AnalysisParams.from_dict(params["analysis"], params.get("as_of")),
                paper_reproduction=ReproductionParams.from_dict(reproduction, params["analysis"])
                if reproduction
                else None,
            )
        except KeyError as exc:
            raise ValueError(f"{params_path}: no {exc.args[0]!r} setting (see the project's params.yaml)") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{params_path}: {exc}") from None


@dataclass(frozen=True)
class ComputeTrendParams:
    """The `compute_reproduction:` section: the rules of the compute-trends paper (Sevilla et al. 2022) and the
    snapshot they are reproduced on. A system on an era boundary belongs to the earlier era."""

    snapshot: str
    cutoff: dt.date  # systems published on or before it
    table3_cutoff: dt.date
    pre_deep_learning_end: dt.date
    alexnet: dt.date  # the alternative start of the deep-learning era
    large_scale_start: dt.date
    table4_after: dt.date
    half_window_days: int
    min_window_systems: int
    low_outlier_below: float
    large_scale_above: float
    large_scale_alternatives: tuple[float, ...]
    n_bootstrap: int
    noise_ratio: float
    other_domain_below: int
    record_setter_groups: tuple[str, ...]
    seed: int
    tolerances: dict

    @classmethod
    def from_dict(cls, section: dict) -> ComputeTrendParams:
        """Build from params.yaml's `compute_reproduction:` mapping."""
        eras, zscore, boot = section["eras"], section["zscore"], section["bootstrap"]
        return cls(
            snapshot=str(section["snapshot"]),
            cutoff=iso_date(section["cutoff"]),
            table3_cutoff=iso_date(section["table3_cutoff"]),
            pre_deep_learning_end=iso_date(eras["pre_deep_learning_end"]),
            alexnet=iso_date(eras["alexnet"]),
            large_scale_start=iso_date(eras["large_scale_start"]),
            table4_after=iso_date(eras["table4_after"]),
            half_window_days=int(zscore["half_window_days"]),
            min_window_systems=int(zscore["min_systems"]),
            low_outlier_below=float(zscore["low_outlier_below"]),
            large_scale_above=float(zscore["large_scale_above"]),
            large_scale_alternatives=tuple(float(value) for value in zscore["large_scale_alternatives"]),
            n_bootstrap=int(boot["resamples"]),
            noise_ratio=float(boot["noise_ratio"]),
            other_domain_below=int(section["other_domain_below"]),
            record_setter_groups=tuple(section["record_setters"]),
            seed=int(section["seed"]),
            tolerances={key: float(value) for key, value in section["tolerances"].items()},
        )

    @classmethod
    def load(cls, params_path: Path) -> ComputeTrendParams:
        """The section from a params file; ValueError naming the file and the missing or bad setting."""
        try:
            return cls.from_dict(read_params(params_path)["compute_reproduction"])
        except KeyError as exc:
            raise ValueError(f"{params_path}: no {exc.args[0]!r} setting under compute_reproduction") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{params_path}: compute_reproduction: {exc}") from None


@dataclass(frozen=True)
class GrowthParams:
    """The `growth:` section: the recent-growth readout of every measure (notable and frontier systems)."""

    since: dt.date
    frontier_top: int
    measures: dict  # curated column -> its words in the readout
    n_bootstrap: int
    seed: int

    @classmethod
    def load(cls, params_path: Path) -> GrowthParams:
        """The section from a params file; ValueError naming the file and the missing or bad setting."""
        try:
            section = read_params(params_path)["growth"]
            return cls(
                since=iso_date(section["since"]),
                frontier_top=int(section["frontier_top"]),
                measures={str(column): str(words) for column, words in section["measures"].items()},
                n_bootstrap=int(section["n_bootstrap"]),
                seed=int(section["seed"]),
            )
        except KeyError as exc:
            raise ValueError(f"{params_path}: no {exc.args[0]!r} setting under growth") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{params_path}: growth: {exc}") from None


@dataclass(frozen=True)
class AtlasParams:
    """The `atlas:` section: what the gap atlas scans (measures, domain groups, test windows, band widths and the
    step of band positions) and how its corrected P is simulated. The headline test window is the analysis's
    (trend from fit_start, tested from test_window_start), so the paper's cell is the gap test's."""

    measures: dict[str, str]  # curated column -> its words
    groups: tuple[str, ...]
    min_domain_systems: int  # any other domain with this many systems in the test window gets a group
    min_component_systems: int  # the null gives language and the rest their own trend when both have this many
    widths_dex: tuple[float, ...]
    step_dex: float
    windows: dict[str, tuple[dt.date, dt.date]]  # name -> (fit start, test start)
    headline_window: str
    top: int
    mc_first_batch: int
    mc_max_n: int
    seed: int

    @classmethod
    def from_dict(cls, section: dict, analysis: AnalysisParams) -> AtlasParams:
        """Build from params.yaml's `atlas:` mapping and the typed analysis section."""
        section = _Section(section, "atlas")
        bounds = section["widths_dex"]
        if not (isinstance(bounds, list) and len(bounds) == 2):
            raise ValueError(f"atlas.widths_dex must be a list of two widths, got {bounds!r:.60}")
        w_lo, w_hi = (_typed("atlas.widths_dex", w, float) for w in bounds)
        w_step, step = section.typed("width_step_dex", float), section.typed("position_step_dex", float)
        if not (0 < w_lo <= w_hi and w_step > 0 and step > 0):
            raise ValueError("atlas: need 0 < widths_dex[0] <= widths_dex[1] and positive width and position steps")
        windows = {"headline": (analysis.fit_start, analysis.test_window_start)}
        for name, window in section["windows"].mapping.items():
            window = _Section(window, f"atlas.windows.{name}")
            windows[str(name)] = (window.typed("fit_start", iso_date), window.typed("test_start", iso_date))
        mc = section["monte_carlo"]
        if not 0 < mc.typed("first_batch", int) <= mc.typed("max_n", int):
            raise ValueError("atlas.monte_carlo: need 0 < first_batch <= max_n")
        return cls(
            measures={str(column): str(words) for column, words in section["measures"].mapping.items()},
            groups=tuple(str(group) for group in section["domain_groups"]),
            min_domain_systems=section.typed("min_domain_systems", int),
            min_component_systems=section.typed("min_component_systems", int),
            widths_dex=tuple(round(w_lo + w_step * i, 9) for i in range(int((w_hi - w_lo) / w_step + 1e-9) + 1)),
            step_dex=step,
            windows=windows,
            headline_window="headline",
            top=section.typed("top", int),
            mc_first_batch=mc.typed("first_batch", int),
            mc_max_n=mc.typed("max_n", int),
            seed=section.typed("seed", int),
        )

    @classmethod
    def load(cls, params_path: Path, analysis: AnalysisParams) -> AtlasParams:
        """The section from a params file; ValueError naming the file and the missing setting, or the bad one."""
        try:
            return cls.from_dict(read_params(params_path)["atlas"], analysis)
        except KeyError as exc:
            raise ValueError(f"{params_path}: no {exc.args[0]!r} setting under atlas") from None
