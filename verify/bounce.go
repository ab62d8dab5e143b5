package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	idvmail "remoteidv/mail"
	"remoteidv/models"
)

// RecordDeliveryReport takes in one delivery status notification (RFC
// 3464) that came back to the envelope sender, as the bounce intake
// received it, and records it against the message it reports on: found
// by the envelope id the outbox sent it with (ENVID, random, which only
// the mail system sees), else by the Message-ID of the returned headers
// (weaker: the recipient knows it; the event says which matched).
//
// The message's row keeps the latest word on its recipient (a delay
// warning arriving after a final delivered or failed report is audited
// but does not overwrite it); the case's audit trail gets
// mail.report.<action> (delivered, failed, delayed, relayed, expanded)
// with the report's fields, so staff see on the case's timeline that a
// statement or an invite did not arrive. For a statement, the report is
// also evidence of its case (kind receipt): its machine-readable part
// (message/delivery-status) with the parsed fields, never the returned
// message, which may carry what the mail carried.
//
// It returns EINVALID for mail that is not a delivery report (or names
// none of the message's recipients), ENOTFOUND for a report on no message
// idv sent, and EUNAVAILABLE for a report on a message not yet recorded
// as sent (a fast server may report before the outbox commits): the
// intake then answers 451 and the report comes again.
func (d *Desk) RecordDeliveryReport(ctx context.Context, raw []byte) error {
	rep, err := idvmail.ParseReport(raw)
	if err != nil {
		return err
	}
	var m *models.OutboundMail
	matchedBy := ""
	err = d.svc.store.Transact(ctx, func(tx models.Tx) error {
		for _, try := range []struct {
			by, key string
			find    func(context.Context, string) (*models.OutboundMail, error)
		}{{"envelope_id", rep.EnvelopeID, tx.MailByEnvelopeID}, {"message_id", rep.MessageID, tx.MailByMessageID}} {
			if try.key == "" {
				continue
			}
			found, err := try.find(ctx, try.key)
			if models.ErrorCodeOf(err) == models.ENOTFOUND {
				continue
			}
			if err != nil {
				return err
			}
			m, matchedBy = found, try.by
			return nil
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record delivery report: %w", err)
	}
	if m == nil {
		return models.Errorf(models.ENOTFOUND, "delivery report (envelope id %q, message id %q) names no message idv sent", rep.EnvelopeID, rep.MessageID)
	}
	switch m.State() {
	case models.MailQueued:
		return models.Errorf(models.EUNAVAILABLE, "delivery report on mail %s, not yet recorded as sent", m.ID)
	case models.MailExpired:
		return models.Errorf(models.ENOTFOUND, "delivery report on mail %s, which was never sent", m.ID)
	}
	rs := rep.For(m.To)
	if rs == nil {
		return models.Errorf(models.EINVALID, "delivery report on mail %s names none of its recipients", m.ID)
	}
	sum := sha256.Sum256(raw)
	at := d.svc.now().UTC()
	dl := models.MailDelivery{Action: rs.Action, Status: rs.Status, Diagnostic: rs.Diagnostic, RemoteMTA: rs.RemoteMTA, ReportedAt: &at}
	det := map[string]string{"mail": m.ID, "kind": m.Kind, "message_id": m.MessageID, "matched_by": matchedBy, "action": string(rs.Action),
		"status": rs.Status, "diagnostic": rs.Diagnostic, "remote_mta": rs.RemoteMTA, "reporting_mta": rep.ReportingMTA, "report_sha256": hex.EncodeToString(sum[:])}
	// A statement's report is evidence of its case: the same report
	// delivered twice is the same evidence (no time of ours in it).
	var arts []artifact
	if m.Kind == idvmail.KindStatement && m.CaseID != "" {
		b, err := json.Marshal(map[string]any{"type": "delivery-status-notification", "mail": m.ID, "message_id": m.MessageID,
			"envelope_id": m.EnvelopeID, "matched_by": matchedBy, "to": m.To, "reporting_mta": rep.ReportingMTA, "final_recipient": rs.FinalRecipient,
			"original_recipient": rs.OriginalRecipient, "action": rs.Action, "status": rs.Status, "diagnostic": rs.Diagnostic, "remote_mta": rs.RemoteMTA,
			"report_sha256": det["report_sha256"], "delivery_status": string(rep.Status)})
		if err != nil {
			return fmt.Errorf("record delivery report on mail %s: %w", m.ID, err)
		}
		arts = []artifact{{Kind: models.EvidenceReceipt, ContentType: "application/json", Data: b}}
	}
	kept := true
	_, err = d.svc.recordEvidence(ctx, m.CaseID, SystemActor, arts, func(tx models.Tx, evs []*models.Evidence) error {
		cur, err := tx.MailByID(ctx, m.ID)
		if err != nil {
			return err
		}
		// An out-of-order delay warning never hides a final report.
		if kept = !(rs.Action == models.DeliveryDelayed && cur.Delivery.Action.Final()); kept {
			if err := tx.SetMailDelivery(ctx, m.ID, dl); err != nil {
				return err
			}
		} else {
			det["superseded_by"] = string(cur.Delivery.Action)
		}
		if len(evs) > 0 {
			det["receipt_sha256"] = evs[0].SHA256
		}
		if m.CaseID == "" {
			return nil
		}
		return d.svc.event(ctx, tx, SystemActor, m.CaseID, "mail.report."+string(rs.Action), det)
	})
	if err != nil {
		return fmt.Errorf("record delivery report on mail %s: %w", m.ID, err)
	}
	log := d.svc.log.With("mail", m.ID, "kind", m.Kind, "case_id", m.CaseID, "action", rs.Action, "status", rs.Status, "matched_by", matchedBy)
	if rs.Action == models.DeliveryFailed {
		log.WarnContext(ctx, "mail bounced", "diagnostic", rs.Diagnostic)
	} else {
		log.InfoContext(ctx, "delivery report recorded", "kept", kept)
	}
	return nil
}
