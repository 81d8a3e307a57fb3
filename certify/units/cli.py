"""`certify units ...`: import, list and export units of competency."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from certify.accounts.models import Provider
from certify.extensions import db
from certify.units import operations, queries
from certify.units.forms import GROUP_EXAMPLE, parse_groups, split_codes
from certify.units.importers import DocumentError
from certify.units.importers import case as case_format
from certify.units.models import Framework, Qualification, QualificationUnit, Unit


@click.group("units")
def units_group() -> None:
    """The competency catalogue."""


def read_limited(path: Path, limit: int) -> bytes:
    """Read a document of at most ``limit`` bytes, refusing larger ones before reading them."""
    size = path.stat().st_size
    if size > limit:
        raise DocumentError(
            f"the file is {size:,} bytes; documents larger than {limit:,} bytes are refused "
            "(CERTIFY_MAX_IMPORT_MB)",
            source=path.name,
        )
    return path.read_bytes()


def import_paths(paths: list[Path]) -> tuple[list[operations.ImportReport], list[str]]:
    """Import each file on its own: a file is stored whole or not at all."""
    limit = current_app.config["MAX_IMPORT_MB"] * 1024 * 1024
    reports, errors = [], []
    for path in paths:
        session = db.session
        try:
            data = read_limited(path, limit)
            report = operations.import_file(session, data, path.name, via="cli")
            session.commit()
            reports.append(report)
        except DocumentError as error:
            session.rollback()
            errors.append(str(error.located(path.name)))
        except OSError as error:
            session.rollback()
            errors.append(f"{path}: cannot be read ({error.strerror or error})")
    return reports, errors


@units_group.command("import")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@with_appcontext
def import_command(paths: tuple[Path, ...]) -> None:
    """Import standards documents (HK QF, SFIA, capability pages, CASE JSON).

    The format is detected from each file's content.  Each file is imported
    whole or not at all; importing the same document again changes nothing.
    """
    reports, errors = import_paths(list(paths))
    for report in reports:
        click.echo(f"{report.source}: {report.format}, framework {report.framework}, "
                   f"language {report.language}")
        for outcome in report.outcomes:
            click.echo(f"  {outcome.code} v{outcome.version}: {outcome.action}")
    for error in errors:
        click.echo(f"error: {error}", err=True)
    if errors:
        raise SystemExit(1)


@units_group.command("list")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table")
@click.option("--framework", "framework_code", help="Only this framework's units (code).")
@click.option("--all-versions", is_flag=True, help="Include superseded versions.")
@click.option("--search", "term", default="", help="Code or title contains this.")
@with_appcontext
def list_command(output: str, framework_code: str | None, all_versions: bool, term: str) -> None:
    """List units with framework, code, version, title, level and credits."""
    units = db.session.scalars(
        queries.unit_search(term, framework_code, include_superseded=all_versions)
    ).all()
    rows = [
        {
            "framework": unit.framework.code,
            "code": unit.code,
            "version": unit.version,
            "title": unit.title,
            "level": unit.level,
            "credits": unit.credits,
            "status": unit.status.value,
        }
        for unit in units
    ]
    if output == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No units. Import some with: certify units import PATH...")
        return
    for row in rows:
        credits = "-" if row["credits"] is None else row["credits"]
        level = "-" if row["level"] is None else row["level"]
        click.echo(
            f"{row['framework']:<8} {row['code']:<12} v{row['version']:<3} L{level:<2} "
            f"{credits!s:>3} cr  {row['title']}"
        )


@units_group.command("export")
@click.argument("code")
@click.option("--format", "output", type=click.Choice(["case"]), default="case",
              help="Export format (CASE 1.1 JSON).")
@click.option("--version", "version", type=int, help="Unit version (default: current).")
@click.option("--framework", "framework_code", help="Framework code, where codes repeat.")
@click.option("--language", help="Export this translation instead of the unit's own text.")
@click.option("-o", "--output-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of standard output.")
@with_appcontext
def export_command(code, output, version, framework_code, language, output_file) -> None:
    """Export one unit as a CASE 1.1 CFPackage (JSON)."""
    units = queries.find_unit(db.session, code, version, framework_code)
    if not units:
        known = db.session.scalar(select(Unit.id).where(Unit.code == code).limit(1))
        what = f"version {version} of {code}" if version and known else code
        raise click.ClickException(f"no unit {what} in the catalogue")
    if len(units) > 1:
        raise click.ClickException(
            f"{code} exists in several frameworks ({', '.join(u.framework.code for u in units)}); "
            "choose one with --framework"
        )
    try:
        package = case_format.export_unit(units[0], language=language)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    text = json.dumps(package, ensure_ascii=False, indent=2) + "\n"
    if output_file:
        output_file.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output_file}", err=True)
    else:
        click.echo(text, nl=False)


def _provider_by_slug(slug: str) -> Provider:
    provider = db.session.scalar(select(Provider).where(Provider.slug == slug))
    if provider is None:
        raise click.ClickException(f"no provider with the slug {slug!r}")
    return provider


@units_group.command("qualifications")
@click.argument("slug")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table")
@with_appcontext
def qualifications_command(slug: str, output: str) -> None:
    """List a provider's qualifications (by the provider's slug) with their units and rules."""
    provider = _provider_by_slug(slug)
    found = db.session.scalars(
        select(Qualification)
        .options(joinedload(Qualification.framework),
                 selectinload(Qualification.members).joinedload(QualificationUnit.unit),
                 selectinload(Qualification.groups))
        .where(Qualification.provider_id == provider.id)
        .order_by(Qualification.withdrawn_at.is_not(None), Qualification.code)
    ).all()
    rows = []
    for qualification in found:
        rules = operations.qualification_rules(qualification)
        rows.append({
            "code": qualification.code,
            "title": qualification.title,
            "framework": qualification.framework.code,
            "level": qualification.level,
            "core": [unit.code for unit in rules.core],
            "groups": [{"title": g.title, "choose": g.choose, "units": [u.code for u in g.units]}
                       for g in rules.groups],
            "min_credits": qualification.min_credits,
            "min_credits_at_level": qualification.min_credits_at_level,
            "at_level": qualification.at_level,
            "guaranteed_credits": rules.guaranteed_credits,
            "validity_months": qualification.validity_months,
            "status": "withdrawn" if qualification.withdrawn_at else "in use",
        })
    if output == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(f"{provider.name} has no qualifications. Define one at /qualifications/new "
                   "or with: certify units qualification-create")
        return
    for row in rows:
        units = len(row["core"]) + sum(len(g["units"]) for g in row["groups"])
        click.echo(f"{row['code']:<16} {row['framework']:<6} L{row['level']:<2} "
                   f"{units:>3} units  >= {row['guaranteed_credits']:>3} cr  "
                   f"{row['status']:<9}  {row['title']}")


@units_group.command("qualification-create")
@click.argument("slug")
@click.option("--framework", "framework_code", required=True, help="Framework code, e.g. HKQF.")
@click.option("--code", required=True, help="The qualification's code.")
@click.option("--title", required=True, help="The award title, e.g. 'Diploma in ...'.")
@click.option("--level", type=int, required=True)
@click.option("--description", default=None)
@click.option("--core", "core", default="", help="Core unit codes, separated by commas.")
@click.option("--group", "groups", multiple=True,
              help=f"An elective group, as '{GROUP_EXAMPLE}'; repeat for more.")
@click.option("--min-credits", type=int, default=0)
@click.option("--min-credits-at-level", type=int, default=0)
@click.option("--at-level", type=int, default=None)
@click.option("--validity-months", type=int, default=None)
@with_appcontext
def qualification_create_command(slug, framework_code, code, title, level, description, core,
                                 groups, min_credits, min_credits_at_level, at_level,
                                 validity_months) -> None:
    """Define a qualification of the provider SLUG, checked as in the browser."""
    provider = _provider_by_slug(slug)
    framework = db.session.scalar(select(Framework).where(Framework.code == framework_code))
    parsed, problems = parse_groups("\n".join(groups))
    if framework is None:
        problems.append(f"framework: no framework with the code {framework_code}")
    if problems:
        for problem in problems:
            click.echo(f"error: {problem.replace('Elective groups, line', '--group')}", err=True)
        raise SystemExit(1)
    try:
        qualification = operations.create_qualification(
            db.session, provider, framework=framework, code=code, title=title, level=level,
            description=description, core_codes=split_codes(core), groups=parsed,
            min_credits=min_credits, min_credits_at_level=min_credits_at_level,
            at_level=at_level, validity_months=validity_months, actor=None,
        )
    except operations.QualificationInvalid as error:
        db.session.rollback()
        for name, messages in error.errors.items():
            for message in messages:
                click.echo(f"error: {name}: {message}", err=True)
        raise SystemExit(1) from None
    db.session.commit()
    rules = operations.qualification_rules(qualification)
    click.echo(f"{qualification.code} {qualification.title}: {len(rules.units)} units, at least "
               f"{rules.guaranteed_credits} credits")
