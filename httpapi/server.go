// Package httpapi is remoteidv's HTTP interface (Gin): routes, middleware,
// staff authentication and the role x route policy, error mapping and the
// OpenAPI document. Handlers bind and validate input, call the services and
// render; the rules live in the services.
package httpapi

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"remoteidv/access"
	"remoteidv/models"
	"remoteidv/notify"
	"remoteidv/signaling"
	"remoteidv/verify"
	"remoteidv/web"
	"remoteidv/webhook"
)

// Config is what the HTTP layer needs from the service configuration.
type Config struct {
	TLS bool // served over TLS: Secure/__Host- cookies, HSTS
	// TrustedProxies are the CIDRs or IPs of the proxies in front of the
	// server: only from them are X-Forwarded-For (the client's address)
	// and X-Forwarded-Proto (https: Secure cookies and HSTS) believed.
	TrustedProxies []string
	MaxBodyBytes   int64 // cap of JSON bodies
	BankName       string
	AuditKey       ed25519.PublicKey // verifies the chain's checkpoints
	// Demo is the demonstration mode: a banner on every page and the demo
	// mailbox (Services.Mailbox, then required); off, neither exists.
	Demo bool
	// SSONames is what the login page calls the identity provider, per
	// language ("en", "zh-CN"); missing: IdentityProvider.Name().
	SSONames map[string]string
	// BoardStream is how long one stream of GET /api/board/events lasts
	// before the browser reconnects (0: 90 seconds).
	BoardStream time.Duration
	// NodeDeadAfter is how long a node of the registry may stay silent
	// before GET /api/admin/nodes calls it dead (0: 15 seconds).
	NodeDeadAfter time.Duration
	// NodeSecret is the cluster secret (IDV_NODE_SECRET) the nodes sign
	// the call sockets they proxy to each other with (callnode.go). Empty,
	// or without Services.CallNodes: every call is served on this node.
	NodeSecret []byte
	// NodeID is this node's ID in the registry (IDV_NODE_ID): the board
	// reads the calls of this node from its hub and those of the other
	// live nodes from their last heartbeat (Services.Nodes).
	NodeID models.NodeID
}

// NodeLister lists the node registry (every idv serve on the database).
type NodeLister interface {
	Nodes(ctx context.Context) ([]*models.Node, error)
}

// Services are what the handlers call, all required: the staff
// sessions, the workflow with its desk and its calls, the signaling hub,
// and the store (only for the readiness probe: the handlers reach the
// store and the audit chain through the services).
type Services struct {
	Access *access.Service
	Verify *verify.Service
	Desk   *verify.Desk
	Calls  *verify.Calls
	Hub    *signaling.Hub
	Store  models.Store
	Log    *slog.Logger
	// Collectors (archiver queue depth, ...) join the metrics registry
	// (MetricsHandler).
	Collectors []prometheus.Collector
	// Mailbox is the demo mode's local mailbox; only with Config.Demo.
	Mailbox DemoMailbox
	// Webhooks manages webhook endpoints and deliveries; nil: its routes
	// answer 503.
	Webhooks *webhook.Service
	// Notify keeps staff notification preferences and lists the
	// notifications sent; nil: its routes answer 503.
	Notify *notify.Service
	// IdentityProvider is the bank's OpenID Connect provider; nil: no
	// "Sign in with ..." and the /auth/oidc routes answer 404.
	IdentityProvider models.IdentityProvider
	// Nodes lists the node registry; nil: GET /api/admin/nodes answers
	// 503.
	Nodes NodeLister
	// CallNodes places each case's call on one node; nil (or no
	// Config.NodeSecret): every call is served on this node.
	CallNodes CallPlacer
}

func (d Services) missing() []string {
	var m []string
	for _, dep := range []struct {
		name string
		nil  bool
	}{{"Access", d.Access == nil}, {"Verify", d.Verify == nil}, {"Desk", d.Desk == nil}, {"Calls", d.Calls == nil}, {"Hub", d.Hub == nil},
		{"Store", d.Store == nil}, {"Log", d.Log == nil}} {
		if dep.nil {
			m = append(m, dep.name)
		}
	}
	return m
}

