"""Schema versions. Append a migration; never edit one that has shipped."""

MIGRATIONS: tuple[str, ...] = (
    # 1: SIP users and their registrations.
    """
    CREATE TABLE endpoints (
        endpoint_id TEXT PRIMARY KEY,
        username    TEXT NOT NULL UNIQUE,
        alias       TEXT NOT NULL DEFAULT '',
        app_id      TEXT,
        realm       TEXT NOT NULL,
        ha1_md5     TEXT NOT NULL,
        ha1_sha256  TEXT NOT NULL,
        created_at  REAL NOT NULL
    );
    CREATE TABLE bindings (
        username    TEXT NOT NULL REFERENCES endpoints(username) ON DELETE CASCADE,
        contact     TEXT NOT NULL,
        expires_at  REAL NOT NULL,
        q           REAL,
        call_id     TEXT NOT NULL,
        cseq        INTEGER NOT NULL,
        transport   TEXT NOT NULL,
        source_host TEXT NOT NULL,
        source_port INTEGER NOT NULL,
        user_agent  TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (username, contact)
    );
    CREATE INDEX bindings_expiry ON bindings(expires_at);
    """,
)
