-- Call history, schema version 1.
--
-- `event` holds every accepted CallEvent (the raw facts); `call` and the tables marked
-- "derived" are rebuilt from a call's events by the history writer (see history/fold.rs), so
-- the final record does not depend on the order the events arrived in.
-- Times are milliseconds since the Unix epoch (UTC). Sources are `era`, `telphin`, `webhook`,
-- `call_interactive`; outcomes are the `Outcome` names (`answered`, `missed`, `busy`, ...).

-- The request or frame a batch of events came in (kept for the inspector and call details).
CREATE TABLE raw_record (
    id          INTEGER PRIMARY KEY,
    source      TEXT    NOT NULL,
    received_ms INTEGER NOT NULL,
    what        TEXT    NOT NULL,
    body        TEXT    NOT NULL
);
CREATE INDEX raw_record_received ON raw_record (received_ms);

-- One row per real call, however many sources reported it.
CREATE TABLE call (
    -- AUTOINCREMENT: the id of a merged or purged call is never given to another call.
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    direction          TEXT,
    remote_number      TEXT,
    -- Last 10 digits of remote_number: the key of the cross-source merge and number lookups.
    remote_key         TEXT,
    remote_name        TEXT,
    local_number       TEXT,
    local_name         TEXT,
    did                TEXT,
    via                TEXT,
    created_ms         INTEGER,
    started_ms         INTEGER NOT NULL,
    last_event_ms      INTEGER NOT NULL,
    answered_ms        INTEGER,
    ended_ms           INTEGER,
    talk_secs          INTEGER,
    hold_count         INTEGER NOT NULL DEFAULT 0,
    hold_secs          INTEGER NOT NULL DEFAULT 0,
    answered_by_number TEXT,
    answered_by_name   TEXT,
    answered_by_ext_id TEXT,
    -- The result code as reported (seed-004 ResultCode, Telphin CallStatus, Era SIP code).
    result_code        TEXT,
    result_meaning     TEXT,
    result_outcome     TEXT,
    -- Effective outcome: `answered` when anybody answered, else the reported one.
    outcome            TEXT,
    -- Inbound, ended and nobody answered.
    missed             INTEGER NOT NULL DEFAULT 0,
    -- Bit set of sources: era 1, telphin 2, webhook 4, call_interactive 8.
    sources            INTEGER NOT NULL DEFAULT 0,
    event_count        INTEGER NOT NULL DEFAULT 0,
    disposition        TEXT,
    disposition_ms     INTEGER
);
CREATE INDEX call_started ON call (started_ms, id);
CREATE INDEX call_remote ON call (remote_key, started_ms);
CREATE INDEX call_missed ON call (started_ms, id) WHERE missed = 1;

-- A call record that was merged into another one (so old ids still resolve).
CREATE TABLE call_merged (
    gone_id   INTEGER PRIMARY KEY,
    into_id   INTEGER NOT NULL,
    merged_ms INTEGER NOT NULL
);
CREATE INDEX call_merged_into ON call_merged (into_id);

-- The ids each source uses for the call.
CREATE TABLE call_source (
    source         TEXT    NOT NULL,
    source_call_id TEXT    NOT NULL,
    call_id        INTEGER NOT NULL REFERENCES call (id) ON DELETE CASCADE,
    control_id     TEXT,
    first_ms       INTEGER NOT NULL,
    -- Id first: routing looks an id up across all sources.
    PRIMARY KEY (source_call_id, source)
) WITHOUT ROWID;
CREATE INDEX call_source_call ON call_source (call_id);
CREATE INDEX call_source_control ON call_source (control_id) WHERE control_id IS NOT NULL;

-- Every accepted event; (source, dedup_key) is unique, so a duplicate has no second effect.
CREATE TABLE event (
    id             INTEGER PRIMARY KEY,
    call_id        INTEGER NOT NULL REFERENCES call (id) ON DELETE CASCADE,
    source         TEXT    NOT NULL,
    source_call_id TEXT    NOT NULL,
    control_id     TEXT,
    at_ms          INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    -- JSON of CallEventKind.
    payload        TEXT    NOT NULL,
    dedup_key      TEXT    NOT NULL,
    -- raw_record.id; may dangle after retention removed the raw record.
    raw_id         INTEGER,
    received_ms    INTEGER NOT NULL
);
CREATE UNIQUE INDEX event_dedup ON event (source, dedup_key);
CREATE INDEX event_call ON event (call_id, at_ms);

