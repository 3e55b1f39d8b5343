"""Least privilege on PostgreSQL: the service role gets exactly the grants it needs, nothing more.

Migrations run as an owner role (TELEHEALTH_DATABASE_OWNER_URL); the service connects as another
role (TELEHEALTH_DATABASE_URL) that owns nothing. Owning nothing, it cannot ALTER or DROP a table,
disable a trigger or TRUNCATE; not being a superuser, it cannot switch triggers off with
session_replication_role. The guarded tables grant it only SELECT and INSERT, and signed note rows
are refused by triggers it cannot disable.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

# History: rows are appended, never rewritten. visit_notes keeps UPDATE/DELETE for drafts; its
# triggers refuse both on signed rows. A note template edit is a new version row.
APPEND_ONLY_TABLES = (
    "audit_events",
    "audit_chain",
    "audit_checkpoints",
    "note_addenda",
    "note_templates",
    "screening_intakes",
    "screening_acknowledgements",
    "care_episodes",
    "care_plan_versions",
    "care_certifications",
    "care_episode_visits",
    "care_discharges",
    "measure_responses",
    "home_exercise_done",
    "home_session_logs",
)
# Read by the service to know the schema's revision, written only by migrations.
READ_ONLY_TABLES = ("alembic_version",)


class RoleError(RuntimeError):
    """The service role is missing privileges or holds ones that let it rewrite history."""


def service_role_name(database_url: str) -> str | None:
    """The role named in a PostgreSQL URL, or None (SQLite, or no user given)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.username


async def grant_service_role(owner_url: str, service_url: str) -> None:
    """Create the service role if missing and give it exactly the grants the service needs."""
    role = service_role_name(service_url)
    owner = service_role_name(owner_url)
    if role is None or owner is None:
        raise RoleError("both database URLs must be PostgreSQL URLs that name a user")
    if role == owner:
        raise RoleError("the service role must differ from the owner role that runs migrations")
    password = make_url(service_url).password
    engine = create_async_engine(owner_url)
    try:
        async with engine.begin() as conn:
            await _ensure_role(conn, role, None if password is None else str(password))
            for statement in await _grant_statements(conn, role):
                await conn.execute(text(statement))
        async with engine.connect() as conn:
            problems = await role_problems(conn, role)
    finally:
        await engine.dispose()
    if problems:
        raise RoleError(f"service role {role!r}: " + "; ".join(problems))


async def _ensure_role(conn: AsyncConnection, role: str, password: str | None) -> None:
    exists = await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    verb = "ALTER" if exists else "CREATE"
    # format() quotes the name and the password on the server, so neither is pasted into SQL.
    if password is None:
        statement = await conn.scalar(
            text(
                "SELECT format('%s ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', "
                "CAST(:v AS text), CAST(:r AS text))"
            ),
            {"v": verb, "r": role},
        )
    else:
        statement = await conn.scalar(
            text(
                "SELECT format('%s ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                "PASSWORD %L', CAST(:v AS text), CAST(:r AS text), CAST(:p AS text))"
            ),
            {"v": verb, "r": role, "p": password},
        )
    await conn.execute(text(str(statement)))


async def _grant_statements(conn: AsyncConnection, role: str) -> list[str]:
    quoted = await conn.scalar(text("SELECT quote_ident(:r)"), {"r": role})
    tables = (
        await conn.scalars(
            text("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'")
        )
    ).all()
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        # Start from nothing, so a privilege granted by hand or an older release does not linger.
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
    ]
    for table in tables:
        if table in APPEND_ONLY_TABLES:
            privileges = "SELECT, INSERT"
        elif table in READ_ONLY_TABLES:
            privileges = "SELECT"
        else:
            privileges = "SELECT, INSERT, UPDATE, DELETE"
        statements.append(f"GRANT {privileges} ON {table} TO {quoted}")
    return statements


async def role_problems(conn: AsyncConnection, role: str) -> list[str]:
    """What lets `role` rewrite history: superuser, ownership, or a forbidden privilege."""
    problems: list[str] = []
    row = (
        await conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}
        )
    ).first()
    if row is None:
        return ["does not exist"]
    if row.rolsuper:
        problems.append("is a superuser")
    owned = (
        await conn.scalars(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND pg_has_role(:r, tableowner, 'USAGE') ORDER BY tablename"
            ),
            {"r": role},
        )
    ).all()
    if owned:
        problems.append("owns (or acts as the owner of) " + ", ".join(owned))
    if await conn.scalar(text("SELECT has_schema_privilege(:r, 'public', 'CREATE')"), {"r": role}):
        problems.append("may create objects in schema public (REVOKE CREATE ON SCHEMA public)")
    for table in (*APPEND_ONLY_TABLES, "visit_notes"):
        for privilege in ("TRUNCATE", "TRIGGER", "REFERENCES"):
            if await _has_table_privilege(conn, role, table, privilege):
                problems.append(f"holds {privilege} on {table}")
    for table in APPEND_ONLY_TABLES:
        for privilege in ("UPDATE", "DELETE"):
            if await _has_table_privilege(conn, role, table, privilege):
                problems.append(f"holds {privilege} on {table}")
    return problems


async def _has_table_privilege(
    conn: AsyncConnection, role: str, table: str, privilege: str
) -> bool:
    exists = await conn.scalar(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"public.{table}"})
    if not exists:
        return False
    return bool(
        await conn.scalar(
            text("SELECT has_table_privilege(:r, :t, :p)"),
            {"r": role, "t": f"public.{table}", "p": privilege},
        )
    )


async def current_role_problems(database_url: str) -> list[str]:
    """role_problems for the role the service itself connects as (PostgreSQL only)."""
    if service_role_name(database_url) is None:
        return []
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            role = str(await conn.scalar(text("SELECT current_user")))
            return await role_problems(conn, role)
    finally:
        await engine.dispose()
