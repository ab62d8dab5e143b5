package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// composeFile is the part of docker-compose.yml TestComposeFile reads.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Hostname    string            `yaml:"hostname"`
	Command     string            `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	Networks    map[string]struct {
		IPv4 string `yaml:"ipv4_address"`
	} `yaml:"networks"`
}

// composeEnv expands ${NAME:-default} and ${NAME} in v as docker compose
// does when NAME is not set: with the default, or empty.
func composeEnv(v string) string {
	return os.Expand(v, func(s string) string {
		if _, def, ok := strings.Cut(s, ":-"); ok {
			return def
		}
		return ""
	})
}

// idvNodes are the services that run idv (they set IDV_NODE_ID), by name.
func (c composeFile) idvNodes() []string {
	var out []string
	for name, s := range c.Services {
		if _, ok := s.Environment["IDV_NODE_ID"]; ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// checkCompose returns what is wrong with a compose file and its HAProxy
// configuration for a cluster of idv nodes: every IDV_* variable a real
// setting, each node's settings valid, the shared settings shared, the
// node's own ones its own, the media ports published, HAProxy sending
// round robin to every node without stickiness, MinIO on four drives.
func checkCompose(c composeFile, haproxy string) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	known := map[string]bool{}
	cfg := defaultConfig()
	for _, s := range cfg.settings() {
		known[s.Env] = true
	}
	nodes := c.idvNodes()
	if len(nodes) < 2 {
		fail("%d idv nodes (services setting IDV_NODE_ID), want at least 2", len(nodes))
	}
	env := func(node, k string) string { return composeEnv(c.Services[node].Environment[k]) }
	for _, n := range nodes {
		for k, v := range c.Services[n].Environment {
			if strings.HasPrefix(k, "IDV_") && !known[k] {
				fail("%s: %s is not a setting of idv (cmd/idv/config.go)", n, k)
			}
			_ = v
		}
		// The image's own environment (Dockerfile ENV) comes first.
		image := map[string]string{"IDV_LISTEN": "0.0.0.0:8080", "IDV_DATA_DIR": "/var/lib/idv/data"}
		getenv := func(k string) string {
			if v, ok := c.Services[n].Environment[k]; ok {
				return composeEnv(v)
			}
			return image[k]
		}
		if _, _, err := loadConfig("serve", nil, getenv, io.Discard); err != nil {
			fail("%s: idv serve refuses its settings: %v", n, err)
		}
	}
	shared := []string{"IDV_DATABASE_URL", "IDV_NODE_SECRET", "IDV_SIGNING_KEY", "IDV_STAGING_KEY_FILE", "IDV_PUBLIC_URL",
		"IDV_S3_ENDPOINT", "IDV_S3_BUCKET", "IDV_S3_ACCESS_KEY", "IDV_S3_SECRET_KEY", "IDV_TRUSTED_PROXIES",
		"IDV_STATEMENT_SIGN_CERT", "IDV_STATEMENT_SIGN_KEY", "IDV_STATEMENT_SIGN_CHAIN"}
	for _, k := range shared {
		for _, n := range nodes {
			if env(n, k) == "" {
				fail("%s: %s is not set (every node needs the same)", n, k)
			} else if env(n, k) != env(nodes[0], k) {
				fail("%s: %s differs from %s's (every node needs the same)", n, k, nodes[0])
			}
		}
	}
	// The keys are files: the same path must be the same volume on every node.
	for _, k := range []string{"IDV_SIGNING_KEY", "IDV_STAGING_KEY_FILE", "IDV_STATEMENT_SIGN_KEY"} {
		for _, n := range nodes {
			if vol := volumeOf(c.Services[n], env(n, k)); vol == "" || vol != volumeOf(c.Services[nodes[0]], env(nodes[0], k)) {
				fail("%s: %s (%s) is not on a named volume shared with %s", n, k, env(n, k), nodes[0])
			}
		}
	}
	own := map[string]map[string]string{}
	for _, k := range []string{"IDV_NODE_ID", "IDV_NODE_URL", "IDV_MEDIA_UDP_LISTEN"} {
		own[k] = map[string]string{}
		for _, n := range nodes {
			v := env(n, k)
			if v == "" {
				fail("%s: %s is not set", n, k)
			} else if other, dup := own[k][v]; dup {
				fail("%s: %s %q is %s's too (each node its own)", n, k, v, other)
			}
			own[k][v] = n
		}
	}
	for _, n := range nodes {
		if h := hostOf(env(n, "IDV_NODE_URL")); h != n && h != c.Services[n].Hostname {
			fail("%s: IDV_NODE_URL %q does not name the service", n, env(n, "IDV_NODE_URL"))
		}
		if env(n, "IDV_MEDIA_PUBLIC_IPS") == "" {
			fail("%s: IDV_MEDIA_PUBLIC_IPS is not set: the candidates would carry the container's address", n)
		}
		for _, m := range []struct{ k, proto string }{{"IDV_MEDIA_UDP_LISTEN", "udp"}, {"IDV_MEDIA_TCP_LISTEN", "tcp"}, {"IDV_TURN_TLS_LISTEN", "tcp"}} {
			v := env(n, m.k)
			if v == "" {
				continue
			}
			_, port, _ := net.SplitHostPort(v)
			// 1:1 NAT keeps the port: the published port must be the one listened on.
			if !slices.Contains(c.Services[n].Ports, port+":"+port+"/"+m.proto) {
				fail("%s: %s %s is not published as %s:%s/%s", n, m.k, v, port, port, m.proto)
			}
		}
	}
	for _, k := range []string{"IDV_DATABASE_URL", "IDV_S3_ENDPOINT"} {
		if len(nodes) > 0 {
			if h := hostOf(env(nodes[0], k)); c.Services[h].Image == "" {
				fail("%s %q: no service %q in the file", k, env(nodes[0], k), h)
			}
		}
	}
	// HAProxy: its address is the trusted proxy, its backend every node.
	var lb []string
	for name, s := range c.Services {
		if strings.HasPrefix(s.Image, "haproxy") {
			lb = append(lb, name)
			for _, nw := range s.Networks {
				if len(nodes) > 0 && !slices.Contains(strings.Split(env(nodes[0], "IDV_TRUSTED_PROXIES"), ","), nw.IPv4) {
					fail("%s: its address %q is not in IDV_TRUSTED_PROXIES %q", name, nw.IPv4, env(nodes[0], "IDV_TRUSTED_PROXIES"))
				}
			}
		}
	}
	if len(lb) != 1 {
		fail("%d haproxy services, want 1", len(lb))
	}
	for _, want := range []string{`(?m)^\s*balance\s+roundrobin\s*$`, `(?m)^\s*timeout\s+tunnel\s+\S+`, `(?m)^\s*option\s+httpchk\s+GET\s+/readyz`} {
		if !regexp.MustCompile(want).MatchString(haproxy) {
			fail("haproxy.cfg: no line matching %s", want)
		}
	}
	if m := regexp.MustCompile(`(?m)^\s*(cookie|stick|stick-table|balance\s+source|hash-type)\b.*`).FindString(haproxy); m != "" {
		fail("haproxy.cfg: %q makes the balancing sticky (idv proxies call sockets itself)", strings.TrimSpace(m))
	}
	servers := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*server\s+\S+\s+(\S+)`).FindAllStringSubmatch(haproxy, -1) {
		servers[m[1]] = true
	}
	for _, n := range nodes {
		_, port, _ := net.SplitHostPort(cmpOr(env(n, "IDV_LISTEN"), "0.0.0.0:8080"))
		if !servers[n+":"+port] {
			fail("haproxy.cfg: no server %s:%s in the backend", n, port)
		}
	}
	if len(servers) != len(nodes) {
		fail("haproxy.cfg: %d servers for %d nodes", len(servers), len(nodes))
	}
	// MinIO: four drives, each a volume of its own.
	minio, ok := c.Services["minio"]
	drives := regexp.MustCompile(`\s(/\S+)`).FindAllStringSubmatch(" "+strings.TrimPrefix(minio.Command, "server"), -1)
	if !ok || len(drives) != 4 {
		fail("minio: %q serves %d drives, want 4 (erasure coded)", minio.Command, len(drives))
	}
	vols := map[string]bool{}
	for _, d := range drives {
		if v := volumeOf(minio, d[1]); v != "" {
			vols[v] = true
		}
	}
	if len(vols) != len(drives) {
		fail("minio: %d drives on %d named volumes, want one each", len(drives), len(vols))
	}
	for _, s := range c.Services {
		for _, v := range s.Volumes {
			if name, _, ok := strings.Cut(v, ":"); ok && !strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "/") {
				if _, ok := c.Volumes[name]; !ok {
					fail("volume %q is not declared", name)
				}
			}
		}
	}
	slices.Sort(bad)
	return bad
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// hostOf is the host of a URL or a host:port.
func hostOf(s string) string {
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	if at := strings.LastIndex(s, "@"); at >= 0 {
		s = s[at+1:]
	}
	s, _, _ = strings.Cut(s, "/")
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}

