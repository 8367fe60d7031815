"""Plain-text tables for the command line's `--output table` and `--output csv` (pure:
documents in, text out), one module per document:

- layout: columns and CSV, shared by all;
- result: a result's findings (docs/result.md), its summary line;
- restore: a restore report; denylist: a denylist's entries; plan: a plan's changes;
- places: a merged result of many places.

A person should see at a glance what was done: one row per item, then a summary line,
then the errors and notes. The tables show exactly what the JSON output would. CSV has the
same rows (errors in a column of their own) under a header row, and no summary.
"""
