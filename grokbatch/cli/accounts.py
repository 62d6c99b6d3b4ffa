"""`grokbatch accounts …`: sign in once, keep the browser profile, list and remove it."""

from __future__ import annotations

import json

import typer

from grokbatch import accounts
from grokbatch.cli.command import Command
from grokbatch.config import DEFAULT_PAGE_LOAD_TIMEOUT_S

accounts_app = typer.Typer(
    help="Manage signed-in Grok accounts (browser profiles holding the session).",
    no_args_is_help=True,
)

_SIGN_IN_TIMEOUT_S = 600.0  # a person typing a password and a 2FA code


@accounts_app.command("add", cls=Command)
def add(
    alias: str = typer.Argument(..., help="A short name for the account, e.g. 'main'."),
    url: str = typer.Option(accounts.DEFAULT_SITE_URL, help="Where to sign in."),
    headless: bool = typer.Option(
        False, "--headless", help="No window (only useful with a site that signs in by itself)."
    ),
    timeout: float = typer.Option(
        _SIGN_IN_TIMEOUT_S, help="Seconds to wait for the sign-in to finish (at most 3600)."
    ),
    browser_path: str | None = typer.Option(
        None, "--browser-path", envvar="GROKBATCH_BROWSER", help="Chromium/Chrome executable."
    ),
) -> None:
    """Open a browser, let you sign in, and keep the signed-in profile as ALIAS."""
    account = accounts.add_account(
        alias,
        url=url,
        headless=headless,
        timeout_s=timeout,
        page_load_timeout_s=DEFAULT_PAGE_LOAD_TIMEOUT_S,
        browser_path=browser_path,
    )
    typer.echo(f"account {account.alias} is signed in; profile kept at {account.profile_dir}")


@accounts_app.command("import", cls=Command)
def import_(
    alias: str = typer.Argument(..., help="A short name for the account."),
    from_chrome_profile: str = typer.Option(  # a str: Typer would read "" as "."
        ...,
        "--from-chrome-profile",
        help="A Chrome/Chromium user-data directory that is signed in to grok.com.",
    ),
    url: str = typer.Option(accounts.DEFAULT_SITE_URL, help="The site the profile signs in to."),
) -> None:
    """Copy an existing, signed-in Chrome profile as ALIAS (close Chrome first)."""
    account = accounts.import_account(alias, from_chrome_profile, url=url)
    typer.echo(f"account {account.alias} imported; profile kept at {account.profile_dir}")
    if not account.looks_signed_in:
        typer.echo(f"grokbatch: warning: the profile holds no session for {account.site_url}: "
                   "a run would stop as signed out (sign in with `grokbatch accounts add "
                   f"{account.alias}` after `accounts remove`, or import a signed-in "
                   "profile)", err=True)


@accounts_app.command("list", cls=Command)
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List accounts: alias, created, last used, and whether the session looks signed in."""
    rows = accounts.list_accounts()
    if as_json:
        typer.echo(json.dumps([row.to_json() for row in rows], indent=2))
        return
    if not rows:
        typer.echo("no accounts yet: add one with `grokbatch accounts add ALIAS`")
        return
    typer.echo(f"{'ALIAS':<20} {'CREATED':<20} {'LAST USED':<20} SIGNED IN")
    for row in rows:
        typer.echo(
            f"{row.alias:<20} {row.created_at[:19]:<20} {(row.last_used_at or '-')[:19]:<20} "
            f"{'yes' if row.looks_signed_in else 'no'}"
        )


@accounts_app.command("remove", cls=Command)
def remove(alias: str = typer.Argument(..., help="The account to delete.")) -> None:
    """Delete an account's profile and metadata (refused, exit 4, while a run uses it)."""
    accounts.remove_account(alias)
    typer.echo(f"account {alias} removed")