-- Derived: attempts to reach a party (hunting creates one per number).
CREATE TABLE leg (
    id                 INTEGER PRIMARY KEY,
    call_id            INTEGER NOT NULL REFERENCES call (id) ON DELETE CASCADE,
    seq                INTEGER NOT NULL,
    source             TEXT    NOT NULL,
    leg_key            TEXT    NOT NULL,
    party_number       TEXT,
    party_name         TEXT,
    party_extension_id TEXT,
    ringing_ms         INTEGER,
    answered_ms        INTEGER,
    ended_ms           INTEGER,
    result_code        TEXT,
    result_meaning     TEXT,
    result_outcome     TEXT,
    -- Effective: `answered` when this leg answered, else the reported outcome.
    outcome            TEXT
);
CREATE INDEX leg_call ON leg (call_id, seq);

-- Derived: valet-parking episodes.
CREATE TABLE park_episode (
    id          INTEGER PRIMARY KEY,
    call_id     INTEGER NOT NULL REFERENCES call (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    slot        INTEGER NOT NULL,
    parked_by   TEXT,
    parked_ms   INTEGER,
    unparked_ms INTEGER,
    how         TEXT
);
CREATE INDEX park_episode_call ON park_episode (call_id, seq);

-- Derived: IVR sessions (Era ivrapi, Call Interactive).
CREATE TABLE ivr_session (
    id            INTEGER PRIMARY KEY,
    call_id       INTEGER NOT NULL REFERENCES call (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    source        TEXT    NOT NULL,
    ivr_key       TEXT,
    started_ms    INTEGER NOT NULL,
    ended_ms      INTEGER NOT NULL,
    -- JSON arrays / object.
    path          TEXT    NOT NULL,
    components    TEXT    NOT NULL,
    variables     TEXT    NOT NULL,
    dtmf          TEXT    NOT NULL,
    controlled_by TEXT,
    steps         TEXT    NOT NULL
);
CREATE INDEX ivr_session_call ON ivr_session (call_id, seq);

-- Derived: recording references.
CREATE TABLE recording (
    id        INTEGER PRIMARY KEY,
    call_id   INTEGER NOT NULL REFERENCES call (id) ON DELETE CASCADE,
    source    TEXT    NOT NULL,
    at_ms     INTEGER NOT NULL,
    reference TEXT    NOT NULL
);
CREATE INDEX recording_call ON recording (call_id);

-- Derived: transfers.
CREATE TABLE transfer (
    id              INTEGER PRIMARY KEY,
    call_id         INTEGER NOT NULL REFERENCES call (id) ON DELETE CASCADE,
    source          TEXT    NOT NULL,
    at_ms           INTEGER NOT NULL,
    to_number       TEXT    NOT NULL,
    to_name         TEXT,
    to_extension_id TEXT,
    attended        INTEGER NOT NULL
);
CREATE INDEX transfer_call ON transfer (call_id);

-- Derived: our-side numbers and extension ids involved in the call (the extension filter).
CREATE TABLE call_party (
    call_id INTEGER NOT NULL REFERENCES call (id) ON DELETE CASCADE,
    party   TEXT    NOT NULL,
    PRIMARY KEY (call_id, party)
) WITHOUT ROWID;
CREATE INDEX call_party_party ON call_party (party, call_id);

-- Agent notes (several per call, editable).
CREATE TABLE note (
    id         INTEGER PRIMARY KEY,
    call_id    INTEGER NOT NULL REFERENCES call (id) ON DELETE CASCADE,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    author     TEXT,
    body       TEXT    NOT NULL
);
CREATE INDEX note_call ON note (call_id);

-- Requests the webhook listener refused.
CREATE TABLE rejected_request (
    id          INTEGER PRIMARY KEY,
    received_ms INTEGER NOT NULL,
    remote      TEXT    NOT NULL,
    method      TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    body        TEXT    NOT NULL
);
CREATE INDEX rejected_request_received ON rejected_request (received_ms);

-- Full-text search over numbers, names, notes and IVR digits; rowid = call.id.
-- Trigram: any substring of 3+ characters matches (partial phone numbers, parts of names).
CREATE VIRTUAL TABLE call_fts USING fts5 (
    numbers, names, notes, digits,
    tokenize = 'trigram',
    content = '',
    contentless_delete = 1
);
-- No index merging inside commits (it put 20-100 ms stalls on acknowledged writes): the writer
-- merges when idle ('merge' steps); a crisis merge remains the safety net under endless load.
INSERT INTO call_fts (call_fts, rank) VALUES ('automerge', 0);
INSERT INTO call_fts (call_fts, rank) VALUES ('crisismerge', 64);
