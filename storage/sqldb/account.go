package sqldb

import (
	"context"
	"fmt"
	"strings"

	"remoteidv/models"
)

const upsertAccount = `INSERT INTO accounts (no, holder_name, holder_name_alt, national_id, email, phone, time_zone, language, imported_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (no) DO UPDATE SET holder_name = excluded.holder_name, holder_name_alt = excluded.holder_name_alt, national_id = excluded.national_id,
	email = excluded.email, phone = excluded.phone, time_zone = excluded.time_zone,
	language = excluded.language, imported_at = excluded.imported_at`

// UpsertAccount inserts or replaces an account's fields.
func (t *Tx) UpsertAccount(ctx context.Context, a *models.Account) error {
	if _, err := t.exec(ctx, upsertAccount, a.No, a.HolderName, a.HolderNameAlt, a.NationalID, a.Email, a.Phone, a.TimeZone, a.Language, us(a.ImportedAt)); err != nil {
		return fmt.Errorf("upsert account %s: %w", models.MaskAccountNo(a.No), err)
	}
	return nil
}

const selectAccount = `SELECT no, holder_name, holder_name_alt, national_id, email, phone, time_zone, language, imported_at FROM accounts `

func scanAccount(row interface{ Scan(...any) error }) (*models.Account, error) {
	var a models.Account
	var imported int64
	if err := row.Scan(&a.No, &a.HolderName, &a.HolderNameAlt, &a.NationalID, &a.Email, &a.Phone, &a.TimeZone, &a.Language, &imported); err != nil {
		return nil, err
	}
	a.ImportedAt = fromUS(imported)
	return &a, nil
}

// AccountByNo returns an account.
func (t *Tx) AccountByNo(ctx context.Context, no models.AccountNo) (*models.Account, error) {
	a, err := scanAccount(t.queryRow(ctx, selectAccount+`WHERE no = ?`, no))
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", models.MaskAccountNo(no), t.db.translate(err))
	}
	return a, nil
}

// SearchAccounts finds accounts by number prefix or holder-name substring.
func (t *Tx) SearchAccounts(ctx context.Context, q string, limit int) ([]*models.Account, error) {
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
	rows, err := t.query(ctx, selectAccount+`WHERE no LIKE ? ESCAPE '\' OR lower(holder_name) LIKE ? ESCAPE '\' OR lower(holder_name_alt) LIKE ? ESCAPE '\' ORDER BY no LIMIT ?`,
		esc+"%", "%"+strings.ToLower(esc)+"%", "%"+strings.ToLower(esc)+"%", limit)
	if err != nil {
		return nil, fmt.Errorf("search accounts: %w", err)
	}
	defer rows.Close()
	var out []*models.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("search accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const insertImage = `INSERT INTO account_images (account_no, kind, content_type, sha256, data, created_at, problem)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account_no, kind, sha256) DO UPDATE SET problem = excluded.problem
RETURNING id`

// AddAccountImage stores an image once per account, kind and hash.
func (t *Tx) AddAccountImage(ctx context.Context, img *models.AccountImage) error {
	err := t.queryRow(ctx, insertImage, img.AccountNo, string(img.Kind), img.ContentType, img.SHA256, img.Data, us(img.CreatedAt), img.Problem).Scan(&img.ID)
	if err != nil {
		return fmt.Errorf("add %s image to %s: %w", img.Kind, models.MaskAccountNo(img.AccountNo), t.db.translate(err))
	}
	return nil
}

const selectImages = `SELECT id, account_no, kind, content_type, sha256, data, created_at, problem FROM account_images WHERE account_no = ? AND kind = ? ORDER BY id`

// AccountImages returns an account's images of one kind, oldest first.
func (t *Tx) AccountImages(ctx context.Context, no models.AccountNo, kind models.ImageKind) ([]*models.AccountImage, error) {
	rows, err := t.query(ctx, selectImages, no, string(kind))
	if err != nil {
		return nil, fmt.Errorf("%s images of %s: %w", kind, models.MaskAccountNo(no), err)
	}
	defer rows.Close()
	var out []*models.AccountImage
	for rows.Next() {
		var img models.AccountImage
		var created int64
		if err := rows.Scan(&img.ID, &img.AccountNo, &img.Kind, &img.ContentType, &img.SHA256, &img.Data, &created, &img.Problem); err != nil {
			return nil, fmt.Errorf("%s images: %w", kind, err)
		}
		img.CreatedAt = fromUS(created)
		out = append(out, &img)
	}
	return out, rows.Err()
}
