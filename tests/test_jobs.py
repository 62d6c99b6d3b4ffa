"""jobs.py: default job names, status of a job whose run is gone."""

from __future__ import annotations

import pytest

from grokbatch import paths
from grokbatch.jobs import default_job_name

UUID_POST = "https://grok.com/imagine/post/0b7f3c1e-1234-4abc-9def-000000000001"


@pytest.mark.parametrize("alias", ["a", "main", "x" * 30, "y" * 31, "z" * 63, "A" * 64,
                                   "a.b-c_d" * 9])
@pytest.mark.parametrize("permalink", [UUID_POST, "http://127.0.0.1:8123/imagine/post/abc/",
                                       "https://grok.com/imagine/post/" + "f" * 128])
def test_default_job_name_is_always_a_valid_name_and_stable(alias: str, permalink: str) -> None:
    alias = alias[:64]
    name = default_job_name(alias, permalink, None, "a prompt")
    assert paths.is_valid_name(name), name
    assert len(name) <= paths.MAX_NAME_LENGTH
    assert name == default_job_name(alias, permalink, None, "a prompt")
    assert name != default_job_name(alias, permalink, None, "another prompt")


def test_default_job_name_of_two_long_aliases_differs() -> None:
    first = default_job_name("a" * 63 + "1", UUID_POST, None, None)
    second = default_job_name("a" * 63 + "2", UUID_POST, None, None)
    assert first != second


def test_default_job_name_that_fits_is_what_older_versions_made() -> None:
    """Jobs started before names were shortened are found by the same command."""
    name = default_job_name("main", "https://grok.com/imagine/post/abc123", None, "p")
    assert name.startswith("main-abc123-") and len(name) == len("main-abc123-") + 8
