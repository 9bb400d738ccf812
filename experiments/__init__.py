"""alignsim experiments: declarative sweeps, statistics, charts and the ``alignsim`` CLI.

Modules:
    spec: experiment specs (TOML) and their validation.
    scenario: scenario files (TOML parameter sets).
    runner: runs a spec on a ``concurrent.futures.Executor`` (local processes or Dask).
    store: crash-safe, resumable result files of one experiment folder.
    stats: confidence intervals, paired differences, interaction, effect sizes.
    tables: summary.csv, contrasts.csv and interaction.csv from runs.csv.
    charts: every chart, drawn from the CSVs alone.
    reproduce: the preset experiments behind ``results/``.
    cli: the ``alignsim`` command.
"""
