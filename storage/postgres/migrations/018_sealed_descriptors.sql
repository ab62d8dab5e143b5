-- Face descriptors may be stored encrypted (AES-256-GCM under the staging
-- key, bound to their image and model hash): 512 bytes as before, or 549
-- sealed.
ALTER TABLE face_references DROP CONSTRAINT face_references_descriptor_check;
ALTER TABLE face_references ADD CONSTRAINT face_references_descriptor_check CHECK (octet_length(descriptor) IN (512, 549));
