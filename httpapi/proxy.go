package httpapi

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/gin-gonic/gin"
)

// Behind a TLS-terminating proxy the server sees plain HTTP from the
// proxy's address. Only a proxy listed in Config.TrustedProxies is believed,
// and for both things a proxy tells: the client's address (X-Forwarded-For,
// which Gin's ClientIP reads with the same list) and the scheme the client
// used (X-Forwarded-Proto, which makes cookies Secure and sends HSTS).

// parseProxies reads the trusted proxies' addresses and CIDRs.
func parseProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an IP address nor a CIDR", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// fromTrustedProxy reports whether the request's peer is a trusted proxy.
func (s *Server) fromTrustedProxy(c *gin.Context) bool {
	host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	if err != nil {
		host = c.Request.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// secure reports whether the client reached us over HTTPS: served over TLS
// here, or a trusted proxy says so in X-Forwarded-Proto (its last value,
// the one the nearest proxy set). Cookies set on such a request are Secure
// and the answer carries HSTS.
func (s *Server) secure(c *gin.Context) bool {
	if s.cfg.TLS || c.Request.TLS != nil {
		return true
	}
	vals := c.Request.Header.Values("X-Forwarded-Proto")
	if len(vals) == 0 || !s.fromTrustedProxy(c) {
		return false
	}
	last := vals[len(vals)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(last), "https")
}

// limitAddr is the client's address as the per-address limits count it:
// the address itself for IPv4, its /64 for IPv6 (one customer line, where
// the host part is the client's to choose).
func limitAddr(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a.Is4() || a.Is4In6() {
		return a.Unmap().String()
	}
	return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
}

// clientAddr is the request's client address for per-address limits (see
// limitAddr), from clientIP: a proxying node's signed word, else Gin's
// ClientIP, which believes only trusted proxies.
func clientAddr(c *gin.Context) string { return limitAddr(clientIP(c)) }
