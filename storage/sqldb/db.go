// Package sqldb is the SQL shared by the SQLite and PostgreSQL stores: the
// models.Store implementation, written once against database/sql with "?"
// placeholders, and the migration runner. The storage/sqlite and
// storage/postgres packages own their driver, connection settings, schema
// files and error translation, and hand them in as a Dialect.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"remoteidv/models"
	"remoteidv/storage/encfile"
)

// Dialect is what differs between the SQL databases.
type Dialect struct {
	Name string
	// Numbered placeholders ($1, $2, ...) instead of "?".
	Numbered bool
	// ForUpdate is appended to locking reads ("" where the whole write
	// transaction is already exclusive, as in SQLite).
	ForUpdate string
	// SkipLocked is appended to the archiver's claim query.
	SkipLocked string
	// IsUnique reports whether err is a uniqueness violation.
	IsUnique func(err error) bool
	// IsUnavailable reports whether err means the database is unreachable
	// or busy, so the caller may retry.
	IsUnavailable func(err error) bool
	// IsDeadConn reports whether err, from BEGIN, means the pooled
	// connection was cut by the server (nothing ran; another connection
	// may work); nil: never.
	IsDeadConn func(err error) bool
	// LockMigrations is run inside the migration transaction before
	// anything else ("" for none).
	LockMigrations string
	// JSONText returns the SQL expression of the text of field in the
	// JSON object stored as text in column (audit details), NULL when
	// absent.
	JSONText func(column, field string) string
	// Integrity is a query whose rows (one text column) are the
	// database's own complaints about the file ("" where the database
	// has no such check).
	Integrity string
}

// DB implements models.Store on a *sql.DB.
type DB struct {
	db      *sql.DB
	dialect Dialect
	log     *slog.Logger
	// descKey encrypts face descriptors (SealDescriptors); nil stores
	// them as they are.
	descKey  *encfile.Key
	descRand io.Reader
}

// SealDescriptors makes the database store face descriptors encrypted
// with k (AES-256-GCM, bound to their image and model hash), with nonces
// from random; descriptors stored before are still read. Call it once,
// before the DB is used.
func (db *DB) SealDescriptors(k *encfile.Key, random io.Reader) {
	db.descKey, db.descRand = k, random
}

// New wraps an open database.
func New(db *sql.DB, d Dialect, log *slog.Logger) *DB {
	return &DB{db: db, dialect: d, log: log}
}

// SQL returns the underlying handle (for migrations and tests).
func (db *DB) SQL() *sql.DB { return db.db }

// Dialect returns the dialect name.
func (db *DB) Dialect() string { return db.dialect.Name }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", db.dialect.Name, &models.Error{Code: models.EUNAVAILABLE, Message: "database unreachable: " + err.Error()})
	}
	return nil
}

// Close closes the connections.
func (db *DB) Close() error { return db.db.Close() }

// Transact runs fn in one transaction.
func (db *DB) Transact(ctx context.Context, fn func(tx models.Tx) error) (err error) {
	stx, err := db.begin(ctx)
	if err != nil {
		return db.translate(fmt.Errorf("begin: %w", err))
	}
	t := &Tx{tx: stx, db: db}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = stx.Rollback()
		}
	}()
	if err = fn(t); err != nil {
		return err
	}
	if err = stx.Commit(); err != nil {
		return db.translate(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// maxDeadBegins bounds how many pooled connections a transaction may find
// cut before it gives up: more than the pool keeps idle.
const maxDeadBegins = 8

// begin starts a transaction. A pooled connection the server cut (a
// database restart or failover cuts them all) fails at BEGIN, before
// anything ran: the pool then drops it and begin tries the next one,
// until a connection works or a new one cannot be made (the server is
// away), so that each dead connection does not fail a request of its own.
func (db *DB) begin(ctx context.Context) (*sql.Tx, error) {
	for i := 0; ; i++ {
		stx, err := db.db.BeginTx(ctx, nil)
		if err == nil || i == maxDeadBegins || ctx.Err() != nil || db.dialect.IsDeadConn == nil || !db.dialect.IsDeadConn(err) {
			return stx, err
		}
		if db.log != nil {
			db.log.Debug("a pooled database connection was cut; trying another", "err", err)
		}
	}
}

// translate gives driver errors a domain kind.
func (db *DB) translate(err error) error {
	if err == nil {
		return nil
	}
	var me *models.Error
	if errors.As(err, &me) {
		return err
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %w", models.Errorf(models.ENOTFOUND, "not found"), err)
	case db.dialect.IsUnique != nil && db.dialect.IsUnique(err):
		return fmt.Errorf("%w: %w", models.Errorf(models.ECONFLICT, "already exists"), err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case db.dialect.IsUnavailable != nil && db.dialect.IsUnavailable(err):
		return fmt.Errorf("%w: %w", models.Errorf(models.EUNAVAILABLE, "database unavailable"), err)
	}
	return err
}

// q returns query in the dialect's placeholder style.
func (db *DB) q(query string) string {
	if !db.dialect.Numbered {
		return query
	}
	return rebind(query)
}

func rebind(query string) string {
	var b strings.Builder
	n := 0
	inString := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c == '\'' {
			inString = !inString
		}
		if c == '?' && !inString {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Tx implements models.Tx.
type Tx struct {
	tx *sql.Tx
	db *DB
}

func (t *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	r, err := t.tx.ExecContext(ctx, t.db.q(query), args...)
	return r, t.db.translate(err)
}

func (t *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	r, err := t.tx.QueryContext(ctx, t.db.q(query), args...)
	return r, t.db.translate(err)
}

func (t *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.db.q(query), args...)
}

// mustAffect turns "no row changed" into ENOTFOUND.
func mustAffect(r sql.Result, what string) error {
	n, err := r.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return models.Errorf(models.ENOTFOUND, "%s: not found", what)
	}
	return nil
}

// Times are stored as microseconds since the Unix epoch, UTC.
func us(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromUS(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullUS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: us(*t), Valid: true}
}

func fromNullUS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromUS(v.Int64)
	return &t
}
