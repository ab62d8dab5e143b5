-- Face descriptors may be stored encrypted (AES-256-GCM under the staging
-- key, bound to their image and model hash): 512 bytes as before, or 549
-- sealed. SQLite cannot change a CHECK in place, so the table is rebuilt.
CREATE TABLE face_references_sealed (
	image_id   INTEGER NOT NULL REFERENCES account_images(id),
	model_hash TEXT NOT NULL CHECK (length(model_hash) = 64),
	descriptor BLOB NOT NULL CHECK (length(descriptor) IN (512, 549)),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (image_id, model_hash)
) STRICT;
INSERT INTO face_references_sealed (image_id, model_hash, descriptor, created_at)
	SELECT image_id, model_hash, descriptor, created_at FROM face_references;
DROP TABLE face_references;
ALTER TABLE face_references_sealed RENAME TO face_references;
