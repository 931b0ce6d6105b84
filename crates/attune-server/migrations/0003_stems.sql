-- The stem shown above a poll's items: the therapist's, the instrument's own instructions, or,
-- where the reference has none (GCQ-S), Attune's neutral default naming only the time frame.
-- `stem_source` says which ('therapist', 'instrument', 'attune'); both NULL for custom questions.
ALTER TABLE polls ADD COLUMN stem TEXT;
ALTER TABLE polls ADD COLUMN stem_source TEXT;
