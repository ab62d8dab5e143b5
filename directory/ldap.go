// Package directory signs staff in against the bank's LDAP / Active
// Directory: it finds an account with a service account's search, reads
// its groups, checks its password by binding as it, and maps its groups to
// roles. It is the only user of github.com/go-ldap/ldap.
package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"remoteidv/models"
)

// Config is where the directory is and how accounts and groups are found.
type Config struct {
	// URL is ldap://host:389 (with StartTLS) or ldaps://host:636.
	URL string
	// StartTLS upgrades an ldap:// connection before anything is sent;
	// Insecure allows plain ldap:// without it (loopback tests only).
	StartTLS bool
	Insecure bool
	// CAFile is a PEM bundle the server certificate must chain to; empty:
	// the system roots. ServerName overrides the host name checked.
	CAFile     string
	ServerName string
	// BindDN and BindPassword are the service account that searches;
	// empty BindDN searches anonymously.
	BindDN       string
	BindPassword string
	// UserBase is where accounts are searched (subtree); UserFilter has
	// one %s for the escaped username, e.g. (uid=%s) or
	// (&(sAMAccountName=%s)(!(userAccountControl:1.2.840.113556.1.4.803:=2))).
	// Accounts the filter does not find are treated as gone or disabled.
	UserBase   string
	UserFilter string
	// UsernameAttr is the sign-in name as the directory spells it (uid,
	// sAMAccountName); NameAttr the display name (displayName, cn).
	UsernameAttr string
	NameAttr     string
	// GroupAttr is an attribute of the account listing its groups
	// (memberOf); GroupBase and GroupFilter search groups instead, the
	// filter with one %s for the escaped account DN, e.g.
	// (&(objectClass=groupOfNames)(member=%s)). Both may be set.
	GroupAttr   string
	GroupBase   string
	GroupFilter string
	// Roles maps groups to roles.
	Roles []models.GroupRole
	// Timeout bounds connecting and each request.
	Timeout time.Duration
}

// Directory is an LDAP directory. It holds no connection: each sign-in
// dials, so an outage is seen at once and nothing goes stale.
type Directory struct {
	cfg Config
	tls *tls.Config
	log *slog.Logger
}

// New checks cfg and loads its CA file.
func New(cfg Config, log *slog.Logger) (*Directory, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return nil, fmt.Errorf("directory URL %q: want ldap://host:port or ldaps://host:port", cfg.URL)
	}
	if u.Scheme == "ldap" && !cfg.StartTLS && !cfg.Insecure {
		return nil, fmt.Errorf("directory URL %q: ldap:// needs StartTLS (passwords would travel in clear)", cfg.URL)
	}
	if u.Scheme == "ldaps" && cfg.StartTLS {
		return nil, fmt.Errorf("directory URL %q: StartTLS is for ldap://, ldaps:// is TLS already", cfg.URL)
	}
	if cfg.UserBase == "" || strings.Count(cfg.UserFilter, "%s") != 1 {
		return nil, errors.New("directory: the user base and a user filter with one %s are required")
	}
	if cfg.GroupFilter != "" && strings.Count(cfg.GroupFilter, "%s") != 1 {
		return nil, errors.New("directory: the group filter needs one %s (the account's DN)")
	}
	if len(cfg.Roles) == 0 {
		return nil, errors.New("directory: no group is mapped to a role, so nobody could sign in")
	}
	if cfg.UsernameAttr == "" {
		cfg.UsernameAttr = "uid"
	}
	if cfg.NameAttr == "" {
		cfg.NameAttr = "displayName"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname()
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("directory CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("directory CA file %s: no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return &Directory{cfg: cfg, tls: tc, log: log}, nil
}

// unavailable is the error of a directory that cannot be reached or used.
func unavailable(what string, err error) error {
	return models.Errorf(models.EUNAVAILABLE, "the staff directory is unavailable (%s: %v)", what, err)
}

// conn dials, upgrades to TLS and binds as the service account. The
// connection closes when ctx ends.
func (d *Directory) conn(ctx context.Context) (*ldap.Conn, func(), error) {
	dialer := &net.Dialer{Timeout: d.cfg.Timeout}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	c, err := ldap.DialURL(d.cfg.URL, ldap.DialWithDialer(dialer), ldap.DialWithTLSConfig(d.tls))
	if err != nil {
		return nil, nil, unavailable("connect", err)
	}
	c.SetTimeout(d.cfg.Timeout)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	done := func() { stop(); c.Close() }
	if d.cfg.StartTLS {
		if err := c.StartTLS(d.tls); err != nil {
			done()
			return nil, nil, unavailable("StartTLS", err)
		}
	}
	if d.cfg.BindDN != "" {
		if err := c.Bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
			done()
			return nil, nil, unavailable("service account bind", err)
		}
	}
	return c, done, nil
}

