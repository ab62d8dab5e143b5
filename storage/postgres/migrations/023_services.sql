-- Services (issue 17, point 6): a case is for a transaction statement or a
-- balance certificate, and the account import may give the holder's name in
-- the other script too (both print on the documents).

ALTER TABLE accounts ADD COLUMN holder_name_alt TEXT NOT NULL DEFAULT '' CHECK (length(holder_name_alt) <= 200);

ALTER TABLE cases DROP CONSTRAINT cases_purpose_check;
ALTER TABLE cases ADD CONSTRAINT cases_purpose_check CHECK (purpose IN ('transaction_statement', 'balance_certificate'));
-- A balance certificate is as at one date.
ALTER TABLE cases ADD CONSTRAINT cases_certificate_date CHECK (purpose <> 'balance_certificate' OR period_from = period_to);
