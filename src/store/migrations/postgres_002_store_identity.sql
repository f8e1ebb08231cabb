-- A random id given to this database once, when this migration runs: engine snapshots record it
-- and are only used with the database they were taken of. On Citus: a reference table.
CREATE TABLE store_identity (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    id         TEXT NOT NULL
);
INSERT INTO store_identity (singleton, id) VALUES (1, md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text));
