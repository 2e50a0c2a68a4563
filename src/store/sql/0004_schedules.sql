-- Scheduled work: one row per schedule and period it ran for, so that several
-- executors sharing the database start each scheduled run once.
CREATE TABLE schedule_runs (
    id          INTEGER PRIMARY KEY,
    cluster     TEXT    NOT NULL,
    schedule    TEXT    NOT NULL,
    period      TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    proposed    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (cluster, schedule, period)
);
