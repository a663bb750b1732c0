"""The text of `mlsizes --help`, read only when help is shown, so editing it makes no pipeline stage stale."""

TEXT = """\
Curate, validate and version Epoch's dataset of notable ML systems and their sizes.

The pipeline (run it all with `dvc repro`, or `make reproduce` on a fresh clone); each stage is
one of these commands:

\b
  data/raw/epoch/<snapshot>.csv + data/raw/contributions/
      --curate-->           data/curated/models.csv, rejected.csv, metrics/curation.json
  schemas/   --metadata-->  data/curated/datapackage.json, codebook.csv
  models.csv --check-->     reports/validation/ (pandera + the expectation suite)
  models.csv --analyze-->   metrics/trends.json, metrics/gap.json, metrics/plots/
  paper-era snapshot --reproduce-paper-->  metrics/paper_reproduction.json
  2022 snapshot --reproduce-compute-->  metrics/compute_reproduction.json (the compute-trends paper)
  models.csv --growth-->    metrics/growth.json (x/year of every measure, notable and frontier), a figure each
  every snapshot --history-->  metrics/history.json (the gap, the atlas and the growth across upstream releases)
  snapshots with hardware + schemas/chips.csv --chips-->  metrics/chips.json (does a model fit on one chip?)
  models.csv + paper-era snapshot --atlas-->  metrics/atlas.json (every band of every measure, corrected)
  metrics    --report-->    reports/report.md, reports/figures/*.png
  all of it + releases --site-->  reports/site/ (an offline HTML site: records, figures, releases)

\b
Contributing: add-model, validate.   Versions: versions, diff, release.   Upstream: fetch, update.

Every command works on any file, not only the pipeline's: e.g.
`mlsizes curate SNAPSHOT.csv --out DIR` curates a snapshot the pipeline has never seen.

\b
Every command takes --root (the project folder; default: $MLSIZES_ROOT, else the nearest
folder with dvc.yaml) and --json (its result as JSON on stdout); progress goes to stderr.
Exit codes: 0 ok; 1 bad input or refused (an invalid value or file, a state the command
will not act on); 2 usage or environment (an option missing or in conflict, not in a
project, a missing tool such as git). An error is one line on stderr: `error: ...`.
"""