// volumeOf is the named volume s mounts at file's folder or above it.
func volumeOf(s composeService, file string) string {
	best, vol := "", ""
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || strings.HasPrefix(parts[0], ".") || strings.HasPrefix(parts[0], "/") {
			continue
		}
		if at := path.Clean(parts[1]); (file == at || strings.HasPrefix(file, at+"/")) && len(at) > len(best) {
			best, vol = at, parts[0]
		}
	}
	return vol
}

func readCompose(t testing.TB) (composeFile, string) {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	h, err := os.ReadFile("../../deploy/haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	return c, string(h)
}

// TestComposeFile keeps docker-compose.yml and deploy/haproxy.cfg honest
// without docker (no images can be pulled here): see checkCompose. With
// haproxy installed, `haproxy -c` checks the configuration too.
func TestComposeFile(t *testing.T) {
	c, h := readCompose(t)
	if bad := checkCompose(c, h); len(bad) > 0 {
		t.Errorf("docker-compose.yml:\n%s", strings.Join(bad, "\n"))
	}
	if got := c.idvNodes(); !slices.Equal(got, []string{"idv1", "idv2"}) {
		t.Errorf("idv nodes = %v, want [idv1 idv2]", got)
	}
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed: its own check of deploy/haproxy.cfg skipped")
	}
	if out, err := exec.Command(bin, "-c", "-f", "../../deploy/haproxy.cfg").CombinedOutput(); err != nil {
		t.Errorf("haproxy -c -f deploy/haproxy.cfg: %v\n%s", err, out)
	}
}

