-- Primary and backup clerk (issue 16, point 1): a case may have a backup
-- clerk, who runs it as its primary clerk (clerk_id) does; a supervisor
-- reassigns either before submission. Staff record their weekly working
-- hours, in the branch's time zone, so scheduling can warn when neither
-- clerk works at the slot.

ALTER TABLE cases ADD COLUMN backup_clerk_id TEXT REFERENCES staff(id) CHECK (backup_clerk_id IS NULL OR backup_clerk_id <> clerk_id);
CREATE INDEX cases_backup_clerk ON cases (backup_clerk_id);

-- One span per weekday (0 Sunday .. 6 Saturday), minutes after midnight;
-- an end at or before the start runs past midnight.
CREATE TABLE staff_hours (
	staff_id  TEXT NOT NULL REFERENCES staff(id),
	weekday   INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
	start_min INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
	end_min   INTEGER NOT NULL CHECK (end_min BETWEEN 1 AND 1440),
	CHECK (start_min <> end_min),
	PRIMARY KEY (staff_id, weekday)
);
