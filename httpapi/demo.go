package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/web"
)

// The demo mode's mailbox (IDV_DEMO): the mail the service sent, shown to
// whoever runs the demonstration, so a new user can open the invite and
// read the email code without a mail server. These routes exist only in
// demo mode; without it they are 404 like any unknown path.

// DemoMailbox is the local mailbox demo mode delivers mail to.
type DemoMailbox interface {
	// List returns every message, newest first.
	List(ctx context.Context) ([]DemoMail, error)
	// Get returns one message; ENOTFOUND when there is none.
	Get(ctx context.Context, id string) (*DemoMail, error)
}

// DemoMail is one message of the demo mailbox.
type DemoMail struct {
	ID          string    `json:"id"`
	From        string    `json:"from"`
	To          []string  `json:"to"`
	Subject     string    `json:"subject"`
	Date        time.Time `json:"date"`
	Text        string    `json:"text"`
	Links       []string  `json:"links"`
	Attachments []string  `json:"attachments"`
}

func (s *Server) demoRoutes() []route {
	return []route{
		{Method: "GET", Path: "/demo/mailbox", Auth: authNone, Summary: "Demo mode only: the demo mailbox page, every message the service sent (page)", Tag: "demo", handler: s.demoMailboxPage},
		{Method: "GET", Path: "/demo/mailbox/:id", Auth: authNone, Summary: "Demo mode only: one message of the demo mailbox with its links (page)", Tag: "demo", handler: s.demoMailPage},
		{Method: "GET", Path: "/api/demo/mailbox", Auth: authNone, Summary: "Demo mode only: the demo mailbox's messages, newest first (to: only those to this address); idv demo customer reads its invite and code here", Tag: "demo", handler: s.demoMailboxJSON},
	}
}

func (s *Server) demoPage(c *gin.Context) web.MailboxPage {
	return web.MailboxPage{Page: web.Page{Name: "mailbox", Title: "demo.mailbox", Lang: s.pageLang(c), Path: c.Request.URL.Path,
		Bank: s.cfg.BankName, Msgs: s.msgs, Demo: true}}
}

func mailView(m DemoMail) web.MailView {
	return web.MailView{ID: m.ID, From: m.From, To: strings.Join(m.To, ", "), Subject: m.Subject, Date: m.Date.UTC().Format("2006-01-02 15:04:05 UTC"),
		Text: m.Text, Links: m.Links, Attachments: m.Attachments}
}

func (s *Server) renderDemo(c *gin.Context, data web.MailboxPage) error {
	noStore(c)
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	if err := s.pages.Render(c.Writer, "demo_mailbox.html", data); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render page", "page", "demo mailbox", "err", err)
	}
	return nil
}

func (s *Server) demoMailboxPage(c *gin.Context) error {
	list, err := s.mailbox.List(c.Request.Context())
	if err != nil {
		return err
	}
	data := s.demoPage(c)
	for _, m := range list {
		data.Mails = append(data.Mails, mailView(m))
	}
	return s.renderDemo(c, data)
}

func (s *Server) demoMailPage(c *gin.Context) error {
	m, err := s.mailbox.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	data := s.demoPage(c)
	v := mailView(*m)
	data.Open = &v
	return s.renderDemo(c, data)
}

func (s *Server) demoMailboxJSON(c *gin.Context) error {
	list, err := s.mailbox.List(c.Request.Context())
	if err != nil {
		return err
	}
	out := []DemoMail{}
	to := strings.ToLower(strings.TrimSpace(c.Query("to")))
	for _, m := range list {
		if to == "" || slices.ContainsFunc(m.To, func(a string) bool { return strings.EqualFold(a, to) }) {
			out = append(out, m)
		}
	}
	noStore(c)
	c.JSON(http.StatusOK, gin.H{"messages": out})
	return nil
}