// Server holds the services the handlers call.
type Server struct {
	cfg        Config
	access     *access.Service
	verify     *verify.Service
	store      models.Store // only for the readiness probe
	log        *slog.Logger
	metrics    *metrics
	checks     *limiter       // statement checks per address (statementcheck.go)
	proxies    []netip.Prefix // trusted proxies (proxy.go)
	call       callState      // video sessions (calls.go, customer.go)
	desk       *verify.Desk   // review and release (review.go, letters.go, checks.go, customer.go)
	pages      *web.Pages     // the staff and customer pages (pages.go, customer.go)
	msgs       web.Catalogue
	engine     *gin.Engine
	routes     []route
	mailbox    DemoMailbox             // demo mode only (demo.go)
	webhooks   *webhook.Service        // webhooks.go; nil when not configured
	nodes      NodeLister              // nodes.go; nil when not configured
	notify     *notify.Service         // notify.go; nil when not configured
	idp        models.IdentityProvider // oidc.go; nil when not configured
	oidcStarts *limiter                // sign-ins started at the provider per address and minute (oidc.go), per node
	// callNodes places calls on nodes (callnode.go); nil: single node.
	callNodes CallPlacer
	// nodeClient posts signals to the other nodes (nodesignal.go).
	nodeClient *http.Client
}

// New builds the server and its router over svc, every one of which is
// required: the error names what is missing.
func New(cfg Config, svc Services) (*Server, error) {
	m := svc.missing()
	if cfg.Demo && svc.Mailbox == nil {
		m = append(m, "Mailbox (demo mode)")
	}
	if len(m) > 0 {
		return nil, fmt.Errorf("new http server: missing %s", strings.Join(m, ", "))
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	pages, err := web.Load()
	if err != nil {
		return nil, fmt.Errorf("new http server: load pages: %w", err)
	}
	s := &Server{nodeClient: &http.Client{Timeout: nodeSignalTimeout}, cfg: cfg, access: svc.Access, verify: svc.Verify, store: svc.Store, log: svc.Log,
		metrics: newMetrics(append(svc.Collectors, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))...),
		checks:  newLimiter(statementChecksPerMinute, time.Minute, svc.Access.Now), oidcStarts: newLimiter(20, time.Minute, svc.Access.Now), pages: pages, msgs: web.Messages(),
		call: callState{hub: svc.Hub, calls: svc.Calls}, desk: svc.Desk, mailbox: svc.Mailbox, webhooks: svc.Webhooks, notify: svc.Notify, nodes: svc.Nodes, idp: svc.IdentityProvider, callNodes: svc.CallNodes}
	if s.proxies, err = parseProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("new http server: %w", err)
	}
	log := svc.Log
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// The same list as s.proxies: the client's address and scheme are
	// believed from the same proxies.
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("new http server: trusted proxies: %w", err)
	}
	e.HandleMethodNotAllowed = true
	e.Use(s.nodeForwarded(), withRequestID(), accessLog(log), s.recovery(), s.securityHeaders(), s.metrics.middleware())
	e.NoRoute(s.handle(func(*gin.Context) error { return models.Errorf(models.ENOTFOUND, "no such endpoint") }))
	e.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: models.EINVALID, Message: "method not allowed", RequestID: requestID(c)}})
	})
	s.routes = s.routeTable()
	for _, r := range s.routes {
		max := r.MaxBody
		if max == 0 {
			max = cfg.MaxBodyBytes
		}
		h := r.handler
		if r.page != nil {
			h = s.staffPage(*r.page)
		}
		e.Handle(r.Method, r.Path, s.limitBody(max), s.guard(r), s.handle(h))
	}
	s.engine = e
	return s, nil
}

// Handler is the root http.Handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Routes lists every registered route with its policy (tests walk it).
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, len(s.routes))
	for i, r := range s.routes {
		out[i] = RouteInfo{Method: r.Method, Path: r.Path, Auth: string(r.Auth), Roles: r.Roles}
	}
	return out
}

// RegisteredRoutes lists what the router actually serves.
func (s *Server) RegisteredRoutes() []RouteInfo {
	var out []RouteInfo
	for _, r := range s.engine.Routes() {
		out = append(out, RouteInfo{Method: r.Method, Path: r.Path})
	}
	return out
}

// RouteInfo is a route and who may call it.
type RouteInfo struct {
	Method, Path string
	// Auth says who authenticates the callers: "none", "staff" (the API:
	// 401 and 403 answers), "staff page" (303 to /login and the 403
	// page), "guest page" (the login page) or "customer" (the call
	// page's cookie; the 410 page).
	Auth  string
	Roles []models.Role // staff and staff page: empty for any logged-in staff
}

func (s *Server) health(c *gin.Context) error {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
	return nil
}

func (s *Server) ready(c *gin.Context) error {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return models.Errorf(models.EUNAVAILABLE, "database unreachable")
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
	return nil
}

// MetricsHandler serves the Prometheus metrics. It is not on the public
// router (Handler): the caller serves it on a listener of its own, which
// the proxy in front of the server does not reach.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
}
