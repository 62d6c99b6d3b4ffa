"""Prompts files: a CSV with a `prompt` column and an optional `count` column.

Each row becomes `count` items (default: the run's --count). Errors name the row, never
the prompt text.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from grokbatch.config import COUNT_RANGE
from grokbatch.errors import ConfigError

MAX_ITEMS = COUNT_RANGE[1]
# ASCII digits only: str.isdecimal() also accepts fullwidth or Arabic-Indic digits.
_COUNT = re.compile(r"[0-9]{1,4}")


def load_prompts_file(path: Path, default_count: int) -> list[dict[str, Any]]:
    """Rows of `{"prompt": str, "count": int}` from the CSV at `path`."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"prompts file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read prompts file {path}: {exc}") from None
    # newline="" keeps newlines inside quotes; strict refuses a quote left open to the end.
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        return _read_rows(reader, path, default_count)
    except csv.Error as exc:
        # The reader stops at the end of the last good row: the bad one starts after it.
        row_number = reader.line_num + 1
        hint = ("a quote is never closed" if "end of data" in str(exc)
                else f"not valid CSV: {exc}")
        raise ConfigError(
            f"prompts file {path}: row {row_number}: {hint} "
            '(quote a prompt as "..." and double any quote inside it)'
        ) from None


def _read_rows(reader: csv.DictReader[str], path: Path,
               default_count: int) -> list[dict[str, Any]]:
    if reader.fieldnames is None:  # not even a header row
        raise ConfigError(f"prompts file {path} is empty: it needs a header row with a "
                          "'prompt' column, then a row per prompt")
    columns = [c.strip().lower() for c in reader.fieldnames]
    if "prompt" not in columns:
        raise ConfigError(f"prompts file {path}: the header row has no 'prompt' column")
    reader.fieldnames = columns
    rows: list[dict[str, Any]] = []
    for row in reader:
        row_number = reader.line_num  # the file's line, as an editor shows it
        # More fields than the header names: an unquoted comma split the prompt, whose
        # rest would be dropped without a word (empty fields, a spreadsheet's trailing
        # commas, lose nothing).
        if any(str(extra).strip() for extra in row.get(None) or ()):
            raise ConfigError(
                f"prompts file {path}: row {row_number} has more fields than the header row: "
                'a prompt with a comma must be quoted, as "slow zoom, then pan"'
            )
        prompt = (row.get("prompt") or "").strip()
        if not prompt:
            raise ConfigError(f"prompts file {path}: row {row_number} has an empty prompt")
        raw_count = (row.get("count") or "").strip()
        if raw_count:
            if not _COUNT.fullmatch(raw_count) or not 1 <= int(raw_count) <= MAX_ITEMS:
                raise ConfigError(
                    f"prompts file {path}: row {row_number} has a bad count "
                    f"(a whole number from 1 to {MAX_ITEMS})"
                )
            count = int(raw_count)
        else:
            count = default_count
        rows.append({"prompt": prompt, "count": count, "row": row_number})
    if not rows:
        raise ConfigError(f"prompts file {path} has no prompt rows")
    total = sum(r["count"] for r in rows)
    if total > MAX_ITEMS:
        raise ConfigError(f"prompts file {path} asks for {total} videos; at most {MAX_ITEMS}")
    return rows
