"""The README stays true: its config example loads, its exit codes are the real ones, and
every command and flag it shows exists."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from grokbatch.config import build_run_config
from grokbatch.errors import ExitCode

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_config_example_loads(tmp_path: Path) -> None:
    block = re.search(r"```json\n(.*?)```", README, re.S)
    assert block, "README has no JSON config example"
    path = tmp_path / "batch.json"
    path.write_text(block.group(1))
    config = build_run_config(path, {})
    assert (config.account, config.count, config.parallel) == ("main", 100, 10)
    assert config.cooldown_s == 7200
    assert json.loads(block.group(1))["batchSize"] == config.count


def test_readme_exit_code_table_matches_the_code() -> None:
    rows = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", README, re.M))
    codes = {int(c) for c in rows}
    real = {v for k, v in vars(ExitCode).items() if not k.startswith("_")}
    assert codes == real


def test_every_command_and_flag_the_readme_shows_exists() -> None:
    commands = sorted(set(re.findall(r"grokbatch ((?:accounts|run) [a-z]+)", README)))
    assert len(commands) >= 5
    for command in commands:
        result = subprocess.run([sys.executable, "-m", "grokbatch", *command.split(), "--help"],
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, command
    helps = {
        " ".join(command): subprocess.run(
            [sys.executable, "-m", "grokbatch", *command, "--help"],
            capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "COLUMNS": "200"},
        ).stdout
        for command in (("run", "start"), ("run", "report"), ("doctor",),
                        ("simulator", "serve"))
    }
    for flag in set(re.findall(r"`(--[a-z][a-z-]+)", README)):
        # Every flag the README shows is a flag of run start, or of the command it names.
        assert any(flag in text for text in helps.values()), flag
    assert "--include-prompts" in helps["run report"]
    assert "--permalink" in helps["doctor"]


def test_readme_key_list_names_every_config_key_and_no_other() -> None:
    from grokbatch.config import CONFIG_KEYS

    paragraph = re.search(r"^Keys: (.*?)Unknown keys", README, re.M | re.S)
    assert paragraph, "README has no 'Keys:' paragraph"
    listed = {key.strip() for quoted in re.findall(r"`([^`]+)`", paragraph.group(1))
              for key in quoted.split(",") if key.strip()}
    assert listed == set(CONFIG_KEYS)


def test_readme_shows_the_private_ways_to_give_a_prompt() -> None:
    for text in ("`--prompt-file PATH`", "`--prompt -`", "`GROKBATCH_PROMPT`", "`ps`",
                 "`--choice first|second|skip`", "`--resolution 480p|720p`"):
        assert text in README, text
