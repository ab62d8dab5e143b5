-- The password a customer may choose during the call to protect the emailed
-- copy of their statement (issue 17, point 5): the release sends an AES-256
-- envelope (a cover page with the signed statement attached) encrypted under
-- it. It is a secret kept only as long as the envelope needs it: from the
-- call until the release builds the envelope, which deletes the row in its
-- transaction; a case that ends otherwise (rejected, cancelled, expired,
-- closed) deletes it too. One row per case; replacing it is an update.
CREATE TABLE envelope_passwords (
	case_id  TEXT PRIMARY KEY REFERENCES cases(id),
	password TEXT NOT NULL CHECK (length(password) BETWEEN 8 AND 128),
	set_at   BIGINT NOT NULL
);
