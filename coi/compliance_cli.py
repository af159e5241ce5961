"""Compliance commands: ``coi vendor ...``, ``coi report ...``, ``coi notices``,
``coi evaluate`` and ``coi profiles``.

Registered on the main app by :mod:`coi.cli`.  Every command that changes what a vendor's
status depends on (adding vendors, deciding a match) re-evaluates at once, so what it prints
is current; the reports evaluate as of today (or ``--as-of``) without writing anything.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from coi.cli import CliError, DbOption, db_url, err, handles_errors, open_db, out, settings

vendors = typer.Typer(no_args_is_help=True, help="The vendor registry.")
reports = typer.Typer(no_args_is_help=True, help="Compliance reports.")


class Fmt(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


FormatOption = Annotated[Fmt, typer.Option("--format", "-f", help="table, csv or json.")]
AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", metavar="YYYY-MM-DD", help="Evaluate as of this day (default today).",
    show_default=False)]


def register(app: typer.Typer) -> None:
    app.add_typer(vendors, name="vendor")
    app.add_typer(reports, name="report")
    app.command("notices")(notices)
    app.command("evaluate")(evaluate)
    app.command("profiles")(profiles)


def _day(as_of: str | None) -> dt.date | None:
    if as_of is None:
        return None
    try:
        return dt.date.fromisoformat(as_of)
    except ValueError:
        raise CliError(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)", 2) from None


def _profiles() -> dict[str, Any]:
    from compliance.service import profiles_or_error

    found, error = profiles_or_error(settings())
    if error:
        raise CliError(f"requirement profiles cannot be used:\n{error}")
    return found


def _refresh(url: str, *, quick: bool = True) -> dict[str, Any]:
    from compliance.service import refresh_and_notify

    result = refresh_and_notify(url, settings(), quick=quick)
    for c in result["changes"]:
        out.print(f"{escape(c['vendor'])}: {c['previous'] or 'new'} -> {c['status']}")
    for w in result["warnings"]:
        err.print(f"[yellow]warning:[/] {escape(w)}")
    if result["error"]:
        raise CliError(f"not evaluated: {result['error']}")
    return result


def _emit(rows: list[dict[str, Any]], fmt: Fmt, columns: list[str], title: str) -> None:
    if fmt is Fmt.json:
        out.print_json(json.dumps(rows, default=str))
        return
    if fmt is Fmt.csv:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow(["; ".join(map(str, v)) if isinstance(v, list) else
                        ("" if v is None else v) for v in (r.get(c) for c in columns)])
        print(buf.getvalue(), end="")
        return
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c.replace("_", " "), overflow="fold")
    for r in rows:
        table.add_row(*[escape("\n".join(map(str, v)) if isinstance(v, list) else
                               ("" if v is None else str(v))) for v in
                        (r.get(c) for c in columns)])
    out.print(table)


# -- vendor --------------------------------------------------------------------------------

@vendors.command("add")
@handles_errors
def vendor_add(
    name: Annotated[str, typer.Argument(help="The vendor's name, as on its certificates.")],
    profile: Annotated[str | None, typer.Option(
        "--profile", "-p", help="Requirement profile (default COI_DEFAULT_PROFILE).",
        show_default=False)] = None,
    email: Annotated[str | None, typer.Option("--email", help="The vendor's contact.")] = None,
    db: DbOption = None,
) -> None:
    """Add a vendor; its certificates already read are attached and it is evaluated."""
    from compliance.registry import VendorError, add_vendor

    profile = profile or settings().default_profile
    known = _profiles()
    if profile not in known:
        raise CliError(f"no profile {profile!r} in {settings().requirements} "
                       f"(profiles: {', '.join(sorted(known)) or 'none'})")
    url = db_url(db)
    try:
        add_vendor(open_db(url, create=True), name, profile, email)
    except VendorError as exc:
        raise CliError(str(exc)) from None
    out.print(f"added vendor {escape(name)!r} (profile {profile})")
    _refresh(url)


@vendors.command("import")
@handles_errors
def vendor_import(
    file: Annotated[Path, typer.Argument(help="CSV with a header: name[,profile][,email].",
                                         exists=True, dir_okay=False)],
    update: Annotated[bool, typer.Option(
        "--update", help="Change profile and e-mail of vendors that exist already.")] = False,
    db: DbOption = None,
) -> None:
    """Add the vendors of a CSV file; nothing is added when any row is wrong.  With
    --update, a blank profile or e-mail keeps the vendor's current one."""
    from compliance.registry import VendorError, add_vendors

    known = _profiles()
    rows, problems = _read_vendor_csv(file, known)
    default = settings().default_profile
    if not update and default not in known and any(r.profile is None for r in rows):
        problems.append(f"rows without a profile get COI_DEFAULT_PROFILE={default!r}, which "
                        f"is not a profile (profiles: {', '.join(sorted(known)) or 'none'})")
    if problems:
        raise CliError(f"{file}: nothing imported:\n" + "\n".join(problems))
    url = db_url(db)
    try:
        added, changed = add_vendors(open_db(url, create=True), rows,
                                     default_profile=default, update=update)
    except VendorError as exc:
        raise CliError(f"{file}: nothing imported:\n{exc}") from None
    out.print(f"{added} vendors added, {changed} updated, from {file}")
    _refresh(url)


