-- Directory sign-in (issue 19, point 1): where a staff member's identity
-- lives (a local password, or the bank's LDAP / Active Directory), the
-- directory entry of directory staff, and who disabled a member (an admin,
-- or the directory: a later directory sign-in may lift only the latter).
-- Directory staff keep the unusable password hash models.NoPassword.

ALTER TABLE staff ADD COLUMN source TEXT NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'ldap'));
ALTER TABLE staff ADD COLUMN directory_dn TEXT NOT NULL DEFAULT '' CHECK (length(directory_dn) <= 1024);
ALTER TABLE staff ADD COLUMN disabled_by TEXT NOT NULL DEFAULT '' CHECK (disabled_by IN ('', 'admin', 'directory'));
