"""The class of every grokbatch command: Typer's, refusing a flag taken as a value."""

from __future__ import annotations

import os
from typing import Any

import typer
import typer.core
import typer.exceptions


class Command(typer.core.TyperCommand):
    """Refuses one of the command's own flags given as the value of the option before it.

    An option that takes a value takes the next word whatever it is: `--prompt --json`
    gives the prompt "--json" and no JSON, and the run makes videos of it. A value that
    is exactly one of the command's flags is a value forgotten, never meant.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse as Typer does, then refuse a flag taken as a value. A flag taken so leaves
        its own value behind as an extra argument (`--prompt --count 3`: "3"), which the
        parse refuses first: the flag taken is the cause to name, if there is one."""
        try:
            rest: list[str] = super().parse_args(ctx, args)
        except typer.exceptions.TyperException:  # extra arguments, among others
            self._refuse_flag_taken_as_value(ctx)
            raise
        self._refuse_flag_taken_as_value(ctx)
        return rest

    def _refuse_flag_taken_as_value(self, ctx: Any) -> None:
        flags = {opt for param in self.params for opt in (*param.opts, *param.secondary_opts)
                 if opt.startswith("--")} | set(ctx.help_option_names)
        for param in self.params:
            value = ctx.params.get(param.name)
            if isinstance(value, str | os.PathLike) and os.fspath(value) in flags:
                raise typer.BadParameter(
                    f"it took the flag {os.fspath(value)} as its value: give "
                    f"{param.opts[0]} its value right after it", ctx=ctx,
                    param_hint=f"'{param.opts[0]}'")
