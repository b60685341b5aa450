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
    # 2: carriers (trunks) in and out, owned phone numbers, and call detail records.
    """
    CREATE TABLE incoming_carriers (
        carrier_id  TEXT PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        enabled     INTEGER NOT NULL DEFAULT 1,
        created_at  REAL NOT NULL
    );
    CREATE TABLE incoming_carrier_addresses (
        carrier_id  TEXT NOT NULL REFERENCES incoming_carriers(carrier_id) ON DELETE CASCADE,
        address     TEXT NOT NULL,  -- an IP address or a CIDR network, v4 or v6
        PRIMARY KEY (carrier_id, address)
    );
    CREATE TABLE outgoing_carriers (
        carrier_id       TEXT PRIMARY KEY,
        name             TEXT NOT NULL UNIQUE,
        address          TEXT NOT NULL,  -- host[:port][;transport=udp|tcp]
        failover_address TEXT,
        prefix           TEXT NOT NULL DEFAULT '',
        failover_prefix  TEXT NOT NULL DEFAULT '',
        suffix           TEXT NOT NULL DEFAULT '',
        retries          INTEGER NOT NULL,
        retry_seconds    REAL NOT NULL,
        enabled          INTEGER NOT NULL DEFAULT 1,
        created_at       REAL NOT NULL
    );
    CREATE TABLE numbers (
        number      TEXT PRIMARY KEY,  -- E.164 digits without the '+'
        alias       TEXT NOT NULL DEFAULT '',
        app_id      TEXT,
        sub_account TEXT,
        created_at  REAL NOT NULL
    );
    CREATE TABLE call_records (
        call_uuid         TEXT PRIMARY KEY,
        parent_call_uuid  TEXT,
        direction         TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
        from_number       TEXT NOT NULL,
        to_number         TEXT NOT NULL,
        initiation_time   REAL NOT NULL,
        answer_time       REAL,
        end_time          REAL NOT NULL,
        call_duration     INTEGER NOT NULL,
        bill_duration     INTEGER NOT NULL,
        hangup_cause_name TEXT NOT NULL,
        hangup_cause_code INTEGER NOT NULL,
        hangup_source     TEXT NOT NULL,
        source_ip         TEXT NOT NULL,
        codec             TEXT NOT NULL,
        sip_status        INTEGER,
        sip_call_id       TEXT NOT NULL
    );
    CREATE INDEX call_records_parent ON call_records(parent_call_uuid);
    CREATE INDEX call_records_end_time ON call_records(end_time);
    """,
    # 3: each leg's media in its call record: RTP packets received, sent and lost (RFC 3550
    # §A.3), and the mean interarrival jitter in ms (§A.8).
    """
    ALTER TABLE call_records ADD COLUMN rtp_packets_received INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE call_records ADD COLUMN rtp_packets_sent INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE call_records ADD COLUMN rtp_packets_lost INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE call_records ADD COLUMN rtp_jitter_ms REAL NOT NULL DEFAULT 0;
    """,
    # 4: Plivo applications (plivo.md §4.2). An account (the main one: sub_account NULL) has
    # at most one default application for its endpoints and one for its numbers. App ids
    # given to endpoints and numbers before this version named no application (none could
    # exist), so they are cleared: NULL is Plivo's "no application".
    """
    CREATE TABLE applications (
        app_id               TEXT PRIMARY KEY,  -- Plivo's shape: a numeric string
        app_name             TEXT NOT NULL,
        answer_url           TEXT NOT NULL,
        answer_method        TEXT NOT NULL CHECK (answer_method IN ('GET', 'POST')),
        hangup_url           TEXT NOT NULL DEFAULT '',
        hangup_method        TEXT NOT NULL CHECK (hangup_method IN ('GET', 'POST')),
        fallback_answer_url  TEXT NOT NULL DEFAULT '',
        fallback_method      TEXT NOT NULL CHECK (fallback_method IN ('GET', 'POST')),
        message_url          TEXT NOT NULL DEFAULT '',
        message_method       TEXT NOT NULL CHECK (message_method IN ('GET', 'POST')),
        default_number_app   INTEGER NOT NULL DEFAULT 0,
        default_endpoint_app INTEGER NOT NULL DEFAULT 0,
        public_uri           INTEGER NOT NULL DEFAULT 0,
        sub_account          TEXT,
        created_at           REAL NOT NULL
    );
    CREATE UNIQUE INDEX applications_default_number
        ON applications(ifnull(sub_account, '')) WHERE default_number_app = 1;
    CREATE UNIQUE INDEX applications_default_endpoint
        ON applications(ifnull(sub_account, '')) WHERE default_endpoint_app = 1;
    UPDATE endpoints SET app_id = NULL;
    UPDATE numbers SET app_id = NULL;
    CREATE INDEX endpoints_app ON endpoints(app_id);
    CREATE INDEX numbers_app ON numbers(app_id);
    """,
    # 5: recordings (Plivo's Recording resource), each row written once its file is in place.
    """
    CREATE TABLE recordings (
        recording_id          TEXT PRIMARY KEY,
        call_uuid             TEXT NOT NULL,
        recording_format      TEXT NOT NULL CHECK (recording_format IN ('wav', 'mp3')),
        recording_type        TEXT NOT NULL CHECK (recording_type IN ('call', 'conference')),
        file_name             TEXT NOT NULL,
        recording_duration_ms INTEGER NOT NULL,
        recording_start_ms    INTEGER NOT NULL,
        recording_end_ms      INTEGER NOT NULL,
        add_time              REAL NOT NULL,
        conference_name       TEXT,
        sub_account           TEXT
    );
    CREATE INDEX recordings_call ON recordings(call_uuid);
    """,
    # 6: sub-accounts (Plivo's Subaccount resource) and the REST API's fields: every endpoint
    # belongs to an account like applications, numbers and recordings do; a number records
    # the carrier it came from, its region and its type (plivo.md §4.2, Number).
    """
    CREATE TABLE subaccounts (
        auth_id     TEXT PRIMARY KEY,  -- 'SA' and 18 capitals or digits
        name        TEXT NOT NULL,
        auth_token  TEXT NOT NULL,
        enabled     INTEGER NOT NULL,
        created_at  REAL NOT NULL,
        modified_at REAL NOT NULL
    );
    ALTER TABLE endpoints ADD COLUMN sub_account TEXT;
    ALTER TABLE numbers ADD COLUMN carrier TEXT NOT NULL DEFAULT '';
    ALTER TABLE numbers ADD COLUMN region TEXT NOT NULL DEFAULT '';
    ALTER TABLE numbers ADD COLUMN number_type TEXT NOT NULL DEFAULT 'local';
    CREATE INDEX endpoints_sub_account ON endpoints(sub_account);
    CREATE INDEX numbers_sub_account ON numbers(sub_account);
    CREATE INDEX applications_sub_account ON applications(sub_account);
    CREATE INDEX recordings_sub_account ON recordings(sub_account);
    """,
    # 7: conference records: each room's life, and each member's stay in it.
    """
    CREATE TABLE conferences (
        conference_uuid  TEXT PRIMARY KEY,
        conference_name  TEXT NOT NULL,
        start_time       REAL NOT NULL,
        end_time         REAL NOT NULL
    );
    CREATE TABLE conference_members (
        conference_uuid  TEXT NOT NULL REFERENCES conferences(conference_uuid),
        member_id        TEXT NOT NULL,
        call_uuid        TEXT NOT NULL,
        from_number      TEXT NOT NULL,
        to_number        TEXT NOT NULL,
        join_time        REAL NOT NULL,
        leave_time       REAL NOT NULL,
        leave_reason     TEXT NOT NULL,
        PRIMARY KEY (conference_uuid, member_id)
    );
    CREATE INDEX conference_members_call ON conference_members(call_uuid);
    """,
    # 8: a call belongs to an account like the resources it used: the sub-account whose
    # credentials placed it, or whose number or endpoint it reached (NULL: the main account).
    """
    ALTER TABLE call_records ADD COLUMN sub_account TEXT;
    CREATE INDEX call_records_sub_account ON call_records(sub_account);
    """,
)
