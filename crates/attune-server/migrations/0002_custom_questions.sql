-- A quick custom question instead of a catalog instrument: the generated definition (JSON) of a
-- one-item questionnaire, which the core validates and aggregates like any other. NULL for catalog
-- instruments.
ALTER TABLE polls ADD COLUMN question TEXT;
