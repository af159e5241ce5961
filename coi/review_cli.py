"""``coi review`` (the review page) and ``coi user add`` (reviewer accounts).

Registered on the main app by :mod:`coi.cli` (``register(app)``, at the end of that module).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from coi.cli import CliError, DbOption, db_url, err, handles_errors, open_db, out

users = typer.Typer(no_args_is_help=True, help="Reviewer accounts.")


def register(app: typer.Typer) -> None:
    app.add_typer(users, name="user")

    @app.command()
    @handles_errors
    def review(
        db: DbOption = None,
        host: Annotated[str, typer.Option("--host", help="Address to listen on.")]
        = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    ) -> None:
        """Serve the review page (sign in with an account from `coi user add`)."""
        import uvicorn

        from review.app import create_app

        url = db_url(db)
        open_db(url, create=True).dispose()
        app = create_app(url, secure_cookies=False)
        err.print(f"review page on http://{host}:{port}/ (Ctrl-C stops)")
        uvicorn.run(app, host=host, port=port, log_level="warning")


@users.command("add")
@handles_errors
def user_add(
    name: Annotated[str, typer.Argument(help="The reviewer's sign-in name.")],
    db: DbOption = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input (for scripts).")]
    = False,
) -> None:
    """Add a reviewer; the password is asked twice (or read from standard input)."""
    from models.users import UserExistsError, add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = open_db(db_url(db), create=True)
    try:
        add_user(engine, name, password)
    except (UserExistsError, ValueError) as exc:
        raise CliError(str(exc)) from None
    out.print(f"added reviewer {name!r}")
