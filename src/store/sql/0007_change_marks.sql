-- A random mark per table, renewed by every change to it (any process, any
-- connection; a rolled-back change takes its mark back with it, and a later
-- change never repeats it). Readers keep what they derived from a table while
-- its mark is the one they read with.
CREATE TABLE change_marks (
    name TEXT PRIMARY KEY,
    mark BLOB NOT NULL
);
INSERT INTO change_marks (name, mark) VALUES
    ('ip_allocations', randomblob(8)),
    ('resource_metadata', randomblob(8));

CREATE TRIGGER ip_allocations_marked_insert AFTER INSERT ON ip_allocations BEGIN
    UPDATE change_marks SET mark = randomblob(8) WHERE name = 'ip_allocations';
END;
CREATE TRIGGER ip_allocations_marked_update AFTER UPDATE ON ip_allocations BEGIN
    UPDATE change_marks SET mark = randomblob(8) WHERE name = 'ip_allocations';
END;
CREATE TRIGGER ip_allocations_marked_delete AFTER DELETE ON ip_allocations BEGIN
    UPDATE change_marks SET mark = randomblob(8) WHERE name = 'ip_allocations';
END;
CREATE TRIGGER resource_metadata_marked_insert AFTER INSERT ON resource_metadata BEGIN
    UPDATE change_marks SET mark = randomblob(8) WHERE name = 'resource_metadata';
END;
CREATE TRIGGER resource_metadata_marked_update AFTER UPDATE ON resource_metadata BEGIN
    UPDATE change_marks SET mark = randomblob(8) WHERE name = 'resource_metadata';
END;
CREATE TRIGGER resource_metadata_marked_delete AFTER DELETE ON resource_metadata BEGIN
    UPDATE change_marks SET mark = randomblob(8) WHERE name = 'resource_metadata';
END;
