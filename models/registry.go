package models

import (
	"context"
	"log/slog"
	"time"
)

// RegistryQuery is what the national ID registry is asked.
type RegistryQuery struct {
	NationalID string `json:"id_number"`
	Name       string `json:"name"`
}

// LogValue keeps the ID number out of logs.
func (q RegistryQuery) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id_number", MaskNationalID(q.NationalID)))
}

// Registry validity statuses.
const (
	RegistryValid    = "valid"    // the ID number exists and is in force
	RegistryInvalid  = "invalid"  // unknown, cancelled or expired
	RegistryDeceased = "deceased" // the holder is recorded as deceased
)

// RegistryAnswer is the registry's answer to a query.
type RegistryAnswer struct {
	Status    string        // valid, invalid, deceased
	NameMatch bool          // the name given matches the record
	Photo     []byte        // the registry photo (JPEG), may be empty
	DataAsOf  time.Time     // the time as of which the answer's data is current (the answer's age)
	Elapsed   time.Duration // the registry's response time as measured by the client
	Raw       []byte        // the response body as received: the evidence snapshot
}

// Registry is the national ID registry. Implementations return
// EUNAVAILABLE for timeouts, outages and malformed answers (never a
// pass), and EINVALID for a query the registry refuses.
type Registry interface {
	Lookup(ctx context.Context, q RegistryQuery) (*RegistryAnswer, error)
}

// MailSender hands a composed message to a mail server. Implementations
// return EUNAVAILABLE when the server cannot be reached or answers with a
// temporary error, and EINVALID when it refuses the message for good.
type MailSender interface {
	// Send delivers raw (RFC 5322) from from to every recipient in to and
	// returns the server's reply to the message data.
	Send(ctx context.Context, from string, to []string, raw []byte) (reply string, err error)
}

// ReceiptSender is a MailSender that asks for delivery status
// notifications (RFC 3461) where the server offers them and reports each
// of the server's answers. Errors as MailSender's.
type ReceiptSender interface {
	MailSender
	SendEnvelope(ctx context.Context, env MailEnvelope, raw []byte) (*MailReceipt, error)
}
