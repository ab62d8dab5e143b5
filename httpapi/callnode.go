package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/verify"
)

// Calls on several nodes. A case's call runs on one node (verify.CallNodes
// places it); a signaling socket that reaches another node is proxied
// there, with the client's address in a header the target believes only
// under a fresh HMAC of the cluster secret (Config.NodeSecret). Without
// the secret nothing is proxied and every call is served here.

// CallPlacer places a case's call on a node (verify.CallNodes).
type CallPlacer interface {
	// Place returns the node case c's call runs or starts on; on this
	// node the call's lease is claimed. EUNAVAILABLE: try again soon.
	Place(ctx context.Context, c models.CaseID) (verify.CallNode, error)
	// Claim claims case c's call for this node, or returns the node
	// holding it (URL empty when that node is not live).
	Claim(ctx context.Context, c models.CaseID) (verify.CallNode, error)
}

// The headers a proxying node adds. The client's own copies are
// overwritten on the way out and, without a valid signature, ignored.
const (
	hdrNodeClient = "X-Idv-Node-Client" // the client's address as the first node saw it
	hdrNodeTime   = "X-Idv-Node-Time"   // unix seconds when it was signed
	hdrNodeHop    = "X-Idv-Node-Hop"    // how many nodes proxied the request
	hdrNodeSig    = "X-Idv-Node-Sig"    // hex HMAC-SHA256 over the above
)

const (
	// maxCallHops is how many times one socket is proxied at most: to the
	// node chosen, and once more to a node that won the call meanwhile.
	maxCallHops = 2
	// nodeSigMaxAge is how old a node's signature may be.
	nodeSigMaxAge = 30 * time.Second
	// callRetryAfter is what a socket that cannot be placed now is told.
	callRetryAfter = "2"
	nodeKey        = "node_forwarded"
)

// nodeForward is what a valid signature vouches for.
type nodeForward struct {
	client string
	hop    int
}

// nodeSignature is the HMAC of a proxied request's method, path, client
// address, time and hop.
func nodeSignature(secret []byte, method, path, client, ts, hop string) string {
	m := hmac.New(sha256.New, secret)
	for _, s := range []string{method, path, client, ts, hop} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// nodeForwarded is the middleware that believes a proxying node: with a
// valid, fresh signature the request's client address is the one the
// first node saw (clientIP) and its hop count is known. Anything else is
// a client's request like any other.
func (s *Server) nodeForwarded() gin.HandlerFunc {
	return func(c *gin.Context) {
		if f, ok := s.verifyNode(c.Request); ok {
			c.Set(nodeKey, f)
		}
		c.Next()
	}
}

func (s *Server) verifyNode(r *http.Request) (nodeForward, bool) {
	sig := r.Header.Get(hdrNodeSig)
	if len(s.cfg.NodeSecret) == 0 || sig == "" {
		return nodeForward{}, false
	}
	client, ts, hop := r.Header.Get(hdrNodeClient), r.Header.Get(hdrNodeTime), r.Header.Get(hdrNodeHop)
	want := nodeSignature(s.cfg.NodeSecret, r.Method, r.URL.Path, client, ts, hop)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		s.log.WarnContext(r.Context(), "node header with a bad signature ignored", "remote", r.RemoteAddr)
		return nodeForward{}, false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if age := s.access.Now().Sub(time.Unix(sec, 0)); err != nil || age > nodeSigMaxAge || age < -nodeSigMaxAge {
		s.log.WarnContext(r.Context(), "node header with a stale signature ignored", "remote", r.RemoteAddr)
		return nodeForward{}, false
	}
	n, err := strconv.Atoi(hop)
	if err != nil || n < 1 || client == "" {
		return nodeForward{}, false
	}
	return nodeForward{client: client, hop: n}, true
}

// forwarded is what a proxying node vouched for, if anything.
func forwarded(c *gin.Context) (nodeForward, bool) {
	v, ok := c.Get(nodeKey)
	f, _ := v.(nodeForward)
	return f, ok
}

// clientIP is the client's address: the one a proxying node vouched for,
// else Gin's ClientIP (which believes only trusted proxies).
func clientIP(c *gin.Context) string {
	if f, ok := forwarded(c); ok {
		return f.client
	}
	return c.ClientIP()
}

// clustered reports whether calls are placed across nodes.
func (s *Server) clustered() bool { return s.callNodes != nil && len(s.cfg.NodeSecret) > 0 }

// serveCall serves participant p's socket of case cs here, or proxies it
// to the node running (or chosen to run) the call. A request another node
// proxied here is served here when this node can claim the call; one more
// hop goes to a node that holds it, and past maxCallHops the socket is
// told to try again (503, Retry-After), so requests never loop.
func (s *Server) serveCall(c *gin.Context, cs models.CaseID, p signaling.Participant) error {
	if !s.clustered() {
		s.call.hub.Serve(c.Writer, c.Request, p)
		return nil
	}
	ctx := c.Request.Context()
	f, proxied := forwarded(c)
	var n verify.CallNode
	var err error
	if proxied {
		n, err = s.callNodes.Claim(ctx, cs)
	} else {
		n, err = s.callNodes.Place(ctx, cs)
	}
	if err != nil {
		c.Header("Retry-After", callRetryAfter)
		return err
	}
	if n.Self {
		s.call.hub.Serve(c.Writer, c.Request, p)
		return nil
	}
	if n.URL == "" || f.hop >= maxCallHops {
		c.Header("Retry-After", callRetryAfter)
		return models.Errorf(models.EUNAVAILABLE, "the call is changing nodes: try again in a moment")
	}
	return s.proxyCall(c, n, f.hop+1)
}

// proxyCall passes the socket on to node n: same method, path, query and
// cookies (n authenticates the request itself from the shared database),
// the Host the browser used (the WebSocket origin check compares them),
// and the signed client address. ReverseProxy carries the upgrade; when n
// goes away the client's socket closes and the page rejoins.
func (s *Server) proxyCall(c *gin.Context, n verify.CallNode, hop int) error {
	target, err := url.Parse(n.URL)
	if err != nil {
		return models.Errorf(models.EINTERNAL, "node %s has a bad URL: %v", n.ID, err)
	}
	client := clientIP(c)
	log := s.log.With("node", n.ID, "hop", hop)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
			ts, h := strconv.FormatInt(s.access.Now().Unix(), 10), strconv.Itoa(hop)
			r.Out.Header.Set(hdrNodeClient, client)
			r.Out.Header.Set(hdrNodeTime, ts)
			r.Out.Header.Set(hdrNodeHop, h)
			r.Out.Header.Set(hdrNodeSig, nodeSignature(s.cfg.NodeSecret, r.Out.Method, r.Out.URL.Path, client, ts, h))
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.WarnContext(r.Context(), "proxy the call socket", "err", err)
			w.Header().Set("Retry-After", callRetryAfter)
			http.Error(w, "the call's node does not answer: try again in a moment", http.StatusServiceUnavailable)
		},
	}
	log.InfoContext(c.Request.Context(), "call socket proxied to its node")
	rp.ServeHTTP(c.Writer, c.Request)
	return nil
}
