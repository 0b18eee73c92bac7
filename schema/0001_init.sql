-- diffuse-dse store, version 1.
-- Applied by the daemon (and every CLI command) at start; the version lives in PRAGMA user_version.
-- Times are UTC ISO-8601 text, so sqlite3 users can read and compare them.

-- Facts about the store itself: the space fingerprint and the objectives the views were made for.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Every design ever proposed, ingested or evaluated, decoded, unique by its content hash.
CREATE TABLE designs (
    id         INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    params     TEXT NOT NULL CHECK (json_valid(params) AND json_type(params) = 'object'),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Conditioning targets: from the config ([[targets]] and targets.d/*.toml) or chosen from the front.
CREATE TABLE targets (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    source     TEXT NOT NULL CHECK (source IN ('config', 'auto')),
    spec       TEXT NOT NULL CHECK (json_valid(spec)),
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Proposer checkpoints: one row per fit. `weights` holds the model's parameters (NULL for
-- proposers without weights, such as the Sobol/random initial design).
CREATE TABLE models (
    version       INTEGER PRIMARY KEY,
    parent        INTEGER REFERENCES models(version),
    kind          TEXT NOT NULL,
    space_hash    TEXT NOT NULL,
    n_results     INTEGER NOT NULL,
    loss          REAL,
    train_seconds REAL,
    weights       BLOB,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- One batch: a set of proposals claimed together and handed to a runner.
CREATE TABLE batches (
    id          INTEGER PRIMARY KEY,
    runner      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('RUNNING', 'DONE', 'INTERRUPTED')),
    size        INTEGER NOT NULL,
    job_id      TEXT,
    trigger     TEXT NOT NULL,
    started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at TEXT
);

-- The proposal queue. QUEUED -> DISPATCHED -> RUNNING -> DONE | FAILED | LOST, and
-- QUEUED -> CANCELLED when a newer model replaces it.
CREATE TABLE proposals (
    id            INTEGER PRIMARY KEY,
    design_id     INTEGER NOT NULL REFERENCES designs(id),
    state         TEXT NOT NULL DEFAULT 'QUEUED'
                  CHECK (state IN ('QUEUED', 'DISPATCHED', 'RUNNING', 'DONE', 'FAILED', 'LOST', 'CANCELLED')),
    origin        TEXT NOT NULL,
    model_version INTEGER REFERENCES models(version),
    target_id     INTEGER REFERENCES targets(id),
    batch_id      INTEGER REFERENCES batches(id),
    job_id        TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    reason        TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
-- A design is live (queued or out for evaluation) at most once.
CREATE UNIQUE INDEX proposals_live_design ON proposals(design_id)
    WHERE state IN ('QUEUED', 'DISPATCHED', 'RUNNING');
CREATE INDEX proposals_state ON proposals(state, id);

-- Where results arrive from anyone: batch jobs, the users' own flows (plain INSERTs), and
-- `diffuse-dse ingest`. The daemon pulls NEW rows, validates them and moves them to `results`,
-- or marks them REJECTED with the reason. A row names its design by proposal_id, design_id or
-- params (a JSON object of parameter values).
CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY,
    proposal_id  INTEGER,
    design_id    INTEGER,
    params       TEXT,
    metrics      TEXT,
    status       TEXT NOT NULL DEFAULT 'ok',
    error        TEXT,
    evaluator    TEXT,
    runtime_s    REAL,
    source       TEXT NOT NULL DEFAULT 'sql',
    state        TEXT NOT NULL DEFAULT 'NEW' CHECK (state IN ('NEW', 'ACCEPTED', 'REJECTED')),
    reason       TEXT,
    result_id    INTEGER REFERENCES results(id),
    received_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    processed_at TEXT
);
CREATE INDEX inbox_new ON inbox(state, id);

-- Validated results: OK with one value per metric in result_values, or FAILED with the error.
CREATE TABLE results (
    id          INTEGER PRIMARY KEY,
    design_id   INTEGER NOT NULL REFERENCES designs(id),
    proposal_id INTEGER REFERENCES proposals(id),
    status      TEXT NOT NULL CHECK (status IN ('OK', 'FAILED')),
    evaluator   TEXT,
    runtime_s   REAL,
    error       TEXT,
    source      TEXT NOT NULL,
    feasible    INTEGER CHECK (feasible IN (0, 1)),
    on_front    INTEGER NOT NULL DEFAULT 0 CHECK (on_front IN (0, 1)),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX results_proposal ON results(proposal_id) WHERE proposal_id IS NOT NULL;
CREATE INDEX results_design ON results(design_id);
CREATE INDEX results_front ON results(on_front) WHERE on_front = 1;

CREATE TABLE result_values (
    result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,
    metric    TEXT NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (result_id, metric)
) WITHOUT ROWID;

-- Per target, the rank of every feasible OK result that meets the target's bounds (1 = best).
-- Maintained by the daemon after each ingest; read through the best_designs view.
CREATE TABLE target_ranks (
    target_id INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,
    result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,
    rank      INTEGER NOT NULL,
    score     REAL NOT NULL,
    PRIMARY KEY (target_id, result_id)
) WITHOUT ROWID;
