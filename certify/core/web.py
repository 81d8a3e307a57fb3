"""What every response shares: security headers, error pages, pagination."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import Flask, render_template, request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

# No inline script or style anywhere: templates load /static files only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@dataclass
class Page:
    """One page of a query's results, with what templates need to link the others."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.page * self.per_page, self.total)


def requested_page() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def paginate(session: Session, query: Select, page: int, per_page: int) -> Page:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page = min(page, max(1, math.ceil((total or 0) / per_page)))
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, page=page, per_page=per_page, total=total or 0)


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in every route: a number a database key can hold (PostgreSQL's integer),
    so a huge id in an address is "not found", never a database error."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    # Before any blueprint is registered: rules pick their converter when they are added.
    app.url_map.converters["int"] = RowIdConverter

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response

    def _error(code: int, title: str, message: str):
        def handler(_exc):
            return (
                render_template("core/error.html", code=code, title=title, message=message),
                code,
            )

        return handler

    for code, title, message in (
        (400, "Bad request", "The request could not be understood. Go back and try again."),
        (404, "Not found", "There is nothing at this address."),
        (405, "Not allowed", "This address does not accept that kind of request."),
        (413, "Too large", "The file is larger than this site accepts."),
        (500, "Something went wrong", "The error has been logged. Please try again later."),
    ):
        app.register_error_handler(code, _error(code, title, message))
