"""prompts.py: CSV prompts files; every error names the row and never the prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

from grokbatch.errors import ConfigError
from grokbatch.prompts import load_prompts_file

SECRET = "zebra-sunrise-7741"


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prompts.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_with_prompt_and_count_become_rows_with_their_numbers(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "prompt,count\na cat dancing,2\n\"a dog, running\",3\n")
    rows = load_prompts_file(path, default_count=10)
    assert rows == [
        {"prompt": "a cat dancing", "count": 2, "row": 2},
        {"prompt": "a dog, running", "count": 3, "row": 3},
    ]


def test_missing_or_empty_count_uses_the_default(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "prompt,count\nfirst,\nsecond,4\n")
    assert [r["count"] for r in load_prompts_file(path, default_count=7)] == [7, 4]
    only_prompts = write_csv(tmp_path, "prompt\nfirst\nsecond\n")
    assert [r["count"] for r in load_prompts_file(only_prompts, default_count=5)] == [5, 5]


def test_header_is_case_and_space_insensitive_and_bom_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "prompts.csv"
    path.write_text("\ufeff Prompt , COUNT \nhello,2\n", encoding="utf-8")
    assert load_prompts_file(path, default_count=1) == [{"prompt": "hello", "count": 2, "row": 2}]


def test_unquoted_comma_in_a_prompt_is_refused_not_cut(tmp_path: Path) -> None:
    # Without quotes the row has more fields than the header: the prompt's rest would be
    # dropped and every video of the row made from its first words.
    path = write_csv(tmp_path, f"prompt\nfine\n{SECRET}, then pan left\n")
    with pytest.raises(ConfigError, match="row 3 has more fields than the header") as info:
        load_prompts_file(path, default_count=1)
    assert SECRET not in str(info.value)
    with_count = write_csv(tmp_path, f"prompt,count\n{SECRET}, then pan,2\n")
    with pytest.raises(ConfigError, match="row 2 has more fields than the header"):
        load_prompts_file(with_count, default_count=1)


def test_empty_fields_past_the_header_are_allowed(tmp_path: Path) -> None:
    # A spreadsheet's export may end rows with empty fields: nothing of a prompt is lost.
    path = write_csv(tmp_path, "prompt,count\nhello,2,,\n")
    assert load_prompts_file(path, default_count=1) == [{"prompt": "hello", "count": 2, "row": 2}]


def test_missing_prompt_column_is_a_config_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, f"text,count\n{SECRET},2\n")
    with pytest.raises(ConfigError, match="no 'prompt' column") as info:
        load_prompts_file(path, default_count=1)
    assert SECRET not in str(info.value)


def test_empty_prompt_names_the_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path, f"prompt,count\n{SECRET},1\n  ,2\n")
    with pytest.raises(ConfigError, match="row 3 has an empty prompt") as info:
        load_prompts_file(path, default_count=1)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "1.5", "1001", "²", "\uff13", "\u0663",
                                 "\u09e9"])
def test_bad_count_names_the_row_and_never_the_prompt(tmp_path: Path, bad: str) -> None:
    path = write_csv(tmp_path, f"prompt,count\nfine,1\n{SECRET},{bad}\n")
    with pytest.raises(ConfigError, match="row 3 has a bad count") as info:
        load_prompts_file(path, default_count=1)
    assert SECRET not in str(info.value)


def test_no_rows_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no prompt rows"):
        load_prompts_file(write_csv(tmp_path, "prompt,count\n"), default_count=1)


def test_an_empty_file_is_called_empty(tmp_path: Path) -> None:
    # It said "the header row has no 'prompt' column" of a file with no header row at all.
    with pytest.raises(ConfigError, match=r"prompts\.csv is empty: it needs a header row"):
        load_prompts_file(write_csv(tmp_path, ""), default_count=1)


def test_more_than_1000_videos_in_total_is_a_config_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "prompt,count\na,600\nb,401\n")
    with pytest.raises(ConfigError, match="1001 videos"):
        load_prompts_file(path, default_count=1)


def test_missing_prompts_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_prompts_file(tmp_path / "nope.csv", default_count=1)


def test_non_utf8_prompts_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "prompts.csv"
    path.write_bytes(b"prompt\ncaf\xe9 au lait\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_prompts_file(path, default_count=1)


def test_quoted_multiline_prompt_keeps_its_line_break(tmp_path: Path) -> None:
    path = write_csv(tmp_path, 'prompt,count\n"first line\nsecond line",1\n')
    rows = load_prompts_file(path, default_count=1)
    assert rows[0]["prompt"] == "first line\nsecond line"


def test_row_number_counts_blank_lines_as_the_file_shows_them(tmp_path: Path) -> None:
    # Line 4 of the file is the bad row; an editor or spreadsheet calls it row 4.
    path = write_csv(tmp_path, f"prompt,count\nfine,1\n\n{SECRET},0\n")
    with pytest.raises(ConfigError, match="row 4 has a bad count"):
        load_prompts_file(path, default_count=1)


@pytest.mark.parametrize(
    ("text", "row"),
    [
        (f'prompt,count\n"{SECRET},1\n', 2),
        (f'prompt,count\nfine,1\n\n"{SECRET},1\nnext,2\n', 4),
        ('"prompt,count\nfine,1\n', 1),
    ],
)
def test_unclosed_quote_is_refused_naming_the_row_where_it_opens(tmp_path: Path, text: str,
                                                                  row: int) -> None:
    path = write_csv(tmp_path, text)
    with pytest.raises(ConfigError, match=f"row {row}: a quote is never closed") as info:
        load_prompts_file(path, default_count=1)
    assert SECRET not in str(info.value)


def test_text_after_a_closing_quote_is_refused_naming_the_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path, f'prompt,count\n"{SECRET}"x,1\n')
    with pytest.raises(ConfigError, match="row 2: not valid CSV") as info:
        load_prompts_file(path, default_count=1)
    assert SECRET not in str(info.value)