// TestComposeFileChecks breaks the compose file one way at a time and
// wants checkCompose to name what broke.
func TestComposeFileChecks(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *composeFile, h *string)
		want   string
	}{
		{"unknown setting", func(c *composeFile, _ *string) { c.Services["idv2"].Environment["IDV_NODE_NAME"] = "x" }, "IDV_NODE_NAME is not a setting"},
		{"same node id", func(c *composeFile, _ *string) { c.Services["idv2"].Environment["IDV_NODE_ID"] = "idv1" }, "IDV_NODE_ID \"idv1\" is idv1's too"},
		{"other secret", func(c *composeFile, _ *string) {
			c.Services["idv2"].Environment["IDV_NODE_SECRET"] = strings.Repeat("s", 40)
		}, "idv2: IDV_NODE_SECRET differs"},
		{"short secret", func(c *composeFile, _ *string) {
			c.Services["idv1"].Environment["IDV_NODE_SECRET"] = "short"
			c.Services["idv2"].Environment["IDV_NODE_SECRET"] = "short"
		}, "idv1: idv serve refuses its settings: IDV_NODE_SECRET"},
		{"other database", func(c *composeFile, _ *string) {
			c.Services["idv2"].Environment["IDV_DATABASE_URL"] = "postgres://idv@postgres/other"
		}, "idv2: IDV_DATABASE_URL differs"},
		{"key on the node's own volume", func(c *composeFile, _ *string) {
			c.Services["idv2"].Environment["IDV_SIGNING_KEY"] = "/var/lib/idv/data/audit.pem"
		}, "idv2: IDV_SIGNING_KEY (/var/lib/idv/data/audit.pem) is not on a named volume shared"},
		{"media port not published", func(c *composeFile, _ *string) {
			s := c.Services["idv2"]
			s.Ports = []string{"50001:50001/tcp"}
			c.Services["idv2"] = s
		}, "idv2: IDV_MEDIA_UDP_LISTEN 0.0.0.0:50001 is not published as 50001:50001/udp"},
		{"published on another port", func(c *composeFile, _ *string) {
			s := c.Services["idv1"]
			s.Ports = []string{"60000:50000/udp", "50000:50000/tcp"}
			c.Services["idv1"] = s
		}, "idv1: IDV_MEDIA_UDP_LISTEN 0.0.0.0:50000 is not published"},
		{"same media port", func(c *composeFile, _ *string) {
			c.Services["idv2"].Environment["IDV_MEDIA_UDP_LISTEN"] = "0.0.0.0:50000"
		}, "IDV_MEDIA_UDP_LISTEN \"0.0.0.0:50000\" is idv1's too"},
		{"one node", func(c *composeFile, _ *string) { delete(c.Services, "idv2") }, "haproxy.cfg: 2 servers for 1 nodes"},
		{"backend misses a node", func(_ *composeFile, h *string) { *h = strings.Replace(*h, "server idv2 idv2:8080", "", 1) }, "haproxy.cfg: no server idv2:8080"},
		{"sticky", func(_ *composeFile, h *string) { *h = strings.Replace(*h, "balance roundrobin", "balance source", 1) }, "balance source"},
		{"no tunnel timeout", func(_ *composeFile, h *string) {
			*h = regexp.MustCompile(`(?m)^\s*timeout tunnel.*$`).ReplaceAllString(*h, "")
		}, "timeout"},
		{"proxy not trusted", func(c *composeFile, _ *string) {
			for _, n := range []string{"idv1", "idv2"} {
				c.Services[n].Environment["IDV_TRUSTED_PROXIES"] = "10.0.0.1"
			}
		}, "haproxy: its address \"172.30.0.2\" is not in IDV_TRUSTED_PROXIES"},
		{"minio on one drive", func(c *composeFile, _ *string) {
			s := c.Services["minio"]
			s.Command = "server /data1"
			c.Services["minio"] = s
		}, "serves 1 drives, want 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, h := readCompose(t) // a fresh copy: the maps are changed in place
			tt.mutate(&c, &h)
			bad := checkCompose(c, h)
			if !slices.ContainsFunc(bad, func(s string) bool { return strings.Contains(s, tt.want) }) {
				t.Errorf("checkCompose(%s) = %q, want a problem containing %q", tt.name, bad, tt.want)
			}
		})
	}
}