def _read_vendor_csv(file: Path, known: dict[str, Any]) -> tuple[list[Any], list[str]]:
    from compliance.registry import VendorRow

    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel's "CSV" (not "CSV UTF-8") is Windows-1252; anything else is refused there.
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise CliError(f"{file} is neither UTF-8 nor Windows-1252 text; save it as "
                           "CSV UTF-8") from None
    try:
        dialect: Any = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader, [])]
    if "name" not in header:
        raise CliError(f"{file}: the first line must be a header with a 'name' column "
                       f"(and optionally 'profile' and 'email'); found {header or 'nothing'}")
    unknown = {h for h in header if h} - {"name", "profile", "email"}
    if unknown:
        raise CliError(f"{file}: unknown columns {sorted(unknown)}; use name, profile, email")
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise CliError(f"{file}: the header names {', '.join(twice)} more than once")
    col = {h: i for i, h in enumerate(header) if h}
    rows, problems, seen = [], [], {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            i = col.get(name)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        name, profile, email = " ".join(cell("name").split()), cell("profile"), cell("email")
        extra = [c for i, c in enumerate(cells) if c.strip() and (i >= len(header)
                                                                   or not header[i])]
        if extra:
            # "Acme Roofing, LLC" unquoted: the comma split the name and shifted the rest
            problems.append(f"line {line}: more values than columns ({extra[0]!r}); quote a "
                            "name that contains the separator")
        elif not name:
            problems.append(f"line {line}: no name")
        elif name.casefold() in seen:
            problems.append(f"line {line}: {name!r} again (first on line {seen[name.casefold()]})")
        elif profile and profile not in known:
            problems.append(f"line {line}: {name!r}: no profile {profile!r} "
                            f"(profiles: {', '.join(sorted(known)) or 'none'})")
        seen.setdefault(name.casefold(), line)
        rows.append(VendorRow(name, profile or None, email or None, line))
    if not rows and not problems:
        problems.append("no vendors in the file")
    return rows, problems


@vendors.command("list")
@handles_errors
def vendor_list(fmt: FormatOption = Fmt.table, as_of: AsOfOption = None,
                db: DbOption = None) -> None:
    """Every vendor with its status and reasons."""
    _compliance(fmt, as_of, db)


@vendors.command("show")
@handles_errors
def vendor_show(
    ref: Annotated[str, typer.Argument(metavar="NAME|ID")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """A vendor's status, its carriers, policies and producer per line, its certificates."""
    from compliance.registry import VendorError
    from compliance.report import ReportError, vendor_detail

    try:
        d = vendor_detail(open_db(db_url(db), create=False), settings(), ref, _day(as_of))
    except (VendorError, ReportError) as exc:
        raise CliError(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(d, default=str))
        return
    from coi.compliance_show import print_vendor

    print_vendor(out, d)


@vendors.command("matches")
@handles_errors
def vendor_matches(fmt: FormatOption = Fmt.table, db: DbOption = None) -> None:
    """Certificates whose vendor is uncertain: decide with `coi vendor attach`."""
    from compliance.report import review_matches

    rows = review_matches(open_db(db_url(db), create=False))
    if not rows and fmt is Fmt.table:
        out.print("no matches wait for review")
        return
    _emit(rows, fmt, ["certificate_id", "insured_name", "candidate", "score", "file"],
          "Matches for review")


@vendors.command("attach")
@handles_errors
def vendor_attach(
    certificate: Annotated[int, typer.Argument(metavar="CERTIFICATE_ID")],
    vendor: Annotated[str | None, typer.Argument(
        metavar="[NAME|ID]", help="The vendor; leave out to say it belongs to none.",
        show_default=False)] = None,
    by: Annotated[str, typer.Option("--by", help="Who decides (kept with the match).")]
    = "cli",
    not_candidate: Annotated[bool, typer.Option(
        "--not-candidate", help="Not the proposed vendor's: keep matching among the others "
        "(new vendors included) instead of deciding for good.")] = False,
    db: DbOption = None,
) -> None:
    """Decide which vendor a certificate belongs to, or that it is no vendor's (never
    matched again), or only that it is not the proposed vendor's (--not-candidate)."""
    from compliance.registry import VendorError, decide_match

    if not_candidate and vendor:
        raise CliError("--not-candidate takes no vendor", 2)
    url = db_url(db)
    try:
        decide_match(open_db(url, create=False), certificate, vendor, by,
                     not_candidate=not_candidate)
    except VendorError as exc:
        raise CliError(str(exc)) from None
    out.print(f"certificate {certificate}: " + (
        "not the proposed vendor's; matched again" if not_candidate else
        f"attached to {escape(vendor)}" if vendor else "belongs to no vendor"))
    _refresh(url)


# -- reports -------------------------------------------------------------------------------

def _compliance(fmt: Fmt, as_of: str | None, db: str | None) -> None:
    from compliance.report import ReportError, vendor_rows

    try:
        rows = vendor_rows(open_db(db_url(db), create=False), settings(), _day(as_of))
    except ReportError as exc:
        raise CliError(str(exc)) from None
    if not rows and fmt is Fmt.table:
        out.print("no vendors yet (see `coi vendor add` and `coi vendor import`)")
        return
    _emit(rows, fmt, ["vendor", "profile", "status", "reasons", "certificates",
                      "next_expiration"], f"Compliance as of {(_day(as_of) or dt.date.today())}")


@reports.command("compliance")
@handles_errors
def report_compliance(fmt: FormatOption = Fmt.table, as_of: AsOfOption = None,
                      db: DbOption = None) -> None:
    """Each vendor's status with its reasons, most serious first."""
    _compliance(fmt, as_of, db)


@reports.command("expiring")
@handles_errors
def report_expiring(
    days: Annotated[int, typer.Option("--days", min=0, help="Window in days.")] = 30,
    fmt: FormatOption = Fmt.table, as_of: AsOfOption = None, db: DbOption = None,
) -> None:
    """Policies in force that end within --days, soonest first."""
    from compliance.report import expiring_rows

    rows = expiring_rows(open_db(db_url(db), create=False), days, _day(as_of))
    for r in rows:
        r["vendor"] = r["vendor"] or ("(vendor to review)" if r["match"] == "review"
                                      else "(no vendor)")
    _emit(rows, fmt, ["expiration_date", "days_left", "vendor", "insured", "line",
                      "policy_number", "carrier", "naic", "certificate_id"],
          f"Policies ending within {days} days")


class NoticeState(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


@handles_errors
def notices(
    state: Annotated[NoticeState | None, typer.Option("--state", help="Only these.")] = None,
    fmt: FormatOption = Fmt.table, db: DbOption = None,
) -> None:
    """The notices of status changes and whether they were delivered."""
    from compliance.notify import list_notices

    rows = list_notices(open_db(db_url(db), create=False), state.value if state else None)
    _emit(rows, fmt, ["id", "created_at", "vendor", "previous", "status", "channel", "target",
                      "state", "attempts", "last_error"], "Notices")


@handles_errors
def evaluate(db: DbOption = None) -> None:
    """Re-evaluate every vendor now and send the notices that are due (with retries)."""
    result = _refresh(db_url(db), quick=False)
    out.print(f"{result['vendors']} vendors evaluated, {len(result['changes'])} changed; "
              f"notices: {result['sent']} sent, {result['failed']} failed, "
              f"{result['pending']} pending")


@handles_errors
def profiles() -> None:
    """Check the requirement profiles (COI_REQUIREMENTS) and list them."""
    known = _profiles()
    if not known:
        out.print(f"no profiles in {settings().requirements}")
        return
    for name, p in sorted(known.items()):
        lines = ", ".join(r.name for r in p.lines)
        out.print(f"{name} ({p.path}): {lines}; expiring {p.expiring_days} days before")
