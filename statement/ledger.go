package statement

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"strings"
	"time"

	"remoteidv/models"
)

// ledgerHeader is the CSV layout `idv demo load` writes and
// `idv ledger import` reads.
var ledgerHeader = []string{"account_no", "booked_at", "description", "amount", "currency"}

var (
	amountRE   = regexp.MustCompile(`^-?[0-9]{1,13}(\.[0-9]{1,2})?$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// ReadLedgerCSV parses ledger rows (account_no, booked_at as RFC 3339,
// description, amount as a decimal like -12.50, currency as ISO 4217). Any
// bad row fails the whole file, naming the line.
func ReadLedgerCSV(r io.Reader) ([]*models.LedgerEntry, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(ledgerHeader)
	head, err := cr.Read()
	if err != nil {
		return nil, models.Errorf(models.EINVALID, "ledger csv: read header: %v", err)
	}
	for i, h := range ledgerHeader {
		if strings.TrimSpace(strings.TrimPrefix(head[i], "\ufeff")) != h {
			return nil, models.Errorf(models.EINVALID, "ledger csv: header %v, want %v", head, ledgerHeader)
		}
	}
	var out []*models.LedgerEntry
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, models.Errorf(models.EINVALID, "ledger csv: %v", err)
		}
		e, err := parseLedgerRow(rec)
		if err != nil {
			return nil, models.Errorf(models.EINVALID, "ledger csv line %d: %v", line, err)
		}
		out = append(out, e)
	}
}

func parseLedgerRow(rec []string) (*models.LedgerEntry, error) {
	no := strings.TrimSpace(rec[0])
	if no == "" || len(no) > 34 {
		return nil, fmt.Errorf("bad account number")
	}
	at, err := time.Parse(time.RFC3339, strings.TrimSpace(rec[1]))
	if err != nil {
		return nil, fmt.Errorf("booked_at %q is not RFC 3339", rec[1])
	}
	desc := strings.TrimSpace(rec[2])
	if len(desc) > 200 {
		return nil, fmt.Errorf("description longer than 200 bytes")
	}
	amt := strings.TrimSpace(rec[3])
	if !amountRE.MatchString(amt) {
		return nil, fmt.Errorf("amount %q is not a decimal like -12.50", rec[3])
	}
	r, ok := new(big.Rat).SetString(amt)
	if !ok {
		return nil, fmt.Errorf("amount %q", rec[3])
	}
	r.Mul(r, big.NewRat(100, 1))
	cur := strings.TrimSpace(rec[4])
	if !currencyRE.MatchString(cur) {
		return nil, fmt.Errorf("currency %q is not an ISO 4217 code", rec[4])
	}
	return &models.LedgerEntry{AccountNo: models.AccountNo(no), BookedAt: at.UTC(), Description: desc, Amount: r.Num().Int64(), Currency: cur}, nil
}