// Authenticate implements models.Directory.
func (d *Directory) Authenticate(ctx context.Context, username, password string) (*models.DirectoryEntry, error) {
	if password == "" {
		// An empty password would be an unauthenticated bind, which
		// servers answer with success.
		return nil, models.Errorf(models.EUNAUTHORIZED, "wrong username or password")
	}
	c, done, err := d.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	e, err := d.find(c, username)
	if err != nil {
		return nil, err
	}
	// The user's own bind comes last: it changes who the connection is,
	// and the user may not be allowed to read groups.
	if err := c.Bind(e.DN, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return nil, models.Errorf(models.EUNAUTHORIZED, "wrong username or password")
		}
		return nil, d.classify("bind as the account", err)
	}
	return e, nil
}

// Lookup implements models.Directory.
func (d *Directory) Lookup(ctx context.Context, username string) (*models.DirectoryEntry, error) {
	c, done, err := d.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return d.find(c, username)
}

// classify turns an LDAP error into a domain error: a network failure or
// a server that is busy or down is EUNAVAILABLE, the rest internal.
func (d *Directory) classify(what string, err error) error {
	var le *ldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case ldap.ErrorNetwork, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable, ldap.LDAPResultUnwillingToPerform,
			ldap.LDAPResultTimeLimitExceeded:
			return unavailable(what, err)
		}
	}
	return fmt.Errorf("directory %s: %w", what, err)
}

// find searches the account named username and its groups.
func (d *Directory) find(c *ldap.Conn, username string) (*models.DirectoryEntry, error) {
	attrs := []string{d.cfg.UsernameAttr, d.cfg.NameAttr, "cn"}
	if d.cfg.GroupAttr != "" {
		attrs = append(attrs, d.cfg.GroupAttr)
	}
	req := ldap.NewSearchRequest(d.cfg.UserBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, int(d.cfg.Timeout.Seconds()), false,
		fmt.Sprintf(d.cfg.UserFilter, ldap.EscapeFilter(username)), attrs, nil)
	res, err := c.Search(req)
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return nil, models.Errorf(models.ENOTFOUND, "no directory account %q", username)
		}
		return nil, d.classify("search the account", err)
	}
	if res == nil || len(res.Entries) == 0 {
		return nil, models.Errorf(models.ENOTFOUND, "no enabled directory account %q", username)
	}
	if len(res.Entries) > 1 {
		return nil, models.Errorf(models.ECONFLICT, "the directory has more than one account %q: make the user filter unique", username)
	}
	le := res.Entries[0]
	e := &models.DirectoryEntry{DN: le.DN, Username: le.GetAttributeValue(d.cfg.UsernameAttr), DisplayName: le.GetAttributeValue(d.cfg.NameAttr)}
	if e.Username == "" {
		e.Username = username
	}
	if e.DisplayName == "" {
		e.DisplayName = le.GetAttributeValue("cn")
	}
	if d.cfg.GroupAttr != "" {
		e.Groups = append(e.Groups, le.GetAttributeValues(d.cfg.GroupAttr)...)
	}
	if d.cfg.GroupFilter != "" {
		base := d.cfg.GroupBase
		if base == "" {
			base = d.cfg.UserBase
		}
		greq := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1000, int(d.cfg.Timeout.Seconds()), false,
			fmt.Sprintf(d.cfg.GroupFilter, ldap.EscapeFilter(le.DN)), []string{"1.1"}, nil)
		gres, err := c.Search(greq)
		if err != nil {
			return nil, d.classify("search the account's groups", err)
		}
		for _, g := range gres.Entries {
			e.Groups = append(e.Groups, g.DN)
		}
	}
	e.Roles = models.RolesOf(d.cfg.Roles, e.Groups)
	return e, nil
}
