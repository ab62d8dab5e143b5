package verify

import (
	"bytes"
	"fmt"
	"strings"

	"remoteidv/models"
)

// calendar renders an RFC 5545 invitation for the call: UTC times, CRLF
// line ends, text escaped and lines folded at 75 octets. uid and seq are
// the case's calendar entry (models.CaseCalendar): every calendar file of
// a case updates the one entry.
func (s *Service) calendar(c *models.Case, inv *models.Invite, acct *models.Account, clerk *models.Staff, link, uid string, seq int) []byte {
	const stamp = "20060102T150405Z"
	view := s.ViewSlot(c.SlotAt, c.CustomerTZ)
	desc := fmt.Sprintf("%s: video call to verify your identity for your transaction statement (%s to %s).\n"+
		"Your time: %s\nBranch time: %s\nClerk: %s\n"+
		"Join with this link (it works once, from 15 minutes before the call until 30 minutes after it): %s\n"+
		"Have your ID and your signed authorization letter ready.",
		s.cfg.BankName, c.PeriodFrom, c.PeriodTo, view.Customer, view.Branch, clerk.DisplayName, link)
	lines := []string{
		"BEGIN:VCALENDAR",
		"VERSION:2.0",
		"PRODID:-//remoteidv//invite//EN",
		"CALSCALE:GREGORIAN",
		"METHOD:PUBLISH",
		"BEGIN:VEVENT",
		"UID:" + uid,
		"SEQUENCE:" + fmt.Sprint(seq),
		"DTSTAMP:" + inv.CreatedAt.UTC().Format(stamp),
		"DTSTART:" + c.SlotAt.UTC().Format(stamp),
		"DTEND:" + c.SlotAt.Add(s.cfg.CallLength).UTC().Format(stamp),
		"SUMMARY:" + icsText(s.cfg.BankName+" identity verification call"),
		"DESCRIPTION:" + icsText(desc),
		"URL:" + link,
		"ATTENDEE;CN=" + icsParam(acct.HolderName) + ";ROLE=REQ-PARTICIPANT:mailto:" + acct.Email,
		"STATUS:CONFIRMED",
		"TRANSP:OPAQUE",
		"BEGIN:VALARM",
		"ACTION:DISPLAY",
		"DESCRIPTION:" + icsText(s.cfg.BankName+" video call in 15 minutes"),
		"TRIGGER:-PT15M",
		"END:VALARM",
		"END:VEVENT",
		"END:VCALENDAR",
	}
	var b bytes.Buffer
	for _, l := range lines {
		fold(&b, l)
	}
	return b.Bytes()
}

// icsText escapes a TEXT value (RFC 5545 §3.3.11).
func icsText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`).Replace(s)
}

// icsParam quotes a parameter value (no DQUOTE allowed inside).
func icsParam(s string) string {
	return `"` + strings.NewReplacer(`"`, "'", "\r", " ", "\n", " ").Replace(s) + `"`
}

// fold writes one content line, folded into lines of at most 75 octets
// without splitting a UTF-8 character, each ended by CRLF.
func fold(b *bytes.Buffer, line string) {
	limit := 75
	for len(line) > limit {
		cut := limit
		for cut > 0 && line[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n ")
		line = line[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(line)
	b.WriteString("\r\n")
}
