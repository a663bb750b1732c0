"""Commands that are not pipeline stages and may run several of them: contributing a model, fetching a snapshot,
updating from upstream, releasing a version."""
