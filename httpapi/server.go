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
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"remoteidv/access"
	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/verify"
	"remoteidv/web"
)

// Config is what the HTTP layer needs from the service configuration.
type Config struct {
	TLS            bool     // served over TLS: Secure/__Host- cookies, HSTS
	TrustedProxies []string // CIDRs or IPs whose X-Forwarded-For is believed
	MaxBodyBytes   int64    // cap of JSON bodies
	BankName       string
	AuditKey       ed25519.PublicKey // verifies the chain's checkpoints
}

// Services are what the handlers call, all required: the staff
// sessions, the workflow with its desk and its calls, the signaling hub,
// the store and audit chain, and the evidence store whose published
// checkpoints the audit page checks.
type Services struct {
	Access   *access.Service
	Verify   *verify.Service
	Desk     *verify.Desk
	Calls    *verify.Calls
	Hub      *signaling.Hub
	Store    models.Store
	Chain    audit.Chain
	Evidence models.EvidenceStore
	Log      *slog.Logger
	// Collectors (archiver queue depth, ...) join the /metrics registry.
	Collectors []prometheus.Collector
}

func (d Services) missing() []string {
	var m []string
	for _, dep := range []struct {
		name string
		nil  bool
	}{{"Access", d.Access == nil}, {"Verify", d.Verify == nil}, {"Desk", d.Desk == nil}, {"Calls", d.Calls == nil}, {"Hub", d.Hub == nil},
		{"Store", d.Store == nil}, {"Chain.Now", d.Chain.Now == nil}, {"Evidence", d.Evidence == nil}, {"Log", d.Log == nil}} {
		if dep.nil {
			m = append(m, dep.name)
		}
	}
	return m
}

// Server holds the services the handlers call.
type Server struct {
	cfg      Config
	access   *access.Service
	verify   *verify.Service
	store    models.Store
	chain    audit.Chain
	evidence models.EvidenceStore
	log      *slog.Logger
	metrics  *metrics
	limiter  *limiter
	call     callState    // video sessions (handlers_call.go)
	desk     *verify.Desk // review and release (handlers_review.go)
	engine   *gin.Engine
	routes   []route
}

// New builds the server and its router over svc, every one of which is
// required: the error names what is missing.
func New(cfg Config, svc Services) (*Server, error) {
	if m := svc.missing(); len(m) > 0 {
		return nil, fmt.Errorf("new http server: missing %s", strings.Join(m, ", "))
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	pages, err := web.Load()
	if err != nil {
		return nil, fmt.Errorf("new http server: %w", err)
	}
	s := &Server{cfg: cfg, access: svc.Access, verify: svc.Verify, store: svc.Store, chain: svc.Chain, evidence: svc.Evidence, log: svc.Log,
		metrics: newMetrics(append(svc.Collectors, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))...),
		limiter: newLimiter(20, time.Minute, svc.Access.Now),
		call:    callState{hub: svc.Hub, calls: svc.Calls, pages: pages}, desk: svc.Desk}
	log := svc.Log
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	e.HandleMethodNotAllowed = true
	e.Use(withRequestID(), accessLog(log), s.recovery(), s.securityHeaders(), s.metrics.middleware())
	e.NoRoute(func(c *gin.Context) { s.fail(c, models.Errorf(models.ENOTFOUND, "no such endpoint")) })
	e.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: models.EINVALID, Message: "method not allowed", RequestID: requestID(c)}})
	})
	s.routes = s.routeTable()
	for _, r := range s.routes {
		max := r.MaxBody
		if max == 0 {
			max = cfg.MaxBodyBytes
		}
		e.Handle(r.Method, r.Path, limitBody(max), s.guard(r), r.handler)
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
		out[i] = RouteInfo{Method: r.Method, Path: r.Path, Public: r.Public, Roles: r.Roles}
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
	Public       bool
	Roles        []models.Role // empty and not public: any logged-in staff
}

func (s *Server) health(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.fail(c, models.Errorf(models.EUNAVAILABLE, "database unreachable"))
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

func (s *Server) metricsHandler() gin.HandlerFunc {
	h := promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}
