-- A random id given to this store once, when this migration runs: engine snapshots record it and
-- are only used with the store they were taken of (a copied or restored file keeps it; a new
-- database never has it).
CREATE TABLE store_identity (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    id         TEXT NOT NULL
);
INSERT INTO store_identity (singleton, id) VALUES (1, lower(hex(randomblob(16))));
