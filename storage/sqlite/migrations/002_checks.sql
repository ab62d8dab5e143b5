-- Verification checks of a case and the face descriptors of reference photos.

CREATE TABLE checks (
	id           TEXT PRIMARY KEY,
	case_id      TEXT NOT NULL REFERENCES cases(id),
	kind         TEXT NOT NULL CHECK (kind IN ('face_match', 'liveness', 'signature', 'registry')),
	result       TEXT NOT NULL CHECK (length(result) BETWEEN 1 AND 32),
	detail       TEXT NOT NULL,
	evidence_id  TEXT NOT NULL DEFAULT '',
	actor        TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	confirmed_by TEXT NOT NULL DEFAULT '',
	confirmed_at INTEGER,
	confirmation TEXT NOT NULL DEFAULT '' CHECK (confirmation IN ('', 'confirmed', 'rejected')),
	note         TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX checks_case ON checks (case_id, created_at);

CREATE TABLE face_references (
	image_id   INTEGER NOT NULL REFERENCES account_images(id),
	model_hash TEXT NOT NULL CHECK (length(model_hash) = 64),
	descriptor BLOB NOT NULL CHECK (length(descriptor) = 512),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (image_id, model_hash)
) STRICT;
