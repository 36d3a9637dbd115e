"""``/console``: server-rendered pages (Jinja2, SVG charts) behind a cookie login.

Reads go through ``queries`` scoped to the viewer's stores; the one change a page makes
(erasure) needs the admin role and the session's CSRF token, and lands in the audit log.
The pages are for people, so they stay out of the OpenAPI document that machines use.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Cookie, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker

from cloud_sync.hq import crud, empty, reports
from cloud_sync.hq.console import accounts, charts, i18n, queries
from cloud_sync.hq.console.accounts import Viewer
from cloud_sync.hq.core.config import Settings
from cloud_sync.hq.models import Member

HERE = Path(__file__).parent
COOKIE = "o2o_console"
LANG_COOKIE = "o2o_console_lang"
DEFAULT_MIN_TRIES = 3
DEFAULT_MAX_CONVERSION_PCT = 20

router = APIRouter(prefix="/console", include_in_schema=False)
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


class LoginNeeded(Exception):
    """No (valid) session: the page answers with the login form's address."""


class PageError(Exception):
    """A page that cannot be shown to this viewer: rendered as a page, not JSON."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def _now() -> datetime:
    return datetime.now(UTC)


def _sessions(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(_sessions)]


def _viewer(session: SessionDep, o2o_console: Annotated[str | None, Cookie()] = None) -> Viewer:
    viewer = accounts.current_viewer(session, o2o_console, _now()) if o2o_console else None
    if viewer is None:
        raise LoginNeeded
    return viewer


ViewerDep = Annotated[Viewer, Depends(_viewer)]


def _lang(request: Request) -> str:
    return i18n.pick_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def _render(
    request: Request,
    name: str,
    viewer: Viewer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = _lang(request)

    def t(key: str, **values: Any) -> str:
        return i18n.translate(lang, key, **values)

    def with_lang(code: str) -> str:
        params = dict(request.query_params) | {"lang": code}
        return f"{request.url.path}?{urlencode(params)}"

    page = _templates.get_template(name).render(
        t=t,
        lang=lang,
        languages=i18n.LANGUAGE_NAMES,
        with_lang=with_lang,
        viewer=viewer,
        path=request.url.path,
        query=dict(request.query_params),
        fmt_money=lambda v: f"{float(v or 0):,.2f}",
        fmt_pct=lambda v: "–" if v is None else f"{100 * float(v):.1f}%",
        fmt_time=lambda v: "" if v is None else crud.as_utc(v).strftime("%Y-%m-%d %H:%M UTC"),
        **context,
    )
    response = HTMLResponse(page, status_code=status_code)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    # Member data must not linger in shared caches or the back button of a shared laptop.
    response.headers["Cache-Control"] = "no-store"
    return response


def _check_csrf(viewer: Viewer, token: str) -> None:
    if token != viewer.csrf_token:
        raise PageError(403, "The form expired: go back and reload the page")


# --- login ------------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str = "/console") -> HTMLResponse:
    return _render(request, "login.html", None, next=_safe_next(next), error=None)


def _safe_next(target: str) -> str:
    # Only back into the console: never an open redirect to another site.
    return target if target.startswith("/console") and "//" not in target else "/console"


@router.post("/login")
def log_in(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=500)] = "/console",
) -> Response:
    address = request.client.host if request.client else "unknown"
    try:
        made = accounts.log_in(
            session,
            request.app.state.counters_engine,
            username=username,
            password=password,
            address=address,
            now=_now(),
        )
    except accounts.LoginRefused as refused:
        response = _render(
            request,
            "login.html",
            None,
            status_code=429 if refused.retry_after_s else 401,
            next=_safe_next(next),
            error=str(refused),
            username=username,
        )
        if refused.retry_after_s:
            response.headers["Retry-After"] = str(refused.retry_after_s)
        return response
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    redirect.set_cookie(
        COOKIE,
        made.token,
        max_age=int(accounts.SESSION_TTL.total_seconds()),
        httponly=True,
        secure=request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https",
        samesite="lax",
        path="/console",
    )
    return redirect


@router.post("/logout")
def log_out(
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Annotated[str, Form()] = "",
    o2o_console: Annotated[str | None, Cookie()] = None,
) -> Response:
    _check_csrf(viewer, csrf)
    if o2o_console:
        accounts.log_out(session, o2o_console)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("/static/{name}")
def asset(name: str) -> FileResponse:
    if name not in {"console.css"}:
        raise HTTPException(status_code=404, detail="Not found")
    return FileResponse(HERE / "static" / name, headers={"Cache-Control": "max-age=300"})


# --- shared filters ---------------------------------------------------------------------------


def _period_and_stores(
    session: Session, viewer: Viewer, raw_from: str | None, raw_to: str | None, store: str | None
) -> tuple[queries.Period, frozenset[str] | None, date | None]:
    latest = empty.latest_day(session, viewer.stores)
    default_to = latest if latest is not None else _now().date()
    period = queries.parse_period(raw_from, raw_to, default_to=default_to)
    return period, queries.scope_stores(session, viewer.stores, store), latest


@dataclass(frozen=True, slots=True)
class PeriodParams:
    """The period and store a page is filtered by, as the query string gives them."""

    day_from: str | None
    day_to: str | None
    store: str | None


def _period_params(
    day_from: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    day_to: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    store: Annotated[str | None, Query(max_length=64)] = None,
) -> PeriodParams:
    return PeriodParams(day_from, day_to, store)


PeriodQ = Annotated[PeriodParams, Depends(_period_params)]


@dataclass(frozen=True, slots=True)
class ProductParams:
    """The products page's filters (and its CSV's)."""

    period: PeriodParams
    category: str | None
    size: str | None
    min_tries: int
    max_conversion: float
    """Percent."""


def _product_params(
    period: PeriodQ,
    category: Annotated[str | None, Query(max_length=100)] = None,
    size: Annotated[str | None, Query(max_length=20)] = None,
    min_tries: Annotated[int, Query(ge=1, le=1_000_000)] = DEFAULT_MIN_TRIES,
    max_conversion: Annotated[float, Query(ge=0, le=100)] = DEFAULT_MAX_CONVERSION_PCT,
) -> ProductParams:
    return ProductParams(period, category or None, size or None, min_tries, max_conversion)


ProductQ = Annotated[ProductParams, Depends(_product_params)]


def _error_page(request: Request, viewer: Viewer, message: str) -> HTMLResponse:
    return _render(request, "error.html", viewer, status_code=400, message=message)


# --- pages ------------------------------------------------------------------------------------


@router.get("")
def overview(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    params: PeriodQ,
) -> HTMLResponse:
    store = params.store
    try:
        period, stores, latest = _period_and_stores(
            session, viewer, params.day_from, params.day_to, store
        )
    except queries.FilterError as error:
        return _error_page(request, viewer, str(error))
    today = _now().date()
    data = queries.overview(session, period=period, stores=stores)
    today_data = queries.overview(session, period=queries.Period(today, today), stores=stores)[
        "totals"
    ]
    lang = _lang(request)

    def t(key: str) -> str:
        return i18n.translate(lang, key)

    days = [d["day"] for d in data["days"]]
    trend = charts.line_chart(
        days,
        [
            (t("visitors"), [d["visitors"] for d in data["days"]]),
            (t("tryons"), [d["tryons"] for d in data["days"]]),
            (t("sales"), [d["sales"] for d in data["days"]]),
        ],
        title=t("per_day"),
    )
    revenue_bars = charts.bar_chart(
        [(s["name"], s["revenue"]) for s in data["stores"]],
        title=t("revenue"),
        value_format="{:,.2f}",
    )
    empty = not any(data["totals"][k] for k in ("visitors", "tryons", "sales", "members"))
    return _render(
        request,
        "overview.html",
        viewer,
        period=period,
        store=store or "",
        stores_list=queries.visible_stores(session, viewer.stores),
        data=data,
        today=today,
        today_data=today_data,
        latest=latest,
        empty=empty,
        trend=Markup(trend),
        revenue_bars=Markup(revenue_bars),
        health=queries.store_health(session, stores=stores, now=_now()),
    )


def _product_filters(
    session: Session, viewer: Viewer, params: ProductParams
) -> tuple[queries.Period, frozenset[str] | None, date | None, tuple[list[str], list[str]]]:
    """The page's period and stores, checked filters, and the categories and sizes there are
    (the filter's choices)."""
    p = params.period
    period, stores, latest = _period_and_stores(session, viewer, p.day_from, p.day_to, p.store)
    categories, sizes = queries.categories_and_sizes(session)
    if params.category and params.category not in categories:
        raise queries.FilterError(f"There is no category {params.category[:100]!r}")
    if params.size and params.size not in sizes:
        raise queries.FilterError(f"There is no size {params.size[:20]!r}")
    return period, stores, latest, (categories, sizes)


@router.get("/products")
def products(
    request: Request, viewer: ViewerDep, session: SessionDep, params: ProductQ
) -> HTMLResponse:
    try:
        period, stores, latest, (categories, sizes) = _product_filters(session, viewer, params)
    except queries.FilterError as error:
        return _error_page(request, viewer, str(error))
    category, size = params.category, params.size
    rows = queries.products(session, period=period, stores=stores, category=category, size=size)
    flagged = queries.tried_often_bought_rarely(
        rows, min_tries=params.min_tries, max_conversion=params.max_conversion / 100
    )
    trends = queries.daily_tries(
        session, period=period, stores=stores, gtins=[r["gtin"] for r in flagged[:50]]
    )
    lang = _lang(request)

    def bars(group: reports.ConversionGroup, title: str) -> Markup:
        found = queries.conversion_by(
            session, group=group, period=period, stores=stores, category=category, size=size
        )
        return Markup(
            charts.bar_chart(
                [(r["key"], 100 * (r["conversion"] or 0)) for r in found],
                title=i18n.translate(lang, title),
                value_format="{:.1f}%",
            )
        )

    return _render(
        request,
        "products.html",
        viewer,
        period=period,
        latest=latest,
        store=params.period.store or "",
        category=category or "",
        size=size or "",
        min_tries=params.min_tries,
        max_conversion=params.max_conversion,
        stores_list=queries.visible_stores(session, viewer.stores),
        categories=categories,
        sizes=sizes,
        rows=rows,
        flagged=flagged,
        sparklines={g: Markup(charts.sparkline(v)) for g, v in trends.items()},
        category_bars=bars(reports.ConversionGroup.CATEGORY, "by_category"),
        store_bars=bars(reports.ConversionGroup.STORE, "by_store"),
        csv_query=urlencode({k: v for k, v in request.query_params.items() if k != "lang"}),
    )


PRODUCT_CSV_COLUMNS = (
    "gtin", "name", "category", "size", "colour", "tries", "purchases", "conversion",
    "units_sold", "revenue",
)  # fmt: skip


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


@router.get("/products.csv")
def products_csv(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    params: ProductQ,
    only: Annotated[str | None, Query(pattern="^(tobr)$")] = None,
) -> Response:
    """The products table as shown (same filters); ``only=tobr``: the flagged list."""
    try:
        period, stores, _latest, _choices = _product_filters(session, viewer, params)
    except queries.FilterError as error:
        return _error_page(request, viewer, str(error))
    rows = queries.products(
        session, period=period, stores=stores, category=params.category, size=params.size
    )
    if only == "tobr":
        rows = queries.tried_often_bought_rarely(
            rows, min_tries=params.min_tries, max_conversion=params.max_conversion / 100
        )
    name = f"products-{period.day_from}-{period.day_to}{'-' + only if only else ''}.csv"
    return _csv(rows, PRODUCT_CSV_COLUMNS, name)


@router.get("/members")
def members(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    found = queries.find_members(session, query=q, stores=viewer.stores)
    if len(found) == 1:
        return RedirectResponse(f"/console/members/{quote(found[0].id)}", status_code=303)
    return _render(request, "members.html", viewer, q=q, found=found)


def _visible_member(session: Session, viewer: Viewer, member_id: str) -> Member:
    member = session.get(Member, member_id)
    # Not visible is answered as not found: a store manager learns nothing of other members.
    if member is None or not queries.member_visible(member, viewer.stores):
        raise PageError(404, f"No member {member_id[:40]!r}")
    return member


@router.get("/members/{member_id}")
def member_page(
    request: Request, member_id: str, viewer: ViewerDep, session: SessionDep
) -> HTMLResponse:
    member = _visible_member(session, viewer, member_id)
    detail = queries.member_detail(session, member=member, stores=viewer.stores)
    return _render(
        request,
        "member.html",
        viewer,
        d=detail,
        error=request.query_params.get("error"),
    )


@router.post("/members/{member_id}/erase")
async def erase_member(
    request: Request,
    member_id: str,
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    _check_csrf(viewer, csrf)
    if not viewer.can_change:
        raise PageError(403, "Only an admin can erase a member")
    member = await run_in_threadpool(_visible_member, session, viewer, member_id)
    target = f"/console/members/{quote(member.id)}"
    if confirm.strip() != member.id:
        return RedirectResponse(f"{target}?error=erase_mismatch", status_code=303)
    settings: Settings = request.app.state.settings
    now = _now()
    await run_in_threadpool(
        crud.erase_member, session, member_id=member.id, actor=viewer.actor, now=now
    )
    if settings.personal_data_retention_days == 0:
        await run_in_threadpool(crud.purge_erased, session, retention_days=0, now=now)
    return RedirectResponse(target, status_code=303)


@router.get("/segments")
def segments(request: Request, viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
    data = queries.segments(session, stores=viewer.stores)
    top = max((c["members"] for c in data["grid"].values()), default=0) or 1
    return _render(request, "segments.html", viewer, data=data, top=top)


@router.get("/segments/{segment}.csv")
def segment_csv(segment: str, viewer: ViewerDep, session: SessionDep) -> Response:
    """A segment's member ids for a campaign (as of the last segments snapshot)."""
    ids = reports.segment_members(
        session, segment_name=segment[:40], home_stores=viewer.stores, limit=1_000_000
    )
    rows = [{"member_id": m, "segment": segment[:40]} for m in ids]
    return _csv(rows, ("member_id", "segment"), f"segment-{segment[:40]}.csv")


@router.get("/stores")
def stores(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    params: PeriodQ,
) -> HTMLResponse:
    try:
        period, stores, latest = _period_and_stores(
            session, viewer, params.day_from, params.day_to, params.store
        )
    except queries.FilterError as error:
        return _error_page(request, viewer, str(error))
    settings: Settings = request.app.state.settings
    rows = queries.stores_page(session, period=period, stores=stores, settings=settings)
    lang = _lang(request)
    return _render(
        request,
        "stores.html",
        viewer,
        period=period,
        latest=latest,
        rows=rows,
        reservations=queries.reserve_to_buy(session, period=period, stores=stores),
        pct=settings.revenue_share_pct,
        store_map=Markup(
            charts.store_map(
                [(r["name"], r["latitude"], r["longitude"], r["attributed"]) for r in rows],
                title=i18n.translate(lang, "map"),
            )
        ),
    )


@router.get("/notifications")
def notifications(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    failed: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    return _render(
        request,
        "notifications.html",
        viewer,
        failed=failed,
        rows=queries.deliveries(session, stores=viewer.stores, failed_only=failed),
        counts=queries.notification_counts(session, stores=viewer.stores),
    )


@router.get("/catalog")
def catalog(request: Request, viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
    return _render(
        request,
        "catalog.html",
        viewer,
        data=queries.catalog_and_models(session, stores=viewer.stores),
    )


def install(app: FastAPI) -> None:
    """Mount the console on the HQ app: its routes and the login redirect."""
    app.include_router(router)

    @app.exception_handler(LoginNeeded)
    async def _login(request: Request, _exc: LoginNeeded) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/console"
        return RedirectResponse(f"/console/login?{urlencode({'next': target})}", status_code=303)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        return _render(request, "error.html", None, status_code=exc.status_code, message=str(exc))
