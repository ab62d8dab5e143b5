package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"remoteidv/models"
)

const requestIDKey = "request_id"

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// withRequestID gives each request an ID (a caller's well-formed one is
// kept) and returns it in X-Request-Id.
func withRequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if len(id) < 8 || len(id) > 64 || strings.Trim(id, "0123456789abcdefABCDEF-") != "" {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(requestIDKey, id)
		c.Header("X-Request-Id", id)
		c.Next()
	}
}

// accessLog logs one line per request. It logs the route pattern, never
// the raw path or query (they may carry invite tokens), nor bodies.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "(unmatched)"
		}
		log.LogAttrs(c.Request.Context(), slog.LevelInfo, "http",
			slog.String("request_id", requestID(c)), slog.String("method", c.Request.Method), slog.String("route", route),
			slog.Int("status", c.Writer.Status()), slog.Duration("duration", time.Since(start)),
			slog.String("remote", clientIP(c)), slog.String("actor", c.GetString(actorKey)))
	}
}

// recovery turns a panic into a JSON 500 and logs it.
func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.fail(c, fmt.Errorf("panic: %v", p))
			}
		}()
		c.Next()
	}
}

// securityHeaders are sent on every answer.
func (s *Server) securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
		if s.secure(c) {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		if strings.HasPrefix(c.Request.URL.Path, "/api/") || strings.HasPrefix(c.Request.URL.Path, "/join/") {
			h.Set("Cache-Control", "no-store")
		}
		c.Next()
	}
}

// limitBody caps every request body; handlers see a *http.MaxBytesError
// past the cap, which renders as 413.
func (s *Server) limitBody(max int64) gin.HandlerFunc {
	return s.handle(func(c *gin.Context) error {
		if c.Request.ContentLength > max {
			return models.Errorf(models.ETOOLARGE, "request body larger than %d bytes", max)
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		return nil
	})
}

// metrics holds the server's Prometheus collectors, on its own registry.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(extra ...prometheus.Collector) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "idv_http_requests_total", Help: "HTTP requests by route, method and status."}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "idv_http_request_duration_seconds", Help: "HTTP request latency by route.", Buckets: prometheus.DefBuckets}, []string{"route"}),
	}
	m.registry.MustRegister(m.requests, m.duration)
	for _, c := range extra {
		m.registry.MustRegister(c)
	}
	return m
}

func (m *metrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}
}
